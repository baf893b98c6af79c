package evaluate

import (
	"math"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/recordings"
)

// recordingFixture has two sessions (2 and 1 neurons) that show the same
// three test images four times each, plus one training trial.
func recordingFixture() (*recordings.Recordings, map[int][]float32) {
	rec := &recordings.Recordings{Images: recordings.Images{N: 4, H: 1, W: 1, U8: []uint8{0, 1, 2, 3}, Range: [2]float64{0, 255}},
		ImageIDs: []int64{1, 2, 3, 4}}
	resp := func(img, rep, n int) float32 { return float32(img*(n+1)) + float32((rep*7+n*3)%5)*0.5 }
	for k, neurons := range []int{2, 1} {
		s := recordings.Session{Name: []string{"a", "b"}[k], Neurons: neurons, NeuronIDs: make([]int64, neurons)}
		add := func(img, rep int, test bool) {
			for n := 0; n < neurons; n++ {
				s.Responses = append(s.Responses, resp(img, rep, n+2*k))
			}
			s.ImageIndex = append(s.ImageIndex, img)
			s.Test = append(s.Test, test)
			s.Trials++
		}
		add(3, 0, false)
		for rep := 0; rep < 4; rep++ {
			for img := 0; img < 3; img++ {
				add(img, rep, true)
			}
		}
		rec.Sessions = append(rec.Sessions, s)
	}
	pred := map[int][]float32{0: {0.2, 0.1, 0.4}, 1: {1.1, 2.3, 2.9}, 2: {2.2, 3.8, 6.1}}
	return rec, pred
}

// TestRecordedTest checks RecordedTest against EvaluateNeural on each
// session's trials grouped by hand.
func TestRecordedTest(t *testing.T) {
	rec, pred := recordingFixture()
	got, err := RecordedTest(rec, pred, NeuronSelection{})
	if err != nil {
		t.Fatal(err)
	}
	var want []float64
	offset := 0
	for _, s := range rec.Sessions {
		resp := make([][][]float64, 3)
		p := make([][]float64, 3)
		for tr := 0; tr < s.Trials; tr++ {
			if !s.Test[tr] {
				continue
			}
			img := s.ImageIndex[tr]
			row := make([]float64, s.Neurons)
			for n := range row {
				row[n] = float64(s.Responses[tr*s.Neurons+n])
			}
			resp[img] = append(resp[img], row)
		}
		for img := range p {
			for n := 0; n < s.Neurons; n++ {
				p[img] = append(p[img], float64(pred[img][offset+n]))
			}
		}
		r, err := EvaluateNeural(NeuralTest{Responses: resp, Predictions: p}, NeuronSelection{})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, r.FEVe...)
		offset += s.Neurons
	}
	if len(got.FEVe) != 3 {
		t.Fatalf("%d neurons, want 3", len(got.FEVe))
	}
	var mean float64
	for n := range want {
		if math.Abs(got.FEVe[n]-want[n]) > 1e-12 {
			t.Errorf("neuron %d: FEVe %v, want %v", n, got.FEVe[n], want[n])
		}
		mean += want[n] / 3
	}
	if math.Abs(got.Mean.FEVe-mean) > 1e-12 || got.NumSelected != 3 {
		t.Errorf("mean FEVe %v over %d neurons, want %v over 3", got.Mean.FEVe, got.NumSelected, mean)
	}

	// Marking every entry of a session recorded evaluates its neurons one
	// by one, with the same results.
	s := &rec.Sessions[0]
	s.Valid = make([]bool, s.Trials*s.Neurons)
	for i := range s.Valid {
		s.Valid[i] = true
	}
	masked, err := RecordedTest(rec, pred, NeuronSelection{})
	if err != nil {
		t.Fatal(err)
	}
	for n := range want {
		if math.Abs(masked.FEVe[n]-got.FEVe[n]) > 1e-12 || math.Abs(masked.FEV[n]-got.FEV[n]) > 1e-12 {
			t.Errorf("neuron %d evaluated alone: FEVe %v FEV %v, together %v %v", n, masked.FEVe[n], masked.FEV[n], got.FEVe[n], got.FEV[n])
		}
	}
	fev, err := RecordedFEV(rec)
	if err != nil || len(fev) != 3 || math.Abs(fev[2]-got.FEV[2]) > 1e-12 {
		t.Errorf("RecordedFEV = %v, %v; want %v", fev, err, got.FEV)
	}

	delete(pred, 1)
	if _, err := RecordedTest(rec, pred, NeuronSelection{}); err == nil || !strings.Contains(err.Error(), "no prediction for test image 1") {
		t.Errorf("missing prediction: %v", err)
	}
}

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
