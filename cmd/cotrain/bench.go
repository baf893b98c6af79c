package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"text/tabwriter"

	cpucore "github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/internal/bench"
	"github.com/cotrain/cotrain/models"
)

func benchCommand(mode string) command {
	what := "a training step (forward, backward, SGD update)"
	switch mode {
	case "forward":
		what = "inference (forward pass)"
	case "attack":
		what = "an L∞ PGD attack step (forward, input gradient, projected signed step; images·steps/s)"
	}
	return command{
		name:    "bench " + mode,
		summary: "throughput of " + what + " vs PyTorch",
		usage:   "[--arch vgg19bn|resnet18|resnet34] [--width W] [--channels C] [--input 64] [--batch 32] [--steps 8] [--backend B] [--threads N]",
		help: fmt.Sprintf(`Times %s of the model on cotrain's backend and, in the
same invocation, of the same model, batch and thread count in PyTorch
(Debian's python3-torch, run with /usr/bin/python3). The two alternate
single steps after one warm-up step each, so both see the same machine.
Prints images/s, achieved GFLOP/s and the ratio cotrain / PyTorch (from the
median step times, and the median of paired step ratios).`, what),
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			arch := fs.String("arch", "vgg19bn", "architecture: vgg19bn, resnet18, resnet34, or an experiment's [model] with --config")
			config := fs.String("config", "", "experiment file whose [model] to time")
			classes := fs.Int("classes", 200, "number of classes (default 10 for a resnet)")
			width := fs.Int("width", 64, "resnet: channels of the stem and first stage")
			channels := fs.Int("channels", 3, "resnet: input channels (1 grayscale, 3 RGB)")
			input := fs.Int("input", 64, "image side")
			batch := fs.Int("batch", 32, "batch size")
			steps := fs.Int("steps", 8, "timed steps per framework")
			threads := fs.Int("threads", runtime.NumCPU(), "PyTorch threads (torch.set_num_threads)")
			device := fs.String("device", "cpu", "PyTorch's device: cpu, or cuda to compare a GPU backend on the same GPU")
			noRef := fs.Bool("no-reference", false, "time cotrain only, and report its resident memory")
			backend := backendFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				var m models.Network = models.VGG19BN(*classes)
				switch {
				case *config != "":
					cfg, err := loadConfig(*config)
					if err != nil {
						return err
					}
					m = cfg.Model
				case *arch == models.ArchResNet18 || *arch == models.ArchResNet34:
					n := *classes
					if !flagSet(fs, "classes") {
						n = 10
					}
					m = resnetFlags(*arch, *width, n, *channels)
				case *arch != "vgg19bn":
					return usagef("unknown --arch %q (known: vgg19bn, resnet18, resnet34)", *arch)
				}
				if err := m.Validate(); err != nil {
					return usagef("%v", err)
				}
				b, err := backend.open()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				o := bench.Options{Mode: bench.Mode(mode), Model: m, Input: *input, Batch: *batch, Steps: *steps, Threads: *threads, Device: *device}
				flops, err := bench.FLOPs(m, *input, o.Mode)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s %s, %d×%d input, batch %d, %d timed steps, %.2f GFLOP per image\n", describeNetwork(m), mode, *input, *input, *batch, *steps, flops/1e9)
				fmt.Fprintf(w, "machine: %s, %d cores; cotrain backend: %s\n", cpucore.CPUModel(), runtime.NumCPU(), b.Description())
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "framework\timages/s\tGFLOP/s\tmedian step")
				row := func(r bench.Result) {
					fmt.Fprintf(tw, "%s\t%.2f\t%.1f\t%.3fs\n", r.Framework, r.Images, r.GFLOPs, float64(*batch)/r.Images)
				}
				if *noRef {
					r, err := bench.Cotrain(ctx, b, o)
					if err != nil {
						return err
					}
					row(r)
					if err := tw.Flush(); err != nil {
						return err
					}
					printResident(w, r.Resident)
					return nil
				}
				c, err := bench.Compare(ctx, b, o)
				if err != nil {
					return err
				}
				row(c.Cotrain)
				row(c.PyTorch)
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintf(w, "ratio cotrain / PyTorch: %.2f (median steps), %.2f (median of paired steps)\n", c.Ratio, c.PairedRatio)
				return nil
			}
		},
	}
}

// printResident reports the resident memory after the warm-up step and
// after a quarter, half, three quarters and all of the timed steps: the
// garbage collector lets the heap grow to about twice the live data before
// its first cycles, so flat means no growth from the quarter on.
func printResident(w io.Writer, rss []int64) {
	if len(rss) < 2 {
		return
	}
	mib := func(b int64) float64 { return float64(b) / (1 << 20) }
	n := len(rss) - 1
	fmt.Fprintf(w, "resident memory [MiB]: %.0f after the warm-up step", mib(rss[0]))
	for _, q := range []int{n / 4, n / 2, 3 * n / 4, n} {
		if q > 0 {
			fmt.Fprintf(w, ", %.0f after step %d", mib(rss[q]), q)
		}
	}
	fmt.Fprintf(w, "; peak %.0f\n", mib(slices.Max(rss)))
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// describeNetwork names a benchmarked network in one phrase.
func describeNetwork(m models.Network) string {
	if r, ok := m.(models.ResNet); ok {
		return fmt.Sprintf("%s (width %d, %d input channels, %d classes)", r.Arch(), r.Width, r.InputChannels, r.Classes)
	}
	return fmt.Sprintf("vgg (%d classes)", m.NumClasses())
}
