package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestOpen(t *testing.T) {
	tests := []struct {
		spec    string
		env     string
		want    string // backend name, or "" for an error
		errText string
	}{
		{spec: "simplego", want: "simplego"},
		{spec: "cpu", want: "cpu"},
		{spec: "cpu:threads=1", want: "cpu"},
		{spec: "cpu:threads=zero", errText: "positive integer"},
		{spec: "", env: "simplego", want: "simplego"},
		{spec: "tpu", errText: `unknown backend "tpu"`},
		{spec: "", env: "tpu", errText: `unknown backend "tpu"`},
	}
	for _, tc := range tests {
		t.Run(tc.spec+"/"+tc.env, func(t *testing.T) {
			t.Setenv(EnvVar, tc.env)
			b, err := Open(tc.spec)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer b.Finalize()
			if b.Name() != tc.want {
				t.Errorf("backend %q, want %q", b.Name(), tc.want)
			}
		})
	}
}

func TestOpenXLAWithoutGPUSaysWhy(t *testing.T) {
	if _, err := FindGPU(GPUOptions{}); err == nil {
		t.Skip("this machine has a GPU")
	}
	_, err := Open("xla")
	if err == nil || !strings.Contains(err.Error(), "backend xla") {
		t.Fatalf("err = %v, want an explanation", err)
	}
}

// fakeLayout builds a pip-style jax CUDA plugin installation under root.
func fakeLayout(t *testing.T, root string, withDevice bool) (site string) {
	t.Helper()
	site = filepath.Join(root, "usr", "local", "lib", "python3.12", "site-packages")
	files := []string{
		filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"),
		filepath.Join(site, "nvidia", "cu13", "lib", "libcudart.so.13"),
		filepath.Join(site, "nvidia", "cu13", "bin", "ptxas"),
		filepath.Join(site, "nvidia", "cu13", "nvvm", "libdevice", "libdevice.10.bc"),
		filepath.Join(site, "nvidia", "cudnn", "lib", "libcudnn.so.9"),
	}
	if withDevice {
		files = append(files, filepath.Join(root, "dev", "nvidia0"))
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return site
}

func TestFindGPU(t *testing.T) {
	noEnv := func(string) string { return "" }
	t.Run("pip layout", func(t *testing.T) {
		root := t.TempDir()
		site := fakeLayout(t, root, true)
		g, err := FindGPU(GPUOptions{Root: root, Getenv: noEnv})
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(site, "jax_plugins", "xla_cuda13", "xla_cuda_plugin.so"); g.Plugin != want {
			t.Errorf("plugin %s, want %s", g.Plugin, want)
		}
		if len(g.LibDirs) != 2 {
			t.Errorf("lib dirs %v, want cu13/lib and cudnn/lib", g.LibDirs)
		}
		if g.PtxasDir != filepath.Join(site, "nvidia", "cu13", "bin") {
			t.Errorf("ptxas dir %q", g.PtxasDir)
		}
		if g.CUDADataDir != filepath.Join(site, "nvidia", "cu13") {
			t.Errorf("CUDA data dir %q", g.CUDADataDir)
		}
		env := g.Environ(func(k string) string {
			if k == "LD_LIBRARY_PATH" {
				return "/old"
			}
			return ""
		})
		if !strings.HasPrefix(env["LD_LIBRARY_PATH"], g.LibDirs[0]) || !strings.HasSuffix(env["LD_LIBRARY_PATH"], ":/old") {
			t.Errorf("LD_LIBRARY_PATH = %q", env["LD_LIBRARY_PATH"])
		}
		if env["XLA_FLAGS"] != "--xla_gpu_cuda_data_dir="+g.CUDADataDir {
			t.Errorf("XLA_FLAGS = %q", env["XLA_FLAGS"])
		}
		if env["GOMLX_NO_AUTO_INSTALL"] != "1" {
			t.Error("auto-install not switched off")
		}
	})
	t.Run("no device", func(t *testing.T) {
		root := t.TempDir()
		fakeLayout(t, root, false)
		_, err := FindGPU(GPUOptions{Root: root, Getenv: noEnv})
		if err == nil || !strings.Contains(err.Error(), "/dev/nvidia") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("env list of folders", func(t *testing.T) {
		root := t.TempDir()
		dir := filepath.Join(root, "plugins")
		os.MkdirAll(filepath.Join(root, "dev"), 0o755)
		os.WriteFile(filepath.Join(root, "dev", "nvidia3"), nil, 0o644)
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "pjrt_c_api_cuda_plugin.so"), []byte("x"), 0o644)
		g, err := FindGPU(GPUOptions{Root: root, Getenv: func(k string) string {
			if k == PluginEnvVar {
				return "/nonexistent:" + dir
			}
			return ""
		}})
		if err != nil {
			t.Fatal(err)
		}
		if g.Plugin != filepath.Join(dir, "pjrt_c_api_cuda_plugin.so") {
			t.Errorf("plugin %s", g.Plugin)
		}
	})
	t.Run("explicit missing", func(t *testing.T) {
		root := t.TempDir()
		fakeLayout(t, root, true)
		_, err := FindGPU(GPUOptions{Root: root, Getenv: noEnv, Plugin: filepath.Join(root, "nope.so")})
		if err == nil || !strings.Contains(err.Error(), "no such file") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("nothing installed", func(t *testing.T) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "dev"), 0o755)
		os.WriteFile(filepath.Join(root, "dev", "nvidia0"), nil, 0o644)
		_, err := FindGPU(GPUOptions{Root: root, Getenv: noEnv})
		if err == nil || !strings.Contains(err.Error(), "jax-cuda13-pjrt") {
			t.Fatalf("err = %v, want advice on installing the plugin", err)
		}
	})
}

func TestOpenShared(t *testing.T) {
	half := max(1, runtime.NumCPU()/2)
	tests := []struct {
		spec    string
		n       int
		threads int // each backend's threads; 0 for an error
		errText string
	}{
		{spec: "cpu", n: 1, threads: runtime.GOMAXPROCS(0)},
		{spec: "cpu", n: 2, threads: half},
		{spec: "cpu:profile", n: 2, threads: half},
		{spec: "cpu:threads=3", n: 2, threads: 3},
		{spec: "cpu", n: 0, errText: "at least 1"},
		{spec: "simplego", n: 2, errText: "give --parallel 1"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/%d", tc.spec, tc.n), func(t *testing.T) {
			t.Setenv(EnvVar, "")
			bs, err := OpenShared(tc.spec, tc.n)
			if tc.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Fatalf("err = %v, want one containing %q", err, tc.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != tc.n {
				t.Fatalf("%d backends, want %d", len(bs), tc.n)
			}
			for i, b := range bs {
				defer b.Finalize()
				if i > 0 && b == bs[0] {
					t.Errorf("backend %d is backend 0: jobs at once need their own", i)
				}
				if got := b.(interface{ Threads() int }).Threads(); got != tc.threads {
					t.Errorf("backend %d has %d threads, want %d", i, got, tc.threads)
				}
			}
		})
	}
}

func TestDefaultParallel(t *testing.T) {
	want := 1
	if runtime.NumCPU() >= 2 {
		want = 2
	}
	if got := DefaultParallel("cpu:threads=1"); got != want {
		t.Errorf("DefaultParallel(cpu) = %d, want %d", got, want)
	}
	if got := DefaultParallel("simplego"); got != 1 {
		t.Errorf("DefaultParallel(simplego) = %d, want 1", got)
	}
}
