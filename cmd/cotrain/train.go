package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/responses"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
)

func trainCommand() command {
	return command{
		name:    "train",
		summary: "train one model of an experiment (resumes an interrupted run)",
		usage:   "--config FILE --model KIND [--responses FILE] [--seed N] [--backend B] [--out DIR]",
		help: `Trains one model of the experiment file (or "demo" / "paper" for the built-in
ones). KIND is baseline, oracle, predictor (the Monkey Predictor, on the
experiment's V1 recordings) or mtl (co-training on the response set given
with --responses, made with "cotrain responses"; MTL-Monkey, MTL-Shuffled
and MTL-Oracle differ only in it). "cotrain run" trains them all in order.

The run directory (--out, default runs/EXPERIMENT/KIND/seed-N) receives a
checkpoint after every epoch; running the same command again after an
interruption (Ctrl-C, kill -9) resumes from the last completed epoch, and
running it on a finished run just reports it. Progress goes to stderr.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			config := fs.String("config", "", "experiment file, or \"demo\" / \"paper\"")
			kind := fs.String("model", "baseline", "model kind: baseline, oracle, predictor or mtl")
			respPath := fs.String("responses", "", "response set (the co-training targets) for --model mtl")
			seed := fs.Int64("seed", 0, "seed (default: the experiment's first seed)")
			out := fs.String("out", "", "run directory (default runs/EXPERIMENT/KIND/seed-N)")
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
				if *seed == 0 {
					*seed = cfg.Seeds[0]
				}
				if *out == "" {
					*out = filepath.Join("runs", cfg.Name, *kind, fmt.Sprintf("seed-%d", *seed))
				}
				b, err := backend()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				env := recipes.Env{Backend: b, Progress: os.Stderr, Workers: *workers}
				fmt.Fprintf(os.Stderr, "training %s (seed %d) of experiment %q on %s into %s\n", *kind, *seed, cfg.Name, describe(b), *out)
				switch *kind {
				case "baseline":
					return trainBaseline(ctx, env, cfg, *seed, *out, w)
				case "predictor", "monkey-predictor":
					return trainPredictor(ctx, env, cfg, *seed, *out, w)
				case "oracle":
					return trainClassifierKind(ctx, env, cfg, *seed, *out, w, func(d recipes.ClassifierData) (*recipes.ClassifierResult, error) {
						return recipes.TrainOracle(ctx, env, recipes.OracleJob{Dir: *out, Model: cfg.Model, Classifier: cfg.Classifier,
							Recipe: cfg.Oracle, Data: d, Seed: *seed})
					})
				case "mtl", "mtl-monkey", "mtl-shuffled", "mtl-oracle":
					if *respPath == "" {
						return usagef("--model %s needs --responses FILE (make one with \"cotrain responses\")", *kind)
					}
					rs, err := responses.Load(*respPath)
					if err != nil {
						return err
					}
					return trainClassifierKind(ctx, env, cfg, *seed, *out, w, func(d recipes.ClassifierData) (*recipes.ClassifierResult, error) {
						res, err := recipes.TrainMTL(ctx, env, recipes.MTLJob{Dir: *out, Model: cfg.Model, Recipe: cfg.MTL, Data: d, Responses: rs, Seed: *seed})
						if res == nil {
							return nil, err
						}
						return &recipes.ClassifierResult{LoopResult: res.LoopResult, ValidationAccuracy: res.ValidationAccuracy}, err
					})
				}
				return usagef("unknown model %q (known: baseline, oracle, predictor, mtl)", *kind)
			}
		},
	}
}

// trainBaseline trains the Baseline classifier and reports its accuracies.
func trainBaseline(ctx context.Context, env recipes.Env, cfg experiment.Config, seed int64, dir string, w io.Writer) error {
	return trainClassifierKind(ctx, env, cfg, seed, dir, w, func(d recipes.ClassifierData) (*recipes.ClassifierResult, error) {
		return recipes.TrainClassifier(ctx, env, recipes.ClassifierJob{Dir: dir, Model: cfg.Model, Recipe: cfg.Classifier, Seed: seed, Data: d})
	})
}

// trainClassifierKind runs a recipe that yields a classifier and reports
// its validation and test accuracies.
func trainClassifierKind(ctx context.Context, env recipes.Env, cfg experiment.Config, seed int64, dir string, w io.Writer,
	train func(recipes.ClassifierData) (*recipes.ClassifierResult, error)) error {
	splits, err := cfg.Data.Open()
	if err != nil {
		return err
	}
	res, err := train(recipes.ClassifierData{Train: splits.Train, Validation: splits.Validation, TrainPipeline: splits.TrainPipeline, Normalize: splits.Normalize})
	if errors.Is(err, recipes.ErrInterrupted) {
		return fmt.Errorf("interrupted; run the same command again to resume %s", dir)
	}
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
		dir, res.Epochs, res.ValidationAccuracy, res.BestEpoch, predict.Accuracy(correct), len(correct), filepath.Join(dir, recipes.ModelFile))
	return nil
}

// trainPredictor trains the Monkey Predictor on the experiment's V1
// recordings and reports its neural metrics on their test set.
func trainPredictor(ctx context.Context, env recipes.Env, cfg experiment.Config, seed int64, dir string, w io.Writer) error {
	rec, err := cfg.V1.Open(ctx)
	if err != nil {
		return err
	}
	job := recipes.PredictorJob{Dir: dir, Model: cfg.Model, Recipe: cfg.Predictor, Recordings: rec, Seed: seed}
	res, err := recipes.TrainPredictor(ctx, env, job)
	if errors.Is(err, recipes.ErrInterrupted) {
		return fmt.Errorf("interrupted; run the same command again to resume %s", dir)
	}
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
	fmt.Fprintf(w, "%s: %d epochs, best validation correlation %.4f (epoch %d)\ntest set: ", dir, res.Epochs, res.ValidationCorrelation, res.BestEpoch)
	printNeural(w, rep)
	return printFEV(w, rec, cfg.V1.FEVThreshold)
}
