package metrics

import (
	"math"
	"strings"
	"testing"
)

func TestCorrelationFixture(t *testing.T) {
	f := loadFixtures(t)
	got, err := Correlation(f.FlatCorrelation.Responses, f.FlatCorrelation.Predictions)
	if err != nil {
		t.Fatal(err)
	}
	checkSlice(t, "correlation", got, f.FlatCorrelation.Want, 1e-9)
}

func TestNeuralMetricsFixture(t *testing.T) {
	f := loadFixtures(t)
	for _, c := range f.Neural {
		t.Run(c.Name, func(t *testing.T) {
			test, err := GroupTrials(c.ImageIDs, c.Responses, c.Predictions)
			if err != nil {
				t.Fatal(err)
			}
			single, err := test.SingleTrialCorrelation()
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "single-trial correlation", single, c.Want.SingleTrial, 1e-9)
			avg, err := test.AverageCorrelation()
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "average correlation", avg, c.Want.Average, 1e-9)
			fev, err := test.FEV()
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "total variance", fev.TotalVariance, c.Want.TotalVariance, 1e-9)
			checkSlice(t, "noise variance", fev.NoiseVariance, c.Want.NoiseVariance, 1e-9)
			checkSlice(t, "FEV", fev.FEV, c.Want.FEV, 1e-9)
			checkSlice(t, "MSE", fev.MSE, c.Want.MSE, 1e-9)
			checkSlice(t, "FEVe", fev.FEVe, c.Want.FEVe, 1e-9)
			oracle, err := test.OracleCorrelation()
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "oracle correlation", oracle, c.Want.Oracle, 1e-9)
			cons, err := test.ConservativeOracleCorrelation()
			if err != nil {
				t.Fatal(err)
			}
			checkSlice(t, "conservative oracle correlation", cons, c.Want.Conservative, 1e-9)

			rep, err := EvaluateNeural(test, NeuronSelection{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.NumSelected != len(c.Want.FEV) {
				t.Errorf("NumSelected = %d without a threshold, want all %d", rep.NumSelected, len(c.Want.FEV))
			}
			if want := mean(c.Want.FEVe); !near(rep.Mean.FEVe, want, 1e-9) {
				t.Errorf("mean FEVe = %g, want %g", rep.Mean.FEVe, want)
			}
		})
	}
}

// TestNeuralMetricsByHand checks a case worked out by hand. One neuron, two
// images shown twice each: image A gives responses 1 and 3, image B gives 4
// and 6; the predictions are 2 for A and 4 for B.
//
//	pooled trials 1, 3, 4, 6: mean 3.5, squared deviations 6.25+0.25+0.25+6.25 = 13
//	V_tot = 13/3 (ddof 1); V_noise = mean(var(1,3), var(4,6)) = mean(2, 2) = 2
//	FEV = (13/3 − 2)/(13/3) = 7/13
//	MSE = ((1−2)² + (3−2)² + (4−4)² + (6−4)²)/4 = 6/4 = 1.5
//	FEVe = 1 − (1.5 − 2)/(13/3 − 2) = 1 + 0.5·3/7 = 17/14
//	single trial: x = (1,3,4,6), y = (2,2,4,4): cov = (2.5+0.5+0.5+2.5)/4 = 1.5,
//	  σx = √3.25, σy = 1, r = 1.5/√3.25 = 3/√13
//	average: means (2, 5) against predictions (2, 4): two points, r = 1
//	jackknife oracle: x = (1,3,4,6) against the other repeat (3,1,6,4):
//	  cov = (1.25+1.25+1.25+1.25)/4 = 1.25, σ² = 3.25 each, r = 5/13
//	conservative: Vn = mean(1, 1) = 1 (ddof 0), Vm = var(2, 5) = 2.25,
//	  r = √(2.25/3.25) = 3/√13
//
// The 1e-8 added to each standard deviation moves the correlations by less
// than 1e-8.
func TestNeuralMetricsByHand(t *testing.T) {
	test := NeuralTest{
		Responses:   [][][]float64{{{1}, {3}}, {{4}, {6}}},
		Predictions: [][]float64{{2}, {4}},
	}
	rep, err := EvaluateNeural(test, NeuronSelection{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		got, want float64
	}{
		{"FEV", rep.FEV[0], 7.0 / 13},
		{"FEVe", rep.FEVe[0], 17.0 / 14},
		{"single-trial correlation", rep.SingleTrialCorrelation[0], 3 / math.Sqrt(13)},
		{"average correlation", rep.AverageCorrelation[0], 1},
		{"oracle correlation", rep.OracleCorrelation[0], 5.0 / 13},
		{"conservative oracle correlation", rep.ConservativeOracleCorrelation[0], 3 / math.Sqrt(13)},
	}
	for _, c := range cases {
		if !near(c.got, c.want, 1e-7) {
			t.Errorf("%s = %.12g, want %.12g", c.name, c.got, c.want)
		}
	}
}

// TestZeroVarianceNeuron checks the convention for a neuron that never
// varies (and a prediction that never varies): every metric is a finite 0,
// the mean over neurons stays finite, and a threshold of FEV > 0 drops the
// neuron.
func TestZeroVarianceNeuron(t *testing.T) {
	test := NeuralTest{
		Responses: [][][]float64{
			{{0.1, 1, 5}, {0.1, 2, 7}},
			{{0.1, 4, 2}, {0.1, 6, 3}, {0.1, 5, 1}},
		},
		Predictions: [][]float64{{0.3, 1.5, 0.7}, {0.2, 5, 0.7}},
	}
	rep, err := EvaluateNeural(test, NeuronSelection{})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string][]float64{
		"single":       rep.SingleTrialCorrelation,
		"average":      rep.AverageCorrelation,
		"FEV":          rep.FEV,
		"FEVe":         rep.FEVe,
		"oracle":       rep.OracleCorrelation,
		"conservative": rep.ConservativeOracleCorrelation,
	}
	for name, v := range per {
		if v[0] != 0 {
			t.Errorf("%s of the constant neuron = %g, want 0", name, v[0])
		}
		for n, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				t.Errorf("%s[%d] = %g, want finite", name, n, x)
			}
		}
	}
	if rep.SingleTrialCorrelation[2] != 0 || rep.AverageCorrelation[2] != 0 {
		t.Errorf("correlations with a constant prediction = %g, %g, want 0",
			rep.SingleTrialCorrelation[2], rep.AverageCorrelation[2])
	}
	m := rep.Mean
	for _, v := range []float64{m.SingleTrialCorrelation, m.AverageCorrelation, m.FEV, m.FEVe, m.OracleCorrelation, m.ConservativeOracleCorrelation} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("mean %+v is not finite", m)
			break
		}
	}
	sel, err := EvaluateNeural(test, NeuronSelection{UseMinFEV: true, MinFEV: 0})
	if err != nil {
		t.Fatal(err)
	}
	if sel.Selected[0] || sel.NumSelected != 2 {
		t.Errorf("with FEV > 0: selected %v (%d), want neuron 0 dropped", sel.Selected, sel.NumSelected)
	}
	if want := (rep.FEV[1] + rep.FEV[2]) / 2; !near(sel.Mean.FEV, want, 1e-12) {
		t.Errorf("mean FEV over selected = %g, want %g", sel.Mean.FEV, want)
	}
}

func TestFEVThresholdSelection(t *testing.T) {
	f := loadFixtures(t)
	c := f.Neural[0] // FEV = 0.46, −0.28, 0 (constant), 0.31
	test, err := GroupTrials(c.ImageIDs, c.Responses, c.Predictions)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		sel  NeuronSelection
		want []bool
	}{
		{"none", NeuronSelection{}, []bool{true, true, true, true}},
		{"above 0", NeuronSelection{UseMinFEV: true, MinFEV: 0}, []bool{true, false, false, true}},
		{"above 0.4", NeuronSelection{UseMinFEV: true, MinFEV: 0.4}, []bool{true, false, false, false}},
		{"above -1", NeuronSelection{UseMinFEV: true, MinFEV: -1}, []bool{true, true, true, true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := EvaluateNeural(test, tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			var sum float64
			var k int
			for n, s := range tc.want {
				if rep.Selected[n] != s {
					t.Errorf("Selected[%d] = %v, want %v (FEV %g)", n, rep.Selected[n], s, rep.FEV[n])
				}
				if s {
					sum += c.Want.SingleTrial[n]
					k++
				}
			}
			if rep.NumSelected != k {
				t.Errorf("NumSelected = %d, want %d", rep.NumSelected, k)
			}
			if want := sum / float64(k); !near(rep.Mean.SingleTrialCorrelation, want, 1e-9) {
				t.Errorf("mean single-trial correlation = %g, want %g", rep.Mean.SingleTrialCorrelation, want)
			}
		})
	}
	if _, err := EvaluateNeural(test, NeuronSelection{UseMinFEV: true, MinFEV: 0.9}); err == nil {
		t.Error("no error when no neuron passes the threshold")
	}
}

func TestGroupTrials(t *testing.T) {
	ids := []int{7, 3, 7, 9, 3, 7}
	resp := [][]float64{{1, 10}, {2, 20}, {3, 30}, {4, 40}, {5, 50}, {6, 60}}
	pred := [][]float64{{1, 1}, {2, 2}, {1, 3}, {4, 4}, {2, 2}, {1, 2}}
	test, err := GroupTrials(ids, resp, pred)
	if err != nil {
		t.Fatal(err)
	}
	if got := test.ImageIDs; len(got) != 3 || got[0] != 7 || got[1] != 3 || got[2] != 9 {
		t.Fatalf("image ids %v, want [7 3 9]", got)
	}
	if r := test.Responses[0]; len(r) != 3 || r[0][0] != 1 || r[1][0] != 3 || r[2][0] != 6 {
		t.Errorf("image 7 repeats %v, want trials 0, 2, 5 in order", r)
	}
	if p := test.Predictions[0]; p[0] != 1 || p[1] != 2 {
		t.Errorf("image 7 prediction %v, want the trial mean [1 2]", p)
	}
	resp[0][0] = 99
	if test.Responses[0][0][0] != 1 {
		t.Error("GroupTrials aliases the caller's response rows")
	}
}

func TestNeuralShapeErrors(t *testing.T) {
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"correlation rows", func() error {
			_, err := Correlation([][]float64{{1}, {2}}, [][]float64{{1}})
			return err
		}, "2 trials × 1 neurons but predictions are 1 × 1"},
		{"correlation columns", func() error {
			_, err := Correlation([][]float64{{1, 2}, {2, 3}}, [][]float64{{1}, {2}})
			return err
		}, "2 trials × 2 neurons but predictions are 2 × 1"},
		{"ragged responses", func() error {
			_, err := Correlation([][]float64{{1, 2}, {2}}, [][]float64{{1, 2}, {2, 3}})
			return err
		}, "responses row 1 has 1 columns, row 0 has 2"},
		{"ids vs trials", func() error {
			_, err := GroupTrials([]int{1}, [][]float64{{1}, {2}}, nil)
			return err
		}, "1 image ids for 2 response trials"},
		{"group predictions", func() error {
			_, err := GroupTrials([]int{1, 1}, [][]float64{{1}, {2}}, [][]float64{{1, 2}, {2, 3}})
			return err
		}, "2 trials × 1 neurons but predictions are 2 × 2"},
		{"repeat neurons", func() error {
			_, err := NeuralTest{Responses: [][][]float64{{{1, 2}, {3}}}}.FEV()
			return err
		}, "image 0 repeat 1 has 1 neurons, image 0 repeat 0 has 2"},
		{"prediction neurons", func() error {
			_, err := NeuralTest{Responses: [][][]float64{{{1, 2}, {3, 4}}}, Predictions: [][]float64{{1}}}.AverageCorrelation()
			return err
		}, "prediction for image 0 has 1 neurons, responses have 2"},
		{"prediction images", func() error {
			_, err := NeuralTest{Responses: [][][]float64{{{1}}, {{2}}}, Predictions: [][]float64{{1}}}.SingleTrialCorrelation()
			return err
		}, "1 prediction rows for 2 images"},
		{"missing predictions", func() error {
			_, err := NeuralTest{Responses: [][][]float64{{{1}, {2}}}}.SingleTrialCorrelation()
			return err
		}, "no predictions"},
		{"no repeats", func() error {
			_, err := NeuralTest{Responses: [][][]float64{{{1}}, {{2}}}}.OracleCorrelation()
			return err
		}, "no test image has two or more repeats"},
		{"empty image", func() error {
			_, err := NeuralTest{Responses: [][][]float64{{{1}, {2}}, {}}}.ConservativeOracleCorrelation()
			return err
		}, "image 1 has no repeats"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
