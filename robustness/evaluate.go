package robustness

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/predict"
)

// Result holds the per-image results of one trained model (one training
// seed) on the clean and corrupted test images of one Setup.
type Result struct {
	// Seed is the model's training seed (its run.json seed); Combine makes
	// it the seed of the model's entry in an metrics.AccuracyMatrix.
	Seed int64
	// Setup identifies the test images.
	Setup Setup
	// Corruptions lists the corruptions in the order of Corrupted, and
	// Severities the number of levels (1..Severities).
	Corruptions []string
	Severities  int
	// Clean[k] reports whether test image k was classified correctly.
	Clean []bool
	// Corrupted[c][s-1][k] reports whether test image k was classified
	// correctly under Corruptions[c] at severity s.
	Corrupted [][][]bool
	// Elapsed is the wall-clock time of the evaluation (shared by the
	// models of one EvaluateMany call).
	Elapsed time.Duration
}

// predictor is the part of a classifier Evaluate uses.
type predictor interface {
	Predict(x []float32, n, h, w int) ([]int, error)
}

// Evaluate tests clf on every image of set, clean and under every
// corruption and severity of opts (see Options for the defaults), and
// returns whether each image was classified correctly. The images are
// preprocessed with the model's normalization and must have the model's
// input size (wrap a smaller set in data.Padded); the set's classes must
// be the model's. Results are in set order and do not depend on
// opts.Workers or opts.BatchSize.
func Evaluate(ctx context.Context, clf *predict.Classifier, set data.Set, opts Options) (*Result, error) {
	res, err := EvaluateMany(ctx, []*predict.Classifier{clf}, set, opts)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// EvaluateMany is Evaluate for several trained instances of one model (one
// per training seed): each batch is produced once and classified by every
// classifier, so the images are corrupted once for all of them. The
// classifiers must share input size, classes and normalization. The
// results are in the order of clfs.
func EvaluateMany(ctx context.Context, clfs []*predict.Classifier, set data.Set, opts Options) ([]*Result, error) {
	if len(clfs) == 0 {
		return nil, fmt.Errorf("corruption evaluation of %s: no classifiers", set.Name())
	}
	ps := make([]predictor, len(clfs))
	infos := make([]checkpoint.RunInfo, len(clfs))
	for i, c := range clfs {
		ps[i], infos[i] = c, c.Info
	}
	return evaluateWith(ctx, ps, infos, set, opts)
}

func evaluateWith(ctx context.Context, ps []predictor, infos []checkpoint.RunInfo, set data.Set, opts Options) ([]*Result, error) {
	info := infos[0]
	for _, in := range infos[1:] {
		if in.Input != info.Input || in.Normalize != info.Normalize || !slices.Equal(in.Classes, info.Classes) {
			return nil, fmt.Errorf("the classifiers of seeds %d and %d differ in input size, classes or normalization; evaluate them separately",
				info.Seed, in.Seed)
		}
	}
	if len(info.Classes) > 0 && !slices.Equal(info.Classes, set.Classes()) {
		return nil, fmt.Errorf("%s has %d classes %s, but the model was trained on %d classes %s: test it on its own data set",
			set.Name(), len(set.Classes()), brief(set.Classes()), len(info.Classes), brief(info.Classes))
	}
	st, err := NewStream(set, info.Normalize, opts)
	if err != nil {
		return nil, err
	}
	if h, w := st.Size(); info.Input != [2]int{} && (h != info.Input[0] || w != info.Input[1]) {
		return nil, fmt.Errorf("%s has %d×%d images but the model takes %d×%d (pad smaller images with data.Padded)",
			set.Name(), h, w, info.Input[0], info.Input[1])
	}
	seeds := make([]int64, len(infos))
	for i, in := range infos {
		seeds[i] = in.Seed
	}
	return run(ctx, ps, seeds, st, opts.Progress)
}

// run classifies every batch of st with every predictor.
func run(ctx context.Context, ps []predictor, seeds []int64, st *Stream, progress func(Progress)) ([]*Result, error) {
	start := time.Now()
	cells := st.Cells()
	n := st.NumImages()
	// correct[m][cell][k]: model m, image k of cell.
	correct := make([][][]bool, len(ps))
	for m := range correct {
		correct[m] = make([][]bool, len(cells))
		for i := range correct[m] {
			correct[m][i] = make([]bool, n)
		}
	}
	labels := make([]int32, n)
	seen := make([]int, len(cells))
	done := 0
	for cb, err := range st.Batches(ctx) {
		if err != nil {
			return nil, err
		}
		b := cb.Batch
		for j, k := range b.Indices {
			if cb.CellIndex == 0 {
				labels[k] = b.Labels[j]
			} else if b.Labels[j] != labels[k] {
				return nil, fmt.Errorf("%s: test image %d has label %d but clean image %d has label %d; the corrupted images must be the clean test images in the same order",
					cb.Cell, k, b.Labels[j], k, labels[k])
			}
		}
		for m, p := range ps {
			pred, err := p.Predict(b.X, b.N, b.H, b.W)
			if err != nil {
				return nil, fmt.Errorf("%s, model seed %d: %w", cb.Cell, seeds[m], err)
			}
			if len(pred) != b.N {
				return nil, fmt.Errorf("%s, model seed %d: %d predictions for %d images", cb.Cell, seeds[m], len(pred), b.N)
			}
			for j, k := range b.Indices {
				correct[m][cb.CellIndex][k] = pred[j] == int(b.Labels[j])
			}
		}
		seen[cb.CellIndex] += b.N
		done += b.N
		if progress != nil {
			progress(Progress{Cell: cb.Cell, CellIndex: cb.CellIndex, Cells: len(cells), Images: done, Total: n * len(cells)})
		}
	}
	for i, c := range seen {
		if c != n {
			return nil, fmt.Errorf("%s: %d images classified, want %d", cells[i], c, n)
		}
	}
	elapsed := time.Since(start)
	results := make([]*Result, len(ps))
	for m := range ps {
		r := &Result{Seed: seeds[m], Setup: st.Setup(), Clean: correct[m][0], Elapsed: elapsed}
		for i := 1; i < len(cells); {
			name := cells[i].Corruption
			var bySev [][]bool
			for ; i < len(cells) && cells[i].Corruption == name; i++ {
				bySev = append(bySev, correct[m][i])
			}
			r.Corruptions = append(r.Corruptions, name)
			r.Corrupted = append(r.Corrupted, bySev)
			r.Severities = len(bySev)
		}
		results[m] = r
	}
	return results, nil
}

// brief abbreviates a class list for a message.
func brief(classes []string) string {
	if len(classes) <= 4 {
		return fmt.Sprint(classes)
	}
	return fmt.Sprintf("[%s %s … %s]", classes[0], classes[1], classes[len(classes)-1])
}

// Combine gathers the results of several trained instances of one model
// (one Result per training seed, all on the same Setup and cells) into the
// model's metrics.AccuracyMatrix, one Seeds entry per result in the given
// order. The matrix's seeds are training seeds; the corruption seed is part
// of the Setup, which must be the same for every result, so that image k is
// the same image in every entry.
func Combine(model string, results ...*Result) (*metrics.AccuracyMatrix, error) {
	if len(results) == 0 {
		return nil, fmt.Errorf("model %q: no results to combine", model)
	}
	first := results[0]
	for _, r := range results {
		if r.Setup != first.Setup {
			return nil, fmt.Errorf("model %q: seed %d was tested on %+v but seed %d on %+v; evaluate every seed with the same data, limit, table, corruption seed and folder",
				model, r.Seed, r.Setup, first.Seed, first.Setup)
		}
		if !slices.Equal(r.Corruptions, first.Corruptions) || r.Severities != first.Severities {
			return nil, fmt.Errorf("model %q: seed %d was tested on %v × %d severities but seed %d on %v × %d",
				model, r.Seed, r.Corruptions, r.Severities, first.Seed, first.Corruptions, first.Severities)
		}
	}
	m := &metrics.AccuracyMatrix{Model: model, NumImages: first.Setup.NumImages,
		Corruptions: slices.Clone(first.Corruptions), Severities: first.Severities}
	for _, r := range results {
		sc := metrics.SeedCorrectness{Seed: r.Seed, Clean: slices.Clone(r.Clean), Corrupted: make([][][]bool, len(r.Corrupted))}
		for c, bySev := range r.Corrupted {
			sc.Corrupted[c] = make([][]bool, len(bySev))
			for s, res := range bySev {
				sc.Corrupted[c][s] = slices.Clone(res)
			}
		}
		m.Seeds = append(m.Seeds, sc)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Matrix returns r alone as model's accuracy matrix (Combine with one
// result).
func (r *Result) Matrix(model string) (*metrics.AccuracyMatrix, error) {
	return Combine(model, r)
}
