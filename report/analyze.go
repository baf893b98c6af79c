package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/roles"
)

// Analysis holds every number the report shows, computed by Analyze. It is
// what WriteJSON writes.
type Analysis struct {
	// Experiment, Dataset and Backend are copied from the Results.
	Experiment string `json:"experiment"`
	// Dataset describes the data.
	Dataset string `json:"dataset"`
	// Backend names the compute backend.
	Backend string `json:"backend"`
	// Notes are copied from the Results.
	Notes []string `json:"notes,omitempty"`
	// Baseline is the name of the reference model.
	Baseline string `json:"baseline"`
	// Corruptions lists the scored corruptions in scoring order.
	Corruptions []string `json:"corruptions"`
	// Categories lists the scored categories with their scored corruptions.
	Categories []metrics.Category `json:"categories"`
	// Severities is the number of severity levels (5 in the paper).
	Severities int `json:"severities"`
	// NumImages is the number of test images every model was tested on.
	NumImages int `json:"num_images"`
	// Replicates is the number of bootstrap replicates behind the error
	// bars.
	Replicates int `json:"bootstrap_replicates"`
	// BootstrapSeed seeds the bootstrap generator.
	BootstrapSeed uint64 `json:"bootstrap_seed"`
	// Models holds one result per input model, in input order.
	Models []ModelResult `json:"models"`
	// Exemplars names the corruptions of Fig. 2; nil when no model other
	// than the Baseline classifies or fewer than 3 corruptions are scored.
	Exemplars *Exemplars `json:"exemplars,omitempty"`
	// Sweeps holds the batch-ratio sweep, one entry per group in order of
	// first appearance; empty without a sweep.
	Sweeps []SweepResult `json:"sweeps,omitempty"`
	// Adversarial holds the adversarial evaluations per model and norm
	// (Li et al. 2019 Fig. 5); empty when none was run.
	Adversarial []AdversarialResult `json:"adversarial,omitempty"`
}

// Spread is a mean and the sample standard deviation (divisor N − 1) of N
// values; Std is 0 when N < 2.
type Spread struct {
	// Mean is the mean of the values.
	Mean float64 `json:"mean"`
	// Std is their sample standard deviation.
	Std float64 `json:"std"`
	// N is the number of values.
	N int `json:"n"`
}

// spreadOf returns the mean and sample standard deviation of x.
func spreadOf(x []float64) Spread {
	s := Spread{N: len(x)}
	if len(x) == 0 {
		return s
	}
	for _, v := range x {
		s.Mean += v
	}
	s.Mean /= float64(len(x))
	if len(x) > 1 {
		var ss float64
		for _, v := range x {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(len(x)-1))
	}
	return s
}

// Curve is a model's accuracy on one corruption at severities 1..L.
type Curve struct {
	// Corruption is the corruption's name.
	Corruption string `json:"corruption"`
	// Mean holds the accuracy [%] per severity, averaged over seeds.
	Mean []float64 `json:"mean"`
	// Std holds the sample standard deviation over seeds per severity; nil
	// with a single seed.
	Std []float64 `json:"std,omitempty"`
}

// ModelResult is everything the report shows about one model.
type ModelResult struct {
	// Name is the model's name.
	Name string `json:"name"`
	// Kind is the model's role (empty input kinds read as roles.Other).
	Kind roles.Role `json:"kind"`
	// Seeds lists the training seeds of a classifying model.
	Seeds []int64 `json:"seeds,omitempty"`
	// CleanPerSeed holds each seed's clean test accuracy [%].
	CleanPerSeed []float64 `json:"clean_per_seed,omitempty"`
	// Clean is the clean accuracy [%] over seeds (the paper's Table 2);
	// nil for a model that does not classify.
	Clean *Spread `json:"clean,omitempty"`
	// Robustness holds the robustness score, per-corruption ratios and
	// category scores against the Baseline (fractions, Baseline = 1) with
	// their bootstrap estimates; nil for a model that does not classify.
	Robustness *metrics.RobustnessBootstrap `json:"robustness,omitempty"`
	// Curves holds the accuracy-versus-severity curve of every scored
	// corruption, in Analysis.Corruptions order.
	Curves []Curve `json:"curves,omitempty"`
	// Neural is the model's V1 predictivity, if measured.
	Neural *NeuralSummary `json:"neural,omitempty"`
}

// Classifies reports whether the model has classification results.
func (m ModelResult) Classifies() bool { return m.Robustness != nil }

// Exemplars names the corruptions with the best, median and worst
// robustness ratio Ā_c(model)/Ā_c(Baseline) of one model (the paper's
// Fig. 2, for MTL-Monkey).
type Exemplars struct {
	// Model is the model whose ratios were ranked.
	Model string `json:"model"`
	// Best is the corruption with the highest ratio.
	Best string `json:"best"`
	// Median is the corruption at rank ⌊(C−1)/2⌋ (0-based) of the C
	// corruptions sorted by decreasing ratio.
	Median string `json:"median"`
	// Worst is the corruption with the lowest ratio.
	Worst string `json:"worst"`
}

// Corruptions returns the best, median and worst corruption in that order.
func (e Exemplars) Corruptions() []string { return []string{e.Best, e.Median, e.Worst} }

// Regression is one least-squares fit of the sweep, or why it could not be
// fitted.
type Regression struct {
	// Formula names the model, e.g. "robustness ~ clean + neural".
	Formula string `json:"formula"`
	// Fit is the fit; nil when Error is set.
	Fit *metrics.Fit `json:"fit,omitempty"`
	// Error says why the fit failed (too few points, collinear data, ...).
	Error string `json:"error,omitempty"`
}

// Names of the sweep regression predictors, as they appear in the fits'
// coefficient names.
const (
	// CleanTerm is the clean-accuracy predictor [%].
	CleanTerm = "clean"
	// NeuralTerm is the neural-prediction predictor [FEVe].
	NeuralTerm = "neural"
)

// SweepResult is the analysis of one group of the batch-ratio sweep.
type SweepResult struct {
	// Group is the group's name (empty for an unnamed sweep).
	Group string `json:"group"`
	// Points holds the group's points in input order.
	Points []SweepPoint `json:"points"`
	// Line is robustness ~ neural, the grey line of Fig. 3C.
	Line Regression `json:"line"`
	// Additive is robustness ~ clean + neural, the paper's two-factor
	// regression.
	Additive Regression `json:"additive"`
	// Interaction is robustness ~ clean + neural + clean:neural.
	Interaction Regression `json:"interaction"`
}

// Regressions returns the line, additive and interaction fits in that
// order.
func (s SweepResult) Regressions() []Regression {
	return []Regression{s.Line, s.Additive, s.Interaction}
}

// Label returns the group's display name ("Sweep" for an unnamed group).
func (s SweepResult) Label() string {
	if s.Group == "" {
		return "Sweep"
	}
	return s.Group
}

// Analyze computes the report's numbers from a run's results: for every
// classifying model the clean accuracy over seeds, the accuracy curves, and
// the robustness score, per-corruption ratios and category scores against
// the Baseline with bootstrap error bars (metrics.BootstrapRobustness with
// r.Bootstrap); the Fig. 2 exemplar corruptions; and for each sweep group
// the regressions robustness ~ neural, ~ clean + neural and ~ clean *
// neural (metrics.FitLine, FitAdditive, FitInteraction). Every classifying
// model must be tested on the Baseline's test images with the Baseline's
// severities and hold every scored corruption.
func Analyze(r Results) (*Analysis, error) {
	if len(r.Models) == 0 {
		return nil, errors.New("results hold no models; add at least the Baseline")
	}
	kinds := make([]roles.Role, len(r.Models))
	names := make([]string, len(r.Models))
	baseIdx := -1
	for i, m := range r.Models {
		if m.Name == "" {
			return nil, fmt.Errorf("model %d has no name", i)
		}
		if slices.Contains(names[:i], m.Name) {
			return nil, fmt.Errorf("model name %q is used twice; model names must be unique", m.Name)
		}
		names[i] = m.Name
		k, err := roles.Parse(string(m.Kind))
		if err != nil {
			return nil, fmt.Errorf("model %q: %w", m.Name, err)
		}
		kinds[i] = k
		if m.Accuracy == nil && m.Neural == nil {
			return nil, fmt.Errorf("model %q has neither classification nor neural results", m.Name)
		}
		if m.Neural != nil {
			if err := m.Neural.validate(); err != nil {
				return nil, fmt.Errorf("model %q: %w", m.Name, err)
			}
		}
		if m.Name == r.Baseline {
			baseIdx = i
		}
	}
	if r.Baseline == "" {
		return nil, fmt.Errorf("no Baseline named; set Results.Baseline to one of the models (%s)", strings.Join(names, ", "))
	}
	if baseIdx < 0 {
		return nil, fmt.Errorf("the Baseline %q is not among the models (%s)", r.Baseline, strings.Join(names, ", "))
	}
	base := r.Models[baseIdx].Accuracy
	if base == nil {
		return nil, fmt.Errorf("the Baseline %q has no classification results; the robustness score needs them", r.Baseline)
	}
	if err := base.Validate(); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	corruptions := r.Bootstrap.Corruptions
	if corruptions == nil {
		corruptions = base.Corruptions
	}
	corruptions = slices.Clone(corruptions)
	for _, m := range r.Models {
		if m.Accuracy == nil {
			continue
		}
		if err := checkComparable(m.Name, m.Accuracy, base, corruptions); err != nil {
			return nil, err
		}
	}

	opts := r.Bootstrap
	opts.Corruptions = corruptions
	opts.Taxonomy = imagenetC()
	a := &Analysis{
		Experiment:    r.Experiment,
		Dataset:       r.Dataset,
		Backend:       r.Backend,
		Notes:         slices.Clone(r.Notes),
		Baseline:      r.Baseline,
		Corruptions:   corruptions,
		Severities:    base.Severities,
		NumImages:     base.NumImages,
		BootstrapSeed: opts.Seed,
	}
	for i, m := range r.Models {
		mr, err := analyzeModel(m, kinds[i], base, opts)
		if err != nil {
			return nil, err
		}
		if mr.Robustness != nil && a.Categories == nil {
			a.Replicates = mr.Robustness.Replicates
			for _, c := range mr.Robustness.Categories {
				a.Categories = append(a.Categories, metrics.Category{Name: c.Name, Corruptions: slices.Clone(c.Corruptions)})
			}
		}
		a.Models = append(a.Models, mr)
	}
	a.Exemplars = exemplars(a)
	sweeps, err := analyzeSweep(r.Sweep)
	if err != nil {
		return nil, err
	}
	a.Sweeps = sweeps
	if a.Adversarial, err = adversarialResults(r.Models); err != nil {
		return nil, err
	}
	return a, nil
}

// checkComparable checks that model m can be scored against the Baseline:
// same test images, same severities, every scored corruption present.
func checkComparable(name string, m, base *metrics.AccuracyMatrix, corruptions []string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("model %q: %w", name, err)
	}
	if m.NumImages != base.NumImages {
		return fmt.Errorf("model %q was tested on %d images but the Baseline on %d; every model must be tested on the Baseline's test images",
			name, m.NumImages, base.NumImages)
	}
	if m.Severities != base.Severities {
		return fmt.Errorf("model %q has %d severities but the Baseline has %d", name, m.Severities, base.Severities)
	}
	for _, c := range corruptions {
		if !slices.Contains(m.Corruptions, c) {
			return fmt.Errorf("model %q has no results for corruption %q (it has %s); every model needs every scored corruption",
				name, c, strings.Join(m.Corruptions, ", "))
		}
	}
	return nil
}

// analyzeModel computes one model's clean accuracy, curves and robustness.
func analyzeModel(m Model, kind roles.Role, base *metrics.AccuracyMatrix, opts metrics.BootstrapOptions) (ModelResult, error) {
	mr := ModelResult{Name: m.Name, Kind: kind, Neural: m.Neural}
	acc := m.Accuracy
	if acc == nil {
		return mr, nil
	}
	tables := make([]metrics.AccuracyTable, len(acc.Seeds))
	for k, sc := range acc.Seeds {
		t, err := acc.SeedTable(k)
		if err != nil {
			return ModelResult{}, fmt.Errorf("model %q: %w", m.Name, err)
		}
		tables[k] = t
		mr.Seeds = append(mr.Seeds, sc.Seed)
		mr.CleanPerSeed = append(mr.CleanPerSeed, t.Clean)
	}
	clean := spreadOf(mr.CleanPerSeed)
	mr.Clean = &clean
	for _, c := range opts.Corruptions {
		ci := slices.Index(acc.Corruptions, c)
		cv := Curve{Corruption: c, Mean: make([]float64, acc.Severities)}
		if len(tables) > 1 {
			cv.Std = make([]float64, acc.Severities)
		}
		vals := make([]float64, len(tables))
		for s := range acc.Severities {
			for k, t := range tables {
				vals[k] = t.Accuracy[ci][s]
			}
			sp := spreadOf(vals)
			cv.Mean[s] = sp.Mean
			if cv.Std != nil {
				cv.Std[s] = sp.Std
			}
		}
		mr.Curves = append(mr.Curves, cv)
	}
	rb, err := metrics.BootstrapRobustness(acc, base, opts)
	if err != nil {
		return ModelResult{}, fmt.Errorf("robustness of model %q: %w", m.Name, err)
	}
	mr.Robustness = &rb
	return mr, nil
}

// exemplars picks Fig. 2's model and its best, median and worst
// corruptions: the first MTL-Monkey model, else the first co-trained model,
// else the first classifying model other than the Baseline.
func exemplars(a *Analysis) *Exemplars {
	if len(a.Corruptions) < 3 {
		return nil
	}
	pick := -1
	for _, want := range []func(ModelResult) bool{
		func(m ModelResult) bool { return m.Kind == roles.MTLMonkey },
		func(m ModelResult) bool { return m.Kind.IsMTL() },
		func(m ModelResult) bool { return true },
	} {
		for i, m := range a.Models {
			if pick < 0 && m.Classifies() && m.Name != a.Baseline && want(m) {
				pick = i
			}
		}
	}
	if pick < 0 {
		return nil
	}
	m := a.Models[pick]
	order := make([]int, len(m.Robustness.Ratios))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int {
		ri, rj := m.Robustness.Ratios[i].Point, m.Robustness.Ratios[j].Point
		switch {
		case ri > rj:
			return -1
		case ri < rj:
			return 1
		}
		return 0
	})
	c := m.Robustness.Corruptions
	return &Exemplars{
		Model:  m.Name,
		Best:   c[order[0]],
		Median: c[order[(len(order)-1)/2]],
		Worst:  c[order[len(order)-1]],
	}
}

// analyzeSweep validates the sweep and fits the three regressions per
// group.
func analyzeSweep(points []SweepPoint) ([]SweepResult, error) {
	type key struct {
		group, ratio string
		seed         int64
	}
	seen := make(map[key]bool, len(points))
	var out []SweepResult
	for i, p := range points {
		for _, v := range []float64{p.Robustness, p.Clean, p.Neural} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("sweep point %d (group %q, ratio %s, seed %d) holds %g; every value must be finite", i, p.Group, p.Ratio, p.Seed, v)
			}
		}
		k := key{p.Group, p.Ratio, p.Seed}
		if seen[k] {
			return nil, fmt.Errorf("sweep point %d repeats group %q, ratio %s, seed %d", i, p.Group, p.Ratio, p.Seed)
		}
		seen[k] = true
		g := slices.IndexFunc(out, func(s SweepResult) bool { return s.Group == p.Group })
		if g < 0 {
			out = append(out, SweepResult{Group: p.Group})
			g = len(out) - 1
		}
		out[g].Points = append(out[g].Points, p)
	}
	for g := range out {
		s := &out[g]
		y := make([]float64, len(s.Points))
		clean := metrics.Predictor{Name: CleanTerm, Values: make([]float64, len(s.Points))}
		neural := metrics.Predictor{Name: NeuralTerm, Values: make([]float64, len(s.Points))}
		for i, p := range s.Points {
			y[i], clean.Values[i], neural.Values[i] = p.Robustness, p.Clean, p.Neural
		}
		s.Line = regression("robustness ~ neural", func() (metrics.Fit, error) { return metrics.FitLine(y, neural) })
		s.Additive = regression("robustness ~ clean + neural", func() (metrics.Fit, error) { return metrics.FitAdditive(y, clean, neural) })
		s.Interaction = regression("robustness ~ clean + neural + clean:neural", func() (metrics.Fit, error) { return metrics.FitInteraction(y, clean, neural) })
	}
	return out, nil
}

// regression runs one fit and records its result or its error.
func regression(formula string, fit func() (metrics.Fit, error)) Regression {
	f, err := fit()
	if err != nil {
		return Regression{Formula: formula, Error: err.Error()}
	}
	return Regression{Formula: formula, Fit: &f}
}
