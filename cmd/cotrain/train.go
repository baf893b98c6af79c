package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/backends"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/roles"
)

func trainCommand() command {
	return command{
		name:    "train",
		summary: "train one model of an experiment (resumes an interrupted run)",
		usage:   "--config FILE --model ROLE [--seed N] [--backend B] [--out DIR]",
		help: `Trains one model of the experiment file (or a preset: "demo", "paper"),
exactly as "cotrain run" trains it, into the same folder: ROLE is one of
baseline, monkey-predictor, oracle, mtl-oracle, mtl-monkey, mtl-shuffled.
What the model needs and is not made yet runs first, once (the simulated V1
recording, the Monkey Predictor and its response sets, the Oracle and its
readout); "cotrain run --plan" lists these jobs.

The model's run directory, OUT/ROLE/seed-N (OUT defaults to runs/NAME, as
for "cotrain run"), receives a checkpoint after every epoch; running the
same command again after an interruption (Ctrl-C, kill -9) resumes from the
last completed epoch, and running it on a finished run just reports it.
Progress goes to stderr.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			config := fs.String("config", "", "experiment file, or a preset (\"demo\", \"paper\")")
			role := fs.String("model", string(roles.Baseline), "the model to train: baseline, monkey-predictor, oracle, mtl-oracle, mtl-monkey or mtl-shuffled")
			seed := fs.Int64("seed", 0, "seed (default: the experiment's first seed)")
			out := fs.String("out", "", "experiment folder (default runs/NAME)")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				cfg, err := loadConfig(*config)
				if err != nil {
					return err
				}
				r, err := roles.Parse(*role)
				if err != nil || r == roles.Other {
					return usagef("--model %q: want one of %v", *role, roles.Table1())
				}
				if *seed == 0 {
					*seed = cfg.Seeds[0]
				}
				plan, err := experiment.NewPlan(cfg, outDir(*out, cfg))
				if err != nil {
					return err
				}
				job, err := plan.Training(r, *seed)
				if err != nil {
					return err
				}
				env, err := runWithInputs(ctx, plan, job, backend, *workers, w, func(b backends.Backend) {
					fmt.Fprintf(os.Stderr, "training %s (seed %d) of experiment %q on %s into %s\n", r, *seed, cfg.Name, describe(b), job.Dir)
				})
				if err != nil {
					return err
				}
				return summarizeRun(ctx, env, plan, job.Dir, w)
			}
		},
	}
}

// summarizeRun prints what a finished training run reached: the best
// validation objective and, for a classifier, the test accuracy, for a
// predictor the neural metrics on the test recordings.
func summarizeRun(ctx context.Context, env recipes.Env, plan *experiment.Plan, dir string, w io.Writer) error {
	cfg := plan.Config
	hist, err := recipes.ReadResult(dir)
	if err != nil {
		return err
	}
	info, err := checkpoint.ReadRunInfo(dir)
	if err != nil {
		return err
	}
	if info.Kind == checkpoint.KindPredictor {
		rec, err := recordings.Open(plan.Recordings)
		if err != nil {
			return err
		}
		m, err := predict.LoadNeural(env.Backend, dir)
		if err != nil {
			return err
		}
		rep, err := m.EvaluateV1(ctx, rec, cfg.V1.Selection())
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %d epochs, best validation correlation %.4f (epoch %d)\ntest set: ", dir, hist.Epochs, hist.BestObjective, hist.BestEpoch)
		printNeural(w, rep)
		return printFEV(w, rec, cfg.V1.FEVThreshold)
	}
	splits, err := cfg.Data.Open()
	if err != nil {
		return err
	}
	clf, err := predict.LoadClassifier(env.Backend, dir)
	if err != nil {
		return err
	}
	loader, err := data.NewEvalLoader(splits.Test, cfg.Classifier.Batch, splits.Normalize, env.Workers)
	if err != nil {
		return err
	}
	correct, err := clf.Correct(ctx, loader)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d epochs, best validation accuracy %.2f%% (epoch %d), test accuracy %.2f%% on %d images\nmodel: %s\n",
		dir, hist.Epochs, hist.BestObjective, hist.BestEpoch, predict.Accuracy(correct), len(correct), filepath.Join(dir, checkpoint.ModelFile))
	return nil
}
