package report

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/cotrain/cotrain/internal/atomicfile"
)

// colorBarWidth is the width of the colour bar of Fig. 3C.
const colorBarWidth = 0.22 * vg.Inch

// DPI is the resolution of the rendered figures (pixels per inch).
const DPI = 100

// Figure is one rendered PNG figure.
type Figure struct {
	// Name is the file stem (the PNG is Name + ".png").
	Name string
	// Title is a one-line title, e.g. "Robustness per corruption category
	// (Fig. 3A)".
	Title string
	// Caption explains the figure in the paper's terms (plain text).
	Caption string
	// PNG holds the encoded image.
	PNG []byte
	// Width and Height are the image size in pixels.
	Width int
	// Height is the image height in pixels.
	Height int
}

// DataURI returns the PNG as a data: URI for embedding in HTML.
func (f Figure) DataURI() string {
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG)
}

// Figures renders the report's figures, in the order the HTML shows them:
// robustness per category (Fig. 3A) and overall (Fig. 3B), when a model
// other than the Baseline classifies; the exemplar corruptions (Fig. 2),
// when Analysis.Exemplars is set; accuracy versus severity for every
// corruption (Fig. 8); and one sweep scatter (Fig. 3C) per sweep group.
func Figures(a *Analysis) ([]Figure, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	colors := modelColors(a)
	var figs []Figure
	add := func(f Figure, err error) error {
		if err != nil {
			return fmt.Errorf("figure %s: %w", f.Name, err)
		}
		figs = append(figs, f)
		return nil
	}
	if len(scoredModels(a)) > 0 {
		if err := add(categoryFigure(a, colors)); err != nil {
			return nil, err
		}
		if err := add(overallFigure(a, colors)); err != nil {
			return nil, err
		}
	}
	if a.Exemplars != nil {
		if err := add(exemplarFigure(a, colors)); err != nil {
			return nil, err
		}
	}
	if err := add(severityFigure(a, colors)); err != nil {
		return nil, err
	}
	if len(a.Adversarial) > 0 {
		if err := add(adversarialFigure(a, colors)); err != nil {
			return nil, err
		}
	}
	for i, s := range a.Sweeps {
		name := "fig3c_sweep"
		if len(a.Sweeps) > 1 {
			name = fmt.Sprintf("fig3c_sweep_%d_%s", i+1, slug(s.Label()))
		}
		if err := add(sweepFigure(name, s)); err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// WriteFigures writes each figure to dir/Name.png, atomically.
func WriteFigures(dir string, figs []Figure) error {
	for _, f := range figs {
		if err := atomicfile.WriteBytes(filepath.Join(dir, f.Name+".png"), f.PNG); err != nil {
			return err
		}
	}
	return nil
}

// slug keeps letters and digits of s, lower-cased, and turns runs of other
// characters into single dashes.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// render draws a figure of w × h on a white canvas and encodes it as PNG.
func render(f Figure, w, h vg.Length, drawFn func(dc draw.Canvas) error) (Figure, error) {
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	if err := drawFn(draw.New(c)); err != nil {
		return f, err
	}
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return f, fmt.Errorf("encoding PNG: %w", err)
	}
	f.PNG = buf.Bytes()
	b := c.Image().Bounds()
	f.Width, f.Height = b.Dx(), b.Dy()
	return f, nil
}

// textStyle returns a plain text style of the given size.
func textStyle(size vg.Length) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, size),
		XAlign:  draw.XLeft,
		YAlign:  draw.YBottom,
		Handler: plot.DefaultTextHandler,
	}
}

// newPlot returns a plot with the report's font sizes and a dotted grid.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(11)
	p.Title.Padding = vg.Points(4)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font.Size = vg.Points(10)
		ax.Tick.Label.Font.Size = vg.Points(9)
	}
	g := plotter.NewGrid()
	dotted := []vg.Length{vg.Points(1), vg.Points(2)}
	g.Vertical.Dashes, g.Horizontal.Dashes = dotted, dotted
	g.Vertical.Color, g.Horizontal.Color = color.Gray{Y: 170}, color.Gray{Y: 170}
	p.Add(g)
	return p
}

// newLegend returns a legend with the report's font size, entries placed
// top-left of the canvas it is drawn in.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font.Size = vg.Points(10)
	l.Top, l.Left = true, true
	l.Padding = vg.Points(3)
	return l
}

// legendStrip draws the legend in a strip at the right of dc and returns
// the rest of the canvas.
func legendStrip(dc draw.Canvas, l plot.Legend, top vg.Length) draw.Canvas {
	r := l.Rectangle(dc)
	width := r.Max.X - r.Min.X + vg.Points(14)
	strip := draw.Crop(dc, dc.Max.X-dc.Min.X-width+vg.Points(6), 0, 0, -top)
	l.Draw(strip)
	return draw.Crop(dc, 0, -width, 0, 0)
}

// scoredModels returns the classifying models other than the Baseline, the
// bars of Fig. 3A and 3B.
func scoredModels(a *Analysis) []ModelResult {
	var out []ModelResult
	for _, m := range a.Models {
		if m.Classifies() && m.Name != a.Baseline {
			out = append(out, m)
		}
	}
	return out
}

// classifiers returns every classifying model, the lines of Fig. 2 and 8.
func classifiers(a *Analysis) []ModelResult {
	var out []ModelResult
	for _, m := range a.Models {
		if m.Classifies() {
			out = append(out, m)
		}
	}
	return out
}

// bars draws vertical bars centred at xs, width wide (data units), from
// base up to ys; it is a legend thumbnail as a filled swatch.
type bars struct {
	xs, ys []float64
	width  float64
	base   float64
	fill   color.Color
	line   draw.LineStyle
}

// Plot implements plot.Plotter.
func (b *bars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for i, x := range b.xs {
		x0, x1 := trX(x-b.width/2), trX(x+b.width/2)
		y0, y1 := trY(b.base), trY(b.ys[i])
		pts := []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}
		c.FillPolygon(b.fill, c.ClipPolygonXY(pts))
		c.StrokeLines(b.line, c.ClipLinesXY(append(pts, pts[0]))...)
	}
}

// DataRange implements plot.DataRanger.
func (b *bars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin, ymax = math.Inf(1), math.Inf(-1), b.base, b.base
	for i, x := range b.xs {
		xmin, xmax = math.Min(xmin, x-b.width/2), math.Max(xmax, x+b.width/2)
		ymin, ymax = math.Min(ymin, b.ys[i]), math.Max(ymax, b.ys[i])
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail implements plot.Thumbnailer.
func (b *bars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y}}
	c.FillPolygon(b.fill, pts)
	c.StrokeLines(b.line, append(pts, pts[0]))
}

// errorBars returns black error bars of ±errs around (xs, ys).
func errorBars(xs, ys, errs []float64, col color.Color) (*plotter.YErrorBars, error) {
	type xyErr struct {
		plotter.XYs
		plotter.YErrors
	}
	d := xyErr{XYs: make(plotter.XYs, len(xs)), YErrors: make(plotter.YErrors, len(xs))}
	for i := range xs {
		d.XYs[i] = plotter.XY{X: xs[i], Y: ys[i]}
		d.YErrors[i].Low, d.YErrors[i].High = errs[i], errs[i]
	}
	eb, err := plotter.NewYErrorBars(d)
	if err != nil {
		return nil, err
	}
	eb.Color = col
	eb.Width = vg.Points(1)
	eb.CapWidth = vg.Points(4)
	return eb, nil
}

// hundredLine is the dashed Baseline line at 100 %.
func hundredLine() *plotter.Function {
	f := plotter.NewFunction(func(float64) float64 { return 100 })
	f.LineStyle = draw.LineStyle{Color: color.Black, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	return f
}

// scoreRange returns the y range of a robustness bar chart: 50..150 % as in
// the paper, widened in steps of 25 % to hold every bar and error bar.
func scoreRange(vals, errs []float64) (lo, hi float64) {
	lo, hi = 50, 150
	for i, v := range vals {
		lo = math.Min(lo, 25*math.Floor((v-errs[i]-5)/25))
		hi = math.Max(hi, 25*math.Ceil((v+errs[i]+5)/25))
	}
	return lo, hi
}

// stepTicks returns ticks every step from lo to hi.
func stepTicks(lo, hi, step float64) plot.ConstantTicks {
	var ticks []plot.Tick
	for i := 0.0; lo+i*step <= hi; i++ {
		ticks = append(ticks, plot.Tick{Value: lo + i*step, Label: fmt.Sprintf("%g", lo+i*step)})
	}
	return ticks
}

// niceTicks returns labelled ticks at multiples of 1, 2 or 5 × 10^k, the
// smallest such step that gives at most 6 ticks in [lo, hi].
func niceTicks(lo, hi float64) []plot.Tick {
	span := hi - lo
	if !(span > 0) {
		return []plot.Tick{{Value: lo, Label: fmt.Sprintf("%g", lo)}}
	}
	base := math.Pow(10, math.Floor(math.Log10(span/6)))
	step := 10 * base
	for _, f := range []float64{1, 2, 5} {
		if span/(f*base) <= 6 {
			step = f * base
			break
		}
	}
	digits := max(0, -int(math.Floor(math.Log10(step))))
	var ticks []plot.Tick
	for i := math.Ceil(lo / step); i <= math.Floor(hi/step); i++ {
		ticks = append(ticks, plot.Tick{Value: i * step, Label: strconv.FormatFloat(i*step, 'f', digits, 64)})
	}
	return ticks
}

// barPlot draws groups of bars: groups[i] is the x label of group i,
// vals[k][i] and errs[k][i] the value and error of model k in group i, in
// percent. It returns the plot and the bars (legend thumbnails).
func barPlot(groups []string, models []ModelResult, colors map[string]color.RGBA, vals, errs [][]float64) (*plot.Plot, []*bars, error) {
	p := newPlot("")
	edge := draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(0.5)}
	var all, allErr []float64
	for k := range models {
		all = append(all, vals[k]...)
		allErr = append(allErr, errs[k]...)
	}
	lo, hi := scoreRange(all, allErr)
	const groupWidth = 0.8
	w := groupWidth / float64(len(models))
	var bs []*bars
	var ebs []plot.Plotter
	for k, m := range models {
		b := &bars{width: w, base: lo, fill: colors[m.Name], line: edge}
		for i := range groups {
			b.xs = append(b.xs, float64(i)-groupWidth/2+(float64(k)+0.5)*w)
			b.ys = append(b.ys, vals[k][i])
		}
		eb, err := errorBars(b.xs, b.ys, errs[k], color.Black)
		if err != nil {
			return nil, nil, err
		}
		p.Add(b)
		ebs = append(ebs, eb)
		bs = append(bs, b)
	}
	p.Add(ebs...)
	p.Add(hundredLine())
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.5, float64(len(groups))-0.5
	p.Y.Min, p.Y.Max = lo, hi
	p.Y.Tick.Marker = stepTicks(lo, hi, 25)
	p.Y.Label.Text = "Robustness Score [%]"
	return p, bs, nil
}

// categoryFigure draws Fig. 3A: the robustness score per corruption
// category, one bar per model.
func categoryFigure(a *Analysis, colors map[string]color.RGBA) (Figure, error) {
	f := Figure{
		Name:  "fig3a_categories",
		Title: "Robustness per corruption category (cf. Fig. 3A)",
		Caption: fmt.Sprintf("Robustness score per corruption category: the mean over the category's corruptions of Ā_c(model)/Ā_c(%s), "+
			"with Ā_c the accuracy on corruption c averaged over the %d severities and all seeds, in percent. "+
			"The dashed line at 100 %% is the %s. Error bars: bootstrap standard deviation over the %d test images (%d replicates).",
			a.Baseline, a.Severities, a.Baseline, a.NumImages, a.Replicates),
	}
	models := scoredModels(a)
	var groups []string
	for _, c := range a.Categories {
		groups = append(groups, title(c.Name))
	}
	vals := make([][]float64, len(models))
	errs := make([][]float64, len(models))
	for k, m := range models {
		for _, c := range a.Categories {
			e, _ := categoryEstimate(m.Robustness, c.Name)
			vals[k] = append(vals[k], 100*e.Point)
			errs[k] = append(errs[k], 100*e.Std)
		}
	}
	p, bs, err := barPlot(groups, models, colors, vals, errs)
	if err != nil {
		return f, err
	}
	l := newLegend()
	for k, m := range models {
		l.Add(m.Name, bs[k])
	}
	l.Add(a.Baseline+" (100 %)", hundredLine())
	return render(f, 7.5*vg.Inch, 4*vg.Inch, func(dc draw.Canvas) error {
		p.Draw(legendStrip(dc, l, vg.Points(10)))
		return nil
	})
}

// overallFigure draws Fig. 3B: the robustness score over all corruptions,
// one bar per model.
func overallFigure(a *Analysis, colors map[string]color.RGBA) (Figure, error) {
	f := Figure{
		Name:  "fig3b_overall",
		Title: "Overall robustness score (cf. Fig. 3B)",
		Caption: fmt.Sprintf("Robustness score over all %d corruptions, (1/%d) Σ_c Ā_c(model)/Ā_c(%s), in percent; "+
			"the dashed line at 100 %% is the %s. Error bars: bootstrap standard deviation over the %d test images (%d replicates).",
			len(a.Corruptions), len(a.Corruptions), a.Baseline, a.Baseline, a.NumImages, a.Replicates),
	}
	models := scoredModels(a)
	var names []string
	for _, m := range models {
		names = append(names, m.Name)
	}
	p := newPlot("")
	edge := draw.LineStyle{Color: color.Gray{Y: 60}, Width: vg.Points(0.5)}
	var vals, errs []float64
	for _, m := range models {
		vals = append(vals, 100*m.Robustness.Score.Point)
		errs = append(errs, 100*m.Robustness.Score.Std)
	}
	lo, hi := scoreRange(vals, errs)
	var ebs []plot.Plotter
	for k, m := range models {
		b := &bars{xs: []float64{float64(k)}, ys: []float64{vals[k]}, width: 0.7, base: lo, fill: colors[m.Name], line: edge}
		eb, err := errorBars(b.xs, b.ys, errs[k:k+1], color.Black)
		if err != nil {
			return f, err
		}
		p.Add(b)
		ebs = append(ebs, eb)
	}
	p.Add(ebs...)
	p.Add(hundredLine())
	p.NominalX(names...)
	p.X.Min, p.X.Max = -0.5, float64(len(models))-0.5
	p.Y.Min, p.Y.Max = lo, hi
	p.Y.Tick.Marker = stepTicks(lo, hi, 25)
	p.Y.Label.Text = "Robustness Score [%]"
	slot := 0.7 * vg.Inch
	for _, n := range names {
		slot = max(slot, p.X.Tick.Label.Width(n)+0.2*vg.Inch)
	}
	width := 1.4*vg.Inch + vg.Length(len(models))*slot
	return render(f, width, 4*vg.Inch, func(dc draw.Canvas) error {
		p.Draw(draw.Crop(dc, 0, -vg.Points(8), 0, -vg.Points(10)))
		return nil
	})
}

// curvePlot draws one corruption's accuracy versus severity for every
// classifying model, with error bars (std over seeds) when there are two
// or more seeds.
func curvePlot(a *Analysis, ci int, title string, colors map[string]color.RGBA) (*plot.Plot, plot.Legend, error) {
	p := newPlot(title)
	l := newLegend()
	ticks := make([]plot.Tick, a.Severities)
	for s := range ticks {
		ticks[s] = plot.Tick{Value: float64(s + 1), Label: fmt.Sprint(s + 1)}
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 1, float64(a.Severities)
	p.X.Padding = vg.Points(8)
	for _, m := range classifiers(a) {
		cv := m.Curves[ci]
		xys := make(plotter.XYs, len(cv.Mean))
		for s, v := range cv.Mean {
			xys[s] = plotter.XY{X: float64(s + 1), Y: v}
		}
		line, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, l, err
		}
		col := colors[m.Name]
		line.LineStyle = draw.LineStyle{Color: col, Width: vg.Points(1.5)}
		pts.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(2), Shape: draw.CircleGlyph{}}
		p.Add(line, pts)
		if cv.Std != nil {
			xs := make([]float64, len(cv.Mean))
			for s := range xs {
				xs[s] = float64(s + 1)
			}
			eb, err := errorBars(xs, cv.Mean, cv.Std, col)
			if err != nil {
				return nil, l, err
			}
			p.Add(eb)
		}
		l.Add(m.Name, line, pts)
	}
	p.Y.Min = math.Max(0, p.Y.Min) // error bars may reach below 0 %
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	return p, l, nil
}

// curveGrid draws curve plots in a grid of cols columns with the legend in
// the first empty cell (or in a strip at the right when the grid is full).
func curveGrid(dc draw.Canvas, plots []*plot.Plot, l plot.Legend, cols int) {
	rows := (len(plots) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, cols)
		for c := range cols {
			if i := r*cols + c; i < len(plots) {
				grid[r][c] = plots[i]
			}
		}
	}
	if rows*cols == len(plots) {
		dc = legendStrip(dc, l, vg.Points(20))
	}
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(14), PadY: vg.Points(10),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	canvases := plot.Align(grid, tiles, dc)
	for r := range grid {
		for c := range grid[r] {
			if grid[r][c] != nil {
				grid[r][c].Draw(canvases[r][c])
			}
		}
	}
	if rows*cols > len(plots) {
		cell := tiles.At(dc, len(plots)%cols, rows-1)
		l.Draw(draw.Crop(cell, vg.Points(20), 0, 0, -vg.Points(20)))
	}
}

// labelGrid puts the x label on the lowest plot of each column and the y
// label on the first column.
func labelGrid(plots []*plot.Plot, cols int) {
	for i, p := range plots {
		if i+cols >= len(plots) {
			p.X.Label.Text = "Corruption Severity"
		}
		if i%cols == 0 {
			p.Y.Label.Text = "Accuracy [%]"
		}
	}
}

// severityFigure draws Fig. 8: accuracy versus severity for every scored
// corruption.
func severityFigure(a *Analysis, colors map[string]color.RGBA) (Figure, error) {
	f := Figure{
		Name:  "fig8_accuracy_vs_severity",
		Title: "Accuracy versus corruption severity (cf. Fig. 8)",
		Caption: fmt.Sprintf("Top-1 accuracy [%%] on each of the %d corruptions at severities 1–%d, one line per model, averaged over seeds. "+
			"Error bars: standard deviation over seeds (drawn when a model has two or more seeds).", len(a.Corruptions), a.Severities),
	}
	var plots []*plot.Plot
	var l plot.Legend
	for ci, c := range a.Corruptions {
		p, leg, err := curvePlot(a, ci, prettyCorruption(c), colors)
		if err != nil {
			return f, err
		}
		plots = append(plots, p)
		l = leg
	}
	cols := min(3, len(plots))
	rows := (len(plots) + cols - 1) / cols
	labelGrid(plots, cols)
	width := vg.Length(cols)*3.2*vg.Inch + 0.4*vg.Inch
	if rows*cols == len(plots) {
		width += 1.6 * vg.Inch
	}
	return render(f, width, vg.Length(rows)*2.5*vg.Inch+0.2*vg.Inch, func(dc draw.Canvas) error {
		curveGrid(dc, plots, l, cols)
		return nil
	})
}

// exemplarFigure draws Fig. 2: the corruptions with the best, median and
// worst robustness ratio of the exemplar model.
func exemplarFigure(a *Analysis, colors map[string]color.RGBA) (Figure, error) {
	e := a.Exemplars
	f := Figure{
		Name:  "fig2_exemplars",
		Title: fmt.Sprintf("Best, median and worst corruption for %s (cf. Fig. 2)", e.Model),
		Caption: fmt.Sprintf("Accuracy [%%] versus severity on the 3 corruptions where %s has the best (%s), median (%s) and worst (%s) "+
			"robustness ratio Ā_c(%s)/Ā_c(%s) among the %d corruptions; averaged over seeds, error bars = std over seeds.",
			e.Model, prettyCorruption(e.Best), prettyCorruption(e.Median), prettyCorruption(e.Worst), e.Model, a.Baseline, len(a.Corruptions)),
	}
	var ratios map[string]float64
	for _, m := range a.Models {
		if m.Name == e.Model {
			ratios = make(map[string]float64)
			for i, c := range m.Robustness.Corruptions {
				ratios[c] = m.Robustness.Ratios[i].Point
			}
		}
	}
	var plots []*plot.Plot
	var l plot.Legend
	for k, c := range e.Corruptions() {
		ci := -1
		for i, name := range a.Corruptions {
			if name == c {
				ci = i
			}
		}
		label := []string{"best", "median", "worst"}[k]
		p, leg, err := curvePlot(a, ci, fmt.Sprintf("%s (%s: %.0f %%)", prettyCorruption(c), label, 100*ratios[c]), colors)
		if err != nil {
			return f, err
		}
		p.X.Label.Text = "Corruption Severity"
		if k == 0 {
			p.Y.Label.Text = "Accuracy [%]"
		}
		plots = append(plots, p)
		l = leg
	}
	return render(f, 11*vg.Inch, 3.4*vg.Inch, func(dc draw.Canvas) error {
		curveGrid(dc, plots, l, 3)
		return nil
	})
}

// sweepFigure draws Fig. 3C for one sweep group: robustness versus neural
// prediction, coloured by clean accuracy, with the least-squares line and
// the regression results underneath.
func sweepFigure(name string, s SweepResult) (Figure, error) {
	f := Figure{
		Name:  name,
		Title: fmt.Sprintf("Robustness versus neural prediction: %s (cf. Fig. 3C)", s.Label()),
		Caption: fmt.Sprintf("Each point is one trained model of the %s batch-ratio sweep (one batch ratio, one seed; %d points): "+
			"x = mean FEVe on the V1 test recordings, y = its robustness score against the Baseline averaged over seeds, in percent; "+
			"darker points have higher clean accuracy. Grey line: least-squares fit of robustness on neural prediction. "+
			"Below: the fit's slope and the two-factor regression robustness ~ clean + neural (t-tests of both factors).", s.Label(), len(s.Points)),
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	xys := make(plotter.XYs, len(s.Points))
	for i, p := range s.Points {
		lo, hi = math.Min(lo, p.Clean), math.Max(hi, p.Clean)
		xys[i] = plotter.XY{X: p.Neural, Y: p.Robustness}
	}
	cmap, err := newAccuracyColors(lo, hi)
	if err != nil {
		return f, err
	}
	fill := make([]color.Color, len(s.Points))
	for i, p := range s.Points {
		if fill[i], err = cmap.At(p.Clean); err != nil {
			return f, fmt.Errorf("colour of clean accuracy %g: %w", p.Clean, err)
		}
	}
	p := newPlot(fmt.Sprintf("%s: %d models", s.Label(), len(s.Points)))
	p.X.Label.Text = "Neural Prediction [FEVe]"
	p.Y.Label.Text = "Robustness Score [%]"
	p.X.Tick.Marker = plot.TickerFunc(niceTicks)
	p.Y.Tick.Marker = plot.TickerFunc(niceTicks)
	if fit := s.Line.Fit; fit != nil {
		xmin, xmax := math.Inf(1), math.Inf(-1)
		for _, q := range xys {
			xmin, xmax = math.Min(xmin, q.X), math.Max(xmax, q.X)
		}
		line := plotter.NewFunction(func(x float64) float64 { return fit.Coef[0] + fit.Coef[1]*x })
		line.XMin, line.XMax = xmin, xmax
		line.LineStyle = draw.LineStyle{Color: color.Gray{Y: 128}, Width: vg.Points(2)}
		p.Add(line)
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return f, err
	}
	sc.GlyphStyleFunc = func(i int) draw.GlyphStyle {
		return draw.GlyphStyle{Color: fill[i], Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
	}
	ring, err := plotter.NewScatter(xys)
	if err != nil {
		return f, err
	}
	ring.GlyphStyle = draw.GlyphStyle{Color: color.Gray{Y: 90}, Radius: vg.Points(4), Shape: draw.RingGlyph{}}
	p.Add(sc, ring)

	cb := plot.New()
	cb.HideX()
	cb.X.Padding, cb.Y.Padding = 0, 0
	cb.Y.Label.Text = "Clean Accuracy [%]"
	cb.Y.Label.TextStyle.Font.Size = vg.Points(10)
	cb.Y.Tick.Label.Font.Size = vg.Points(9)
	cb.Add(&plotter.ColorBar{ColorMap: cmap, Vertical: true})
	cb.Y.Tick.Marker = plot.TickerFunc(niceTicks)

	notes := sweepNotes(s)
	st := textStyle(vg.Points(10))
	lineH := st.Height("Ag") + vg.Points(3)
	noteH := vg.Length(len(notes))*lineH + vg.Points(8)
	return render(f, 7*vg.Inch, 5*vg.Inch+noteH, func(dc draw.Canvas) error {
		body := draw.Crop(dc, vg.Points(4), -vg.Points(12), noteH, -vg.Points(6))
		// The colour bar's strip is its y axis (labels and ticks) plus
		// the bar itself; the scatter takes the rest.
		axisW := cb.DataCanvas(body).Min.X - body.Min.X
		stripW := axisW + colorBarWidth
		main := draw.Crop(body, 0, -stripW-vg.Points(16), 0, 0)
		p.Draw(main)
		data := p.DataCanvas(main)
		strip := draw.Crop(body, body.Max.X-body.Min.X-stripW, 0, 0, 0)
		strip.Min.Y, strip.Max.Y = data.Min.Y, data.Max.Y
		cb.Draw(strip)
		for i, n := range notes {
			dc.FillText(st, vg.Point{X: dc.Min.X + vg.Points(12), Y: dc.Min.Y + noteH - vg.Points(4) - vg.Length(i+1)*lineH}, n)
		}
		return nil
	})
}

// sweepNotes returns the regression lines printed under Fig. 3C.
func sweepNotes(s SweepResult) []string {
	var out []string
	if fit := s.Line.Fit; fit != nil {
		out = append(out, fmt.Sprintf("Grey line, %s: slope = %s ± %s %%/FEVe, p = %s, R² = %.3f",
			s.Line.Formula, number(fit.Coef[1]), number(fit.StdErr[1]), pValue(fit.P[1]), fit.R2))
	} else {
		out = append(out, fmt.Sprintf("%s: not fitted (%s)", s.Line.Formula, s.Line.Error))
	}
	if fit := s.Additive.Fit; fit != nil {
		cl, errC := fit.Coefficient(CleanTerm)
		ne, errN := fit.Coefficient(NeuralTerm)
		if errC != nil || errN != nil {
			return append(out, fmt.Sprintf("%s: %v", s.Additive.Formula, errors.Join(errC, errN)))
		}
		out = append(out, fmt.Sprintf("%s: b_neural = %s (p = %s), b_clean = %s (p = %s), R² = %.3f",
			s.Additive.Formula, number(ne.Estimate), pValue(ne.P), number(cl.Estimate), pValue(cl.P), fit.R2))
	} else {
		out = append(out, fmt.Sprintf("%s: not fitted (%s)", s.Additive.Formula, s.Additive.Error))
	}
	return out
}
