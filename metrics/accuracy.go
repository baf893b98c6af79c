package metrics

import (
	"errors"
	"fmt"
	"slices"
)

// AccuracyMatrix holds one model's per-image classification results: for
// every training seed, whether each test image was classified correctly on
// the clean test set and under every corruption × severity. Keeping the
// per-image results (rather than accuracies) makes bootstrapping over test
// images possible. The zero value is empty; NewAccuracyMatrix allocates one
// of a given shape.
type AccuracyMatrix struct {
	// Model names the model (e.g. "tin_mtl").
	Model string
	// NumImages is the number of test images, the same for every seed,
	// corruption and severity; image k is the same image everywhere.
	NumImages int
	// Corruptions lists the corruption names (imagecorruptions spellings)
	// in the order of SeedCorrectness.Corrupted.
	Corruptions []string
	// Severities is the number of severity levels, 1..Severities (5 in
	// the paper).
	Severities int
	// Seeds holds the results of each trained instance of the model.
	Seeds []SeedCorrectness
}

// SeedCorrectness holds the per-image results of one trained instance.
type SeedCorrectness struct {
	// Seed is the training seed.
	Seed int64
	// Clean[k] reports whether test image k was classified correctly.
	Clean []bool
	// Corrupted[c][s-1][k] reports whether test image k was classified
	// correctly under corruption Corruptions[c] at severity s.
	Corrupted [][][]bool
}

// NewAccuracyMatrix returns an AccuracyMatrix of the given shape with every
// result false, ready to be filled in.
func NewAccuracyMatrix(model string, numImages int, corruptions []string, severities int, seeds []int64) (*AccuracyMatrix, error) {
	m := &AccuracyMatrix{
		Model:       model,
		NumImages:   numImages,
		Corruptions: append([]string(nil), corruptions...),
		Severities:  severities,
	}
	if numImages > 0 && severities > 0 {
		for _, seed := range seeds {
			sc := SeedCorrectness{Seed: seed, Clean: make([]bool, numImages), Corrupted: make([][][]bool, len(corruptions))}
			for c := range sc.Corrupted {
				sc.Corrupted[c] = make([][]bool, severities)
				for s := range sc.Corrupted[c] {
					sc.Corrupted[c][s] = make([]bool, numImages)
				}
			}
			m.Seeds = append(m.Seeds, sc)
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// checkCorruptionNames verifies that names is non-empty and free of empty
// or duplicate names.
func checkCorruptionNames(names []string) error {
	if len(names) == 0 {
		return errors.New("no corruptions")
	}
	seen := make(map[string]bool, len(names))
	for _, c := range names {
		if c == "" {
			return errors.New("empty corruption name")
		}
		if seen[c] {
			return fmt.Errorf("corruption %q listed twice", c)
		}
		seen[c] = true
	}
	return nil
}

// Validate checks that m is consistent: at least one image, severity and
// seed, distinct seeds and corruption names, and every result slice of the
// declared length.
func (m *AccuracyMatrix) Validate() error {
	if m.NumImages <= 0 {
		return fmt.Errorf("model %q: number of test images is %d, want > 0", m.Model, m.NumImages)
	}
	if m.Severities <= 0 {
		return fmt.Errorf("model %q: number of severities is %d, want > 0", m.Model, m.Severities)
	}
	if err := checkCorruptionNames(m.Corruptions); err != nil {
		return fmt.Errorf("model %q: %w", m.Model, err)
	}
	if len(m.Seeds) == 0 {
		return fmt.Errorf("model %q has no seeds", m.Model)
	}
	seen := make(map[int64]bool, len(m.Seeds))
	for _, sc := range m.Seeds {
		if seen[sc.Seed] {
			return fmt.Errorf("model %q: seed %d listed twice", m.Model, sc.Seed)
		}
		seen[sc.Seed] = true
		if len(sc.Clean) != m.NumImages {
			return fmt.Errorf("model %q seed %d: %d clean results for %d test images", m.Model, sc.Seed, len(sc.Clean), m.NumImages)
		}
		if len(sc.Corrupted) != len(m.Corruptions) {
			return fmt.Errorf("model %q seed %d: results for %d corruptions, %d corruptions listed",
				m.Model, sc.Seed, len(sc.Corrupted), len(m.Corruptions))
		}
		for c, bySev := range sc.Corrupted {
			if len(bySev) != m.Severities {
				return fmt.Errorf("model %q seed %d %s: %d severities, want %d",
					m.Model, sc.Seed, m.Corruptions[c], len(bySev), m.Severities)
			}
			for s, res := range bySev {
				if len(res) != m.NumImages {
					return fmt.Errorf("model %q seed %d %s severity %d: %d results for %d test images",
						m.Model, sc.Seed, m.Corruptions[c], s+1, len(res), m.NumImages)
				}
			}
		}
	}
	return nil
}

// percentCorrect returns 100 × (number of true entries) / len(res).
func percentCorrect(res []bool) float64 {
	var k int
	for _, ok := range res {
		if ok {
			k++
		}
	}
	return 100 * float64(k) / float64(len(res))
}

// SeedTable returns the accuracies (in %) of seed index k (an index into
// Seeds, not a seed value).
func (m *AccuracyMatrix) SeedTable(k int) (AccuracyTable, error) {
	if err := m.Validate(); err != nil {
		return AccuracyTable{}, err
	}
	if k < 0 || k >= len(m.Seeds) {
		return AccuracyTable{}, fmt.Errorf("model %q: seed index %d out of range [0, %d)", m.Model, k, len(m.Seeds))
	}
	return m.seedTable(k), nil
}

// seedTable is SeedTable for a validated matrix.
func (m *AccuracyMatrix) seedTable(k int) AccuracyTable {
	sc := m.Seeds[k]
	t := AccuracyTable{
		Clean:       percentCorrect(sc.Clean),
		Corruptions: append([]string(nil), m.Corruptions...),
		Accuracy:    make([][]float64, len(m.Corruptions)),
	}
	for c, bySev := range sc.Corrupted {
		t.Accuracy[c] = make([]float64, m.Severities)
		for s, res := range bySev {
			t.Accuracy[c][s] = percentCorrect(res)
		}
	}
	return t
}

// MeanTable returns the accuracies (in %) averaged over seeds, entry by
// entry. Since every seed is tested on the same images, this equals the
// accuracy pooled over seeds.
func (m *AccuracyMatrix) MeanTable() (AccuracyTable, error) {
	if err := m.Validate(); err != nil {
		return AccuracyTable{}, err
	}
	return m.meanTable(), nil
}

// meanTable is MeanTable for a validated matrix.
func (m *AccuracyMatrix) meanTable() AccuracyTable {
	mean := m.seedTable(0)
	for k := 1; k < len(m.Seeds); k++ {
		t := m.seedTable(k)
		mean.Clean += t.Clean
		for c := range mean.Accuracy {
			for s := range mean.Accuracy[c] {
				mean.Accuracy[c][s] += t.Accuracy[c][s]
			}
		}
	}
	n := float64(len(m.Seeds))
	mean.Clean /= n
	for c := range mean.Accuracy {
		for s := range mean.Accuracy[c] {
			mean.Accuracy[c][s] /= n
		}
	}
	return mean
}

// AccuracyTable holds accuracies in percent for one model, either of one
// seed or averaged over seeds: clean, and per corruption and severity.
type AccuracyTable struct {
	// Clean is the accuracy on the uncorrupted test set.
	Clean float64 `json:"clean"`
	// Corruptions lists the corruption names in the order of Accuracy.
	Corruptions []string `json:"corruptions"`
	// Accuracy[c][s-1] is the accuracy under Corruptions[c] at severity s.
	Accuracy [][]float64 `json:"accuracy"`
}

// Validate checks that t has distinct corruption names, one row of
// accuracies per corruption, the same (non-zero) number of severities in
// every row, and only accuracies in [0, 100].
func (t AccuracyTable) Validate() error {
	if err := checkCorruptionNames(t.Corruptions); err != nil {
		return fmt.Errorf("accuracy table: %w", err)
	}
	if len(t.Accuracy) != len(t.Corruptions) {
		return fmt.Errorf("accuracy table has %d rows for %d corruptions", len(t.Accuracy), len(t.Corruptions))
	}
	if !(t.Clean >= 0 && t.Clean <= 100) {
		return fmt.Errorf("accuracy table: clean accuracy %g is outside [0, 100] %%", t.Clean)
	}
	sev := len(t.Accuracy[0])
	if sev == 0 {
		return fmt.Errorf("accuracy table: %s has no severities", t.Corruptions[0])
	}
	for c, row := range t.Accuracy {
		if len(row) != sev {
			return fmt.Errorf("accuracy table: %s has %d severities, %s has %d", t.Corruptions[c], len(row), t.Corruptions[0], sev)
		}
		for s, a := range row {
			if !(a >= 0 && a <= 100) {
				return fmt.Errorf("accuracy table: %s severity %d accuracy %g is outside [0, 100] %%", t.Corruptions[c], s+1, a)
			}
		}
	}
	return nil
}

// Severities returns the number of severity levels of t.
func (t AccuracyTable) Severities() int {
	if len(t.Accuracy) == 0 {
		return 0
	}
	return len(t.Accuracy[0])
}

// index returns the position of corruption c in t.
func (t AccuracyTable) index(c string) (int, bool) {
	for i, name := range t.Corruptions {
		if name == c {
			return i, true
		}
	}
	return 0, false
}

// CorruptionMean returns Ā_c, the accuracy under corruption c averaged over
// severities (and, for a MeanTable, over seeds).
func (t AccuracyTable) CorruptionMean(c string) (float64, error) {
	i, ok := t.index(c)
	if !ok {
		return 0, fmt.Errorf("accuracy table has no corruption %q", c)
	}
	return mean(t.Accuracy[i]), nil
}

// mean returns the arithmetic mean of x (NaN for an empty slice).
func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// CombineSeeds returns one AccuracyMatrix for model holding the seeds of all
// ms, which must have been tested on the same images (same number of
// images, corruptions and severities).
func CombineSeeds(model string, ms ...*AccuracyMatrix) (*AccuracyMatrix, error) {
	if len(ms) == 0 {
		return nil, fmt.Errorf("model %q: no results to combine", model)
	}
	out := &AccuracyMatrix{Model: model, NumImages: ms[0].NumImages, Corruptions: ms[0].Corruptions, Severities: ms[0].Severities}
	for _, m := range ms {
		if m.NumImages != out.NumImages || m.Severities != out.Severities || !slices.Equal(m.Corruptions, out.Corruptions) {
			return nil, fmt.Errorf("model %q: results of %q (%d images, %v, %d severities) and %q (%d images, %v, %d severities) were not tested on the same images",
				model, ms[0].Model, out.NumImages, out.Corruptions, out.Severities, m.Model, m.NumImages, m.Corruptions, m.Severities)
		}
		out.Seeds = append(out.Seeds, m.Seeds...)
	}
	if err := out.Validate(); err != nil {
		return nil, err
	}
	return out, nil
}
