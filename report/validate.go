package report

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cotrain/cotrain/metrics"
)

// Validate checks that an analysis is consistent enough to be tabulated,
// drawn and written: Analyze always returns one that is; an analysis read
// back from JSON or built by hand may not be. Table, Figures, WriteCSV,
// WriteHTML and WriteReport call it first.
func (a *Analysis) Validate() error {
	if a == nil {
		return errors.New("no analysis")
	}
	if len(a.Corruptions) == 0 || a.Severities <= 0 {
		return fmt.Errorf("analysis has %d corruptions and %d severities", len(a.Corruptions), a.Severities)
	}
	if len(a.Models) == 0 {
		return errors.New("analysis has no models")
	}
	baseline := false
	for _, m := range a.Models {
		if m.Name == a.Baseline && m.Classifies() {
			baseline = true
		}
		if err := m.validate(a); err != nil {
			return fmt.Errorf("model %q: %w", m.Name, err)
		}
	}
	if !baseline {
		return fmt.Errorf("the Baseline %q is not a classifying model of the analysis", a.Baseline)
	}
	if e := a.Exemplars; e != nil {
		i := slices.IndexFunc(a.Models, func(m ModelResult) bool { return m.Name == e.Model })
		if i < 0 || !a.Models[i].Classifies() {
			return fmt.Errorf("exemplar model %q is not a classifying model of the analysis", e.Model)
		}
		for _, c := range e.Corruptions() {
			if !slices.Contains(a.Corruptions, c) {
				return fmt.Errorf("exemplar corruption %q is not scored", c)
			}
		}
	}
	for _, s := range a.Sweeps {
		for _, r := range s.Regressions() {
			if err := validFit(r); err != nil {
				return fmt.Errorf("sweep %s, %s: %w", s.Label(), r.Formula, err)
			}
		}
	}
	return nil
}

// validate checks one model's result against the analysis.
func (m ModelResult) validate(a *Analysis) error {
	if !m.Classifies() {
		if m.Clean != nil || m.Curves != nil {
			return errors.New("accuracy results without robustness")
		}
		return nil
	}
	if m.Clean == nil {
		return errors.New("robustness without clean accuracy")
	}
	rb := m.Robustness
	if !slices.Equal(rb.Corruptions, a.Corruptions) || len(rb.Ratios) != len(a.Corruptions) {
		return fmt.Errorf("robustness scores %d corruptions with %d ratios; the analysis scores %d",
			len(rb.Corruptions), len(rb.Ratios), len(a.Corruptions))
	}
	if len(m.Curves) != len(a.Corruptions) {
		return fmt.Errorf("%d accuracy curves for %d corruptions", len(m.Curves), len(a.Corruptions))
	}
	for i, cv := range m.Curves {
		if cv.Corruption != a.Corruptions[i] || len(cv.Mean) != a.Severities || (cv.Std != nil && len(cv.Std) != a.Severities) {
			return fmt.Errorf("curve %d (%s) does not hold %d severities of %s", i, cv.Corruption, a.Severities, a.Corruptions[i])
		}
	}
	return nil
}

// validFit checks a regression's shape: a fit with one value of every
// statistic per coefficient, at least the intercept and one predictor.
func validFit(r Regression) error {
	f := r.Fit
	if f == nil {
		if r.Error == "" {
			return errors.New("neither a fit nor an error")
		}
		return nil
	}
	n := len(f.Names)
	if n < 2 || f.Names[0] != metrics.InterceptName || len(f.Coef) != n || len(f.StdErr) != n || len(f.T) != n || len(f.P) != n {
		return fmt.Errorf("malformed fit with coefficients %v", f.Names)
	}
	return nil
}
