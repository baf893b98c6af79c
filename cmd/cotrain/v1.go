package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/data/responses"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/predict"
)

func v1SimulateCommand() command {
	return command{
		name:    "v1 simulate",
		summary: "record a simulated V1 population on images",
		usage:   "--images SPEC --out FILE [--first N] [--count N] [--pad N] [--neurons N] [--test-images N] [--repeats N] [--sessions N] [--seed N]",
		help: `Simulates the paper's recording protocol with a population of model V1
neurons (simple and complex Gabor cells with contrast normalization and
over-dispersed spike counts; docs/v1sim.md): every image is shown once,
except TEST-IMAGES images shown REPEATS times for the explainable-variance
measures. The stimuli are images FIRST… of SPEC (e.g. fashion-mnist:train),
zero-padded by PAD pixels. With --config, the experiment's [v1.simulate]
settings are the defaults. Writes a recordings file (docs/recordings.md) and
prints the neurons' FEV distribution.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			config := fs.String("config", "", "experiment file whose [v1.simulate] gives the defaults")
			out := fs.String("out", "", "recordings file to write (.npz)")
			var s experiment.SimulateConfig
			fs.StringVar(&s.Images, "images", "", "data spec of the stimulus images")
			fs.IntVar(&s.First, "first", 0, "index of the first stimulus image")
			fs.IntVar(&s.Count, "count", 0, "number of stimulus images (0: to the end)")
			fs.IntVar(&s.Pad, "pad", 0, "zero pixels added on every side")
			fs.IntVar(&s.Neurons, "neurons", 0, "population size (0: 458)")
			fs.IntVar(&s.TestImages, "test-images", 0, "repeated test images (0: 75)")
			fs.IntVar(&s.TestRepeats, "repeats", 0, "repeats per test image (0: 40)")
			fs.IntVar(&s.Sessions, "sessions", 0, "recording sessions (0: 1)")
			fs.Uint64Var(&s.Seed, "seed", 1, "seed of the population and the noise")
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *out == "" {
					return usagef("--out is required")
				}
				if *config != "" {
					cfg, err := loadConfig(*config)
					if err != nil {
						return err
					}
					s = overrideSet(fs, cfg.V1.Simulate, s)
				}
				if s.Images == "" {
					return usagef("--images (or --config) is required")
				}
				fmt.Fprintf(os.Stderr, "simulating V1 on %s…\n", s.Images)
				rec, err := s.Record(ctx)
				if err != nil {
					return err
				}
				if err := recordings.Save(*out, rec); err != nil {
					return err
				}
				fmt.Fprintf(w, "%s: %d neurons, %d images of %d×%d\n", *out, rec.NumNeurons(), rec.Images.N, rec.Images.H, rec.Images.W)
				return printFEV(w, rec, 0.15)
			}
		},
	}
}

// overrideSet returns base with the fields whose flags were set on the
// command line taken from flags.
func overrideSet(fs *flag.FlagSet, base, flags experiment.SimulateConfig) experiment.SimulateConfig {
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "images":
			base.Images = flags.Images
		case "first":
			base.First = flags.First
		case "count":
			base.Count = flags.Count
		case "pad":
			base.Pad = flags.Pad
		case "neurons":
			base.Neurons = flags.Neurons
		case "test-images":
			base.TestImages = flags.TestImages
		case "repeats":
			base.TestRepeats = flags.TestRepeats
		case "sessions":
			base.Sessions = flags.Sessions
		case "seed":
			base.Seed = flags.Seed
		}
	})
	return base
}

// printFEV prints the distribution of the neurons' FEV.
func printFEV(w io.Writer, rec *recordings.Recordings, threshold float64) error {
	fev, err := rec.TestFEV()
	if err != nil {
		return err
	}
	sorted := slices.Clone(fev)
	slices.Sort(sorted)
	q := func(p float64) float64 { return sorted[int(p*float64(len(sorted)-1)+0.5)] }
	above, sum := 0, 0.0
	for _, f := range fev {
		sum += f
		if f > threshold {
			above++
		}
	}
	fmt.Fprintf(w, "FEV of the %d neurons: 10%% %.3f, 25%% %.3f, median %.3f, 75%% %.3f, 90%% %.3f; mean %.3f; %d (%.0f%%) above %.2f\n",
		len(fev), q(0.1), q(0.25), q(0.5), q(0.75), q(0.9), sum/float64(len(fev)), above, 100*float64(above)/float64(len(fev)), threshold)
	return nil
}

func v1MetricsCommand() command {
	return command{
		name:    "v1 metrics",
		summary: "neural metrics of predicted responses on a recording's test set",
		usage:   "--recordings FILE [--predictions FILE] [--fev-threshold T]",
		help: `Prints the neural metrics of spec §4.4 for predictions of the responses to
the images of a recording (a response set made with "cotrain responses
--images recordings:FILE"): single-trial correlation, correlation to the
repeat average, FEV, FEVe and the oracle correlations, as means over the
neurons with FEV above the threshold (negative: all neurons). Without
--predictions it prints the recording's FEV distribution only.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			recPath := fs.String("recordings", "", "recordings: a cotrain .npz file, a CSRF19 folder or the Cadena .pkl")
			predPath := fs.String("predictions", "", "response set with one row per image of the recording")
			threshold := fs.Float64("fev-threshold", 0.15, "only neurons with FEV above this enter the means (negative: all)")
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *recPath == "" {
					return usagef("--recordings is required")
				}
				rec, err := recordings.Open(*recPath)
				if err != nil {
					return err
				}
				if err := printFEV(w, rec, *threshold); err != nil {
					return err
				}
				if *predPath == "" {
					return nil
				}
				rs, err := responses.Load(*predPath)
				if err != nil {
					return err
				}
				if rs.Images != rec.Images.N || rs.Neurons != rec.NumNeurons() {
					return fmt.Errorf("%s has %d images × %d neurons, the recording %d × %d; predict them with "+
						"\"cotrain responses --images recordings:%s\"", *predPath, rs.Images, rs.Neurons, rec.Images.N, rec.NumNeurons(), *recPath)
				}
				pred := make(map[int][]float32, rs.Images)
				for i := 0; i < rs.Images; i++ {
					pred[i] = rs.Row(i)
				}
				sel := experiment.V1Config{FEVThreshold: *threshold}.Selection()
				rep, err := rec.TestMetrics(pred, sel)
				if err != nil {
					return err
				}
				printNeural(w, rep)
				return nil
			}
		},
	}
}

// printNeural prints the means of a neural report.
func printNeural(w io.Writer, rep metrics.NeuralReport) {
	m := rep.Mean
	fmt.Fprintf(w, "over %d of %d neurons: FEVe %.3f, FEV %.3f, single-trial correlation %.3f, correlation to average %.3f, oracle correlation %.3f\n",
		rep.NumSelected, len(rep.FEV), m.FEVe, m.FEV, m.SingleTrialCorrelation, m.AverageCorrelation, m.OracleCorrelation)
}

func responsesCommand() command {
	return command{
		name:    "responses",
		summary: "predict a response set (or its shuffled control) for images",
		usage:   "--predictor DIR (--images SPEC | --images recordings:FILE | --config FILE) --out FILE [--shuffle --seed N]",
		help: `Runs a trained neural predictor (or co-trained model) in eval mode on every
image and writes the predicted responses as a response set, the
co-training targets of the MTL models (spec §1.4). The images are a data
spec (padded to the model's input), the images of a recording, or with
--config the experiment's classification training images. --shuffle
writes the shuffled control instead: whole response vectors permuted
across images with the given seed.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			dir := fs.String("predictor", "", "run directory of a trained predictor")
			images := fs.String("images", "", "data spec, or recordings:FILE")
			config := fs.String("config", "", "experiment whose classification training images to use")
			out := fs.String("out", "", "response set to write (.npz)")
			shuffle := fs.Bool("shuffle", false, "write the shuffled control")
			seed := fs.Uint("seed", 1000, "seed of the shuffle")
			batch := fs.Int("batch", 128, "images per batch")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *dir == "" || *out == "" || (*images == "") == (*config == "") {
					return usagef("--predictor, --out and one of --images and --config are required")
				}
				b, err := backend.open()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				m, err := predict.LoadNeural(b, *dir)
				if err != nil {
					return err
				}
				var rs *responses.Set
				switch {
				case strings.HasPrefix(*images, "recordings:"):
					path := strings.TrimPrefix(*images, "recordings:")
					rec, err := recordings.Open(path)
					if err != nil {
						return err
					}
					if rs, err = m.RecordingResponses(ctx, rec, *images); err != nil {
						return err
					}
				case *config != "":
					cfg, err := loadConfig(*config)
					if err != nil {
						return err
					}
					splits, err := cfg.Data.Open()
					if err != nil {
						return err
					}
					if rs, err = m.ResponseSet(ctx, splits.Train, *batch, *workers); err != nil {
						return err
					}
				default:
					set, err := openForModel(*images, m.Info.Input[0])
					if err != nil {
						return err
					}
					if rs, err = m.ResponseSet(ctx, set, *batch, *workers); err != nil {
						return err
					}
				}
				if *shuffle {
					rs = rs.Shuffled(uint32(*seed))
				}
				if err := responses.Save(*out, rs); err != nil {
					return err
				}
				kind := "response set"
				if *shuffle {
					kind = fmt.Sprintf("shuffled response set (seed %d)", *seed)
				}
				fmt.Fprintf(w, "%s: %s of %d images × %d neurons of %s\n", *out, kind, rs.Images, rs.Neurons, rs.Source)
				return nil
			}
		},
	}
}
