package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"

	"github.com/cotrain/cotrain/bench"
	"github.com/cotrain/cotrain/models"
)

func benchCommand(mode string) command {
	what := "a training step (forward, backward, SGD update)"
	if mode == "forward" {
		what = "inference (forward pass)"
	}
	return command{
		name:    "bench " + mode,
		summary: "throughput of " + what + " vs PyTorch",
		usage:   "[--arch vgg19bn] [--input 64] [--batch 32] [--steps 8] [--backend B] [--threads N]",
		help: fmt.Sprintf(`Times %s of the model on cotrain's backend and, in the
same invocation, of the same model, batch and thread count in PyTorch
(Debian's python3-torch, run with /usr/bin/python3). The two alternate
single steps after one warm-up step each, so both see the same machine.
Prints images/s, achieved GFLOP/s and the ratio cotrain / PyTorch (from the
median step times, and the median of paired step ratios).`, what),
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			arch := fs.String("arch", "vgg19bn", "architecture: vgg19bn, or an experiment's [model] with --config")
			config := fs.String("config", "", "experiment file whose [model] to time")
			classes := fs.Int("classes", 200, "number of classes")
			input := fs.Int("input", 64, "image side")
			batch := fs.Int("batch", 32, "batch size")
			steps := fs.Int("steps", 8, "timed steps per framework")
			threads := fs.Int("threads", runtime.NumCPU(), "PyTorch threads (torch.set_num_threads)")
			device := fs.String("device", "cpu", "PyTorch's device: cpu, or cuda to compare a GPU backend on the same GPU")
			noRef := fs.Bool("no-reference", false, "time cotrain only, and report its resident memory")
			backend := backendFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				m := models.VGG19BN(*classes)
				if *config != "" {
					cfg, err := loadConfig(*config)
					if err != nil {
						return err
					}
					m = cfg.Model
				} else if *arch != "vgg19bn" {
					return usagef("unknown --arch %q", *arch)
				}
				b, err := backend()
				if err != nil {
					return err
				}
				o := bench.Options{Mode: bench.Mode(mode), Model: m, Input: *input, Batch: *batch, Steps: *steps, Threads: *threads, Device: *device}
				flops, err := bench.FLOPs(m, *input, o.Mode)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s, %d×%d input, batch %d, %d timed steps, %.2f GFLOP per image\n", mode, *input, *input, *batch, *steps, flops/1e9)
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
					if r.Resident[0] > 0 {
						fmt.Fprintf(w, "resident memory: %.0f MiB after the warm-up step, %.0f MiB after %d more steps\n",
							float64(r.Resident[0])/(1<<20), float64(r.Resident[1])/(1<<20), *steps)
					}
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
