package recordings

import (
	"math"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/metrics"
)

// recordingFixture has two sessions (2 and 1 neurons) that show the same
// three test images four times each, plus one training trial.
func recordingFixture() (*Recordings, map[int][]float32) {
	rec := &Recordings{Images: Images{N: 4, H: 1, W: 1, U8: []uint8{0, 1, 2, 3}, Range: [2]float64{0, 255}},
		ImageIDs: []int64{1, 2, 3, 4}}
	resp := func(img, rep, n int) float32 { return float32(img*(n+1)) + float32((rep*7+n*3)%5)*0.5 }
	for k, neurons := range []int{2, 1} {
		s := Session{Name: []string{"a", "b"}[k], Neurons: neurons, NeuronIDs: make([]int64, neurons)}
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

// TestTestMetrics checks TestMetrics against EvaluateNeural on each
// session's trials grouped by hand.
func TestTestMetrics(t *testing.T) {
	rec, pred := recordingFixture()
	got, err := rec.TestMetrics(pred, metrics.NeuronSelection{})
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
		r, err := metrics.EvaluateNeural(metrics.NeuralTest{Responses: resp, Predictions: p}, metrics.NeuronSelection{})
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
	masked, err := rec.TestMetrics(pred, metrics.NeuronSelection{})
	if err != nil {
		t.Fatal(err)
	}
	for n := range want {
		if math.Abs(masked.FEVe[n]-got.FEVe[n]) > 1e-12 || math.Abs(masked.FEV[n]-got.FEV[n]) > 1e-12 {
			t.Errorf("neuron %d evaluated alone: FEVe %v FEV %v, together %v %v", n, masked.FEVe[n], masked.FEV[n], got.FEVe[n], got.FEV[n])
		}
	}
	fev, err := rec.TestFEV()
	if err != nil || len(fev) != 3 || math.Abs(fev[2]-got.FEV[2]) > 1e-12 {
		t.Errorf("TestFEV = %v, %v; want %v", fev, err, got.FEV)
	}

	delete(pred, 1)
	if _, err := rec.TestMetrics(pred, metrics.NeuronSelection{}); err == nil || !strings.Contains(err.Error(), "no prediction for test image 1") {
		t.Errorf("missing prediction: %v", err)
	}
}
