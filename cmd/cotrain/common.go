package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gomlx/gomlx/backends"

	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/experiment"
)

// backendOpener opens the backend a command was asked to use.
type backendOpener func() (backends.Backend, error)

// backendFlag adds --backend and returns a function opening the chosen
// backend (re-executing the program for the GPU's libraries if needed).
func backendFlag(fs *flag.FlagSet) backendOpener {
	spec := fs.String("backend", "", "compute backend: cpu[:threads=N,profile,kernel=avx2|avx512|generic], simplego or xla[:PLUGIN] (default: $"+engine.EnvVar+", else xla when a GPU is found, else cpu)")
	return func() (backends.Backend, error) {
		s := *spec
		if s == "" {
			s = os.Getenv(engine.EnvVar)
		}
		if s == "" {
			s = engine.Default()
		}
		if s == engine.XLA || len(s) > len(engine.XLA) && s[:len(engine.XLA)+1] == engine.XLA+":" {
			if g, err := engine.FindGPU(engine.GPUOptions{}); err == nil {
				if err := engine.ReexecForGPU(g); err != nil {
					return nil, err
				}
			}
		}
		return engine.Open(s)
	}
}

// loadConfig reads an experiment file or names a preset ("demo", "paper").
func loadConfig(path string) (experiment.Config, error) {
	if path == "" {
		return experiment.Config{}, usagef("--config is required (a TOML experiment file, or \"demo\")")
	}
	return experiment.Load(path)
}

// workersFlag adds --workers.
func workersFlag(fs *flag.FlagSet) *int {
	return fs.Int("workers", 0, "data-loading goroutines (0: one per core)")
}

// printProfile writes the kernel time per op that a backend opened with a
// profiling option (cpu:profile) recorded, if it did.
func printProfile(b backends.Backend, w io.Writer) {
	if p, ok := b.(interface{ Profile() string }); ok {
		if text := p.Profile(); text != "" {
			fmt.Fprintf(w, "kernel time per op:\n%s", text)
		}
	}
}

func describe(b backends.Backend) string {
	return fmt.Sprintf("%s — %s", b.Name(), b.Description())
}
