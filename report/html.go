package report

import (
	"bytes"
	"fmt"
	"html/template"
	"path/filepath"
	"strings"

	"github.com/cotrain/cotrain/internal/atomicfile"
)

// WriteHTML renders the figures and writes a self-contained report.html to
// path, atomically: run description, results table, the figures embedded
// as base64 PNG data URIs with captions in the paper's terms, the
// per-corruption ratios, the sweep regressions and the notes. It uses no
// external resources (styles are inline, there are no scripts or links).
func WriteHTML(path string, a *Analysis) error {
	figs, err := Figures(a)
	if err != nil {
		return err
	}
	return writeHTML(path, a, figs)
}

// File names WriteReport uses inside its directory.
const (
	// ReportHTML is the self-contained HTML report.
	ReportHTML = "report.html"
	// AnalysisJSON is the whole analysis as JSON.
	AnalysisJSON = "analysis.json"
	// TableTXT is the text table of Table.
	TableTXT = "table.txt"
	// FiguresDir holds the PNG figures.
	FiguresDir = "figures"
)

// WriteReport writes every output into dir: ReportHTML, AnalysisJSON,
// TableTXT, the CSV files of WriteCSV, and the figures as FiguresDir/*.png
// (rendered once for both the PNG files and the HTML).
func WriteReport(dir string, a *Analysis) error { return WriteReportWith(dir, a, nil) }

// WriteReportWith is WriteReport with extra figures after the report's own
// (the analyses of AnalysisFigures).
func WriteReportWith(dir string, a *Analysis, extra []Figure) error {
	figs, err := Figures(a)
	if err != nil {
		return err
	}
	figs = append(figs, extra...)
	if err := WriteFigures(filepath.Join(dir, FiguresDir), figs); err != nil {
		return err
	}
	if err := a.WriteJSON(filepath.Join(dir, AnalysisJSON)); err != nil {
		return err
	}
	if err := a.WriteCSV(dir); err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, TableTXT), []byte(Table(a))); err != nil {
		return err
	}
	return writeHTML(filepath.Join(dir, ReportHTML), a, figs)
}

// writeHTML writes the HTML report with already rendered figures.
func writeHTML(path string, a *Analysis, figs []Figure) error {
	tmpl, err := template.New("report").Parse(pageTemplate)
	if err != nil {
		return fmt.Errorf("parsing the report template: %w", err)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, newPage(a, figs)); err != nil {
		return fmt.Errorf("rendering %s: %w", path, err)
	}
	return atomicfile.WriteBytes(path, buf.Bytes())
}

// page is the data of pageTemplate.
type page struct {
	Title      string
	Meta       [][2]string
	Baseline   string
	Severities int
	NumImages  int
	NumCorr    int
	Replicates int
	Models     htmlTable
	Pairs      []htmlFigure // shown side by side (Fig. 3A, 3B)
	Figures    []htmlFigure
	Ratios     htmlTable
	Exemplars  *Exemplars
	Sweeps     []htmlSweep
	Notes      []string
}

// htmlTable is a table whose first cell per row may carry a colour swatch.
type htmlTable struct {
	Header []string
	Rows   []htmlRow
}

// htmlRow is one table row.
type htmlRow struct {
	Swatch template.CSS
	Cells  []string
}

// htmlFigure is one embedded figure.
type htmlFigure struct {
	Name    string
	Title   string
	Caption string
	// Src is the src attribute with the data URI; base64 text needs no
	// escaping inside a double-quoted attribute.
	Src    template.HTMLAttr
	Width  int
	Height int
}

// htmlSweep is one sweep group's regressions.
type htmlSweep struct {
	Label  string
	Points int
	Fits   []htmlFit
	Data   htmlTable
}

// htmlFit is one regression's coefficient table or its error.
type htmlFit struct {
	Formula string
	Error   string
	Stats   string
	Coefs   htmlTable
}

// newPage arranges the analysis for the template.
func newPage(a *Analysis, figs []Figure) page {
	colors := modelColors(a)
	title := "cotrain report"
	if a.Experiment != "" {
		title += ": " + a.Experiment
	}
	p := page{
		Title:      title,
		Baseline:   a.Baseline,
		Severities: a.Severities,
		NumImages:  a.NumImages,
		NumCorr:    len(a.Corruptions),
		Replicates: a.Replicates,
		Exemplars:  a.Exemplars,
		Notes:      a.Notes,
	}
	for _, kv := range [][2]string{
		{"Experiment", a.Experiment}, {"Dataset", a.Dataset}, {"Backend", a.Backend}, {"Baseline", a.Baseline},
		{"Corruptions", fmt.Sprintf("%d × %d severities: %s", len(a.Corruptions), a.Severities, strings.Join(a.Corruptions, ", "))},
		{"Test images", fmt.Sprint(a.NumImages)},
		{"Bootstrap", fmt.Sprintf("%d replicates over test images, seed %d", a.Replicates, a.BootstrapSeed)},
	} {
		if kv[1] != "" {
			p.Meta = append(p.Meta, kv)
		}
	}
	mt := modelTable(a)
	p.Models.Header = mt.header
	for i, row := range mt.rows {
		p.Models.Rows = append(p.Models.Rows, htmlRow{Swatch: template.CSS(cssColor(colors[a.Models[i].Name])), Cells: row})
	}
	for _, f := range figs {
		hf := htmlFigure{Name: f.Name, Title: f.Title, Caption: f.Caption, Src: template.HTMLAttr(`src="` + f.DataURI() + `"`), Width: f.Width, Height: f.Height}
		if f.Name == "fig3a_categories" || f.Name == "fig3b_overall" {
			p.Pairs = append(p.Pairs, hf)
		} else {
			p.Figures = append(p.Figures, hf)
		}
	}
	p.Ratios = ratioTable(a)
	for _, s := range a.Sweeps {
		hs := htmlSweep{Label: s.Label(), Points: len(s.Points)}
		for _, r := range s.Regressions() {
			hf := htmlFit{Formula: r.Formula, Error: r.Error}
			if r.Fit != nil {
				hf.Stats = fmt.Sprintf("n = %d, R² = %.3f, adjusted R² = %.3f, residual std. err. = %s", r.Fit.N, r.Fit.R2, r.Fit.AdjR2, number(r.Fit.ResidualStdErr))
				ct := coefTable(*r.Fit)
				hf.Coefs.Header = ct.header
				for _, row := range ct.rows {
					hf.Coefs.Rows = append(hf.Coefs.Rows, htmlRow{Cells: row})
				}
			}
			hs.Fits = append(hs.Fits, hf)
		}
		hs.Data.Header = []string{"Ratio", "Seed", "Robustness [%]", "Clean [%]", "Neural [FEVe]"}
		for _, pt := range s.Points {
			hs.Data.Rows = append(hs.Data.Rows, htmlRow{Cells: []string{pt.Ratio, fmt.Sprint(pt.Seed),
				fmt.Sprintf("%.2f", pt.Robustness), fmt.Sprintf("%.2f", pt.Clean), fmt.Sprintf("%.4f", pt.Neural)}})
		}
		p.Sweeps = append(p.Sweeps, hs)
	}
	return p
}

// ratioTable lists Ā_c(model)/Ā_c(Baseline) per corruption (rows) and
// scored model (columns), in percent ± bootstrap std.
func ratioTable(a *Analysis) htmlTable {
	models := scoredModels(a)
	t := htmlTable{Header: []string{"Corruption", "Category"}}
	for _, m := range models {
		t.Header = append(t.Header, m.Name)
	}
	for i, c := range a.Corruptions {
		row := []string{prettyCorruption(c), title(a.categoryName(c))}
		for _, m := range models {
			row = append(row, estimateText(m.Robustness.Ratios[i]))
		}
		t.Rows = append(t.Rows, htmlRow{Cells: row})
	}
	return t
}
