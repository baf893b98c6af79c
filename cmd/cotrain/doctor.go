package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/cotrain/cotrain/engine"
	cpucore "github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/internal/bench"
)

func doctorCommand() command {
	return command{
		name:    "doctor",
		summary: "what this machine offers: backends, GPU plugin, datasets",
		usage:   "",
		help: `Reports which backend a run would use and why not the others: the CPU and its
vector units, the PJRT CUDA plugin and NVIDIA libraries found (or what is
missing), the Fashion-MNIST package, and the PyTorch reference for benchmarks.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			plugin := fs.String("plugin", "", "PJRT CUDA plugin to check instead of searching")
			return func(_ context.Context, _ []string, w io.Writer) error {
				fmt.Fprintf(w, "cpu: %s, %s/%s, %d cores, AVX2 %v, FMA %v, AVX-512F %v, AVX-512VL %v\n", cpucore.CPUModel(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
					cpu.X86.HasAVX2, cpu.X86.HasFMA, cpu.X86.HasAVX512F, cpu.X86.HasAVX512VL)
				if b, err := engine.Open(engine.CPU); err == nil {
					fmt.Fprintf(w, "  backend cpu: available — %s\n", b.Description())
					if cb, ok := b.(*cpucore.Backend); ok {
						fmt.Fprintf(w, "  GEMM kernel: %s (supported here: %s; force one with --backend cpu:kernel=NAME)\n",
							cb.Kernel(), strings.Join(cpucore.SupportedKernels(), ", "))
					}
				}
				fmt.Fprintln(w, "  backend simplego: available (pure Go reference; slow)")
				g, err := engine.FindGPU(engine.GPUOptions{Plugin: *plugin})
				if err != nil {
					fmt.Fprintf(w, "gpu: none found\n  backend xla: unavailable — %v\n", err)
				} else {
					fmt.Fprintf(w, "gpu: %s\n  backend xla: available — PJRT plugin %s\n  NVIDIA libraries: %s\n  ptxas: %s\n  CUDA data dir: %s\n",
						strings.Join(g.Devices, " "), g.Plugin, strings.Join(g.LibDirs, ":"), orNone(g.PtxasDir), orNone(g.CUDADataDir))
				}
				def := engine.Default()
				if env := os.Getenv(engine.EnvVar); env != "" {
					def = env + " (from $" + engine.EnvVar + ")"
				}
				fmt.Fprintf(w, "a run would use: %s\n", def)
				if _, err := os.Stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"); err == nil {
					fmt.Fprintln(w, "fashion-mnist: installed (/usr/share/datasets/fashion-mnist)")
				} else {
					fmt.Fprintln(w, "fashion-mnist: missing — apt-get install dataset-fashion-mnist")
				}
				if out, err := exec.Command(bench.PythonPath, "-c", "import torch; print(torch.__version__)").Output(); err == nil {
					fmt.Fprintf(w, "pytorch reference: %s (%s)\n", strings.TrimSpace(string(out)), bench.PythonPath)
				} else {
					fmt.Fprintln(w, "pytorch reference: missing — apt-get install python3-torch (only `cotrain bench` needs it)")
				}
				return nil
			}
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "not found"
	}
	return s
}
