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
		usage:   "[--arch vgg19bn|resnet18|resnet34] [--classes N] [--input SIDE] [--width W] [--channels C] | --config FILE",
		help: `Prints every layer's output shape and parameter count. --arch vgg19bn is the
paper's VGG-19-BN with its fully convolutional readout (39,737,352 parameters
for 200 classes at 64×64); resnet18 and resnet34 are the CIFAR ResNets of Li
et al. (3×3 stem, no max-pool; 11,173,962 and 21,282,122 parameters for 10
classes and RGB input, as torchvision counts them), with --width channels in
the first stage and --channels input channels (1 grayscale, 3 RGB); --config
summarizes the [model] of an experiment file (or "demo").`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			arch := fs.String("arch", "vgg19bn", "architecture: vgg19bn, resnet18, resnet34")
			width := fs.Int("width", 64, "resnet: channels of the stem and first stage")
			channels := fs.Int("channels", 3, "resnet: input channels (1 grayscale, 3 RGB)")
			classes := fs.Int("classes", 200, "number of classes")
			input := fs.Int("input", 64, "input image side in pixels")
			config := fs.String("config", "", "experiment file whose [model] to summarize")
			return func(_ context.Context, args []string, w io.Writer) error {
				var m models.Network
				switch {
				case *config != "":
					cfg, err := loadConfig(*config)
					if err != nil {
						return err
					}
					m = cfg.Model
				case *arch == "vgg19bn":
					m = models.VGG19BN(*classes)
				case *arch == models.ArchResNet18 || *arch == models.ArchResNet34:
					m = resnetFlags(*arch, *width, *classes, *channels)
				default:
					return usagef("unknown --arch %q (known: vgg19bn, resnet18, resnet34)", *arch)
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

// resnetFlags is the ResNet of an --arch resnet18 or resnet34 and the
// --width, --classes and --channels flags.
func resnetFlags(arch string, width, classes, channels int) models.ResNet {
	r := models.ResNet18(classes, channels)
	if arch == models.ArchResNet34 {
		r = models.ResNet34(classes, channels)
	}
	r.Width = width
	return r
}
