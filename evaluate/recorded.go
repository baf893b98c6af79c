package evaluate

import (
	"fmt"

	"github.com/cotrain/cotrain/data/recordings"
)

// RecordedTest computes the neural metrics of predictions on the test
// trials of a recording: pred maps an image row of rec to the predicted
// responses of all neurons, sessions concatenated in order. Each session's
// repeats are grouped by image (GroupTrials); where a session marks entries
// as unrecorded, each neuron is evaluated on its recorded trials alone.
// The per-neuron results of all sessions are concatenated and their means
// taken over the neurons sel selects.
func RecordedTest(rec *recordings.Recordings, pred map[int][]float32, sel NeuronSelection) (NeuralReport, error) {
	tests, err := recordedTests(rec, pred)
	if err != nil {
		return NeuralReport{}, err
	}
	parts := make([]NeuralReport, len(tests))
	for i, t := range tests {
		if parts[i], err = EvaluateNeural(t, NeuronSelection{}); err != nil {
			return NeuralReport{}, err
		}
	}
	return MergeNeural(parts, sel)
}

// RecordedFEV is the fraction of explainable variance of each neuron of a
// recording (sessions concatenated), from its test repeats.
func RecordedFEV(rec *recordings.Recordings) ([]float64, error) {
	tests, err := recordedTests(rec, nil)
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

// recordedTests groups the test trials of every session into NeuralTests,
// one per session (or one per neuron of a session with unrecorded
// entries), in neuron order. pred may be nil.
func recordedTests(rec *recordings.Recordings, pred map[int][]float32) ([]NeuralTest, error) {
	var tests []NeuralTest
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
			test, err := GroupTrials(ids, resp, p)
			if err != nil {
				return nil, fmt.Errorf("session %q: %w", s.Name, err)
			}
			tests = append(tests, test)
		}
		offset += s.Neurons
	}
	return tests, nil
}

// MergeNeural concatenates the per-neuron metrics of several reports (for
// example one per recording session) and recomputes the selection and the
// means over all of them.
func MergeNeural(reports []NeuralReport, sel NeuronSelection) (NeuralReport, error) {
	var m NeuralReport
	for _, r := range reports {
		m.SingleTrialCorrelation = append(m.SingleTrialCorrelation, r.SingleTrialCorrelation...)
		m.AverageCorrelation = append(m.AverageCorrelation, r.AverageCorrelation...)
		m.FEV = append(m.FEV, r.FEV...)
		m.FEVe = append(m.FEVe, r.FEVe...)
		m.OracleCorrelation = append(m.OracleCorrelation, r.OracleCorrelation...)
		m.ConservativeOracleCorrelation = append(m.ConservativeOracleCorrelation, r.ConservativeOracleCorrelation...)
	}
	if err := m.summarize(sel); err != nil {
		return NeuralReport{}, err
	}
	return m, nil
}
