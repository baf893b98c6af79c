package engine

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// PluginEnvVar is the variable GoMLX's PJRT loader reads: a ":"-separated
// list of plugin files or of directories holding them.
const PluginEnvVar = "PJRT_PLUGIN_LIBRARY_PATH"

// pluginNames are the file names a PJRT CUDA plugin goes by: jax's wheel name
// first, then the names go-xla's own search accepts.
var pluginNames = []string{
	"xla_cuda_plugin.so",
	"pjrt_c_api_cuda_plugin.so",
	"pjrt-plugin-cuda.so",
	"pjrt_plugin_cuda.so",
}

// GPUOptions steer GPU discovery. The zero value searches the usual places.
type GPUOptions struct {
	// Plugin is an explicit path to a PJRT CUDA plugin; when set, nothing
	// else is searched for the plugin.
	Plugin string
	// SitePackages are extra Python site-packages folders to search, ahead of
	// the usual ones.
	SitePackages []string
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
	// Root prefixes every absolute system path searched (tests point it at a
	// fake layout); empty means "/".
	Root string
	// SkipDeviceCheck accepts a plugin even when no /dev/nvidia* device is
	// present (for inspecting a layout on a machine without a GPU).
	SkipDeviceCheck bool
}

// GPU is what discovery found: the plugin and the files it needs at run time.
type GPU struct {
	Plugin      string   // absolute path of the PJRT CUDA plugin
	LibDirs     []string // NVIDIA library folders (CUDA runtime, cuBLAS, cuDNN, ...)
	PtxasDir    string   // folder holding ptxas, or "" if not found
	CUDADataDir string   // folder holding nvvm/libdevice, for --xla_gpu_cuda_data_dir, or ""
	Devices     []string // /dev/nvidia[0-9]* device files
}

// FindGPU looks for a PJRT CUDA plugin: opts.Plugin, then the plugin files or
// folders listed in $PJRT_PLUGIN_LIBRARY_PATH, then jax_plugins/xla_cuda*/ in
// any Python site-packages. It also collects the NVIDIA library folders,
// ptxas and the CUDA data folder that sit beside a pip-installed plugin. It
// never downloads anything.
func FindGPU(opts GPUOptions) (*GPU, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	root := opts.Root
	if root == "" {
		root = "/"
	}
	g := &GPU{}
	g.Devices, _ = filepath.Glob(filepath.Join(root, "dev", "nvidia[0-9]*"))
	if len(g.Devices) == 0 && !opts.SkipDeviceCheck {
		return nil, errors.New("no NVIDIA GPU: no /dev/nvidia[0-9]* device files")
	}

	sites := slices.Clone(opts.SitePackages)
	sites = append(sites, sitePackages(root, getenv)...)
	plugin, err := findPlugin(opts.Plugin, getenv(PluginEnvVar), sites)
	if err != nil {
		return nil, err
	}
	g.Plugin = plugin

	// A pip layout: <site>/jax_plugins/xla_cudaNN/xla_cuda_plugin.so beside
	// <site>/nvidia/<component>/lib. Search the plugin's own site first.
	if site := filepath.Dir(filepath.Dir(filepath.Dir(plugin))); filepath.Base(filepath.Dir(filepath.Dir(plugin))) == "jax_plugins" {
		sites = append([]string{site}, sites...)
	}
	for _, site := range sites {
		libs, _ := filepath.Glob(filepath.Join(site, "nvidia", "*", "lib"))
		if len(libs) == 0 {
			continue
		}
		g.LibDirs = libs
		for _, cu := range []string{"cu13", "cu12", "cuda_nvcc"} {
			dir := filepath.Join(site, "nvidia", cu)
			if isFile(filepath.Join(dir, "bin", "ptxas")) && g.PtxasDir == "" {
				g.PtxasDir = filepath.Join(dir, "bin")
			}
			if isDir(filepath.Join(dir, "nvvm", "libdevice")) && g.CUDADataDir == "" {
				g.CUDADataDir = dir
			}
		}
		break
	}
	return g, nil
}

func findPlugin(explicit, envList string, sites []string) (string, error) {
	if explicit != "" {
		if !isFile(explicit) {
			return "", fmt.Errorf("PJRT plugin %s: no such file", explicit)
		}
		return filepath.Abs(explicit)
	}
	for _, entry := range filepath.SplitList(envList) {
		if entry == "" {
			continue
		}
		if isFile(entry) {
			return filepath.Abs(entry)
		}
		for _, name := range pluginNames {
			if p := filepath.Join(entry, name); isFile(p) {
				return filepath.Abs(p)
			}
		}
	}
	for _, site := range sites {
		matches, _ := filepath.Glob(filepath.Join(site, "jax_plugins", "xla_cuda*", "xla_cuda_plugin.so"))
		if len(matches) > 0 {
			slices.Sort(matches)
			return matches[len(matches)-1], nil // the newest CUDA major version
		}
	}
	return "", errors.New("no PJRT CUDA plugin found: install the jax-cuda13-pjrt (or jax-cuda12-pjrt) " +
		"Python wheel, or point $" + PluginEnvVar + " or --backend xla:/path/to/xla_cuda_plugin.so at the plugin")
}

// sitePackages lists Python package folders: an active virtual environment,
// the user's, and the system's.
func sitePackages(root string, getenv func(string) string) []string {
	var patterns []string
	if venv := getenv("VIRTUAL_ENV"); venv != "" {
		patterns = append(patterns, filepath.Join(venv, "lib", "python3*", "site-packages"))
	}
	if home := getenv("HOME"); home != "" {
		patterns = append(patterns, filepath.Join(root, home, ".local", "lib", "python3*", "site-packages"))
	}
	patterns = append(patterns,
		filepath.Join(root, "usr", "local", "lib", "python3*", "site-packages"),
		filepath.Join(root, "usr", "local", "lib", "python3*", "dist-packages"),
		filepath.Join(root, "usr", "lib", "python3*", "site-packages"),
		filepath.Join(root, "usr", "lib", "python3", "dist-packages"),
		filepath.Join(root, "opt", "conda", "lib", "python3*", "site-packages"),
		filepath.Join(root, "root", ".pyenv", "versions", "*", "lib", "python3*", "site-packages"),
	)
	var dirs []string
	for _, p := range patterns {
		m, _ := filepath.Glob(p)
		slices.Sort(m)
		dirs = append(dirs, m...)
	}
	return dirs
}

// Environ returns the environment variables a process needs to load the
// plugin: the library search path, ptxas on PATH, XLA's CUDA data folder,
// and GoMLX's auto-install switched off. Existing values are extended, not
// replaced.
func (g *GPU) Environ(getenv func(string) string) map[string]string {
	if getenv == nil {
		getenv = os.Getenv
	}
	env := map[string]string{
		"GOMLX_NO_AUTO_INSTALL": "1",
		"GOPJRT_CUDA_CHECKS":    "0",
	}
	if len(g.LibDirs) > 0 {
		env["LD_LIBRARY_PATH"] = prependList(getenv("LD_LIBRARY_PATH"), g.LibDirs)
	}
	if g.PtxasDir != "" {
		env["PATH"] = prependList(getenv("PATH"), []string{g.PtxasDir})
	}
	if g.CUDADataDir != "" {
		flags := getenv("XLA_FLAGS")
		if !strings.Contains(flags, "--xla_gpu_cuda_data_dir") {
			flags = strings.TrimSpace(flags + " --xla_gpu_cuda_data_dir=" + g.CUDADataDir)
		}
		env["XLA_FLAGS"] = flags
	}
	return env
}

// prependList puts dirs ahead of the ":"-list current, without duplicates.
func prependList(current string, dirs []string) string {
	var out []string
	for _, d := range append(slices.Clone(dirs), filepath.SplitList(current)...) {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return strings.Join(out, string(filepath.ListSeparator))
}

func isFile(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
