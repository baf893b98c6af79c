package metrics

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// fixtures mirrors testdata/fixtures.json, written by
// testdata/gen_fixtures.py (NumPy and scipy.stats).
type fixtures struct {
	FlatCorrelation struct {
		Responses   [][]float64 `json:"responses"`
		Predictions [][]float64 `json:"predictions"`
		Want        []float64   `json:"want"`
	} `json:"flat_correlation"`
	Neural []struct {
		Name        string      `json:"name"`
		ImageIDs    []int       `json:"image_ids"`
		Responses   [][]float64 `json:"responses"`
		Predictions [][]float64 `json:"predictions"`
		Want        struct {
			SingleTrial   []float64 `json:"single_trial_correlation"`
			Average       []float64 `json:"average_correlation"`
			TotalVariance []float64 `json:"total_variance"`
			NoiseVariance []float64 `json:"noise_variance"`
			FEV           []float64 `json:"fev"`
			MSE           []float64 `json:"mse"`
			FEVe          []float64 `json:"feve"`
			Oracle        []float64 `json:"oracle_correlation"`
			Conservative  []float64 `json:"conservative_oracle_correlation"`
		} `json:"want"`
	} `json:"neural"`
	Regression struct {
		Y           []float64  `json:"y"`
		Clean       []float64  `json:"clean"`
		Neural      []float64  `json:"neural"`
		Additive    olsFixture `json:"additive"`
		Interaction olsFixture `json:"interaction"`
		Line        olsFixture `json:"line"`
	} `json:"regression"`
}

// olsFixture is one regression computed by numpy/scipy.
type olsFixture struct {
	Names          []string  `json:"names"`
	Coef           []float64 `json:"coef"`
	StdErr         []float64 `json:"stderr"`
	T              []float64 `json:"t"`
	P              []float64 `json:"p"`
	R2             float64   `json:"r2"`
	AdjR2          float64   `json:"adj_r2"`
	N              int       `json:"n"`
	DF             int       `json:"df"`
	ResidualStdErr float64   `json:"residual_std_err"`
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	data, err := os.ReadFile("testdata/fixtures.json")
	if err != nil {
		t.Fatalf("reading fixtures (regenerate with evaluate/testdata/gen_fixtures.py): %v", err)
	}
	var f fixtures
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("decoding fixtures: %v", err)
	}
	return f
}

// near reports whether got is within tol of want, absolutely or relative
// to |want| when |want| > 1.
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

func checkSlice(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d values, want %d", what, len(got), len(want))
		return
	}
	for i := range got {
		if !near(got[i], want[i], tol) {
			t.Errorf("%s[%d] = %.15g, want %.15g (diff %.3g)", what, i, got[i], want[i], got[i]-want[i])
		}
	}
}

// imagenetC is the ImageNet-C grouping of the 15 benchmark corruptions
// (Hendrycks & Dietterich 2019), written out independently of package
// corrupt.
var imagenetC = Taxonomy{
	{Name: "noise", Corruptions: []string{"gaussian_noise", "shot_noise", "impulse_noise"}},
	{Name: "blur", Corruptions: []string{"defocus_blur", "glass_blur", "motion_blur", "zoom_blur"}},
	{Name: "weather", Corruptions: []string{"snow", "frost", "fog", "brightness"}},
	{Name: "digital", Corruptions: []string{"contrast", "elastic_transform", "pixelate", "jpeg_compression"}},
}

// paperCorruptions are the 14 corruptions of Safarani et al. 2021: the 15
// without glass_blur.
func paperCorruptions() []string {
	var out []string
	for _, cat := range imagenetC {
		for _, c := range cat.Corruptions {
			if c != "glass_blur" {
				out = append(out, c)
			}
		}
	}
	return out
}
