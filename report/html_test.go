package report

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestWriteHTML(t *testing.T) {
	a := fullAnalysis(t)
	path := filepath.Join(t.TempDir(), "report.html")
	if err := WriteHTML(path, a); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	html := string(data)
	figs, err := Figures(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		if !strings.Contains(html, `src="`+f.DataURI()+`"`) {
			t.Errorf("figure %s is not embedded as a data URI", f.Name)
		}
		if !strings.Contains(html, `id="`+f.Name+`"`) {
			t.Errorf("figure %s has no anchor", f.Name)
		}
	}
	if n := strings.Count(html, "data:image/png;base64,"); n != len(figs) {
		t.Errorf("%d data URIs for %d figures", n, len(figs))
	}
	for _, bad := range []string{"http://", "https://", "ZgotmplZ", "<script", "<link", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	mk := findModel(t, a, "MTL-Monkey")
	for _, want := range []string{
		"<!DOCTYPE html>", "<title>cotrain report: synthetic</title>", "<style>",
		"<td>" + estimateText(mk.Robustness.Score) + "</td>",
		"<td>" + spreadText(*mk.Clean) + "</td>",
		"Ā<sub>c</sub>(model) / Ā<sub>c</sub>(Baseline)",
		"100 replicates",
		"<code>robustness ~ clean &#43; neural</code>",
		"Synthetic accuracies with known robustness.",
		"<th>Weather [%]</th>",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, m := range a.Models {
		if !strings.Contains(html, "</span>"+m.Name+"</td>") {
			t.Errorf("results table has no row for %s", m.Name)
		}
	}
}

func TestWriteJSONRoundTrip(t *testing.T) {
	a := fullAnalysis(t)
	path := filepath.Join(t.TempDir(), "analysis.json")
	if err := a.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Analysis
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, a) {
		t.Error("analysis does not survive a JSON round trip")
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func TestWriteCSV(t *testing.T) {
	a := fullAnalysis(t)
	dir := t.TempDir()
	if err := a.WriteCSV(dir); err != nil {
		t.Fatal(err)
	}
	nClass := len(classifiers(a))
	tests := []struct {
		file   string
		header string
		rows   int
	}{
		{ModelsCSV, "model,kind,seeds,clean_mean,clean_std,robustness,robustness_std,noise,noise_std,blur,blur_std,weather,weather_std,digital,digital_std,feve,feve_std,correlation,neurons,selected", len(a.Models)},
		{AccuracyCSV, "model,corruption,category,severity,accuracy_mean,accuracy_std", nClass * (1 + 14*5)},
		{RatiosCSV, "model,corruption,category,ratio,ratio_std", nClass * 14},
		{SweepCSV, "group,ratio,seed,robustness,clean,neural", 20},
		{RegressionsCSV, "group,formula,term,estimate,std_err,t,p,r2,adj_r2,n,df,error", 2 + 3 + 4},
	}
	for _, tc := range tests {
		rows := readCSV(t, filepath.Join(dir, tc.file))
		if strings.Join(rows[0], ",") != tc.header || len(rows)-1 != tc.rows {
			t.Errorf("%s: header %q and %d rows, want %q and %d", tc.file, rows[0], len(rows)-1, tc.header, tc.rows)
		}
	}
	models := readCSV(t, filepath.Join(dir, ModelsCSV))
	for _, row := range models[1:] {
		if row[0] != "Oracle" {
			continue
		}
		if v, err := strconv.ParseFloat(row[5], 64); err != nil || v != 150 {
			t.Errorf("Oracle robustness %q, want 150", row[5])
		}
	}
	fit := a.Sweeps[0].Additive.Fit
	for _, row := range readCSV(t, filepath.Join(dir, RegressionsCSV))[1:] {
		if row[1] == a.Sweeps[0].Additive.Formula && row[2] == NeuralTerm {
			if v, err := strconv.ParseFloat(row[3], 64); err != nil || v != fit.Coef[2] {
				t.Errorf("b_neural %q, want %v", row[3], fit.Coef[2])
			}
		}
	}
}

func TestWriteReport(t *testing.T) {
	a := fullAnalysis(t)
	dir := t.TempDir()
	if err := WriteReport(dir, a); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ReportHTML, AnalysisJSON, TableTXT, ModelsCSV, AccuracyCSV, RatiosCSV, SweepCSV, RegressionsCSV,
		filepath.Join(FiguresDir, "fig3a_categories.png"), filepath.Join(FiguresDir, "fig3c_sweep.png")} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	table, err := os.ReadFile(filepath.Join(dir, TableTXT))
	if err != nil {
		t.Fatal(err)
	}
	if string(table) != Table(a) {
		t.Error("table.txt differs from Table")
	}
}
