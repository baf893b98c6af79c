package recordings

import (
	"fmt"

	"github.com/cotrain/cotrain/metrics"
)

// TestMetrics computes the neural metrics of predictions on the test
// trials of a recording: pred maps an image row of rec to the predicted
// responses of all neurons, sessions concatenated in order. Each session's
// repeats are grouped by image (GroupTrials); where a session marks entries
// as unrecorded, each neuron is evaluated on its recorded trials alone.
// The per-neuron results of all sessions are concatenated and their means
// taken over the neurons sel selects.
func (rec *Recordings) TestMetrics(pred map[int][]float32, sel metrics.NeuronSelection) (metrics.NeuralReport, error) {
	tests, err := rec.testGroups(pred)
	if err != nil {
		return metrics.NeuralReport{}, err
	}
	parts := make([]metrics.NeuralReport, len(tests))
	for i, t := range tests {
		if parts[i], err = metrics.EvaluateNeural(t, metrics.NeuronSelection{}); err != nil {
			return metrics.NeuralReport{}, err
		}
	}
	return metrics.MergeNeural(parts, sel)
}

// TestFEV is the fraction of explainable variance of each neuron of a
// recording (sessions concatenated), from its test repeats.
func (rec *Recordings) TestFEV() ([]float64, error) {
	tests, err := rec.testGroups(nil)
	if err != nil {
		return nil, err
	}
	var fev []float64
	for _, t := range tests {
		r, err := t.FEV()
		if err != nil {
			return nil, err
		}
		fev = append(fev, r.FEV...)
	}
	return fev, nil
}

// testGroups groups the test trials of every session into NeuralTests,
// one per session (or one per neuron of a session with unrecorded
// entries), in neuron order. pred may be nil.
func (rec *Recordings) testGroups(pred map[int][]float32) ([]metrics.NeuralTest, error) {
	var tests []metrics.NeuralTest
	offset := 0
	for k := range rec.Sessions {
		s := &rec.Sessions[k]
		var trials []int
		for t, test := range s.Test {
			if test {
				trials = append(trials, t)
			}
		}
		if len(trials) == 0 {
			return nil, fmt.Errorf("session %q has no test trials", s.Name)
		}
		all := make([]int, s.Neurons)
		for n := range all {
			all[n] = n
		}
		groups := [][]int{all}
		if s.Valid != nil {
			groups = make([][]int, s.Neurons)
			for n := range groups {
				groups[n] = []int{n}
			}
		}
		for _, ns := range groups {
			var ids []int
			var resp, p [][]float64
			for _, t := range trials {
				if s.Valid != nil && !s.Valid[t*s.Neurons+ns[0]] {
					continue
				}
				img := s.ImageIndex[t]
				r := make([]float64, len(ns))
				for i, n := range ns {
					r[i] = float64(s.Responses[t*s.Neurons+n])
				}
				ids = append(ids, img)
				resp = append(resp, r)
				if pred == nil {
					continue
				}
				row, ok := pred[img]
				if !ok {
					return nil, fmt.Errorf("no prediction for test image %d of session %q", img, s.Name)
				}
				q := make([]float64, len(ns))
				for i, n := range ns {
					q[i] = float64(row[offset+n])
				}
				p = append(p, q)
			}
			test, err := metrics.GroupTrials(ids, resp, p)
			if err != nil {
				return nil, fmt.Errorf("session %q: %w", s.Name, err)
			}
			tests = append(tests, test)
		}
		offset += s.Neurons
	}
	return tests, nil
}
