package metrics

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// randomMatrix returns a matrix whose results are correct with probability
// pClean on clean images and p[c] under corruption c (every severity),
// drawn independently per seed, severity and image from a fixed generator.
func randomMatrix(t testing.TB, model string, seed uint64, n, seeds int, pClean float64, corruptions []string, p []float64) *AccuracyMatrix {
	t.Helper()
	ids := make([]int64, seeds)
	for k := range ids {
		ids[k] = int64(k)
	}
	m, err := NewAccuracyMatrix(model, n, corruptions, 5, ids)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, sc := range m.Seeds {
		for k := range sc.Clean {
			sc.Clean[k] = rng.Float64() < pClean
		}
		for c := range sc.Corrupted {
			for _, res := range sc.Corrupted[c] {
				for k := range res {
					res[k] = rng.Float64() < p[c]
				}
			}
		}
	}
	return m
}

var bootCorruptions = []string{"gaussian_noise", "defocus_blur", "fog", "pixelate"}

func bootPair(t testing.TB, n int) (model, baseline *AccuracyMatrix) {
	model = randomMatrix(t, "model", 11, n, 3, 0.5, bootCorruptions, []float64{0.3, 0.2, 0.25, 0.4})
	baseline = randomMatrix(t, "baseline", 12, n, 3, 0.5, bootCorruptions, []float64{0.2, 0.2, 0.3, 0.35})
	return model, baseline
}

func TestBootstrapDeterministic(t *testing.T) {
	model, baseline := bootPair(t, 300)
	opts := BootstrapOptions{Replicates: 40, Seed: 7, Taxonomy: imagenetC}
	a, err := BootstrapRobustness(model, baseline, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BootstrapRobustness(model, baseline, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs with the same seed differ")
	}
	opts.Seed = 8
	c, err := BootstrapRobustness(model, baseline, opts)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Scores, c.Scores) {
		t.Error("runs with different seeds give the same replicates")
	}
	if len(a.Scores) != 40 || a.Replicates != 40 || a.NumImages != 300 {
		t.Errorf("replicates %d (%d scores), images %d; want 40, 300", a.Replicates, len(a.Scores), a.NumImages)
	}
}

func TestBootstrapPointAndMean(t *testing.T) {
	model, baseline := bootPair(t, 1000)
	res, err := BootstrapRobustness(model, baseline, BootstrapOptions{Seed: 3, Taxonomy: imagenetC})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replicates != DefaultReplicates || len(res.Scores) != DefaultReplicates {
		t.Errorf("%d replicates by default, want %d", res.Replicates, DefaultReplicates)
	}
	mt, _ := model.MeanTable()
	bt, _ := baseline.MeanTable()
	point, err := Robustness(mt, bt, nil, imagenetC)
	if err != nil {
		t.Fatal(err)
	}
	if res.Score.Point != point.Score {
		t.Errorf("point %g, want Robustness on the mean tables %g", res.Score.Point, point.Score)
	}
	// The bootstrap mean of a smooth statistic sits within a fraction of a
	// standard error of the full-data value (Monte Carlo error std/√250).
	check := func(name string, e Estimate) {
		if !(e.Std > 0) || math.Abs(e.Mean-e.Point) > 0.25*e.Std {
			t.Errorf("%s: point %g, bootstrap mean %g ± %g", name, e.Point, e.Mean, e.Std)
		}
	}
	check("score", res.Score)
	for c, e := range res.Ratios {
		check(res.Corruptions[c], e)
	}
	if len(res.Categories) != 4 {
		t.Fatalf("categories %+v, want four", res.Categories)
	}
	for k, ce := range res.Categories {
		check(ce.Name, ce.Score)
		if ce.Score.Point != point.Categories[k].Score {
			t.Errorf("category %s point %g, want %g", ce.Name, ce.Score.Point, point.Categories[k].Score)
		}
	}
	check("clean", res.Clean)
	// Independent check: the clean accuracy averaged over 3 seeds is a mean
	// over images of (correct seeds)/3, so its bootstrap std estimates
	// 100·sd(per-image mean)/√n.
	var s, ss float64
	for k := range model.NumImages {
		var c float64
		for _, sc := range model.Seeds {
			if sc.Clean[k] {
				c++
			}
		}
		c /= 3
		s += c
		ss += c * c
	}
	n := float64(model.NumImages)
	sd := math.Sqrt(ss/n - (s/n)*(s/n))
	if want := 100 * sd / math.Sqrt(n); math.Abs(res.Clean.Std-want) > 0.2*want {
		t.Errorf("clean accuracy bootstrap std %g, want about %g", res.Clean.Std, want)
	}
}

func TestBootstrapStdShrinks(t *testing.T) {
	var stds []float64
	for _, n := range []int{200, 3200} {
		model, baseline := bootPair(t, n)
		res, err := BootstrapRobustness(model, baseline, BootstrapOptions{Replicates: 100, Seed: 5, Taxonomy: imagenetC})
		if err != nil {
			t.Fatal(err)
		}
		stds = append(stds, res.Score.Std)
	}
	// 16 times the images: the std should shrink about 4 times.
	if ratio := stds[0] / stds[1]; ratio < 2.5 || ratio > 6 {
		t.Errorf("std %g with 200 images, %g with 3200: ratio %g, want about 4", stds[0], stds[1], ratio)
	}
}

func TestBootstrapErrors(t *testing.T) {
	model, baseline := bootPair(t, 50)
	small, _ := bootPair(t, 40)
	zero := randomMatrix(t, "zero", 1, 50, 1, 0.5, bootCorruptions, []float64{0, 0.2, 0.2, 0.2})
	cases := []struct {
		name            string
		model, baseline *AccuracyMatrix
		opts            BootstrapOptions
		want            string
	}{
		{"images", model, small, BootstrapOptions{Taxonomy: imagenetC}, `model "model" has 50 test images but baseline "model" has 40`},
		{"replicates", model, baseline, BootstrapOptions{Replicates: 1, Taxonomy: imagenetC}, "1 bootstrap replicates; need at least 2"},
		{"nil", model, nil, BootstrapOptions{Taxonomy: imagenetC}, "needs both"},
		{"zero baseline", model, zero, BootstrapOptions{Taxonomy: imagenetC}, "baseline accuracy on gaussian_noise is 0"},
		{"unknown corruption", model, baseline, BootstrapOptions{Corruptions: []string{"frost"}, Taxonomy: imagenetC}, `no corruption "frost"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := BootstrapRobustness(c.model, c.baseline, c.opts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func BenchmarkBootstrapPaperSize(b *testing.B) {
	pc := paperCorruptions()
	p := make([]float64, len(pc))
	for i := range p {
		p[i] = 0.2 + 0.02*float64(i)
	}
	model := randomMatrix(b, "model", 1, 10000, 5, 0.5, pc, p)
	baseline := randomMatrix(b, "baseline", 2, 10000, 5, 0.5, pc, p)
	b.ResetTimer()
	for range b.N {
		if _, err := BootstrapRobustness(model, baseline, BootstrapOptions{Seed: 1, Taxonomy: imagenetC}); err != nil {
			b.Fatal(err)
		}
	}
}
