package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/report"
	"github.com/cotrain/cotrain/similarity"
)

// mouseSource adds --config, --recordings and --downsample and returns a
// function that opens the mouse recordings they name (the recordings win
// over the experiment's [mouse] section).
func mouseSource(fs *flag.FlagSet) func(ctx context.Context, testOnly bool) (*recordings.Recordings, experiment.MouseConfig, string, error) {
	config := fs.String("config", "", "experiment file or preset whose [mouse] section gives the recordings or the simulation")
	recPath := fs.String("recordings", "", "mouse recordings: a cotrain .npz file, a Sensorium static folder or a folder of them")
	down := fs.Int("downsample", 0, "average Sensorium images over N×N blocks (Li et al.: 4; default: the experiment's, else 1)")
	return func(ctx context.Context, testOnly bool) (*recordings.Recordings, experiment.MouseConfig, string, error) {
		mc := experiment.PaperMouse()
		mc.Downsample = 1
		if *config != "" {
			cfg, err := loadConfig(*config)
			if err != nil {
				return nil, mc, "", err
			}
			mc = cfg.Mouse
		}
		if *recPath != "" {
			mc.Recordings = *recPath
		}
		if *down > 0 {
			mc.Downsample = *down
		}
		if !mc.Used() {
			return nil, mc, "", usagef("give --recordings, or --config with a [mouse] section")
		}
		source := mc.Recordings
		if source == "" {
			source = "simulated: " + mc.Simulate.Images
			fmt.Fprintf(os.Stderr, "simulating %d mouse scans on %s…\n", max(mc.Simulate.Scans, 1), mc.Simulate.Images)
		}
		rec, err := mc.OpenWith(ctx, testOnly)
		return rec, mc, source, err
	}
}

func mouseSimulateCommand() command {
	return command{
		name:    "mouse simulate",
		summary: "record simulated mouse V1 scans (Li et al.'s protocol)",
		usage:   "--config FILE --out FILE",
		help: `Simulates the experiment's [mouse.simulate] recording (docs/v1sim.md):
scans of model mouse V1 neurons shown every image once, except the oracle
images shown repeatedly, with running, pupil and eye-position effects.
Writes a recordings file with per-trial behaviour (docs/recordings.md) and
prints each scan's explainable variance.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			open := mouseSource(fs)
			out := fs.String("out", "", "recordings file to write (.npz)")
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 || *out == "" {
					return usagef("give --out FILE and no arguments")
				}
				start := time.Now()
				rec, _, _, err := open(ctx, false)
				if err != nil {
					return err
				}
				if err := recordings.Save(*out, rec); err != nil {
					return err
				}
				fmt.Fprintf(w, "%s: %d scans, %d neurons, %d images of %d×%d (%.1f s)\n", *out, len(rec.Sessions), rec.NumNeurons(), rec.Images.N, rec.Images.H, rec.Images.W, time.Since(start).Seconds())
				return printFEV(w, rec, 0.15)
			}
		},
	}
}

func mouseTrainCommand() command {
	return command{
		name:    "mouse train",
		summary: "train Li et al.'s denoising predictor on mouse scans",
		usage:   "(--config FILE | --recordings R) --out DIR [--backend B]",
		help: `Trains the denoising predictor of Li et al. 2019 §2.2 (a 3-layer CNN core
with skip connections and, per scan, a Gaussian readout with an
eye-position shifter and a behaviour modulator; Poisson loss) with the
experiment's [mouse.predictor] settings, on its [mouse] recordings or on
--recordings. An interrupted run resumes. Prints the validation and the
held-out oracle-trial (test) correlation.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			open := mouseSource(fs)
			out := fs.String("out", "", "run folder of the predictor")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 || *out == "" {
					return usagef("give --out DIR and no arguments")
				}
				rec, mc, _, err := open(ctx, false)
				if err != nil {
					return err
				}
				b, err := backend.open()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				start := time.Now()
				env := recipes.Env{Backend: b, Progress: os.Stderr, Workers: *workers}
				res, err := recipes.TrainMousePredictor(ctx, env, mc.PredictorJob(*out, rec))
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s: %d epochs (best %d), validation correlation %.4f, test (oracle trials) correlation %.4f, per scan %s (%.1f s)\n",
					*out, res.Epochs, res.BestEpoch, res.ValidationCorrelation, res.TestCorrelation, formatFloats(res.ScanTestCorrelation), time.Since(start).Seconds())
				return nil
			}
		},
	}
}

func similarityCommand() command {
	return command{
		name:    "similarity",
		summary: "Li et al.'s neural similarity target and Fig. 1 analyses",
		usage:   "(--recordings R | --config FILE) [--predictor DIR] [--kind model|data|oracle] --out S.npz [--report DIR] [--shuffle SEED]",
		help: `Builds a similarity target (docs/similarity.md) from mouse recordings:
--kind model (the default; needs --predictor) averages over scans S_model
(Li et al. Eq. 6), the similarity of the denoising predictor's responses
to the non-oracle images scaled by w·v; --kind data averages S_data (Eq. 2)
of the single trials; --kind oracle averages S_oracle (Eq. 3) on the oracle
images. --shuffle SEED writes the Shuffle control instead. The target and
its images go to --out (.npz).

--report DIR also writes the Fig. 1 analyses on the oracle images: S_oracle
and S_model matrices ordered by clustering, the ΔS_scan and ΔS_repeat
distributions and the S_data and S_model scatter against S_oracle with
their correlations (PNG), and prints the numbers. Prints the time taken and
the peak resident memory.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			open := mouseSource(fs)
			predDir := fs.String("predictor", "", "run folder of the denoising predictor (cotrain mouse train)")
			kind := fs.String("kind", string(similarity.KindModel), "target: model, data or oracle")
			out := fs.String("out", "", "target file to write (.npz)")
			reportDir := fs.String("report", "", "folder for the Fig. 1 figures")
			shuffle := fs.Int64("shuffle", -1, "write the Shuffle control with this seed")
			backend := backendFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 || *out == "" {
					return usagef("give --out FILE and no arguments")
				}
				k := similarity.Kind(*kind)
				if k != similarity.KindModel && k != similarity.KindData && k != similarity.KindOracle {
					return usagef("--kind %q: want model, data or oracle", *kind)
				}
				if k == similarity.KindModel && *predDir == "" {
					return usagef("--kind model needs --predictor (or choose --kind data or oracle)")
				}
				start := time.Now()
				// S_model and S_oracle need only the oracle trials' responses.
				rec, _, source, err := open(ctx, k != similarity.KindData)
				if err != nil {
					return err
				}
				var pred similarity.Predictor
				if *predDir != "" {
					b, err := backend.open()
					if err != nil {
						return err
					}
					m, err := predict.LoadMouse(b, *predDir)
					if err != nil {
						return err
					}
					pred = m
				}
				opt := similarity.Options{Source: source, PredictorDir: *predDir, Progress: os.Stderr}
				var t *similarity.Target
				switch k {
				case similarity.KindModel:
					t, err = similarity.ModelTarget(ctx, rec, pred, opt)
				case similarity.KindData:
					t, err = similarity.DataTarget(rec, opt)
				case similarity.KindOracle:
					t, err = similarity.OracleTarget(rec, opt)
				}
				if err != nil {
					return err
				}
				if *shuffle >= 0 {
					t = t.Shuffled(uint32(*shuffle))
				}
				if err := similarity.Save(*out, t); err != nil {
					return err
				}
				fmt.Fprintf(w, "%s: S_%s over %d images of %d×%d from %d scans (%.1f s, peak resident memory %s)\n",
					*out, k, t.N, t.H, t.W, len(t.Meta.Scans), time.Since(start).Seconds(), peakRSS())
				if *reportDir == "" {
					return nil
				}
				return similarityReport(ctx, rec, pred, *reportDir, w)
			}
		},
	}
}

// similarityReport writes the Fig. 1 figures and prints the analyses.
func similarityReport(ctx context.Context, rec *recordings.Recordings, pred similarity.Predictor, dir string, w io.Writer) error {
	a, err := similarity.Analyze(ctx, rec, pred)
	if err != nil {
		return err
	}
	figs, err := report.SimilarityFigures(a)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := report.WriteFigures(dir, figs); err != nil {
		return err
	}
	fmt.Fprintf(w, "Fig. 1 on %d oracle images of %d scans:\n", len(a.Images), len(a.Scans))
	fmt.Fprintf(w, "  corr(S_data, S_oracle)  = %.3f (per scan %s; paper 0.39)\n", a.MeanDataR(), formatFloats(a.DataR))
	if len(a.ModelR) > 0 {
		fmt.Fprintf(w, "  corr(S_model, S_oracle) = %.3f (per scan %s; paper 0.73)\n", a.MeanModelR(), formatFloats(a.ModelR))
	}
	if len(a.DeltaScan) > 0 {
		fmt.Fprintf(w, "  sd of ΔS_scan %.4f over %d values, of ΔS_repeat %.4f over %d values\n", similarity.SD(a.DeltaScan), len(a.DeltaScan), similarity.SD(a.DeltaRepeat), len(a.DeltaRepeat))
	}
	for _, f := range figs {
		fmt.Fprintf(w, "  %s\n", filepath.Join(dir, f.Name+".png"))
	}
	return nil
}

func formatFloats(v []float64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprintf("%.3f", x)
	}
	return "[" + strings.Join(s, " ") + "]"
}

// peakRSS reads the process's peak resident set size (VmHWM) from
// /proc/self/status.
func peakRSS() string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb int
			if _, err := fmt.Sscan(rest, &kb); err == nil {
				return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
			}
		}
	}
	return "unknown"
}
