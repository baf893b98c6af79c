package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/internal/progress"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/robustness"
)

func evalCorruptionsCommand() command {
	return command{
		name:    "eval corruptions",
		summary: "accuracy matrix of trained classifiers under image corruptions",
		usage:   "--checkpoint DIR [--seeds LIST] --data SPEC [--table T] [--corruptions LIST] [--severities LIST] [--seed N] [--limit N] [--tinyimagenet-c DIR] [--out PREFIX]",
		help: `Tests the classifier trained in DIR on the clean images of SPEC and on
every image under each corruption at each severity, and prints the accuracy
(%) per corruption and severity with the clean accuracy and the mean over
severities. The per-image results are written to PREFIX.json (an accuracy
matrix, read by the robustness score and the bootstrap) and the accuracies
to PREFIX.csv; PREFIX defaults to DIR/corruptions.

Several trained instances of one model (training seeds) go into one matrix:
repeat --checkpoint, or give --seeds 1,2,3 to use DIR/seed-1, DIR/seed-2,
DIR/seed-3 (the layout "cotrain train" writes). Each batch of corrupted
images is made once for all of them.

As in the paper, each uint8 image (RGB, or gray for gray data sets) is
corrupted, then converted to gray and normalized. The noise of image k
depends only on --seed, the corruption, the severity and k: every model
tested with the same --seed sees the same corrupted images. Corruptions
default to the paper's 14 (all but glass_blur); "all" gives the 15.
--table picks the parameter table: imagenet (the paper's, default) or
tinyimagenet (that of the published Tiny-ImageNet-C).

--tinyimagenet-c DIR reads precomputed images laid out as
DIR/<corruption>/<severity>/<wnid>/*.JPEG instead of corrupting on the fly
(they are not the Tiny ImageNet validation photographs, only the same
classes; see docs/robustness.md). --limit N keeps the first N test images
(Tiny ImageNet's test split is ordered by class: a limit keeps few classes).`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			var dirs listFlag
			fs.Var(&dirs, "checkpoint", "run directory of a trained classifier (repeatable, or comma-separated)")
			seeds := fs.String("seeds", "", "training seeds: use CHECKPOINT/seed-N for each N (comma-separated)")
			spec := fs.String("data", "", "test set spec: NAME[:FOLDER]:SPLIT, e.g. fashion-mnist:test")
			table := fs.String("table", "imagenet", "corruption parameter table: imagenet or tinyimagenet")
			names := fs.String("corruptions", "", "comma-separated corruptions (default: the paper's 14; \"all\": all 15)")
			sevs := fs.String("severities", "1,2,3,4,5", "severities to test: 1 to k, comma-separated")
			seed := fs.Uint64("seed", 0, "corruption seed (keep it fixed to compare models)")
			limit := fs.Int("limit", 0, "test only the first N images (0: all)")
			tinC := fs.String("tinyimagenet-c", "", "folder of precomputed corrupted images (Tiny-ImageNet-C layout)")
			frost := fs.String("frost-dir", "", "folder of frost photographs (default: procedural frost)")
			jpegQ := fs.Int("jpeg-quality", 0, "save each corrupted image as a JPEG of this quality first, like Tiny-ImageNet-C (85); 0: no")
			out := fs.String("out", "", "output prefix for .json and .csv (default CHECKPOINT/corruptions)")
			model := fs.String("name", "", "model name in the matrix (default: from the checkpoint path)")
			batch := fs.Int("batch", robustness.DefaultBatchSize, "images per batch")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if len(dirs) == 0 || *spec == "" {
					return usagef("--checkpoint and --data are required")
				}
				opts := robustness.Options{Seed: *seed, Limit: *limit, BatchSize: *batch, Workers: *workers, FrostDir: *frost, FinalJPEGQuality: *jpegQ}
				var err error
				if opts.Table, err = corrupt.ParseTable(*table); err != nil {
					return usageError{err}
				}
				if opts.Corruptions, err = parseCorruptions(*names); err != nil {
					return usageError{err}
				}
				if opts.Severities, err = parseSeverities(*sevs); err != nil {
					return usageError{err}
				}
				if *limit < 0 || *batch < 1 {
					return usagef("--limit must be ≥ 0 and --batch ≥ 1")
				}
				if *jpegQ < 0 || *jpegQ > 100 {
					return usagef("--jpeg-quality %d: want 1 to 100, or 0 for no JPEG round trip", *jpegQ)
				}
				if *tinC != "" && (*jpegQ != 0 || *frost != "") {
					return usagef("--jpeg-quality and --frost-dir change on-the-fly corruption; they do not apply to --tinyimagenet-c")
				}
				runDirs, err := checkpointDirs(dirs, *seeds)
				if err != nil {
					return err
				}
				if *out == "" {
					*out = filepath.Join(runDirs[0], "corruptions")
				}
				if *model == "" {
					*model = modelName(runDirs[0])
				}
				b, err := backend.open()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				var clfs []*predict.Classifier
				for _, d := range runDirs {
					clf, err := predict.LoadClassifier(b, d)
					if err != nil {
						return err
					}
					clfs = append(clfs, clf)
				}
				info := clfs[0].Info
				set, err := openForModel(*spec, info.Input[0])
				if err != nil {
					return err
				}
				if *tinC != "" {
					if opts.Folder, err = robustness.OpenFolder(*tinC, robustness.FolderOptions{Classes: info.Classes, Side: info.Input[0]}); err != nil {
						return err
					}
				}
				cells, err := robustness.Cells(opts)
				if err != nil {
					return err
				}
				n := set.Len()
				if *limit > 0 {
					n = min(n, *limit)
				}
				source := fmt.Sprintf("table %s, corruption seed %d", opts.Table, opts.Seed)
				if *jpegQ > 0 {
					source += fmt.Sprintf(", saved as JPEG quality %d", *jpegQ)
				}
				if opts.Folder != nil {
					source = "precomputed images in " + *tinC
				}
				fmt.Fprintf(os.Stderr, "testing %s (%d seed%s) on %d images of %s × %d conditions (%s) on %s\n",
					*model, len(clfs), plural(len(clfs)), n, set.Name(), len(cells), source, describe(b))
				bar := progress.New(os.Stderr, "corruptions", n*len(cells), "images")
				opts.Progress = func(p robustness.Progress) { bar.Update(p.Images, 0, p.Cell.String()) }
				results, err := robustness.EvaluateMany(ctx, clfs, set, opts)
				if err != nil {
					return err
				}
				el := results[0].Elapsed
				bar.Done(fmt.Sprintf("%d images in %.1fs (%.0f images/s)", n*len(cells), el.Seconds(), float64(n*len(cells))/el.Seconds()))
				m, err := robustness.Combine(*model, results...)
				if err != nil {
					return err
				}
				return writeMatrix(w, m, *out, fmt.Sprintf("%s on %s (%d images; %s)", *model, set.Name(), n, source))
			}
		},
	}
}

// writeMatrix prints the mean accuracy table of m and writes PREFIX.json
// and PREFIX.csv.
func writeMatrix(w io.Writer, m *metrics.AccuracyMatrix, prefix, title string) error {
	t, err := m.MeanTable()
	if err != nil {
		return err
	}
	if dir := filepath.Dir(prefix); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("creating the output folder: %w", err)
		}
	}
	if err := m.SaveJSON(prefix + ".json"); err != nil {
		return err
	}
	if err := t.SaveCSV(prefix + ".csv"); err != nil {
		return err
	}
	seeds := make([]string, len(m.Seeds))
	for i, s := range m.Seeds {
		seeds[i] = strconv.FormatInt(s.Seed, 10)
	}
	fmt.Fprintf(w, "accuracy %% of %s, mean over training seed%s %s\n\n", title, plural(len(seeds)), strings.Join(seeds, ", "))
	// Names left-aligned (padded by hand), numbers right-aligned.
	width := len("corruption")
	for _, name := range t.Corruptions {
		width = max(width, len(name))
	}
	tw := tabwriter.NewWriter(w, 6, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\t", width, "corruption")
	for s := 1; s <= t.Severities(); s++ {
		fmt.Fprintf(tw, "%d\t", s)
	}
	fmt.Fprint(tw, "mean\t\n")
	colSum := make([]float64, t.Severities())
	var total float64
	for c, name := range t.Corruptions {
		fmt.Fprintf(tw, "%-*s\t", width, name)
		for s, a := range t.Accuracy[c] {
			fmt.Fprintf(tw, "%.2f\t", a)
			colSum[s] += a
		}
		mean, err := t.CorruptionMean(name)
		if err != nil {
			return err
		}
		total += mean
		fmt.Fprintf(tw, "%.2f\t\n", mean)
	}
	fmt.Fprintf(tw, "%-*s\t", width, "mean")
	for _, v := range colSum {
		fmt.Fprintf(tw, "%.2f\t", v/float64(len(t.Corruptions)))
	}
	fmt.Fprintf(tw, "%.2f\t\n", total/float64(len(t.Corruptions)))
	fmt.Fprintf(tw, "%-*s\t%.2f\t\n", width, "clean", t.Clean)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwrote %s.json (per-image results) and %s.csv\n", prefix, prefix)
	return nil
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// checkpointDirs returns the run directories to test: dirs, or with seeds
// DIR/seed-N for each seed N of each DIR. Each must exist.
func checkpointDirs(dirs []string, seeds string) ([]string, error) {
	out := dirs
	if seeds != "" {
		out = nil
		for _, d := range dirs {
			for _, s := range strings.Split(seeds, ",") {
				n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
				if err != nil {
					return nil, usagef("--seeds %q: %q is not an integer (want e.g. 1,2,3)", seeds, s)
				}
				out = append(out, filepath.Join(d, fmt.Sprintf("seed-%d", n)))
			}
		}
	}
	for _, d := range out {
		fi, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("checkpoint %s: %w (give the run directory of a trained classifier, e.g. the --out of cotrain train)", d, err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("checkpoint %s is not a directory (give the run directory, not model.npz)", d)
		}
	}
	return out, nil
}

// modelName guesses a model's name from its run directory: KIND for
// runs/EXPERIMENT/KIND/seed-N, else the directory's base name.
func modelName(dir string) string {
	dir = filepath.Clean(dir)
	base := filepath.Base(dir)
	if strings.HasPrefix(base, "seed-") {
		if parent := filepath.Base(filepath.Dir(dir)); parent != "." && parent != string(filepath.Separator) {
			return parent
		}
	}
	return base
}

// parseCorruptions parses --corruptions: "" for the paper's 14, "all" for
// every corruption, else a comma-separated list of names.
func parseCorruptions(s string) ([]string, error) {
	switch strings.TrimSpace(s) {
	case "":
		return corrupt.Paper14(), nil
	case "all":
		return corrupt.Names(), nil
	}
	var names []string
	for _, n := range strings.Split(s, ",") {
		names = append(names, strings.TrimSpace(n))
	}
	if err := robustness.CheckCorruptions(names); err != nil {
		return nil, fmt.Errorf("--corruptions: %w", err)
	}
	return names, nil
}

// parseSeverities parses --severities, which must list 1..k in order
// (the accuracy matrix stores severities 1 to k).
func parseSeverities(s string) (int, error) {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		v, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || v < 1 || v > corrupt.Severities {
			return 0, fmt.Errorf("--severities %q: %q is not a severity from 1 to %d", s, p, corrupt.Severities)
		}
		if v != i+1 {
			return 0, fmt.Errorf("--severities %q: list severities 1 to k in order, e.g. 1,2,3 (the accuracy matrix and CSV hold levels 1..k)", s)
		}
	}
	return len(parts), nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
