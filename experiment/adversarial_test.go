package experiment

import (
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/attack"
)

// TestAdversarialPlan checks the presets' [adversarial] sections and the
// jobs they give: one per classifier, attacked seed and norm, none for the
// Monkey Predictor or the sweep's extra models, all inputs of the report.
func TestAdversarialPlan(t *testing.T) {
	demo, err := Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	a := demo.Adversarial
	if a.Images != 100 || !slices.Equal(a.Seeds, []int64{1}) || !slices.Equal(a.PGD.Iterations, []int{5, 10, 20}) || a.BrendelBethge.Steps != 50 || a.DDN.Steps != 30 {
		t.Errorf("demo [adversarial]: %+v", a)
	}
	if a.BrendelBethge.Overshoot != attack.DefaultBrendelBethge().Overshoot {
		t.Errorf("unset settings must keep the defaults: overshoot %v", a.BrendelBethge.Overshoot)
	}
	p, err := NewPlan(demo, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range p.Jobs {
		if strings.Contains(j.Name, "adversarial") {
			names = append(names, j.Name)
		}
	}
	if len(names) != 5*2 {
		t.Errorf("%d adversarial jobs, want 10 (5 classifiers × seed 1 × 2 norms): %v", len(names), names)
	}
	for _, n := range names {
		if !strings.Contains(n, "seed-1 ") || strings.Contains(n, "monkey-predictor") || strings.Contains(n, "sweep") {
			t.Errorf("unexpected job %q", n)
		}
	}
	// The results report: the Li et al. report may come after it.
	report, err := p.reportJob()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range p.Jobs {
		if strings.Contains(j.Name, "adversarial") && !slices.Contains(report.Inputs, j.Output) {
			t.Errorf("the report does not wait for %s", j.Output)
		}
	}
	paper, err := Load("paper")
	if err != nil {
		t.Fatal(err)
	}
	if pa := paper.Adversarial; pa.Images != 1000 || len(pa.PGD.StepSizes) != 7 || pa.BrendelBethge.Steps != 1000 || len(pa.Norms) != 2 {
		t.Errorf("paper [adversarial]: %+v", pa)
	}
	for _, tc := range []struct{ text, want string }{
		{"[adversarial]\nimages = 10\nseeds = [7]\n", "seed 7"},
		{"[adversarial]\nimages = 10\nnorms = [\"l1\"]\n", "norm \"l1\""},
		{"[adversarial]\nimages = 10\n[adversarial.pgd]\niterations = [20, 10]\n", "ascending"},
	} {
		if _, err := Parse("test", []byte("seeds = [1]\n[data]\ndataset = \"fashion-mnist\"\n"+tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.text, err, tc.want)
		}
	}
}
