package report

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/similarity"
)

func TestSimilarityFigures(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 12
	mat := func() []float64 {
		m := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := 0.3 * math.Cos(float64(i-j)) * rng.Float64()
				if i == j {
					v = 1
				}
				m[i*n+j], m[j*n+i] = v, v
			}
		}
		return m
	}
	noise := func(k int, s float64) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = s * rng.NormFloat64()
		}
		return v
	}
	a := &similarity.Analysis{Scans: []string{"a", "b"}, Images: make([]int, n), Oracle: [][]float64{mat(), mat()}, Model: [][]float64{mat(), mat()},
		DeltaScan: noise(200, 0.02), DeltaRepeat: noise(400, 0.1), DataR: []float64{0.4, 0.38}, ModelR: []float64{0.7, 0.75},
		DataPairs: [2][]float64{noise(30000, 0.1), noise(30000, 0.2)}, ModelPairs: [2][]float64{noise(66, 0.1), noise(66, 0.2)}}
	figs, err := SimilarityFigures(a)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fig1a_s_oracle", "fig1b_s_model", "fig1c_fluctuations", "fig1d_scatter"}
	if len(figs) != len(want) {
		t.Fatalf("%d figures, want %d", len(figs), len(want))
	}
	for i, f := range figs {
		if f.Name != want[i] {
			t.Errorf("figure %d is %s, want %s", i, f.Name, want[i])
		}
		img, err := png.Decode(bytes.NewReader(f.PNG))
		if err != nil || img.Bounds().Dx() != f.Width || f.Width < 300 {
			t.Errorf("%s: PNG %v, %d px wide", f.Name, err, f.Width)
		}
	}
	if !strings.Contains(figs[3].Caption, "r = 0.40") || !strings.Contains(figs[3].Caption, "r = 0.70") {
		t.Errorf("scatter caption %q lacks the correlations", figs[3].Caption)
	}
	// Without a predictor there is no Fig. 1B.
	a.Model, a.ModelR = nil, nil
	if figs, err := SimilarityFigures(a); err != nil || len(figs) != 3 {
		t.Errorf("without S_model: %d figures, %v", len(figs), err)
	}
}
