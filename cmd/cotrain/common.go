package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"

	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/recipes"
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

// planOf loads an experiment file (or preset) and plans it into out
// (outDir).
func planOf(config, out string) (*experiment.Plan, error) {
	cfg, err := loadConfig(config)
	if err != nil {
		return nil, err
	}
	return experiment.NewPlan(cfg, outDir(out, cfg))
}

// outDir is the experiment folder a command was given, runs/NAME when
// none.
func outDir(out string, cfg experiment.Config) string {
	if out == "" {
		return filepath.Join("runs", cfg.Name)
	}
	return out
}

// runWithInputs runs job, after the jobs it needs that are not done yet,
// on the backend the flags name, and prints the backend's profile when it
// was opened with one; announce, if not nil, is told the backend first. It
// returns the environment the jobs ran in.
func runWithInputs(ctx context.Context, plan *experiment.Plan, job *experiment.Job, backend backendOpener, workers int, w io.Writer, announce func(backends.Backend)) (recipes.Env, error) {
	b, err := backend()
	if err != nil {
		return recipes.Env{}, err
	}
	defer printProfile(b, os.Stderr)
	if announce != nil {
		announce(b)
	}
	env := recipes.Env{Backend: b, Progress: os.Stderr, Workers: workers}
	return env, plan.RunJobs(ctx, env, w, plan.WithInputs(job), nil)
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
