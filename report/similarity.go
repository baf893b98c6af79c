package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/cotrain/cotrain/similarity"
)

// maxScatterPoints caps the points of a scatter plot; larger clouds are
// thinned by an even stride.
const maxScatterPoints = 20000

// SimilarityFigures renders Li et al.'s Fig. 1 from an analysis of the
// oracle images: S_oracle per scan (1A) and S_model per scan (1B), both in
// the clustering order of the analysis; the distributions of ΔS_scan and
// ΔS_repeat (1C); and S_data and S_model against S_oracle with their
// correlations (1D).
func SimilarityFigures(a *similarity.Analysis) ([]Figure, error) {
	if a == nil || len(a.Oracle) == 0 {
		return nil, fmt.Errorf("similarity figures: no analysis")
	}
	var figs []Figure
	add := func(f Figure, err error) error {
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		figs = append(figs, f)
		return nil
	}
	n := len(a.Images)
	if err := add(matrixFigure(Figure{Name: "fig1a_s_oracle", Title: "S_oracle per scan (Fig. 1A)",
		Caption: fmt.Sprintf("Oracle similarity (Eq. 3) of the %d oracle images in each scan, ordered by average-linkage clustering of the scan average; the order is the same in every panel and in Fig. 1B.", n)},
		a.Oracle, a.Scans, n)); err != nil {
		return nil, err
	}
	if len(a.Model) > 0 {
		if err := add(matrixFigure(Figure{Name: "fig1b_s_model", Title: "S_model per scan (Fig. 1B)",
			Caption: "Similarity of the denoising predictor's scaled responses (Eq. 6) on the same images in the same order."},
			a.Model, a.Scans, n)); err != nil {
			return nil, err
		}
	}
	if len(a.DeltaScan) > 0 {
		if err := add(fluctuationFigure(a)); err != nil {
			return nil, err
		}
	}
	if err := add(scatterFigure(a)); err != nil {
		return nil, err
	}
	return figs, nil
}

// grid is a matrix as a plotter.GridXYZ: column c, row r (row 0 on top).
type grid struct {
	m []float64
	n int
}

func (g grid) Dims() (c, r int)   { return g.n, g.n }
func (g grid) Z(c, r int) float64 { return g.m[(g.n-1-r)*g.n+c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// matrixFigure draws up to four scans' n×n matrices side by side on one
// colour scale, symmetric about 0 and set by the largest off-diagonal
// magnitude.
func matrixFigure(f Figure, mats [][]float64, names []string, n int) (Figure, error) {
	mats = mats[:min(len(mats), 4)]
	lim := 0.0
	for _, m := range mats {
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				if i != j {
					lim = max(lim, math.Abs(m[i*n+j]))
				}
			}
		}
	}
	if lim == 0 {
		lim = 1
	}
	pal := moreland.SmoothBlueRed()
	pal.SetMin(-lim)
	pal.SetMax(lim)
	colors := pal.Palette(255)
	var row []*plot.Plot
	for h, m := range mats {
		p := newPlot(names[h])
		p.HideAxes()
		hm := plotter.NewHeatMap(grid{m: m, n: n}, colors)
		hm.Min, hm.Max = -lim, lim
		hm.Underflow, hm.Overflow = colors.Colors()[0], colors.Colors()[len(colors.Colors())-1] // the diagonal's 1 beyond the scale
		p.Add(hm)
		row = append(row, p)
	}
	f.Caption += fmt.Sprintf(" Colour scale blue −%.2f to red +%.2f.", lim, lim)
	w := vg.Length(len(row)) * 2.4 * vg.Inch
	return render(f, w, 2.6*vg.Inch, func(dc draw.Canvas) error {
		tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Points(8), PadTop: vg.Points(2), PadBottom: vg.Points(2)}
		canvases := plot.Align([][]*plot.Plot{row}, tiles, dc)
		for i, p := range row {
			p.Draw(canvases[0][i])
		}
		return nil
	})
}

// fluctuationFigure overlays the normalized histograms of ΔS_scan and
// ΔS_repeat (Fig. 1C).
func fluctuationFigure(a *similarity.Analysis) (Figure, error) {
	f := Figure{Name: "fig1c_fluctuations", Title: "Variability across scans and across repeats (Fig. 1C)",
		Caption: fmt.Sprintf("Densities of ΔS_scan (Eq. 4: S_oracle of a scan minus its mean over scans, %d values, sd %.3f) and ΔS_repeat (Eq. 5: the similarity of two repeats of an image minus S_oracle_ii, %d values, sd %.3f).",
			len(a.DeltaScan), similarity.SD(a.DeltaScan), len(a.DeltaRepeat), similarity.SD(a.DeltaRepeat))}
	p := newPlot("")
	p.X.Label.Text = "ΔS"
	p.Y.Label.Text = "density"
	l := newLegend()
	for _, s := range []struct {
		name string
		v    []float64
		col  color.RGBA
	}{{"ΔS_scan", a.DeltaScan, rgb(0x2578b3)}, {"ΔS_repeat", a.DeltaRepeat, rgb(0xe31e1b)}} {
		h, err := plotter.NewHist(plotter.Values(s.v), 60)
		if err != nil {
			return f, err
		}
		h.Normalize(1)
		h.FillColor = color.NRGBA{R: s.col.R, G: s.col.G, B: s.col.B, A: 90}
		h.LineStyle = draw.LineStyle{Color: s.col, Width: vg.Points(0.8)}
		p.Add(h)
		l.Add(s.name, h)
	}
	return render(f, 5.5*vg.Inch, 3.6*vg.Inch, func(dc draw.Canvas) error {
		p.Draw(legendStrip(dc, l, vg.Points(10)))
		return nil
	})
}

// scatterFigure plots S_data and S_model against S_oracle for scan 0
// (Fig. 1D).
func scatterFigure(a *similarity.Analysis) (Figure, error) {
	f := Figure{Name: "fig1d_scatter", Title: "Similarity from single trials and from the model against S_oracle (Fig. 1D)",
		Caption: fmt.Sprintf("Scan %s, pairs of distinct oracle images. S_data: every pair of single trials (r = %.2f; mean over scans %.2f; paper 0.39).",
			a.Scans[0], a.DataR[0], a.MeanDataR())}
	p := newPlot("")
	p.X.Label.Text = "S_oracle"
	p.Y.Label.Text = "S_data, S_model"
	l := newLegend()
	series := []struct {
		name string
		xy   [2][]float64
		col  color.RGBA
		r    float64
	}{{"S_data", a.DataPairs, rgb(0x999999), a.DataR[0]}}
	if len(a.ModelR) > 0 {
		series = append(series, struct {
			name string
			xy   [2][]float64
			col  color.RGBA
			r    float64
		}{"S_model", a.ModelPairs, rgb(0xe31e1b), a.ModelR[0]})
		f.Caption += fmt.Sprintf(" S_model: r = %.2f (mean over scans %.2f; paper 0.73).", a.ModelR[0], a.MeanModelR())
	}
	for _, s := range series {
		x, y := s.xy[0], s.xy[1]
		stride := max(1, len(x)/maxScatterPoints)
		pts := make(plotter.XYs, 0, len(x)/stride+1)
		for i := 0; i < len(x); i += stride {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return f, err
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: s.col, Radius: vg.Points(1), Shape: draw.CircleGlyph{}}
		p.Add(sc)
		l.Add(fmt.Sprintf("%s (r = %.2f)", s.name, s.r), sc)
	}
	return render(f, 5*vg.Inch, 4*vg.Inch, func(dc draw.Canvas) error {
		p.Draw(legendStrip(dc, l, vg.Points(10)))
		return nil
	})
}
