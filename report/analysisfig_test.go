package report

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/analysis"
	"github.com/cotrain/cotrain/roles"
)

func syntheticGrid(noisy bool) *analysis.GridData {
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	const h, w, ni = 8, 8, 2
	budgets := []float64{5, 15, 60}
	g := &analysis.Grid{Kind: "clean", Layer: "conv3_1", Steps: 10, Budgets: budgets, Scale: 1, H: h, W: w, Images: []int{3, 4}}
	imgs := &analysis.Images{H: h, W: w, Index: g.Images, Clean: fill(ni * h * w), Gray: fill(ni * h * w)}
	if noisy {
		g.Kind, g.Noise, imgs.Noisy = "noisy", "gaussian_noise severity 2", fill(ni*h*w)
	}
	d := &analysis.GridData{Grid: g, Images: imgs}
	for _, r := range []roles.Role{roles.MTLMonkey, roles.Oracle, roles.Baseline} {
		g.Models = append(g.Models, analysis.GridModel{ModelRun: analysis.ModelRun{Name: r.Title(), Role: r},
			Share: analysis.Floats{0.6, 0.7, 0.8}, MeanContent: analysis.Floats{0.1, 0.2, 0.3}, MeanNoise: analysis.Floats{0.05, 0.05, 0.05}})
		d.X = append(d.X, fill(len(budgets)*ni*h*w))
	}
	return d
}

// TestAnalysisFigures renders the analysis figures of synthetic grids and
// checks their names, sizes and notes.
func TestAnalysisFigures(t *testing.T) {
	grid, sal := syntheticGrid(true), syntheticGrid(false)
	hw := 64
	sd := &analysis.SaliencyData{Maps: make([]float64, 2*hw), Masks: make([]uint8, 2*hw), Saliency: &analysis.Saliency{
		Source: "test", Mass: 0.7, Budgets: sal.Grid.Budgets, RhoOriginal: analysis.Floats{0.3, 0.4}, Reference: "MTL-Monkey",
		Models: []analysis.SaliencyModel{
			{Name: "MTL-Monkey", Difference: []analysis.Floats{{0.1, 0.2}, {0.3, 0.1}, {0, 0}}},
			{Name: "Oracle", Difference: []analysis.Floats{{0, 0.1}, {0.1, 0.2}, {0, 0}}},
			{Name: analysis.ControlName, Difference: []analysis.Floats{{0.2, 0.3}, {0.1, 0}, {0, 0}}},
		},
		Above: []analysis.SaliencyComparison{{Name: "Oracle", Fraction: []float64{1, 0.5, 0}}, {Name: analysis.ControlName, Fraction: []float64{0, 1, 0}}},
	}}
	for i := range sd.Maps {
		sd.Maps[i] = float64(i)
		sd.Masks[i] = uint8(i % 2)
	}
	figs, notes, err := AnalysisFigures(grid, sal, sd)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"fig10_reconstructions_3", "fig10_reconstructions_4", "fig4_content_share", "fig6_saliency_examples", "fig7_norm_ratio"}
	if len(figs) != len(want) {
		t.Fatalf("%d figures, want %d", len(figs), len(want))
	}
	for i, f := range figs {
		if f.Name != want[i] || len(f.PNG) == 0 || f.Width < 100 {
			t.Errorf("figure %d: %s, %d bytes, %d px wide; want %s", i, f.Name, len(f.PNG), f.Width, want[i])
		}
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "Baseline 0.700") || !strings.Contains(notes[1], "against Oracle 5: 1.00, 15: 0.50") {
		t.Errorf("notes %q", notes)
	}
	// Equal shares: the robust models do not exceed the Baseline.
	if !strings.Contains(notes[0], "MTL-Monkey, Oracle do not exceed the Baseline (not as in the paper)") {
		t.Errorf("content verdict %q", notes[0])
	}
	// At norm 15 the control has all images above: the Oracle has half.
	if !strings.Contains(notes[1], "not as in the paper") {
		t.Errorf("saliency verdict %q: half the images against the Oracle is not most", notes[1])
	}
}
