package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/recipes"
)

// backendOpener opens the backend a command was asked to use.
type backendOpener struct{ spec *string }

// backendFlag adds --backend and returns what opens the chosen backend.
func backendFlag(fs *flag.FlagSet) backendOpener {
	return backendOpener{fs.String("backend", "", "compute backend: cpu[:threads=N,profile,kernel=avx2|avx512|generic], simplego or xla[:PLUGIN] (default: $"+engine.EnvVar+", else xla when a GPU is found, else cpu)")}
}

// name is the backend's spec: the flag's, else $COTRAIN_BACKEND's, else
// engine.Default's.
func (o backendOpener) name() string { return engine.Resolve(*o.spec) }

// open opens the backend (re-executing the program for the GPU's
// libraries if needed).
func (o backendOpener) open() (backends.Backend, error) {
	bs, err := o.openShared(1)
	if err != nil {
		return nil, err
	}
	return bs[0], nil
}

// openShared opens n instances of the backend for n jobs at once
// (engine.OpenShared).
func (o backendOpener) openShared(n int) ([]backends.Backend, error) {
	s := o.name()
	if s == engine.XLA || strings.HasPrefix(s, engine.XLA+":") {
		if g, err := engine.FindGPU(engine.GPUOptions{}); err == nil {
			if err := engine.ReexecForGPU(g); err != nil {
				return nil, err
			}
		}
	}
	return engine.OpenShared(s, n)
}

// parallelFlag adds --parallel.
func parallelFlag(fs *flag.FlagSet) *int {
	return fs.Int("parallel", 0, "jobs at once, each with its share of the cores (0: 2 on the cpu backend with at least two cores, else 1)")
}

// openEnvs opens the environments of parallel jobs at once (0: the
// backend's default) on the backend the flags name; each gets its share
// of the data-loading goroutines when workers is 0.
func openEnvs(backend backendOpener, parallel, workers int) ([]recipes.Env, error) {
	if parallel < 0 {
		return nil, usagef("--parallel %d: give a positive number of jobs (or 0 for the default)", parallel)
	}
	if parallel == 0 {
		parallel = engine.DefaultParallel(backend.name())
	}
	bs, err := backend.openShared(parallel)
	if err != nil {
		return nil, err
	}
	if workers == 0 && parallel > 1 {
		workers = max(1, runtime.NumCPU()/parallel)
	}
	envs := make([]recipes.Env, parallel)
	for i, b := range bs {
		envs[i] = recipes.Env{Backend: b, Progress: os.Stderr, Workers: workers}
	}
	return envs, nil
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
	b, err := backend.open()
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
