package report

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cotrain/cotrain/analysis"
	"github.com/cotrain/cotrain/roles"
)

// maxGridImages is how many images of a grid get a reconstruction figure
// (Fig. 10 per image), maxSaliencyExamples how many rows Fig. 6 shows.
const (
	maxGridImages       = 4
	maxSaliencyExamples = 4
)

// paperBudget is the mid-range budget the paper discusses (norm = 15).
const paperBudget = 15

// AnalysisFigures renders Safarani et al.'s §4 figures from the finished
// analyses (either may be nil): the reconstruction grid per image (models
// and the spectral control × budgets, Figs. 5, 10, 11), the content share
// per budget, the saliency examples (Fig. 6) and the norm-ratio scatter
// (Fig. 7); and notes stating the measured content shares at budget 15
// and the fractions above Fig. 7's diagonal next to the paper's claims.
func AnalysisFigures(grid, salGrid *analysis.GridData, sal *analysis.SaliencyData) ([]Figure, []string, error) {
	var figs []Figure
	var notes []string
	add := func(f Figure, err error) error {
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		figs = append(figs, f)
		return nil
	}
	if grid != nil {
		for i := 0; i < min(maxGridImages, len(grid.Grid.Images)); i++ {
			if err := add(reconstructionFigure(grid, i)); err != nil {
				return nil, nil, err
			}
		}
		if err := add(contentFigure(grid)); err != nil {
			return nil, nil, err
		}
		notes = append(notes, contentNote(grid.Grid))
	}
	if salGrid != nil && sal != nil {
		if err := add(saliencyExamples(salGrid, sal)); err != nil {
			return nil, nil, err
		}
		if err := add(normRatioFigure(sal)); err != nil {
			return nil, nil, err
		}
		notes = append(notes, saliencyNote(sal.Saliency))
	}
	return figs, notes, nil
}

// nearestBudget is the index of the budget closest to b.
func nearestBudget(budgets []float64, b float64) int {
	best := 0
	for i, v := range budgets {
		if math.Abs(v-b) < math.Abs(budgets[best]-b) {
			best = i
		}
	}
	return best
}

// tile renders an image [h, w] as gray levels, scaled to its own minimum
// and maximum (a constant image is mid-gray).
func tile(x []float64, h, w int) image.Image {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range x {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range x {
		g := 128.0
		if hi > lo {
			g = 255 * (v - lo) / (hi - lo)
		}
		img.Pix[i] = uint8(math.Round(g))
	}
	return img
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// tileGrid draws rows of tiles with row labels on the left and column
// labels on top.
func tileGrid(f Figure, rowLabels, colLabels []string, cell func(r, c int) (image.Image, error)) (Figure, error) {
	const side, gap = 0.9 * vg.Inch, 4
	labelW, labelH := 2.0*vg.Inch, 0.3*vg.Inch
	w := labelW + vg.Length(len(colLabels))*(side+gap) + 8
	h := labelH + vg.Length(len(rowLabels))*(side+gap) + 8
	return render(f, w, h, func(dc draw.Canvas) error {
		dc.SetColor(color.White)
		dc.Fill(dc.Rectangle.Path())
		st := textStyle(vg.Points(9))
		top := dc.Max.Y - labelH
		for c, l := range colLabels {
			x := dc.Min.X + labelW + vg.Length(c)*(side+gap)
			dc.FillText(st, vg.Point{X: x + 2, Y: top + 6}, l)
		}
		for r, l := range rowLabels {
			y := top - vg.Length(r+1)*(side+gap)
			dc.FillText(st, vg.Point{X: dc.Min.X + 4, Y: y + side/2 - 4}, l)
			for c := range colLabels {
				img, err := cell(r, c)
				if err != nil {
					return err
				}
				if img == nil {
					continue
				}
				x := dc.Min.X + labelW + vg.Length(c)*(side+gap)
				dc.DrawImage(vg.Rectangle{Min: vg.Point{X: x, Y: y}, Max: vg.Point{X: x + side, Y: y + side}}, img)
			}
		}
		return nil
	})
}

func budgetLabels(b []float64) []string {
	out := make([]string, len(b))
	for i, v := range b {
		out[i] = "norm " + number(v)
	}
	return out
}

// reconstructionFigure is Fig. 10 for image i: one row per model, the
// spectral control of MTL-Monkey's reconstruction (or of the first
// model's), and the noisy target and clean image.
func reconstructionFigure(d *analysis.GridData, i int) (Figure, error) {
	g := d.Grid
	hw := g.H * g.W
	ref := 0
	for m, gm := range g.Models {
		if gm.Role == roles.MTLMonkey {
			ref = m
		}
	}
	var rows []string
	for _, m := range g.Models {
		rows = append(rows, m.Name)
	}
	rows = append(rows, "Spectral control ("+g.Models[ref].Name+")", "Target | clean")
	f := Figure{Name: fmt.Sprintf("fig10_reconstructions_%d", g.Images[i]),
		Title: fmt.Sprintf("Constrained reconstructions of noisy test image %d (cf. Figs. 5, 10, 11)", g.Images[i]),
		Caption: fmt.Sprintf("Reconstructions from %s of the image with %s (bottom row: the target and its clean version), under %d norm constraints "+
			"(the paper's unit: L2 norm of the network's input in normalized pixels for a 64×64×3 image; here ×%.3g for %d×%d images). "+
			"%d steps; each tile is scaled to its own range. The spectral control has the amplitude spectrum of %s's reconstruction and the phase of the noisy target.",
			g.Layer, g.Noise, len(g.Budgets), g.Scale, g.H, g.W, g.Steps, g.Models[ref].Name)}
	return tileGrid(f, rows, budgetLabels(g.Budgets), func(r, c int) (image.Image, error) {
		switch {
		case r < len(g.Models):
			return tile(to64(d.Reconstruction(r, c, i)), g.H, g.W), nil
		case r == len(g.Models):
			ctl, err := d.Control(ref, c, i)
			if err != nil {
				return nil, err
			}
			return tile(ctl, g.H, g.W), nil
		}
		switch c {
		case 0:
			return tile(to64(d.Images.Noisy[i*hw:(i+1)*hw]), g.H, g.W), nil
		case 1:
			return tile(to64(d.Images.Clean[i*hw:(i+1)*hw]), g.H, g.W), nil
		}
		return nil, nil
	})
}

// contentFigure plots each model's mean content share per budget.
func contentFigure(d *analysis.GridData) (Figure, error) {
	g := d.Grid
	f := Figure{Name: "fig4_content_share", Title: "Content versus noise in the reconstructions (the quantity of Fig. 4)",
		Caption: fmt.Sprintf("Content share ᾱ/(ᾱ+β̄), where each reconstruction x ≈ α·clean + β·noise (least squares) and ᾱ, β̄ are the means over %d noisy test images. "+
			"0.5: the reconstruction holds image and noise in the target's proportion (an agnostic model); 1: no noise; above 1: β̄ < 0.", len(g.Images))}
	p := newPlot("")
	p.X.Label.Text = "Norm constraint"
	p.Y.Label.Text = "Content share"
	p.X.Scale = plot.LogScale{}
	var ticks plot.ConstantTicks
	for _, b := range g.Budgets {
		ticks = append(ticks, plot.Tick{Value: b, Label: number(b)})
	}
	p.X.Tick.Marker = ticks
	half := plotter.NewFunction(func(float64) float64 { return 0.5 })
	half.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	half.Color = color.Gray{Y: 120}
	p.Add(half)
	l := newLegend()
	for mi, m := range g.Models {
		var xys plotter.XYs
		for bi, b := range g.Budgets {
			if v := m.Share[bi]; !math.IsNaN(v) {
				xys = append(xys, plotter.XY{X: b, Y: v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return f, err
		}
		col := roleColor(m.Role, mi)
		line.Color, pts.Color = col, col
		line.Width = vg.Points(1.5)
		p.Add(line, pts)
		l.Add(m.Name, line, pts)
	}
	return render(f, 7.5*vg.Inch, 4*vg.Inch, func(dc draw.Canvas) error {
		p.Draw(legendStrip(dc, l, vg.Points(20)))
		return nil
	})
}

func roleColor(r roles.Role, i int) color.RGBA {
	if c, ok := kindColor(r); ok {
		return c
	}
	return extraColors()[i%len(extraColors())]
}

// saliencyExamples is Fig. 6: image, saliency map, mask and the reference
// model's reconstructions at budgets 15 and 60 (the nearest there are).
func saliencyExamples(d *analysis.GridData, s *analysis.SaliencyData) (Figure, error) {
	g := d.Grid
	hw := g.H * g.W
	b1, b2 := nearestBudget(g.Budgets, paperBudget), nearestBudget(g.Budgets, 60)
	cols := []string{"image", "saliency", "mask", g.Models[0].Name + " " + number(g.Budgets[b1]), g.Models[0].Name + " " + number(g.Budgets[b2])}
	n := min(maxSaliencyExamples, len(g.Images))
	var rows []string
	for i := 0; i < n; i++ {
		rows = append(rows, fmt.Sprintf("test image %d", g.Images[i]))
	}
	f := Figure{Name: "fig6_saliency_examples", Title: "Saliency examples (cf. Fig. 6)",
		Caption: fmt.Sprintf("Clean test images, their saliency maps (%s), the masks holding %.0f %% of the saliency mass (appendix A) "+
			"and %s's reconstructions at two norm constraints.", s.Source, 100*s.Mass, g.Models[0].Name)}
	return tileGrid(f, rows, cols, func(r, c int) (image.Image, error) {
		switch c {
		case 0:
			return tile(to64(d.Images.Clean[r*hw:(r+1)*hw]), g.H, g.W), nil
		case 1:
			return tile(s.Maps[r*hw:(r+1)*hw], g.H, g.W), nil
		case 2:
			m := make([]float64, hw)
			for j, v := range s.Masks[r*hw : (r+1)*hw] {
				m[j] = float64(v)
			}
			return tile(m, g.H, g.W), nil
		case 3:
			return tile(to64(d.Reconstruction(0, b1, r)), g.H, g.W), nil
		}
		return tile(to64(d.Reconstruction(0, b2, r)), g.H, g.W), nil
	})
}

// normRatioFigure is Fig. 7: per budget, the reference model's normalized
// norm-ratio difference (y) against each other model's and the spectral
// control's (x), one point per image.
func normRatioFigure(s *analysis.SaliencyData) (Figure, error) {
	f := Figure{Name: "fig7_norm_ratio", Title: fmt.Sprintf("Salient-region emphasis: %s against the other models (cf. Fig. 7)", s.Reference),
		Caption: fmt.Sprintf("One point per clean test image: the normalized norm-ratio difference (ρ(I_r) − ρ(I_o))/(1 − ρ(I_o)) (Eq. 1) of %s's reconstruction (y) "+
			"and of another model's or of the spectral control's (x). Above the diagonal: %s puts more of its contrast on the salient region. Saliency: %s.",
			s.Reference, s.Reference, s.Source)}
	ref := s.Models[0]
	cols := 3
	var plots []*plot.Plot
	var l plot.Legend
	for bi, b := range s.Budgets {
		p := newPlot("norm " + number(b))
		lo, hi := math.Inf(1), math.Inf(-1)
		leg := newLegend()
		for mi, m := range s.Models[1:] {
			xys := make(plotter.XYs, len(m.Difference[bi]))
			for i := range xys {
				xys[i] = plotter.XY{X: m.Difference[bi][i], Y: ref.Difference[bi][i]}
				lo = math.Min(lo, math.Min(xys[i].X, xys[i].Y))
				hi = math.Max(hi, math.Max(xys[i].X, xys[i].Y))
			}
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return f, err
			}
			sc.GlyphStyle.Color = comparisonColor(m.Name, mi)
			sc.GlyphStyle.Radius = vg.Points(2)
			p.Add(sc)
			leg.Add(m.Name, sc)
		}
		if lo > hi {
			lo, hi = 0, 1
		}
		diag := plotter.NewFunction(func(x float64) float64 { return x })
		diag.XMin, diag.XMax = lo, hi
		diag.Color = color.Gray{Y: 100}
		p.Add(diag)
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = lo, hi, lo, hi
		if bi%cols == 0 {
			p.Y.Label.Text = s.Reference
		}
		if bi >= len(s.Budgets)-cols {
			p.X.Label.Text = "other model"
		}
		plots = append(plots, p)
		l = leg
	}
	rows := (len(plots) + cols - 1) / cols
	return render(f, 11*vg.Inch, vg.Length(rows)*3.2*vg.Inch+0.3*vg.Inch, func(dc draw.Canvas) error {
		curveGrid(dc, plots, l, cols)
		return nil
	})
}

// comparisonColor is Fig. 7's: Oracle blue, Baseline black, the spectral
// control red.
func comparisonColor(name string, i int) color.RGBA {
	switch name {
	case roles.Oracle.Title():
		return rgb(0x2578b3)
	case roles.Baseline.Title():
		return rgb(0x000000)
	case analysis.ControlName:
		return rgb(0xe31e1b)
	}
	return extraColors()[i%len(extraColors())]
}

// contentNote states the content shares at budget 15 against the paper's
// observation there (Fig. 5): the robust models — MTL-Monkey, Oracle and
// MTL-Oracle — reconstruct less noise and more content than the Baseline.
func contentNote(g *analysis.Grid) string {
	bi := nearestBudget(g.Budgets, paperBudget)
	var parts, above, below []string
	base := math.NaN()
	for _, m := range g.Models {
		if m.Role == roles.Baseline {
			base = m.Share[bi]
		}
	}
	for _, m := range g.Models {
		v := m.Share[bi]
		parts = append(parts, fmt.Sprintf("%s %.3f (ᾱ %.3f, β̄ %.3f)", m.Name, v, m.MeanContent[bi], m.MeanNoise[bi]))
		if m.Role == roles.MTLMonkey || m.Role == roles.Oracle || m.Role == roles.MTLOracle {
			if v > base {
				above = append(above, m.Name)
			} else {
				below = append(below, m.Name)
			}
		}
	}
	verdict := "no Baseline or robust model in the grid to compare"
	switch {
	case math.IsNaN(base) || len(above)+len(below) == 0:
	case len(below) == 0:
		verdict = fmt.Sprintf("%s all have a higher share than the Baseline, as the paper observes (Fig. 5: more noise in the Baseline's reconstructions)", strings.Join(above, ", "))
	default:
		verdict = fmt.Sprintf("the paper observes more content than the Baseline in the robust models' reconstructions; here %s do not exceed the Baseline (not as in the paper)", strings.Join(below, ", "))
	}
	return fmt.Sprintf("Content share ᾱ/(ᾱ+β̄) at norm %s (%d noisy test images, %d steps): %s; %s.",
		number(g.Budgets[bi]), len(g.Images), g.Steps, strings.Join(parts, ", "), verdict)
}

// saliencyNote states the fractions of images above Fig. 7's diagonal at
// every budget against the paper's claim (most images above the diagonal
// at low and mid budgets).
func saliencyNote(s *analysis.Saliency) string {
	var parts []string
	bi := nearestBudget(s.Budgets, paperBudget)
	agree := true
	for _, c := range s.Above {
		var fr []string
		for i, v := range c.Fraction {
			fr = append(fr, fmt.Sprintf("%s: %.2f", number(s.Budgets[i]), v))
		}
		parts = append(parts, fmt.Sprintf("against %s %s", c.Name, strings.Join(fr, ", ")))
		if c.Fraction[bi] <= 0.5 {
			agree = false
		}
	}
	verdict := fmt.Sprintf("at norm %s most images lie above the diagonal against every comparison, as the paper reports", number(s.Budgets[bi]))
	if !agree {
		verdict = fmt.Sprintf("the paper reports most images above the diagonal at low and mid norms; here at norm %s at least one comparison has half or fewer (not as in the paper)", number(s.Budgets[bi]))
	}
	return fmt.Sprintf("Fraction of %d clean test images above Fig. 7's diagonal (%s emphasizes the salient region more), per norm constraint: %s; %s. Saliency: %s.",
		len(s.RhoOriginal), s.Reference, strings.Join(parts, "; "), verdict, s.Source)
}
