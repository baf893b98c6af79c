package report

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// AdversarialResult is one model's adversarial robustness in one norm
// over its seeds (Li et al. 2019 §4.2).
type AdversarialResult struct {
	Model string `json:"model"`
	Norm  string `json:"norm"`
	// Median is the mean and std over seeds of each seed's median minimal
	// perturbation; Low and High are the seeds' mean 95 % bootstrap
	// interval bounds.
	Median Spread  `json:"median"`
	Low    float64 `json:"low"`
	High   float64 `json:"high"`
	// Images is the number of images attacked per seed.
	Images int `json:"images"`
	// Budgets and BudgetMedians: the median within each attack budget,
	// averaged over seeds (Fig. 5).
	Budgets       []int     `json:"budgets"`
	BudgetMedians []float64 `json:"budget_medians"`
}

// adversarialResults averages each model's per-seed evaluations per norm,
// norms in order of first appearance.
func adversarialResults(models []Model) ([]AdversarialResult, error) {
	var out []AdversarialResult
	for _, m := range models {
		var norms []string
		for _, a := range m.Adversarial {
			if !slices.Contains(norms, a.Norm) {
				norms = append(norms, a.Norm)
			}
		}
		for _, norm := range norms {
			r := AdversarialResult{Model: m.Name, Norm: norm}
			var meds []float64
			var lows, highs float64
			var curves [][]float64
			for _, a := range m.Adversarial {
				if a.Norm != norm {
					continue
				}
				if r.Budgets == nil {
					r.Budgets, r.Images = a.Budgets, len(a.Images)
				} else if !slices.Equal(r.Budgets, a.Budgets) || r.Images != len(a.Images) {
					return nil, fmt.Errorf("model %q: the %s evaluations of its seeds differ in budgets or images; evaluate every seed with the same [adversarial] settings", m.Name, norm)
				}
				meds = append(meds, float64(a.Median.Median))
				lows += float64(a.Median.Low)
				highs += float64(a.Median.High)
				c := make([]float64, len(a.BudgetMedians))
				for k, v := range a.BudgetMedians {
					c[k] = float64(v)
				}
				curves = append(curves, c)
			}
			r.Median = medianSpread(meds)
			r.Low, r.High = lows/float64(len(meds)), highs/float64(len(meds))
			r.BudgetMedians = make([]float64, len(r.Budgets))
			for k := range r.BudgetMedians {
				for _, c := range curves {
					r.BudgetMedians[k] += c[k] / float64(len(curves))
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// medianSpread is the mean and sample std of x (std 0 when a value is +Inf).
func medianSpread(x []float64) Spread {
	s := spreadOf(x)
	if math.IsInf(s.Mean, 0) {
		s.Std = 0
	}
	return s
}

// writeAdversarial writes the adversarial table below the results table.
func writeAdversarial(b *strings.Builder, a *Analysis) {
	if len(a.Adversarial) == 0 {
		return
	}
	fmt.Fprintf(b, "\nAdversarial robustness (Li et al. 2019 Fig. 5): median minimal perturbation over the attacked test images (pixel values in [0, 1]),\nmean ± std over seeds [mean 95%% bootstrap interval]; within each attack budget (PGD iterations for linf, boundary-attack steps for l2)\n")
	t := textTable{header: []string{"Model", "Norm", "Images", "Median", "Interval", "Per budget"}, left: []bool{true, true, false, false, false, true}}
	for _, r := range a.Adversarial {
		var per []string
		for k, v := range r.BudgetMedians {
			per = append(per, fmt.Sprintf("%d: %s", r.Budgets[k], distance(v)))
		}
		med := distance(r.Median.Mean)
		if r.Median.N > 1 {
			med += " ± " + distance(r.Median.Std)
		}
		t.rows = append(t.rows, []string{r.Model, r.Norm, fmt.Sprint(r.Images), med, "[" + distance(r.Low) + ", " + distance(r.High) + "]", strings.Join(per, ", ")})
	}
	b.WriteString(renderText(t))
}

func distance(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	return fmt.Sprintf("%.4g", v)
}

// adversarialFigure draws Fig. 5: per norm, the median minimal
// perturbation against the attack's budget, one line per model.
func adversarialFigure(a *Analysis, colors map[string]color.RGBA) (Figure, error) {
	f := Figure{Name: "fig5_adversarial", Title: "Adversarial robustness against the attack's budget (cf. Li et al. 2019 Fig. 5)",
		Caption: "Median minimal perturbation over the attacked test images (pixel values in [0, 1]) found within each budget: PGD iterations for L∞ (best over step sizes, ε bisected per image), " +
			"Brendel–Bethge steps for L2 (best over trust-region sizes). Higher is more robust; mean over seeds. Images already misclassified count 0, never flipped +∞."}
	var norms []string
	for _, r := range a.Adversarial {
		if !slices.Contains(norms, r.Norm) {
			norms = append(norms, r.Norm)
		}
	}
	var plots []*plot.Plot
	l := newLegend()
	for _, norm := range norms {
		title := map[string]string{"linf": "L∞ (PGD)", "l2": "L2 (Brendel–Bethge)"}[norm]
		p := newPlot(title)
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{}
		p.X.Label.Text = "attack budget"
		p.Y.Label.Text = "median perturbation"
		for _, r := range a.Adversarial {
			if r.Norm != norm {
				continue
			}
			var xys plotter.XYs
			for k, v := range r.BudgetMedians {
				if !math.IsInf(v, 0) && !math.IsNaN(v) {
					xys = append(xys, plotter.XY{X: float64(r.Budgets[k]), Y: v})
				}
			}
			if len(xys) == 0 {
				continue
			}
			line, pts, err := plotter.NewLinePoints(xys)
			if err != nil {
				return f, err
			}
			col := colors[r.Model]
			line.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.5)}
			pts.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
			p.Add(line, pts)
			if norm == norms[0] {
				l.Add(r.Model, line, pts)
			}
		}
		p.Y.Min = 0
		plots = append(plots, p)
	}
	w := 4 * vg.Inch
	return render(f, w*vg.Length(len(plots))+1.6*vg.Inch, 3.6*vg.Inch, func(dc draw.Canvas) error {
		rest := legendStrip(dc, l, vg.Points(20))
		n := vg.Length(len(plots))
		width := rest.Max.X - rest.Min.X
		for i, p := range plots {
			c := draw.Crop(rest, width*vg.Length(i)/n, -width*(n-vg.Length(i)-1)/n, 0, 0)
			p.Draw(c)
		}
		return nil
	})
}

// liAdversarial renders the adversarial table and Fig. 5 of Li et al.'s
// report: one line per task and regularizer (sweep points left out); no
// table and no figure without adversarial evaluations.
func liAdversarial(r LiResults) (string, *Figure, error) {
	var models []Model
	colors := map[string]color.RGBA{}
	extra := extraColors()
	for _, m := range r.Models {
		if m.Sweep || len(m.Adversarial) == 0 {
			continue
		}
		name := m.Task + " " + m.Label()
		models = append(models, Model{Name: name, Adversarial: m.Adversarial})
		col, ok := kindColor(m.Role)
		if !ok {
			col = extra[len(colors)%len(extra)]
		}
		colors[name] = col
	}
	rs, err := adversarialResults(models)
	if err != nil || len(rs) == 0 {
		return "", nil, err
	}
	a := &Analysis{Adversarial: rs}
	var b strings.Builder
	writeAdversarial(&b, a)
	f, err := adversarialFigure(a, colors)
	if err != nil {
		return "", nil, err
	}
	return b.String(), &f, nil
}
