package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cotrain/cotrain/metrics"
)

// missing fills a table cell that does not apply to a model.
const missing = "—"

// Table returns the results table for a terminal: a header describing the
// run, one row per model (kind, seeds, clean accuracy mean ± std over seeds,
// robustness score and category scores in % ± bootstrap std, V1 FEVe), the
// Fig. 2 exemplar corruptions and, when a sweep exists, the coefficient
// tables of its regressions. Columns are separated by at least two spaces.
// An analysis that fails Validate gives a one-line message instead.
func Table(a *Analysis) string {
	if err := a.Validate(); err != nil {
		return "invalid analysis: " + err.Error() + "\n"
	}
	var b strings.Builder
	writeHeader(&b, a)
	b.WriteString("\n")
	b.WriteString(renderText(modelTable(a)))
	if e := a.Exemplars; e != nil {
		fmt.Fprintf(&b, "\nFig. 2 corruptions (%s): best %s, median %s, worst %s\n", e.Model, e.Best, e.Median, e.Worst)
	}
	writeAdversarial(&b, a)
	for _, s := range a.Sweeps {
		fmt.Fprintf(&b, "\n%s: %d points (batch ratio × seed); robustness [%%] regressed on clean accuracy [%%] and neural prediction [FEVe]\n", s.Label(), len(s.Points))
		for _, r := range s.Regressions() {
			b.WriteString("\n  " + r.Formula)
			if r.Fit == nil {
				b.WriteString(": not fitted: " + r.Error + "\n")
				continue
			}
			fmt.Fprintf(&b, "   (n = %d, R² = %.3f, adjusted R² = %.3f)\n", r.Fit.N, r.Fit.R2, r.Fit.AdjR2)
			b.WriteString(indent(renderText(coefTable(*r.Fit)), "    "))
		}
	}
	return b.String()
}

// writeHeader writes the run description above the table.
func writeHeader(b *strings.Builder, a *Analysis) {
	var parts []string
	for _, p := range []struct{ label, v string }{{"experiment", a.Experiment}, {"dataset", a.Dataset}, {"backend", a.Backend}} {
		if p.v != "" {
			parts = append(parts, p.label+" "+p.v)
		}
	}
	if len(parts) > 0 {
		b.WriteString(strings.Join(parts, " | ") + "\n")
	}
	fmt.Fprintf(b, "Robustness score: mean over %d corruptions of Ā_c(model)/Ā_c(%s), Ā_c = accuracy averaged over %d severities and seeds, in %% (%s = 100).\n",
		len(a.Corruptions), a.Baseline, a.Severities, a.Baseline)
	fmt.Fprintf(b, "Errors: clean accuracy ± std over seeds; robustness ± bootstrap std over the %d test images (%d replicates, seed %d).\n",
		a.NumImages, a.Replicates, a.BootstrapSeed)
}

// textTable is a table of strings with a header row.
type textTable struct {
	header []string
	rows   [][]string
	// left[j] left-aligns column j (otherwise it is right-aligned).
	left []bool
}

// renderText aligns the table's columns, separated by two spaces, with a
// rule under the header.
func renderText(t textTable) string {
	width := make([]int, len(t.header))
	for _, row := range append([][]string{t.header}, t.rows...) {
		for j, cell := range row {
			width[j] = max(width[j], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	line := func(row []string) {
		var cells []string
		for j, cell := range row {
			pad := strings.Repeat(" ", width[j]-utf8.RuneCountInString(cell))
			if t.left[j] {
				cells = append(cells, cell+pad)
			} else {
				cells = append(cells, pad+cell)
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(cells, "  "), " ") + "\n")
	}
	line(t.header)
	total := 2 * (len(width) - 1)
	for _, w := range width {
		total += w
	}
	b.WriteString(strings.Repeat("-", total) + "\n")
	for _, row := range t.rows {
		line(row)
	}
	return b.String()
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

// modelTable builds the per-model table shared by the text and HTML
// outputs.
func modelTable(a *Analysis) textTable {
	t := textTable{
		header: []string{"Model", "Kind", "Seeds", "Clean [%]", "Robustness [%]"},
		left:   []bool{true, true, false, false, false},
	}
	for _, c := range a.Categories {
		t.header = append(t.header, title(c.Name)+" [%]")
		t.left = append(t.left, false)
	}
	t.header = append(t.header, "V1 FEVe")
	t.left = append(t.left, false)
	for _, m := range a.Models {
		row := []string{m.Name, string(m.Kind)}
		if m.Classifies() {
			row = append(row, fmt.Sprint(len(m.Seeds)), spreadText(*m.Clean), estimateText(m.Robustness.Score))
			for _, c := range a.Categories {
				row = append(row, categoryText(m.Robustness, c.Name))
			}
		} else {
			row = append(row, missing, missing, missing)
			for range a.Categories {
				row = append(row, missing)
			}
		}
		row = append(row, neuralText(m.Neural))
		t.rows = append(t.rows, row)
	}
	return t
}

// spreadText formats a clean accuracy as "mean ± std" (just the mean for a
// single seed).
func spreadText(s Spread) string {
	if s.N < 2 {
		return fmt.Sprintf("%.2f", s.Mean)
	}
	return fmt.Sprintf("%.2f ± %.2f", s.Mean, s.Std)
}

// estimateText formats a robustness fraction as "point ± bootstrap std" in
// percent.
func estimateText(e metrics.Estimate) string {
	return fmt.Sprintf("%.2f ± %.2f", 100*e.Point, 100*e.Std)
}

// categoryText formats the category score called name.
func categoryText(rb *metrics.RobustnessBootstrap, name string) string {
	e, ok := categoryEstimate(rb, name)
	if !ok {
		return missing
	}
	return estimateText(e)
}

// neuralText formats a mean FEVe, with the std over seeds when there are
// at least two.
func neuralText(n *NeuralSummary) string {
	if n == nil {
		return missing
	}
	if len(n.PerSeed) < 2 {
		return fmt.Sprintf("%.3f", n.MeanFEVe)
	}
	return fmt.Sprintf("%.3f ± %.3f", n.MeanFEVe, spreadOf(n.PerSeed).Std)
}

// coefTable builds a fit's coefficient table.
func coefTable(f metrics.Fit) textTable {
	t := textTable{
		header: []string{"term", "estimate", "std. err.", "t", "p"},
		left:   []bool{true, false, false, false, false},
	}
	for j, name := range f.Names {
		t.rows = append(t.rows, []string{name, number(f.Coef[j]), number(f.StdErr[j]), fmt.Sprintf("%.2f", f.T[j]), pValue(f.P[j])})
	}
	return t
}

// number formats a coefficient with four significant digits.
func number(v float64) string { return fmt.Sprintf("%.4g", v) }

// pValue formats a p-value with three significant digits.
func pValue(p float64) string { return fmt.Sprintf("%.3g", p) }

// title capitalizes the first letter of a category name.
func title(s string) string {
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	return strings.ToUpper(string(r)) + s[n:]
}
