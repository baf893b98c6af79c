package report

import (
	"bytes"
	"fmt"
	"html/template"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/roles"
)

// Files of the Li et al. 2019 report folder.
const (
	LiTableTXT  = "table.txt"
	LiReportHTM = "report.html"
)

// LiEvaluation is one trained model's evaluation (Li et al. 2019 Fig. 4):
// its test accuracy under additive Gaussian noise and its learned layer
// weights.
type LiEvaluation struct {
	// Noise lists the noise levels σ (0: clean), Accuracy the test accuracy
	// in percent at each.
	Noise    []float64 `json:"noise"`
	Accuracy []float64 `json:"accuracy"`
	// Layers and Gamma are the similarity head's layers and their weights
	// γ after training (none for the None control).
	Layers []string  `json:"layers,omitempty"`
	Gamma  []float64 `json:"gamma,omitempty"`
}

// LiModel is one regularizer of one task, over its seeds.
type LiModel struct {
	// Task names the dataset and network (e.g. "cifar10-resnet18").
	Task string `json:"task"`
	// Role is the regularizer; Alpha its strength α (0 for None).
	Role  roles.Role `json:"role"`
	Alpha float64    `json:"alpha"`
	// Sweep marks a point of the α sweep (Neural (model) at another α).
	Sweep bool `json:"sweep,omitempty"`
	// Seeds and Evals: one evaluation per seed.
	Seeds []int64        `json:"seeds"`
	Evals []LiEvaluation `json:"evals"`
	// Adversarial holds the adversarial evaluations (Fig. 5), one per
	// attacked seed and norm; empty when none was run.
	Adversarial []*metrics.Adversarial `json:"adversarial,omitempty"`
}

// Label is the model's name in tables and legends: the regularizer, with
// α for sweep points.
func (m LiModel) Label() string {
	if m.Sweep {
		return fmt.Sprintf("%s α=%g", m.Role.Title(), m.Alpha)
	}
	return m.Role.Title()
}

// LiResults are the evaluations of an experiment's Li et al. models.
type LiResults struct {
	Experiment string    `json:"experiment"`
	Backend    string    `json:"backend"`
	Models     []LiModel `json:"models"`
}

// LiSummary is one model's mean ± SEM over seeds.
type LiSummary struct {
	LiModel
	// Mean and SEM of the accuracy at each noise level; SEM is the sample
	// standard deviation (ddof 1) over √seeds, 0 for one seed.
	Mean, SEM []float64
	// GammaMean is the mean γ per layer (nil without a head).
	GammaMean []float64
}

// Summarize checks that every evaluation of a model has the same noise
// levels and layers and returns the mean ± SEM per level and the mean γ.
func (m LiModel) Summarize() (LiSummary, error) {
	s := LiSummary{LiModel: m}
	if len(m.Evals) == 0 || len(m.Evals) != len(m.Seeds) {
		return s, fmt.Errorf("li model %s of %s: %d evaluations for %d seeds", m.Label(), m.Task, len(m.Evals), len(m.Seeds))
	}
	levels := m.Evals[0].Noise
	for i, e := range m.Evals {
		if len(e.Accuracy) != len(levels) || !equalFloats(e.Noise, levels) {
			return s, fmt.Errorf("li model %s of %s: seed %d was evaluated at noise %v, seed %d at %v", m.Label(), m.Task, m.Seeds[i], e.Noise, m.Seeds[0], levels)
		}
		if len(e.Gamma) != len(m.Evals[0].Gamma) {
			return s, fmt.Errorf("li model %s of %s: seeds with different similarity heads", m.Label(), m.Task)
		}
	}
	n := float64(len(m.Evals))
	s.Mean, s.SEM = make([]float64, len(levels)), make([]float64, len(levels))
	acc := make([]float64, len(m.Evals))
	for k := range levels {
		for i, e := range m.Evals {
			acc[i] = e.Accuracy[k]
		}
		sp := spreadOf(acc)
		s.Mean[k], s.SEM[k] = sp.Mean, sp.Std/math.Sqrt(n)
	}
	if g := m.Evals[0].Gamma; len(g) > 0 {
		s.GammaMean = make([]float64, len(g))
		for _, e := range m.Evals {
			for k, v := range e.Gamma {
				s.GammaMean[k] += v / n
			}
		}
	}
	return s, nil
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// liTasks groups summaries by task, in first-appearance order.
func liTasks(sums []LiSummary) ([]string, map[string][]LiSummary) {
	var names []string
	by := map[string][]LiSummary{}
	for _, s := range sums {
		if _, ok := by[s.Task]; !ok {
			names = append(names, s.Task)
		}
		by[s.Task] = append(by[s.Task], s)
	}
	return names, by
}

// SummarizeLi summarizes every model of r.
func SummarizeLi(r LiResults) ([]LiSummary, error) {
	out := make([]LiSummary, len(r.Models))
	for i, m := range r.Models {
		s, err := m.Summarize()
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

// LiTable renders Li et al.'s Fig. 4 as text: per task, the accuracy of
// every regularizer at every noise level (mean ± SEM over seeds), then the
// learned layer weights γ.
func LiTable(r LiResults, sums []LiSummary) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Li et al. 2019, experiment %q (%s backend)\n", r.Experiment, r.Backend)
	tasks, by := liTasks(sums)
	for _, task := range tasks {
		rows := by[task]
		levels := rows[0].Evals[0].Noise
		fmt.Fprintf(&b, "\nFig. 4, %s: test accuracy %% under Gaussian noise σ, mean ± SEM over seeds\n", task)
		fmt.Fprintf(&b, "%-22s %5s", "regularizer", "seeds")
		for _, s := range levels {
			fmt.Fprintf(&b, " %12s", fmt.Sprintf("σ=%g", s))
		}
		b.WriteString("\n")
		for _, s := range rows {
			fmt.Fprintf(&b, "%-22s %5d", s.Label(), len(s.Seeds))
			for k := range s.Mean {
				fmt.Fprintf(&b, " %12s", fmt.Sprintf("%.2f±%.2f", s.Mean[k], s.SEM[k]))
			}
			b.WriteString("\n")
		}
		var layers []string
		for _, s := range rows {
			if len(s.GammaMean) > 0 {
				layers = s.Evals[0].Layers
				break
			}
		}
		if layers == nil {
			continue
		}
		fmt.Fprintf(&b, "\nlayer weights γ, %s (mean over seeds)\n%-22s", task, "regularizer")
		for _, l := range layers {
			fmt.Fprintf(&b, " %8s", l)
		}
		b.WriteString("\n")
		for _, s := range rows {
			if len(s.GammaMean) == 0 {
				continue
			}
			fmt.Fprintf(&b, "%-22s", s.Label())
			for _, g := range s.GammaMean {
				fmt.Fprintf(&b, " %8.3f", g)
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

// liColors gives every row of a task its colour, the same in both
// figures: the regularizers their own, sweep points the extra colours in
// order.
func liColors(rows []LiSummary) map[string]color.RGBA {
	out := map[string]color.RGBA{}
	extra := 0
	for _, s := range rows {
		c, ok := liColor(s)
		if !ok {
			c = extraColors()[extra%len(extraColors())]
			extra++
		}
		out[s.Label()] = c
	}
	return out
}

// liColor is the colour of a regularizer in the figures (none for a sweep
// point).
func liColor(s LiSummary) (color.RGBA, bool) {
	if !s.Sweep {
		switch s.Role {
		case roles.LiNone:
			return rgb(0x000000), true
		case roles.LiNeuralModel:
			return rgb(0xe31e1b), true
		case roles.LiNeuralData:
			return rgb(0xff7f00), true
		case roles.LiShuffle:
			return rgb(0xfb9a99), true
		case roles.LiVGG:
			return rgb(0x2578b3), true
		}
	}
	return color.RGBA{}, false
}

// LiFigures renders, per task, Fig. 4 (accuracy against the noise level,
// one line per regularizer with SEM error bars) and the γ figure (the
// mean layer weights of every regularized model).
func LiFigures(sums []LiSummary) ([]Figure, error) {
	tasks, by := liTasks(sums)
	var figs []Figure
	for _, task := range tasks {
		rows := by[task]
		f, err := liNoiseFigure(task, rows)
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
		if g, ok, err := liGammaFigure(task, rows); err != nil {
			return nil, err
		} else if ok {
			figs = append(figs, g)
		}
	}
	return figs, nil
}

func liNoiseFigure(task string, rows []LiSummary) (Figure, error) {
	p := newPlot("Accuracy under Gaussian noise, " + task)
	p.X.Label.Text = "noise σ (pixels in [0, 1])"
	p.Y.Label.Text = "test accuracy (%)"
	l := newLegend()
	colors := liColors(rows)
	for _, s := range rows {
		xs := s.Evals[0].Noise
		pts := make(plotter.XYs, len(xs))
		for k := range xs {
			pts[k] = plotter.XY{X: xs[k], Y: s.Mean[k]}
		}
		line, marks, err := plotter.NewLinePoints(pts)
		if err != nil {
			return Figure{}, err
		}
		col := colors[s.Label()]
		line.Color, marks.Color = col, col
		line.Width = vg.Points(1.5)
		marks.Shape = draw.CircleGlyph{}
		marks.Radius = vg.Points(2.2)
		if s.Sweep {
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		eb, err := errorBars(xs, s.Mean, s.SEM, col)
		if err != nil {
			return Figure{}, err
		}
		p.Add(line, marks, eb)
		l.Add(s.Label(), line, marks)
	}
	p.Y.Min, p.Y.Max = 0, 100
	f := Figure{Name: "li-fig4-" + slug(task), Title: "Accuracy under Gaussian noise per regularizer (Li et al. Fig. 4), " + task,
		Caption: "Test accuracy against the standard deviation of additive Gaussian pixel noise, mean ± SEM over seeds, for each similarity regularizer."}
	return render(f, 7*vg.Inch, 4.2*vg.Inch, func(dc draw.Canvas) error {
		p.Draw(legendStrip(dc, l, vg.Points(20)))
		return nil
	})
}

func liGammaFigure(task string, rows []LiSummary) (Figure, bool, error) {
	var with []LiSummary
	for _, s := range rows {
		if len(s.GammaMean) > 0 {
			with = append(with, s)
		}
	}
	if len(with) == 0 {
		return Figure{}, false, nil
	}
	layers := with[0].Evals[0].Layers
	colors := liColors(rows)
	p := newPlot("Learned layer weights γ, " + task)
	p.Y.Label.Text = "γ (mean over seeds)"
	p.Y.Min, p.Y.Max = 0, 1
	l := newLegend()
	w := vg.Points(math.Max(4, 60/float64(len(with))))
	for i, s := range with {
		bars, err := plotter.NewBarChart(plotter.Values(s.GammaMean), w)
		if err != nil {
			return Figure{}, false, err
		}
		bars.Color = colors[s.Label()]
		bars.LineStyle.Width = 0
		bars.Offset = w * vg.Length(float64(i)-float64(len(with)-1)/2)
		p.Add(bars)
		l.Add(s.Label(), bars)
	}
	p.NominalX(layers...)
	f := Figure{Name: "li-gamma-" + slug(task), Title: "Learned layer weights γ (Li et al. Eq. 10), " + task,
		Caption: "The softmax weights γ_k of the similarity head's layers after training, mean over seeds, for each regularized model: the layer that dominates is the one whose similarity matches the target."}
	fig, err := render(f, 7*vg.Inch, 3.6*vg.Inch, func(dc draw.Canvas) error {
		p.Draw(legendStrip(dc, l, vg.Points(20)))
		return nil
	})
	return fig, true, err
}

var liTemplate = template.Must(template.New("li").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;max-width:64em;margin:2em auto;padding:0 1em}pre{background:#f6f6f6;padding:1em;overflow-x:auto}figure{margin:2em 0}figcaption{color:#444;font-size:.9em}</style>
</head><body>
<h1>{{.Title}}</h1>
<p>Similarity-regularized classifiers (Li et al. 2019, <i>Learning From Brains How to Regularize Machines</i>): accuracy under additive Gaussian noise per regularizer (Fig. 4) and the learned layer weights γ (Eq. 10).</p>
<pre>{{.Table}}</pre>
{{range .Figures}}<figure><img src="{{.URI}}" width="{{.Width}}" height="{{.Height}}" alt="{{.Title}}"><figcaption><b>{{.Title}}.</b> {{.Caption}}</figcaption></figure>
{{end}}</body></html>
`))

// WriteLiReport writes the Li et al. report folder: table.txt, the figures
// as PNG and report.html with the table and the figures embedded. It
// returns the table.
func WriteLiReport(dir string, r LiResults) (string, error) {
	sums, err := SummarizeLi(r)
	if err != nil {
		return "", err
	}
	table := LiTable(r, sums)
	figs, err := LiFigures(sums)
	if err != nil {
		return "", err
	}
	advTable, advFig, err := liAdversarial(r)
	if err != nil {
		return "", err
	}
	table += advTable
	if advFig != nil {
		figs = append(figs, *advFig)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := WriteFigures(dir, figs); err != nil {
		return "", err
	}
	type fig struct {
		URI            template.URL
		Title, Caption string
		Width, Height  int
	}
	page := struct {
		Title, Table string
		Figures      []fig
	}{Title: fmt.Sprintf("cotrain: Li et al. 2019, experiment %s", r.Experiment), Table: table}
	for _, f := range figs {
		page.Figures = append(page.Figures, fig{URI: template.URL(f.DataURI()), Title: f.Title, Caption: f.Caption, Width: f.Width, Height: f.Height})
	}
	var buf bytes.Buffer
	if err := liTemplate.Execute(&buf, page); err != nil {
		return "", err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, LiReportHTM), buf.Bytes()); err != nil {
		return "", err
	}
	return table, atomicfile.WriteBytes(filepath.Join(dir, LiTableTXT), []byte(table))
}
