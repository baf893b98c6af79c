package experiment

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/attack"
	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/recipes"
	reportpkg "github.com/cotrain/cotrain/report"
	"github.com/cotrain/cotrain/roles"
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
	if a.Images != 50 || !slices.Equal(a.Seeds, []int64{1}) || !slices.Equal(a.PGD.Iterations, []int{5, 10, 20}) || a.BrendelBethge.Steps != 30 || a.DDN.Steps != 20 {
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
	if len(names) != 2*5*2 {
		t.Errorf("%d adversarial jobs, want 20 (5 VGGs and 5 ResNets × seed 1 × 2 norms): %v", len(names), names)
	}
	for _, n := range names {
		if !strings.Contains(n, "seed-1 ") || strings.Contains(n, "monkey-predictor") || strings.Contains(n, "sweep") || strings.Contains(n, "alpha") {
			t.Errorf("unexpected job %q", n)
		}
	}
	// The results report: the Li et al. report may come after it.
	report, err := p.reportJob()
	if err != nil {
		t.Fatal(err)
	}
	var liReport *Job
	for _, j := range p.Jobs {
		if strings.HasSuffix(j.Output, reportpkg.LiReportHTM) {
			liReport = j
		}
	}
	if liReport == nil {
		t.Fatal("no Li et al. report job")
	}
	for _, j := range p.Jobs {
		waits := report
		if strings.HasPrefix(j.Name, "li: ") {
			waits = liReport
		}
		if strings.Contains(j.Name, "adversarial") && !slices.Contains(waits.Inputs, j.Output) {
			t.Errorf("%s does not wait for %s", waits.Name, j.Output)
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

// TestAdversarialRun runs a one-model experiment with [adversarial] end to
// end: the attack jobs, the table below the results table and Fig. 5.
func TestAdversarialRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	tin := t.TempDir()
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 3, PerClass: 40, ValPerClass: 8, Seed: 1, Size: 32}); err != nil {
		t.Fatal(err)
	}
	c := fullConfig(t, tin)
	c.Seeds, c.Models, c.Sweep = []int64{1}, []roles.Role{roles.Baseline}, SweepConfig{}
	c.Adversarial.Images = 6
	c.Adversarial.PGD.StepSizes, c.Adversarial.PGD.Iterations = []float64{0.3}, []int{5, 10}
	c.Adversarial.BrendelBethge.Steps, c.Adversarial.BrendelBethge.LRs, c.Adversarial.BrendelBethge.Checkpoints = 10, []float64{0.1}, []int{5}
	c.Adversarial.DDN.Steps = 10
	c.Adversarial.Bootstrap = 20
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p, err := NewPlan(c, root)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := p.Run(context.Background(), []recipes.Env{{Backend: b, Workers: 2}}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Adversarial robustness", "Baseline  linf", "Baseline  l2", "5: ", "10: "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("results lack %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(root, "report", reportpkg.FiguresDir, "fig5_adversarial.png")); err != nil {
		t.Errorf("no Fig. 5: %v", err)
	}
}
