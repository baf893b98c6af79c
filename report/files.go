package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/metrics"
)

// Names of the files WriteCSV writes.
const (
	// ModelsCSV has one row per model: clean accuracy, robustness and
	// category scores with their errors, neural predictivity.
	ModelsCSV = "models.csv"
	// AccuracyCSV has one row per model, corruption and severity (plus a
	// "clean" row per model at severity 0).
	AccuracyCSV = "accuracy.csv"
	// RatiosCSV has one row per model and corruption: the robustness ratio
	// Ā_c(model)/Ā_c(Baseline) in percent with its bootstrap std.
	RatiosCSV = "ratios.csv"
	// SweepCSV has one row per sweep point (written only with a sweep).
	SweepCSV = "sweep.csv"
	// RegressionsCSV has one row per coefficient of every sweep regression
	// (written only with a sweep).
	RegressionsCSV = "regressions.csv"
)

// WriteJSON writes the whole analysis as indented JSON to path, atomically.
// Robustness values in it are fractions (Baseline = 1), as evaluate
// returns them; accuracies are in percent.
func (a *Analysis) WriteJSON(path string) error {
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the analysis for %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, append(data, '\n'))
}

// WriteCSV writes ModelsCSV, AccuracyCSV and RatiosCSV, and with a sweep
// SweepCSV and RegressionsCSV, into dir (created if needed), each
// atomically. Accuracies and robustness values are in percent; an empty
// cell means "does not apply". The columns are described in docs/report.md.
func (a *Analysis) WriteCSV(dir string) error {
	if err := a.Validate(); err != nil {
		return err
	}
	type csvFile struct {
		name string
		rows [][]string
	}
	files := []csvFile{
		{ModelsCSV, a.modelRows()},
		{AccuracyCSV, a.accuracyRows()},
		{RatiosCSV, a.ratioRows()},
	}
	if len(a.Sweeps) > 0 {
		files = append(files, csvFile{SweepCSV, a.sweepRows()}, csvFile{RegressionsCSV, a.regressionRows()})
	}
	for _, f := range files {
		path := filepath.Join(dir, f.name)
		err := atomicfile.Write(path, func(w io.Writer) error {
			cw := csv.NewWriter(w)
			if err := cw.WriteAll(f.rows); err != nil {
				return err
			}
			return cw.Error()
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// num formats a float in the shortest form that reads back exactly.
func num(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// modelRows builds ModelsCSV.
func (a *Analysis) modelRows() [][]string {
	head := []string{"model", "kind", "seeds", "clean_mean", "clean_std", "robustness", "robustness_std"}
	for _, c := range a.Categories {
		head = append(head, c.Name, c.Name+"_std")
	}
	head = append(head, "feve", "feve_std", "correlation", "neurons", "selected")
	rows := [][]string{head}
	for _, m := range a.Models {
		row := []string{m.Name, string(m.Kind)}
		if m.Classifies() {
			row = append(row, strconv.Itoa(len(m.Seeds)), num(m.Clean.Mean), num(m.Clean.Std),
				num(100*m.Robustness.Score.Point), num(100*m.Robustness.Score.Std))
			for _, c := range a.Categories {
				e, ok := categoryEstimate(m.Robustness, c.Name)
				if !ok {
					row = append(row, "", "")
					continue
				}
				row = append(row, num(100*e.Point), num(100*e.Std))
			}
		} else {
			row = append(row, "", "", "", "", "")
			for range a.Categories {
				row = append(row, "", "")
			}
		}
		if n := m.Neural; n != nil {
			std := ""
			if len(n.PerSeed) > 1 {
				std = num(spreadOf(n.PerSeed).Std)
			}
			row = append(row, num(n.MeanFEVe), std, num(n.MeanCorrelation), strconv.Itoa(n.Neurons), strconv.Itoa(n.Selected))
		} else {
			row = append(row, "", "", "", "", "")
		}
		rows = append(rows, row)
	}
	return rows
}

// categoryEstimate returns the category score called name.
func categoryEstimate(rb *metrics.RobustnessBootstrap, name string) (metrics.Estimate, bool) {
	for _, c := range rb.Categories {
		if c.Name == name {
			return c.Score, true
		}
	}
	return metrics.Estimate{}, false
}

// categoryName returns the scored category of a corruption.
func (a *Analysis) categoryName(corruption string) string {
	for _, c := range a.Categories {
		for _, name := range c.Corruptions {
			if name == corruption {
				return c.Name
			}
		}
	}
	return ""
}

// accuracyRows builds AccuracyCSV.
func (a *Analysis) accuracyRows() [][]string {
	rows := [][]string{{"model", "corruption", "category", "severity", "accuracy_mean", "accuracy_std"}}
	for _, m := range a.Models {
		if !m.Classifies() {
			continue
		}
		std := ""
		if m.Clean.N > 1 {
			std = num(m.Clean.Std)
		}
		rows = append(rows, []string{m.Name, "clean", "", "0", num(m.Clean.Mean), std})
		for _, cv := range m.Curves {
			for s, v := range cv.Mean {
				std := ""
				if cv.Std != nil {
					std = num(cv.Std[s])
				}
				rows = append(rows, []string{m.Name, cv.Corruption, a.categoryName(cv.Corruption), strconv.Itoa(s + 1), num(v), std})
			}
		}
	}
	return rows
}

// ratioRows builds RatiosCSV.
func (a *Analysis) ratioRows() [][]string {
	rows := [][]string{{"model", "corruption", "category", "ratio", "ratio_std"}}
	for _, m := range a.Models {
		if !m.Classifies() {
			continue
		}
		for i, c := range m.Robustness.Corruptions {
			e := m.Robustness.Ratios[i]
			rows = append(rows, []string{m.Name, c, a.categoryName(c), num(100 * e.Point), num(100 * e.Std)})
		}
	}
	return rows
}

// sweepRows builds SweepCSV.
func (a *Analysis) sweepRows() [][]string {
	rows := [][]string{{"group", "ratio", "seed", "robustness", "clean", "neural"}}
	for _, s := range a.Sweeps {
		for _, p := range s.Points {
			rows = append(rows, []string{p.Group, p.Ratio, strconv.FormatInt(p.Seed, 10), num(p.Robustness), num(p.Clean), num(p.Neural)})
		}
	}
	return rows
}

// regressionRows builds RegressionsCSV.
func (a *Analysis) regressionRows() [][]string {
	rows := [][]string{{"group", "formula", "term", "estimate", "std_err", "t", "p", "r2", "adj_r2", "n", "df", "error"}}
	for _, s := range a.Sweeps {
		for _, r := range s.Regressions() {
			if r.Fit == nil {
				rows = append(rows, []string{s.Group, r.Formula, "", "", "", "", "", "", "", "", "", r.Error})
				continue
			}
			f := r.Fit
			for j, term := range f.Names {
				rows = append(rows, []string{s.Group, r.Formula, term, num(f.Coef[j]), num(f.StdErr[j]), num(f.T[j]), num(f.P[j]),
					num(f.R2), num(f.AdjR2), strconv.Itoa(f.N), strconv.Itoa(f.DF), ""})
			}
		}
	}
	return rows
}
