package report

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/roles"
)

const (
	testImages     = 50
	testSeverities = 5
)

// buildMatrix returns an accuracy matrix over corrupt.Paper14()
// with two seeds in which seed k gets clean[k] correct clean images and
// count(k, c, s) correct images on corruption c at severity s+1. Which
// images are correct is drawn from a fixed seed.
func buildMatrix(t *testing.T, name string, clean [2]int, count func(k, c, s int) int) *metrics.AccuracyMatrix {
	t.Helper()
	corr := corrupt.Paper14()
	m, err := metrics.NewAccuracyMatrix(name, testImages, corr, testSeverities, []int64{11, 12})
	if err != nil {
		t.Fatal(err)
	}
	mark := func(res []bool, n int, stream uint64) {
		if n < 0 || n > len(res) {
			t.Fatalf("%s: %d correct of %d images", name, n, len(res))
		}
		for _, i := range rand.New(rand.NewPCG(stream, uint64(len(name)))).Perm(len(res))[:n] {
			res[i] = true
		}
	}
	for k := range m.Seeds {
		mark(m.Seeds[k].Clean, clean[k], uint64(k))
		for c := range corr {
			for s := range testSeverities {
				mark(m.Seeds[k].Corrupted[c][s], count(k, c, s), uint64(1000*k+10*c+s+1))
			}
		}
	}
	return m
}

// seedShift makes seed 0 one image better and seed 1 one image worse than
// the design, so the design is the mean over seeds.
func seedShift(k int) int { return 1 - 2*k }

// baseCount is the Baseline's design: 30, 25, 20, 15, 10 of 50 images at
// severities 1..5 (mean 20 images = 40 %) on every corruption.
func baseCount(c, s int) int { return 30 - 5*s }

// testResults builds three models with hand-checkable robustness:
//   - Baseline: the design above (score 100 %).
//   - MTL-Monkey: c − 5 images more than the Baseline on corruption c (index
//     in corrupt.Paper14()), so ratio_c = (20 + c − 5)/20, from 75 % on
//     gaussian_noise to 140 % on jpeg_compression, and the score is
//     (20 + 1.5)/20 = 107.5 %; noise = (20 − 4)/20 = 80 %.
//   - Oracle: 10 images more everywhere, every ratio 30/20 = 150 %.
func testResults(t *testing.T) Results {
	t.Helper()
	base := buildMatrix(t, "Baseline", [2]int{40, 38}, func(k, c, s int) int { return baseCount(c, s) + seedShift(k) })
	monkey := buildMatrix(t, "MTL-Monkey", [2]int{36, 34}, func(k, c, s int) int { return baseCount(c, s) + c - 5 + seedShift(k) })
	oracle := buildMatrix(t, "Oracle", [2]int{42, 44}, func(k, c, s int) int { return baseCount(c, s) + 10 + seedShift(k) })
	return Results{
		Experiment: "synthetic",
		Dataset:    "50 test images",
		Backend:    "none",
		Notes:      []string{"Synthetic accuracies with known robustness."},
		Baseline:   "Baseline",
		Models: []Model{
			{Name: "Baseline", Kind: roles.Baseline, Accuracy: base},
			{Name: "MTL-Monkey", Kind: roles.MTLMonkey, Accuracy: monkey, Neural: &NeuralSummary{MeanFEVe: 0.41, MeanCorrelation: 0.3, Neurons: 100, Selected: 90, PerSeed: []float64{0.40, 0.42}}},
			{Name: "Oracle", Kind: roles.Oracle, Accuracy: oracle},
			{Name: "Monkey Predictor", Kind: roles.MonkeyPredictor, Neural: &NeuralSummary{MeanFEVe: 0.5, Neurons: 100, Selected: 90}},
		},
		Bootstrap: metrics.BootstrapOptions{Replicates: 100, Seed: 7},
	}
}

// testSweep returns n sweep points of one group with robustness depending
// on clean accuracy and neural prediction plus fixed noise.
func testSweep(group string, n int, seed uint64) []SweepPoint {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]SweepPoint, n)
	for i := range out {
		neural := 0.2 + 0.3*rng.Float64()
		clean := 44 + 4*rng.Float64()
		out[i] = SweepPoint{
			Group: group, Ratio: []string{"1:4", "1:1", "4:1"}[i%3], Seed: int64(i),
			Neural: neural, Clean: clean,
			Robustness: 20 + 50*neural + 1.5*clean + 3*rng.NormFloat64(),
		}
	}
	return out
}

func findModel(t *testing.T, a *Analysis, name string) ModelResult {
	t.Helper()
	for _, m := range a.Models {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("analysis has no model %q", name)
	return ModelResult{}
}

func TestAnalyzeRobustness(t *testing.T) {
	r := testResults(t)
	a, err := Analyze(r)
	if err != nil {
		t.Fatal(err)
	}
	baseMean, err := r.Models[0].Accuracy.MeanTable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		model       string
		score       float64 // hand-computed, fraction
		noise       float64
		clean, std  float64
		exactRatios []float64 // nil: not checked
	}{
		{"Baseline", 1, 1, 78, math.Sqrt(2) * 2, nil},
		{"MTL-Monkey", 1.075, 0.8, 70, math.Sqrt(2) * 2, []float64{0.75, 0.8, 0.85, 0.9, 0.95, 1, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4}},
		{"Oracle", 1.5, 1.5, 86, math.Sqrt(2) * 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			m := findModel(t, a, tc.model)
			in := r.Models[slicesIndex(r, tc.model)]
			mean, err := in.Accuracy.MeanTable()
			if err != nil {
				t.Fatal(err)
			}
			want, err := metrics.Robustness(mean, baseMean, corrupt.Paper14(), imagenetC())
			if err != nil {
				t.Fatal(err)
			}
			if m.Robustness.Score.Point != want.Score {
				t.Errorf("score %v, metrics.Robustness gives %v", m.Robustness.Score.Point, want.Score)
			}
			if math.Abs(m.Robustness.Score.Point-tc.score) > 1e-12 {
				t.Errorf("score %v, want %v", m.Robustness.Score.Point, tc.score)
			}
			if got := m.Robustness.Categories[0]; got.Name != "noise" || math.Abs(got.Score.Point-tc.noise) > 1e-12 {
				t.Errorf("first category %s = %v, want noise = %v", got.Name, got.Score.Point, tc.noise)
			}
			for i, r := range tc.exactRatios {
				if math.Abs(m.Robustness.Ratios[i].Point-r) > 1e-12 {
					t.Errorf("ratio %s = %v, want %v", m.Robustness.Corruptions[i], m.Robustness.Ratios[i].Point, r)
				}
			}
			if math.Abs(m.Clean.Mean-tc.clean) > 1e-12 || math.Abs(m.Clean.Std-tc.std) > 1e-12 || m.Clean.N != 2 {
				t.Errorf("clean %+v, want %v ± %v over 2 seeds", *m.Clean, tc.clean, tc.std)
			}
			// Severity 1 of gaussian_noise: design ± 1 image per seed
			// (2 % of 50), so std = √2 · 2 %.
			if cv := m.Curves[0]; cv.Corruption != "gaussian_noise" || math.Abs(cv.Std[0]-2*math.Sqrt(2)) > 1e-12 ||
				math.Abs(cv.Mean[0]-mean.Accuracy[0][0]) > 1e-12 {
				t.Errorf("gaussian_noise curve %+v", cv)
			}
		})
	}
	if base := findModel(t, a, "Baseline"); base.Robustness.Score.Std != 0 {
		t.Errorf("Baseline against itself has bootstrap std %v, want 0", base.Robustness.Score.Std)
	}
	if o, mk := findModel(t, a, "Oracle"), findModel(t, a, "MTL-Monkey"); !(o.Robustness.Score.Point > mk.Robustness.Score.Point && mk.Robustness.Score.Point > 1) {
		t.Error("ordering Oracle > MTL-Monkey > Baseline does not hold")
	}
	if mp := findModel(t, a, "Monkey Predictor"); mp.Classifies() || mp.Neural == nil {
		t.Errorf("Monkey Predictor: classifies %v, neural %v", mp.Classifies(), mp.Neural)
	}
	want := &Exemplars{Model: "MTL-Monkey", Best: "jpeg_compression", Median: "frost", Worst: "gaussian_noise"}
	if !reflect.DeepEqual(a.Exemplars, want) {
		t.Errorf("exemplars %+v, want %+v", a.Exemplars, want)
	}
	if a.Replicates != 100 || a.NumImages != testImages || a.Severities != testSeverities || len(a.Categories) != 4 {
		t.Errorf("replicates %d, images %d, severities %d, categories %d", a.Replicates, a.NumImages, a.Severities, len(a.Categories))
	}
}

func slicesIndex(r Results, name string) int {
	for i, m := range r.Models {
		if m.Name == name {
			return i
		}
	}
	return -1
}

func TestAnalyzeErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(t *testing.T, r *Results)
		want   string
	}{
		{"no models", func(t *testing.T, r *Results) { r.Models = nil }, "no models"},
		{"no baseline named", func(t *testing.T, r *Results) { r.Baseline = "" }, "no Baseline named"},
		{"unknown baseline", func(t *testing.T, r *Results) { r.Baseline = "ResNet" }, `Baseline "ResNet" is not among`},
		{"baseline without accuracy", func(t *testing.T, r *Results) { r.Baseline = "Monkey Predictor" }, "no classification results"},
		{"duplicate name", func(t *testing.T, r *Results) { r.Models[2].Name = "MTL-Monkey" }, "used twice"},
		{"unknown kind", func(t *testing.T, r *Results) { r.Models[1].Kind = "mtl-rat" }, "unknown model kind"},
		{"no results", func(t *testing.T, r *Results) { r.Models[3].Neural = nil }, "neither classification nor neural"},
		{"fewer images", func(t *testing.T, r *Results) {
			m, err := metrics.NewAccuracyMatrix("Oracle", 40, corrupt.Paper14(), testSeverities, []int64{1})
			if err != nil {
				t.Fatal(err)
			}
			r.Models[2].Accuracy = m
		}, "tested on 40 images but the Baseline on 50"},
		{"fewer severities", func(t *testing.T, r *Results) {
			m, err := metrics.NewAccuracyMatrix("Oracle", testImages, corrupt.Paper14(), 3, []int64{1})
			if err != nil {
				t.Fatal(err)
			}
			r.Models[2].Accuracy = m
		}, "3 severities but the Baseline has 5"},
		{"missing corruption", func(t *testing.T, r *Results) {
			m, err := metrics.NewAccuracyMatrix("Oracle", testImages, corrupt.Paper14()[1:], testSeverities, []int64{1})
			if err != nil {
				t.Fatal(err)
			}
			r.Models[2].Accuracy = m
		}, `no results for corruption "gaussian_noise"`},
		{"unknown corruption scored", func(t *testing.T, r *Results) { r.Bootstrap.Corruptions = []string{"gaussian_noise", "rain"} }, `no results for corruption "rain"`},
		{"bad neural", func(t *testing.T, r *Results) { r.Models[1].Neural.Selected = 101 }, "selects 101 of 100"},
		{"non-finite sweep", func(t *testing.T, r *Results) {
			r.Sweep = testSweep("", 6, 1)
			r.Sweep[2].Neural = math.NaN()
		}, "must be finite"},
		{"repeated sweep point", func(t *testing.T, r *Results) {
			r.Sweep = testSweep("", 6, 1)
			r.Sweep[3].Seed = r.Sweep[0].Seed
		}, "repeats group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testResults(t)
			tc.modify(t, &r)
			_, err := Analyze(r)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestSweepRegressionsMatchEvaluate(t *testing.T) {
	r := testResults(t)
	r.Sweep = append(testSweep("MTL-Monkey", 30, 1), testSweep("MTL-Shuffled", 12, 2)...)
	a, err := Analyze(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Sweeps) != 2 || a.Sweeps[0].Group != "MTL-Monkey" || len(a.Sweeps[0].Points) != 30 || len(a.Sweeps[1].Points) != 12 {
		t.Fatalf("sweep groups %+v", a.Sweeps)
	}
	for _, s := range a.Sweeps {
		var y, clean, neural []float64
		for _, p := range s.Points {
			y, clean, neural = append(y, p.Robustness), append(clean, p.Clean), append(neural, p.Neural)
		}
		c := metrics.Predictor{Name: CleanTerm, Values: clean}
		n := metrics.Predictor{Name: NeuralTerm, Values: neural}
		tests := []struct {
			name string
			got  Regression
			fit  func() (metrics.Fit, error)
		}{
			{"line", s.Line, func() (metrics.Fit, error) { return metrics.FitLine(y, n) }},
			{"additive", s.Additive, func() (metrics.Fit, error) { return metrics.FitAdditive(y, c, n) }},
			{"interaction", s.Interaction, func() (metrics.Fit, error) { return metrics.FitInteraction(y, c, n) }},
		}
		for _, tc := range tests {
			want, err := tc.fit()
			if err != nil {
				t.Fatal(err)
			}
			if tc.got.Fit == nil || !reflect.DeepEqual(*tc.got.Fit, want) {
				t.Errorf("%s %s: fit %+v, evaluate gives %+v (error %q)", s.Group, tc.name, tc.got.Fit, want, tc.got.Error)
			}
		}
	}
	// The generating coefficient of neural prediction is 50 with 30 points
	// of noise σ = 3 over a 0.3 FEVe range: the estimate is within ±25.
	if b, err := a.Sweeps[0].Additive.Fit.Coefficient(NeuralTerm); err != nil || math.Abs(b.Estimate-50) > 25 {
		t.Errorf("b_neural = %+v, %v", b, err)
	}
}

func TestSweepTooSmall(t *testing.T) {
	r := testResults(t)
	r.Sweep = testSweep("", 4, 3)
	a, err := Analyze(r)
	if err != nil {
		t.Fatal(err)
	}
	s := a.Sweeps[0]
	if s.Line.Fit == nil || s.Additive.Fit == nil {
		t.Errorf("line and additive fits need 3 and 4 points: %q %q", s.Line.Error, s.Additive.Error)
	}
	if s.Interaction.Fit != nil || !strings.Contains(s.Interaction.Error, "4 observations for 4 coefficients") {
		t.Errorf("interaction with 4 points: fit %v, error %q", s.Interaction.Fit, s.Interaction.Error)
	}
}

func TestSweepPointsHelper(t *testing.T) {
	r := testResults(t)
	base, monkey := r.Models[0].Accuracy, r.Models[1].Accuracy
	pts, err := SweepPoints("MTL-Monkey", "1:4", monkey, base, []float64{0.3, 0.35}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bm, err := base.MeanTable()
	if err != nil {
		t.Fatal(err)
	}
	for k, p := range pts {
		st, err := monkey.SeedTable(k)
		if err != nil {
			t.Fatal(err)
		}
		want, err := metrics.Robustness(st, bm, nil, imagenetC())
		if err != nil {
			t.Fatal(err)
		}
		if p.Robustness != 100*want.Score || p.Clean != st.Clean || p.Seed != monkey.Seeds[k].Seed || p.Ratio != "1:4" || p.Group != "MTL-Monkey" {
			t.Errorf("point %d = %+v, want robustness %v clean %v", k, p, 100*want.Score, st.Clean)
		}
	}
	// Seed 0 is one image (2 %) above the design on every cell, the
	// Baseline mean is the design: ratio_c = (20 + c − 5 + 1)/20.
	if math.Abs(pts[0].Robustness-100*(21.5+1)/20) > 1e-9 {
		t.Errorf("seed 0 robustness %v, want %v", pts[0].Robustness, 100*22.5/20)
	}
	if _, err := SweepPoints("", "1:1", monkey, base, []float64{0.3}, nil); err == nil {
		t.Error("one neural value for two seeds: no error")
	}
}

func TestSummarizeNeural(t *testing.T) {
	rep := func(feve, corr float64, selected int) metrics.NeuralReport {
		return metrics.NeuralReport{FEVe: make([]float64, 4), NumSelected: selected,
			Mean: metrics.NeuralMeans{FEVe: feve, SingleTrialCorrelation: corr}}
	}
	s, err := SummarizeNeural([]metrics.NeuralReport{rep(0.4, 0.2, 3), rep(0.5, 0.3, 3)}, metrics.NeuronSelection{UseMinFEV: true, MinFEV: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	want := &NeuralSummary{MeanFEVe: 0.45, MeanCorrelation: 0.25, Neurons: 4, Selected: 3, UseMinFEV: true, MinFEV: 0.15, PerSeed: []float64{0.4, 0.5}}
	if math.Abs(s.MeanFEVe-want.MeanFEVe) > 1e-15 || math.Abs(s.MeanCorrelation-want.MeanCorrelation) > 1e-15 {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	s.MeanFEVe, s.MeanCorrelation = want.MeanFEVe, want.MeanCorrelation
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summary %+v, want %+v", s, want)
	}
	if _, err := SummarizeNeural([]metrics.NeuralReport{rep(0.4, 0.2, 3), rep(0.5, 0.3, 2)}, metrics.NeuronSelection{}); err == nil {
		t.Error("different selections: no error")
	}
	if _, err := SummarizeNeural(nil, metrics.NeuronSelection{}); err == nil {
		t.Error("no reports: no error")
	}
}
