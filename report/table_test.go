package report

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// tableRow returns the cells of the table row starting with name.
func tableRow(t *testing.T, table, name string) []string {
	t.Helper()
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, name+"  ") {
			return regexp.MustCompile(` {2,}`).Split(strings.TrimSpace(line), -1)
		}
	}
	t.Fatalf("no row for %q in\n%s", name, table)
	return nil
}

// plusMinus parses "a ± b" (or just "a").
func plusMinus(t *testing.T, cell string) (v, err float64) {
	t.Helper()
	parts := strings.Split(cell, " ± ")
	v, e := strconv.ParseFloat(parts[0], 64)
	if e != nil {
		t.Fatalf("cell %q: %v", cell, e)
	}
	if len(parts) == 2 {
		if err, e = strconv.ParseFloat(parts[1], 64); e != nil {
			t.Fatalf("cell %q: %v", cell, e)
		}
	}
	return v, err
}

func TestTable(t *testing.T) {
	r := testResults(t)
	r.Sweep = testSweep("MTL-Monkey", 20, 5)
	a, err := Analyze(r)
	if err != nil {
		t.Fatal(err)
	}
	table := Table(a)
	for _, m := range a.Models {
		tableRow(t, table, m.Name)
	}
	mk := findModel(t, a, "MTL-Monkey")
	row := tableRow(t, table, "MTL-Monkey")
	if len(row) != 10 || row[1] != "mtl-monkey" || row[2] != "2" {
		t.Fatalf("MTL-Monkey row %q", row)
	}
	want := [][2]float64{
		{mk.Clean.Mean, mk.Clean.Std},
		{100 * mk.Robustness.Score.Point, 100 * mk.Robustness.Score.Std},
	}
	for _, c := range mk.Robustness.Categories {
		want = append(want, [2]float64{100 * c.Score.Point, 100 * c.Score.Std})
	}
	want = append(want, [2]float64{0.41, spreadOf([]float64{0.40, 0.42}).Std})
	tol := []float64{0.005, 0.005, 0.005, 0.005, 0.005, 0.005, 0.0005}
	for i, w := range want {
		v, e := plusMinus(t, row[3+i])
		if math.Abs(v-w[0]) > tol[i] || math.Abs(e-w[1]) > tol[i] {
			t.Errorf("column %d = %q, want %.4f ± %.4f", 3+i, row[3+i], w[0], w[1])
		}
	}
	if v, _ := plusMinus(t, row[4]); v != 107.5 {
		t.Errorf("MTL-Monkey robustness %v, want 107.5", v)
	}
	if v, _ := plusMinus(t, row[5]); v != 80 {
		t.Errorf("MTL-Monkey noise score %v, want 80", v)
	}
	mp := tableRow(t, table, "Monkey Predictor")
	if fmt.Sprint(mp) != fmt.Sprint([]string{"Monkey Predictor", "monkey-predictor", missing, missing, missing, missing, missing, missing, missing, "0.500"}) {
		t.Errorf("Monkey Predictor row %q", mp)
	}
	fit := a.Sweeps[0].Additive.Fit
	for _, want := range []string{
		"robustness ~ clean + neural",
		"Fig. 2 corruptions (MTL-Monkey): best jpeg_compression, median frost, worst gaussian_noise",
		number(fit.Coef[2]),
		pValue(fit.P[2]),
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
}

func TestRenderTextAligns(t *testing.T) {
	got := renderText(textTable{
		header: []string{"name", "value"},
		rows:   [][]string{{"α", "1.5 ± 0.2"}, {"beta", "10"}},
		left:   []bool{true, false},
	})
	want := "name      value\n" +
		"---------------\n" +
		"α     1.5 ± 0.2\n" +
		"beta         10\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
