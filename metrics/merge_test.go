package metrics

import (
	"math"
	"testing"
)

func TestMergeNeuralSelection(t *testing.T) {
	a := NeuralReport{FEV: []float64{0.1, 0.5}, FEVe: []float64{0.9, 0.4}, SingleTrialCorrelation: []float64{1, 2},
		AverageCorrelation: []float64{1, 2}, OracleCorrelation: []float64{1, 2}, ConservativeOracleCorrelation: []float64{1, 2}}
	b := NeuralReport{FEV: []float64{0.3}, FEVe: []float64{0.6}, SingleTrialCorrelation: []float64{4},
		AverageCorrelation: []float64{4}, OracleCorrelation: []float64{4}, ConservativeOracleCorrelation: []float64{4}}
	m, err := MergeNeural([]NeuralReport{a, b}, NeuronSelection{UseMinFEV: true, MinFEV: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	if m.NumSelected != 2 || m.Selected[0] || math.Abs(m.Mean.FEVe-0.5) > 1e-12 || m.Mean.SingleTrialCorrelation != 3 {
		t.Errorf("merged: %d selected %v, mean FEVe %v, correlation %v; want 2 (neurons 2, 3), 0.5, 3",
			m.NumSelected, m.Selected, m.Mean.FEVe, m.Mean.SingleTrialCorrelation)
	}
	if _, err := MergeNeural([]NeuralReport{a}, NeuronSelection{UseMinFEV: true, MinFEV: 0.9}); err == nil {
		t.Error("a threshold no neuron passes gave no error")
	}
}

func TestCombineSeeds(t *testing.T) {
	one := func(seed int64, n int) *AccuracyMatrix {
		m, err := NewAccuracyMatrix("m", n, []string{"contrast"}, 2, []int64{seed})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m, err := CombineSeeds("model", one(1, 4), one(2, 4))
	if err != nil || m.Model != "model" || len(m.Seeds) != 2 || m.Seeds[1].Seed != 2 {
		t.Errorf("CombineSeeds = %+v, %v", m, err)
	}
	if _, err := CombineSeeds("model", one(1, 4), one(2, 5)); err == nil {
		t.Error("matrices of different test sets were combined")
	}
	if _, err := CombineSeeds("model", one(1, 4), one(1, 4)); err == nil {
		t.Error("a seed given twice was accepted")
	}
}
