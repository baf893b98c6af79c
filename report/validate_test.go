package report

import (
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(a *Analysis)
		want   string
	}{
		{"no corruptions", func(a *Analysis) { a.Corruptions = nil }, "0 corruptions"},
		{"no models", func(a *Analysis) { a.Models = nil }, "no models"},
		{"unknown baseline", func(a *Analysis) { a.Baseline = "X" }, `the Baseline "X" is not`},
		{"short curve", func(a *Analysis) { a.Models[1].Curves[3].Mean = a.Models[1].Curves[3].Mean[:2] }, "does not hold 5 severities"},
		{"missing curves", func(a *Analysis) { a.Models[2].Curves = nil }, "0 accuracy curves for 14"},
		{"missing clean", func(a *Analysis) { a.Models[0].Clean = nil }, "without clean accuracy"},
		{"ratios", func(a *Analysis) { a.Models[1].Robustness.Ratios = nil }, "with 0 ratios"},
		{"exemplar", func(a *Analysis) { a.Exemplars.Median = "rain" }, `exemplar corruption "rain"`},
		{"fit", func(a *Analysis) { a.Sweeps[0].Additive.Fit.P = nil }, "malformed fit"},
		{"no fit", func(a *Analysis) { a.Sweeps[0].Line.Fit = nil }, "neither a fit nor an error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := fullAnalysis(t)
			tc.modify(a)
			err := a.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := Figures(a); err == nil {
				t.Error("Figures accepts an invalid analysis")
			}
			if got := Table(a); !strings.HasPrefix(got, "invalid analysis: ") {
				t.Errorf("Table of an invalid analysis: %q", got)
			}
			if err := a.WriteCSV(t.TempDir()); err == nil {
				t.Error("WriteCSV accepts an invalid analysis")
			}
		})
	}
	var nilAnalysis *Analysis
	if err := nilAnalysis.Validate(); err == nil {
		t.Error("nil analysis validates")
	}
	if err := fullAnalysis(t).Validate(); err != nil {
		t.Errorf("Analyze output fails Validate: %v", err)
	}
}
