package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/cotrain/cotrain/models"
)

func modelSummaryCommand() command {
	return command{
		name:    "model summary",
		summary: "layer shapes and parameter count of a model",
		usage:   "[--arch vgg19bn] [--classes N] [--input SIDE] | --config FILE",
		help: `Prints every layer's output shape and parameter count. --arch vgg19bn is the
paper's VGG-19-BN with its fully convolutional readout (39,737,352 parameters
for 200 classes at 64×64); --config summarizes the [model] of an experiment
file (or "demo").`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			arch := fs.String("arch", "vgg19bn", "architecture: vgg19bn")
			classes := fs.Int("classes", 200, "number of classes")
			input := fs.Int("input", 64, "input image side in pixels")
			config := fs.String("config", "", "experiment file whose [model] to summarize")
			return func(_ context.Context, args []string, w io.Writer) error {
				var m models.VGG
				switch {
				case *config != "":
					cfg, err := loadConfig(*config)
					if err != nil {
						return err
					}
					m = cfg.Model
				case *arch == "vgg19bn":
					m = models.VGG19BN(*classes)
				default:
					return usagef("unknown --arch %q (known: vgg19bn)", *arch)
				}
				layers, total, err := m.Summary(*input)
				if err != nil {
					return err
				}
				fmt.Fprint(w, models.FormatSummary(layers, total))
				return nil
			}
		},
	}
}
