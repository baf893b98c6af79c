package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/predict"
)

func evalCleanCommand() command {
	return command{
		name:    "eval clean",
		summary: "accuracy of a trained classifier on clean images",
		usage:   "--checkpoint DIR --data SPEC [--backend B]",
		help: `Loads the classifier trained in DIR (a run directory with run.json and
model.npz) and prints its accuracy on the images of SPEC, for example
fashion-mnist:test or tinyimagenet:/data/tiny-imagenet-200:test. Images
smaller than the model's input are zero-padded to it, as in training.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			dir := fs.String("checkpoint", "", "run directory of a trained classifier")
			spec := fs.String("data", "", "dataset spec: NAME[:FOLDER]:SPLIT")
			batch := fs.Int("batch", 128, "images per batch")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if *dir == "" || *spec == "" {
					return usagef("--checkpoint and --data are required")
				}
				b, err := backend.open()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				clf, err := predict.LoadClassifier(b, *dir)
				if err != nil {
					return err
				}
				set, err := openForModel(*spec, clf.Info.Input[0])
				if err != nil {
					return err
				}
				loader, err := data.NewEvalLoader(set, *batch, clf.Info.Normalize, *workers)
				if err != nil {
					return err
				}
				correct, err := clf.Correct(ctx, loader)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "accuracy %.2f%% (%d of %d images of %s)\n", predict.Accuracy(correct), count(correct), len(correct), set.Name())
				return nil
			}
		},
	}
}

// openForModel opens a dataset spec and pads its images to the model's input side.
func openForModel(spec string, side int) (data.Set, error) {
	sp, err := data.ParseSpec(spec)
	if err != nil {
		return nil, usageError{err}
	}
	set, err := sp.Open(data.OpenOptions{})
	if err != nil {
		return nil, err
	}
	img, _, err := set.Example(0)
	if err != nil {
		return nil, err
	}
	if pad := side - img.H; pad > 0 && pad%2 == 0 {
		return data.Padded(set, pad/2), nil
	} else if pad != 0 {
		return nil, fmt.Errorf("%s has %d×%d images, the model takes %d×%d", set.Name(), img.H, img.W, side, side)
	}
	return set, nil
}

func count(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}
