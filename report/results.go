package report

import (
	"errors"
	"fmt"
	"math"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/roles"
)

// Model is one trained model (all its seeds) as the report sees it.
type Model struct {
	// Name labels the model in tables and legends, e.g. "MTL-Monkey".
	// Names must be unique within a Results.
	Name string `json:"name"`
	// Kind is the model's role; empty means roles.Other.
	Kind roles.Role `json:"kind"`
	// Accuracy holds the per-image correctness of every seed on the clean
	// and corrupted test sets; nil for a model that does not classify (the
	// Monkey Predictor).
	Accuracy *metrics.AccuracyMatrix `json:"accuracy,omitempty"`
	// Neural summarizes V1 predictivity on the test recordings; nil when it
	// was not measured.
	Neural *NeuralSummary `json:"neural,omitempty"`
	// Adversarial holds the model's adversarial evaluations (Li et al.
	// 2019 Fig. 5), one per seed and norm; empty when not measured.
	Adversarial []*metrics.Adversarial `json:"adversarial,omitempty"`
}

// NeuralSummary is a model's V1 predictivity on the test recordings,
// averaged over seeds (see metrics.EvaluateNeural and docs/metrics.md).
type NeuralSummary struct {
	// MeanFEVe is the fraction of explainable variance explained, averaged
	// over the selected neurons and then over seeds (the paper's
	// "Neural Prediction [FEV]").
	MeanFEVe float64 `json:"mean_feve"`
	// MeanCorrelation is the single-trial correlation, averaged over the
	// selected neurons and then over seeds.
	MeanCorrelation float64 `json:"mean_correlation"`
	// Neurons is the number of recorded neurons.
	Neurons int `json:"neurons"`
	// Selected is the number of neurons that enter the means.
	Selected int `json:"selected"`
	// UseMinFEV says whether neurons were selected by FEV > MinFEV.
	UseMinFEV bool `json:"use_min_fev"`
	// MinFEV is the selection threshold (with UseMinFEV).
	MinFEV float64 `json:"min_fev"`
	// PerSeed holds each seed's mean FEVe (may be empty).
	PerSeed []float64 `json:"per_seed,omitempty"`
}

// validate checks that the summary's numbers are usable.
func (n *NeuralSummary) validate() error {
	for _, v := range append([]float64{n.MeanFEVe, n.MeanCorrelation, n.MinFEV}, n.PerSeed...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("neural summary holds %g; every value must be finite", v)
		}
	}
	if n.Neurons < 0 || n.Selected < 0 || n.Selected > n.Neurons {
		return fmt.Errorf("neural summary selects %d of %d neurons", n.Selected, n.Neurons)
	}
	return nil
}

// SummarizeNeural averages per-seed neural reports (one per seed, all on the
// same recordings with the same neuron selection sel) into a NeuralSummary.
func SummarizeNeural(perSeed []metrics.NeuralReport, sel metrics.NeuronSelection) (*NeuralSummary, error) {
	if len(perSeed) == 0 {
		return nil, errors.New("no neural reports to summarize")
	}
	s := &NeuralSummary{
		Neurons:   len(perSeed[0].FEVe),
		Selected:  perSeed[0].NumSelected,
		UseMinFEV: sel.UseMinFEV,
		MinFEV:    sel.MinFEV,
		PerSeed:   make([]float64, len(perSeed)),
	}
	for k, rep := range perSeed {
		if len(rep.FEVe) != s.Neurons || rep.NumSelected != s.Selected {
			return nil, fmt.Errorf("neural report %d selects %d of %d neurons but report 0 selects %d of %d; all seeds must be evaluated on the same recordings with the same selection",
				k, rep.NumSelected, len(rep.FEVe), s.Selected, s.Neurons)
		}
		s.PerSeed[k] = rep.Mean.FEVe
		s.MeanFEVe += rep.Mean.FEVe / float64(len(perSeed))
		s.MeanCorrelation += rep.Mean.SingleTrialCorrelation / float64(len(perSeed))
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// SweepPoint is one trained model of the batch-ratio sweep (one ratio, one
// seed): one point of the paper's Fig. 3C.
type SweepPoint struct {
	// Group names the model family the point belongs to (e.g. "MTL-Monkey"
	// or "MTL-Shuffled"); each group is analysed and drawn separately.
	Group string `json:"group,omitempty"`
	// Ratio is the batch ratio of neural to classification batches, e.g.
	// "1:4".
	Ratio string `json:"ratio"`
	// Seed is the training seed.
	Seed int64 `json:"seed"`
	// Robustness is the model's robustness score in percent (Baseline =
	// 100).
	Robustness float64 `json:"robustness"`
	// Clean is the model's clean test accuracy in percent.
	Clean float64 `json:"clean"`
	// Neural is the model's mean FEVe on the V1 test recordings.
	Neural float64 `json:"neural"`
}

// SweepPoints returns one SweepPoint per seed of m, as docs/metrics.md
// prescribes for Fig. 3C: the robustness score of that seed's accuracies
// against the Baseline averaged over its seeds, metrics.Robustness(
// m.SeedTable(k), baseline.MeanTable(), corruptions, …), in percent, and the
// seed's clean accuracy. neural[k] is seed k's mean FEVe. A nil corruptions
// scores the Baseline's corruptions.
func SweepPoints(group, ratio string, m, baseline *metrics.AccuracyMatrix, neural []float64, corruptions []string) ([]SweepPoint, error) {
	if m == nil || baseline == nil {
		return nil, errors.New("sweep points need the model's and the Baseline's accuracy matrices")
	}
	if len(neural) != len(m.Seeds) {
		return nil, fmt.Errorf("model %q ratio %s: %d neural values for %d seeds", m.Model, ratio, len(neural), len(m.Seeds))
	}
	base, err := baseline.MeanTable()
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	points := make([]SweepPoint, len(m.Seeds))
	for k, sc := range m.Seeds {
		t, err := m.SeedTable(k)
		if err != nil {
			return nil, err
		}
		rs, err := metrics.Robustness(t, base, corruptions, imagenetC())
		if err != nil {
			return nil, fmt.Errorf("model %q ratio %s seed %d: %w", m.Model, ratio, sc.Seed, err)
		}
		points[k] = SweepPoint{Group: group, Ratio: ratio, Seed: sc.Seed, Robustness: 100 * rs.Score, Clean: t.Clean, Neural: neural[k]}
	}
	return points, nil
}

// Results is everything one run of the experiment produced, the input of
// Analyze.
type Results struct {
	// Experiment names the run (e.g. "safarani2021 main").
	Experiment string `json:"experiment"`
	// Dataset describes the data (e.g. "Tiny ImageNet, TIN-TC").
	Dataset string `json:"dataset"`
	// Backend names the compute backend the models ran on.
	Backend string `json:"backend"`
	// Notes are free-text remarks copied into the report.
	Notes []string `json:"notes,omitempty"`
	// Baseline is the name of the model every robustness score is
	// relative to; it must classify.
	Baseline string `json:"baseline"`
	// Models lists the models in the order tables and legends show them.
	Models []Model `json:"models"`
	// Sweep holds the batch-ratio sweep (optional).
	Sweep []SweepPoint `json:"sweep,omitempty"`
	// Bootstrap configures the error bars of the robustness scores
	// (replicates, seed, and the corruptions scored; nil corruptions score
	// the Baseline's).
	Bootstrap metrics.BootstrapOptions `json:"bootstrap"`
}

// imagenetC is the ImageNet-C taxonomy of package corrupt, in its order:
// the categories the robustness score is broken down by.
func imagenetC() metrics.Taxonomy {
	var tax metrics.Taxonomy
	for _, name := range corrupt.Categories() {
		cat := metrics.Category{Name: name}
		for _, c := range corrupt.Names() {
			if corrupt.Category(c) == name {
				cat.Corruptions = append(cat.Corruptions, c)
			}
		}
		tax = append(tax, cat)
	}
	return tax
}
