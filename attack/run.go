package attack

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/metrics"
)

// Evaluation is a trained classifier's minimal perturbations on the first
// images of a data set.
type Evaluation struct {
	Summary *metrics.Adversarial
	Result  *Result
	// Original holds the clean images (n×H×W pixel values), Labels and
	// Indices their labels and indices in the set.
	Original []float32
	Labels   []int32
	Indices  []int
	H, W     int
}

// EvaluateRun attacks the classifier trained in dir (a Baseline, an
// Oracle or a co-trained model) on the first images images of set (0: all;
// set's images must have the model's input size) in norm, and summarizes
// the distances with a bootstrap interval of replicates resamples.
// progress, when set, hears the images done of the total after each batch.
func EvaluateRun(ctx context.Context, b backends.Backend, dir string, set data.Set, images int, norm Norm, c Config, replicates int, progress func(done, total int)) (*Evaluation, error) {
	info, g, err := checkpoint.LoadRun(dir, checkpoint.KindClassifier, checkpoint.KindMTL)
	if err != nil {
		return nil, err
	}
	net, err := info.Network()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	n := set.Len()
	if images > 0 {
		n = min(n, images)
	}
	if n == 0 {
		return nil, fmt.Errorf("%s has no images to attack", set.Name())
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	batch, err := data.Images(set, idx, data.Normalize{Mean: 0, Std: 1}) // pixel values
	if err != nil {
		return nil, err
	}
	if batch.H != info.Input[0] || batch.W != info.Input[1] {
		return nil, fmt.Errorf("%s has %d×%d images, the model in %s takes %d×%d", set.Name(), batch.H, batch.W, dir, info.Input[0], info.Input[1])
	}
	t, err := NewTarget(b, g, net, info.Normalize, batch.H, batch.W)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	start := time.Now()
	var report func(int)
	if progress != nil {
		report = func(done int) { progress(done, n) }
	}
	res, err := t.Run(ctx, batch.X, batch.Labels, n, norm, c, report)
	if err != nil {
		return nil, fmt.Errorf("attacking %s: %w", dir, err)
	}
	per := make([]metrics.AdversarialImage, n)
	for i := range per {
		per[i] = metrics.AdversarialImage{Index: idx[i], Label: int(batch.Labels[i]), Distance: metrics.Distance(res.Distance[i]), Attack: res.Attack[i]}
	}
	sum, err := metrics.NewAdversarial(string(norm), set.Name(), per, res.Budgets, res.PerBudget, replicates, c.Seed)
	if err != nil {
		return nil, err
	}
	sum.Seconds = time.Since(start).Seconds()
	return &Evaluation{Summary: sum, Result: res, Original: batch.X, Labels: batch.Labels, Indices: idx, H: batch.H, W: batch.W}, nil
}

// WriteDistances writes the per-image distances atomically: CSV (index,
// label, distance, attack; "inf" for never flipped) when path ends in
// .csv, else the whole summary as JSON.
func (e *Evaluation) WriteDistances(path string) error {
	if strings.EqualFold(filepath.Ext(path), ".csv") {
		return atomicfile.Write(path, func(w io.Writer) error {
			cw := csv.NewWriter(w)
			if err := cw.Write([]string{"index", "label", "distance", "attack"}); err != nil {
				return err
			}
			for _, im := range e.Summary.Images {
				d := strconv.FormatFloat(float64(im.Distance), 'g', -1, 64)
				if math.IsInf(float64(im.Distance), 1) {
					d = "inf"
				}
				if err := cw.Write([]string{strconv.Itoa(im.Index), strconv.Itoa(im.Label), d, im.Attack}); err != nil {
					return err
				}
			}
			cw.Flush()
			return cw.Error()
		})
	}
	raw, err := json.MarshalIndent(e.Summary, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, raw)
}

// Save writes the adversarial and original images ([n, H, W, 1] float32
// pixel values in [0, 1]), labels, indices and distances as an .npz
// archive for inspection.
func (e *Evaluation) Save(path string) error {
	n := len(e.Labels)
	dist := make([]float64, n)
	idx := make([]int64, n)
	for i := range dist {
		dist[i], idx[i] = e.Result.Distance[i], int64(e.Indices[i])
	}
	var entries []npy.Entry
	for _, a := range []struct {
		name  string
		data  any
		shape []int
	}{
		{"adversarial", e.Result.Adversarial, []int{n, e.H, e.W, 1}},
		{"original", e.Original, []int{n, e.H, e.W, 1}},
		{"labels", e.Labels, []int{n}},
		{"indices", idx, []int{n}},
		{"distances", dist, []int{n}},
	} {
		arr, err := npy.New(a.data, a.shape...)
		if err != nil {
			return fmt.Errorf("saving %s: %w", path, err)
		}
		entries = append(entries, npy.Entry{Name: a.name, Array: arr})
	}
	return npy.WriteNPZ(path, entries, true)
}
