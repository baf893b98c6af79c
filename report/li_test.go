package report

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/roles"
)

func liFixture() LiResults {
	noise := []float64{0, 0.1}
	return LiResults{Experiment: "t", Backend: "cpu", Models: []LiModel{
		{Task: "a", Role: roles.LiNone, Seeds: []int64{1, 2}, Evals: []LiEvaluation{{Noise: noise, Accuracy: []float64{80, 60}}, {Noise: noise, Accuracy: []float64{82, 64}}}},
		{Task: "a", Role: roles.LiNeuralModel, Alpha: 20, Seeds: []int64{1, 2}, Evals: []LiEvaluation{
			{Noise: noise, Accuracy: []float64{79, 70}, Layers: []string{"conv1", "layer1"}, Gamma: []float64{0.2, 0.8}},
			{Noise: noise, Accuracy: []float64{79, 70}, Layers: []string{"conv1", "layer1"}, Gamma: []float64{0.4, 0.6}}}},
		{Task: "a", Role: roles.LiNeuralModel, Alpha: 2, Sweep: true, Seeds: []int64{1}, Evals: []LiEvaluation{
			{Noise: noise, Accuracy: []float64{81, 65}, Layers: []string{"conv1", "layer1"}, Gamma: []float64{0.5, 0.5}}}},
	}}
}

// TestLiSummary checks mean ± SEM (ddof 1) and the mean γ against values
// worked out by hand, and the table and report files.
func TestLiSummary(t *testing.T) {
	r := liFixture()
	sums, err := SummarizeLi(r)
	if err != nil {
		t.Fatal(err)
	}
	// None: (80, 82) → 81 ± √2/√2 = 1; (60, 64) → 62 ± 2√2/√2 = 2.
	want := [][2]float64{{81, 1}, {62, 2}}
	for k, w := range want {
		if math.Abs(sums[0].Mean[k]-w[0]) > 1e-12 || math.Abs(sums[0].SEM[k]-w[1]) > 1e-12 {
			t.Errorf("None level %d: %v ± %v, want %v ± %v", k, sums[0].Mean[k], sums[0].SEM[k], w[0], w[1])
		}
	}
	if g := sums[1].GammaMean; math.Abs(g[0]-0.3) > 1e-12 || math.Abs(g[1]-0.7) > 1e-12 || sums[0].GammaMean != nil {
		t.Errorf("γ means %v and %v", sums[1].GammaMean, sums[0].GammaMean)
	}
	if sums[2].SEM[0] != 0 {
		t.Errorf("one seed: SEM %v, want 0", sums[2].SEM[0])
	}
	table := LiTable(r, sums)
	for _, s := range []string{"81.00±1.00", "62.00±2.00", "Neural (model) α=2", "σ=0.1", "0.300", "0.700"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	dir := t.TempDir()
	if _, err := WriteLiReport(dir, r); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{LiReportHTM, LiTableTXT, "li-fig4-a.png", "li-gamma-a.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	bad := liFixture()
	bad.Models[0].Evals[1].Noise = []float64{0, 0.2}
	if _, err := SummarizeLi(bad); err == nil || !strings.Contains(err.Error(), "noise") {
		t.Errorf("different noise levels across seeds: %v", err)
	}
}
