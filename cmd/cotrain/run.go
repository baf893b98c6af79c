package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/recipes"
)

// describeEnvs names the backend jobs run on and how many run at once.
func describeEnvs(envs []recipes.Env) string {
	d := describe(envs[0].Backend)
	if len(envs) > 1 {
		d = fmt.Sprintf("%d jobs at once, each on %s", len(envs), d)
	}
	return d
}

// printProfiles prints the profile of each environment's backend.
func printProfiles(envs []recipes.Env) {
	for i, e := range envs {
		if len(envs) > 1 {
			if p, ok := e.Backend.(interface{ Profile() string }); ok && p.Profile() != "" {
				fmt.Fprintf(os.Stderr, "jobs of slot %d of %d:\n", i+1, len(envs))
			}
		}
		printProfile(e.Backend, os.Stderr)
	}
}

func runCommand() command {
	return command{
		name:    "run",
		summary: "run a whole experiment: train, make response sets, evaluate, report",
		usage:   "[--plan] [--out DIR] [--backend B] [--parallel N] [--job N | --db DSN] FILE",
		help: `Runs the experiment file FILE ("demo" and "paper" name the built-in ones):
every model of its models list for every seed, with what they need (the
simulated V1 recording, the Monkey Predictor and its response sets, the
Oracle and its readout), the batch-ratio sweep, the evaluations (clean and
corrupted test accuracy, V1 predictivity) and the report: a results table
on stdout and report.html with the paper's figures in DIR/report.

Finished jobs are skipped and an interrupted training job resumes from its
last checkpoint, so after Ctrl-C or a crash the same command continues.
--parallel N runs up to N jobs at once, each as soon as the jobs making its
inputs are done, with 1/N of the cores (default 2 on the cpu backend of a
machine with two cores or more: a job alone keeps the cores only about
two-thirds busy); each job's progress then goes to DIR/logs/NNN.log.
Results depend on the threads a job had, so compare runs made with the same
--parallel on the same machine. --plan prints the jobs, their inputs and outputs and whether each is done,
without running anything.

--job N runs only job N of the plan (numbered as --plan prints them),
whose inputs must exist: what a Slurm array task of "cotrain slurm" runs.
--db postgres://… puts the experiment's jobs into a PostgreSQL job table
instead of running them: "cotrain worker --db …" processes on any
machines that reach DIR run them, and "cotrain status --db …" follows
them.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			plan := fs.Bool("plan", false, "print the plan and exit")
			out := fs.String("out", "", "output folder (default runs/NAME)")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			parallel := parallelFlag(fs)
			job := fs.Int("job", 0, "run only this job of the plan (1-based, as --plan numbers them)")
			db := fs.String("db", "", "PostgreSQL URL: submit the jobs to this job table for cotrain worker")
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) != 1 {
					return usagef("give one experiment file (or \"demo\")")
				}
				switch {
				case *job != 0 && *db != "":
					return usagef("--job and --db exclude each other")
				case *job != 0:
					return runJob(ctx, args[0], *out, *job, backend, *workers, w)
				case *db != "":
					return submitExperiment(ctx, args[0], *out, *db, w)
				}
				return runExperiment(ctx, args[0], *out, *plan, backend, *parallel, *workers, w)
			}
		},
	}
}

func demoCommand() command {
	return command{
		name:    "demo",
		summary: "run the built-in demo experiment (what make demo runs)",
		usage:   "[--plan] [--out DIR] [--backend B] [--parallel N] [safarani2021 | li2019]",
		help: `Runs the embedded demo experiment (cotrain run demo): Safarani et al.'s
six models on Fashion-MNIST with a simulated V1 population, and Li et
al.'s similarity-regularized ResNets with a simulated mouse V1, sized for
a two-core machine. "cotrain demo safarani2021" or "cotrain demo li2019"
runs one paper's part alone (with the jobs it needs: Li's VGG control
reads the first paper's Baseline). See "cotrain run --help".`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			plan := fs.Bool("plan", false, "print the plan and exit")
			out := fs.String("out", "", "output folder (default runs/demo)")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			parallel := parallelFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				switch len(args) {
				case 0:
					return runExperiment(ctx, "demo", *out, *plan, backend, *parallel, *workers, w)
				case 1:
					if _, ok := experiment.Papers()[args[0]]; !ok {
						return usagef("unknown part %q: give safarani2021 or li2019", args[0])
					}
					return runPart(ctx, args[0], *out, *plan, backend, *parallel, *workers, w)
				}
				return usagef("unexpected arguments %q", args)
			}
		},
	}
}

// runPart runs one paper's part of the demo.
func runPart(ctx context.Context, part, out string, planOnly bool, backend backendOpener, parallel, workers int, w io.Writer) error {
	plan, text, err := openPlan("demo", out)
	if err != nil {
		return err
	}
	if planOnly {
		sub := *plan
		sub.Jobs = plan.Part(experiment.Papers()[part])
		sub.Print(w)
		return nil
	}
	if err := experiment.SaveText(plan.Root, text); err != nil {
		return err
	}
	envs, err := openEnvs(backend, parallel, workers)
	if err != nil {
		return err
	}
	defer printProfiles(envs)
	start := time.Now()
	fmt.Fprintf(os.Stderr, "running the %s part of experiment %q on %s into %s\n", part, plan.Config.Name, describeEnvs(envs), plan.Root)
	if err := plan.RunPart(ctx, envs, w, part); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wall-clock %s on %s\n", time.Since(start).Round(time.Second), envs[0].Backend.Name())
	return nil
}

// openPlan reads an experiment and plans it into out (default
// runs/NAME), returning the experiment file's text too.
func openPlan(file, out string) (*experiment.Plan, []byte, error) {
	if file == "" {
		return nil, nil, usagef("give an experiment file (or \"demo\")")
	}
	text, err := experiment.Text(file)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := experiment.Parse(file, text)
	if err != nil {
		return nil, nil, err
	}
	plan, err := experiment.NewPlan(cfg, outDir(out, cfg))
	return plan, text, err
}

func runExperiment(ctx context.Context, file, out string, planOnly bool, backend backendOpener, parallel, workers int, w io.Writer) error {
	plan, text, err := openPlan(file, out)
	if err != nil {
		return err
	}
	if planOnly {
		plan.Print(w)
		return nil
	}
	cfg, out := plan.Config, plan.Root
	if err := experiment.SaveText(out, text); err != nil {
		return err
	}
	envs, err := openEnvs(backend, parallel, workers)
	if err != nil {
		return err
	}
	defer printProfiles(envs)
	start := time.Now()
	fmt.Fprintf(os.Stderr, "running experiment %q (%d jobs) on %s into %s\n", cfg.Name, len(plan.Jobs), describeEnvs(envs), out)
	if err := plan.Run(ctx, envs, w); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wall-clock %s on %s\n", time.Since(start).Round(time.Second), envs[0].Backend.Name())
	return nil
}
