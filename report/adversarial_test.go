package report

import (
	"image/color"
	"math"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/metrics"
)

func adv(norm string, median float64, curve ...float64) *metrics.Adversarial {
	a := &metrics.Adversarial{Norm: norm, Median: metrics.MedianEstimate{Median: metrics.Distance(median), Low: metrics.Distance(median / 2), High: metrics.Distance(2 * median)},
		Budgets: []int{10, 100}, Images: make([]metrics.AdversarialImage, 4)}
	for _, v := range curve {
		a.BudgetMedians = append(a.BudgetMedians, metrics.Distance(v))
	}
	return a
}

// TestAdversarialResults checks the averaging over seeds (mean and sample
// std of the medians, mean curves), the table and Fig. 5.
func TestAdversarialResults(t *testing.T) {
	models := []Model{
		{Name: "Baseline", Adversarial: []*metrics.Adversarial{adv("linf", 0.002, 0.004, 0.002), adv("linf", 0.004, 0.006, 0.004), adv("l2", 0.1, 0.2, 0.1)}},
		{Name: "MTL-Monkey", Adversarial: []*metrics.Adversarial{adv("linf", math.Inf(1), math.Inf(1), 0.01)}},
		{Name: "Monkey Predictor"},
	}
	rs, err := adversarialResults(models)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3", len(rs))
	}
	b := rs[0]
	if b.Model != "Baseline" || b.Norm != "linf" || math.Abs(b.Median.Mean-0.003) > 1e-12 || math.Abs(b.Median.Std-math.Sqrt(2e-6)) > 1e-12 ||
		math.Abs(b.BudgetMedians[0]-0.005) > 1e-12 || math.Abs(b.Low-0.0015) > 1e-12 {
		t.Errorf("Baseline linf: %+v", b)
	}
	if !math.IsInf(rs[2].Median.Mean, 1) || rs[2].Median.Std != 0 {
		t.Errorf("an infinite median: %+v", rs[2])
	}
	a := &Analysis{Adversarial: rs}
	var sb strings.Builder
	writeAdversarial(&sb, a)
	for _, want := range []string{"Baseline    linf", "0.003 ± 0.001414", "10: 0.005, 100: 0.003", "MTL-Monkey  linf", "inf"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, sb.String())
		}
	}
	f, err := adversarialFigure(a, map[string]color.RGBA{"Baseline": {R: 200, A: 255}, "MTL-Monkey": {B: 200, A: 255}})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.PNG) == 0 || f.Width < 400 {
		t.Errorf("figure %s: %d bytes, %d px wide", f.Name, len(f.PNG), f.Width)
	}
	models[0].Adversarial[1].Budgets = []int{10, 200}
	if _, err := adversarialResults(models); err == nil || !strings.Contains(err.Error(), "differ") {
		t.Errorf("seeds with different budgets: err %v", err)
	}
}
