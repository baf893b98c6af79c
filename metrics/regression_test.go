package metrics

import (
	"math"
	"strings"
	"testing"
)

func TestOLSFixture(t *testing.T) {
	f := loadFixtures(t)
	rg := f.Regression
	clean := Predictor{Name: "clean", Values: rg.Clean}
	neural := Predictor{Name: "neural", Values: rg.Neural}
	cases := []struct {
		name string
		fit  func() (Fit, error)
		want olsFixture
	}{
		{"additive", func() (Fit, error) { return FitAdditive(rg.Y, clean, neural) }, rg.Additive},
		{"interaction", func() (Fit, error) { return FitInteraction(rg.Y, clean, neural) }, rg.Interaction},
		{"line", func() (Fit, error) { return FitLine(rg.Y, neural) }, rg.Line},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.fit()
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got.Names, ",") != strings.Join(c.want.Names, ",") {
				t.Errorf("names %v, want %v", got.Names, c.want.Names)
			}
			checkSlice(t, "coef", got.Coef, c.want.Coef, 1e-8)
			checkSlice(t, "stderr", got.StdErr, c.want.StdErr, 1e-8)
			checkSlice(t, "t", got.T, c.want.T, 1e-8)
			checkSlice(t, "p", got.P, c.want.P, 1e-8)
			// p-values far below 1e-8 are checked relatively as well.
			for j := range got.P {
				if math.Abs(got.P[j]-c.want.P[j]) > 1e-6*c.want.P[j] {
					t.Errorf("p[%d] = %.12g, want %.12g (relative)", j, got.P[j], c.want.P[j])
				}
			}
			if !near(got.R2, c.want.R2, 1e-8) || !near(got.AdjR2, c.want.AdjR2, 1e-8) {
				t.Errorf("R² %g adj %g, want %g adj %g", got.R2, got.AdjR2, c.want.R2, c.want.AdjR2)
			}
			if !near(got.ResidualStdErr, c.want.ResidualStdErr, 1e-8) {
				t.Errorf("residual std err %g, want %g", got.ResidualStdErr, c.want.ResidualStdErr)
			}
			if got.N != c.want.N || got.DF != c.want.DF {
				t.Errorf("n %d df %d, want %d %d", got.N, got.DF, c.want.N, c.want.DF)
			}
		})
	}
}

// TestFitLineByHand checks a line worked out by hand: x = 0, 1, 2, 3 and
// y = 1, 3, 2, 5.
//
//	x̄ = 1.5, ȳ = 2.75, Sxx = 5, Sxy = (−1.5)(−1.75)+(−.5)(.25)+(.5)(−.75)+(1.5)(2.25) = 5.5
//	slope = 1.1, intercept = 2.75 − 1.65 = 1.1
//	fitted 1.1, 2.2, 3.3, 4.4; residuals −.1, .8, −1.3, .6; RSS = .01+.64+1.69+.36 = 2.7
//	σ̂² = 2.7/2 = 1.35; SE(slope) = √(1.35/5) = √0.27; TSS = 8.75, R² = 1 − 2.7/8.75
//	SE(intercept) = √(1.35·(1/4 + 1.5²/5)) = √(1.35·0.7) = √0.945
//	t(slope) = 1.1/√0.27 ≈ 2.11695, two-sided p with 2 df = 1 − t/√(t²+2)
//
// The last line is the closed form of the t distribution with 2 degrees of
// freedom: P(|T| > t) = 1 − t/√(t² + 2).
func TestFitLineByHand(t *testing.T) {
	f, err := FitLine([]float64{1, 3, 2, 5}, Predictor{Name: "x", Values: []float64{0, 1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	slope, err := f.Coefficient("x")
	if err != nil {
		t.Fatal(err)
	}
	tt := 1.1 / math.Sqrt(0.27)
	cases := []struct {
		name      string
		got, want float64
	}{
		{"intercept", f.Coef[0], 1.1},
		{"slope", slope.Estimate, 1.1},
		{"SE slope", slope.StdErr, math.Sqrt(0.27)},
		{"SE intercept", f.StdErr[0], math.Sqrt(0.945)},
		{"t slope", slope.T, tt},
		{"p slope", slope.P, 1 - tt/math.Sqrt(tt*tt+2)},
		{"R²", f.R2, 1 - 2.7/8.75},
	}
	for _, c := range cases {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
	if f.DF != 2 || f.N != 4 {
		t.Errorf("n %d df %d, want 4 and 2", f.N, f.DF)
	}
	y, err := f.Predict(2)
	if err != nil || !near(y, 3.3, 1e-12) {
		t.Errorf("Predict(2) = %g, %v; want 3.3", y, err)
	}
}

func TestOLSErrors(t *testing.T) {
	x := Predictor{Name: "x", Values: []float64{1, 2, 3, 4}}
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"length", func() error {
			_, err := FitLine([]float64{1, 2, 3}, x)
			return err
		}, `predictor "x" has 4 values for 3 observations`},
		{"too few", func() error {
			_, err := FitAdditive([]float64{1, 2, 3}, Predictor{"a", []float64{1, 2, 4}}, Predictor{"b", []float64{0, 1, 1}})
			return err
		}, "3 observations for 3 coefficients"},
		{"collinear", func() error {
			_, err := FitAdditive([]float64{1, 3, 2, 5, 4}, Predictor{"a", []float64{1, 2, 3, 4, 5}}, Predictor{"b", []float64{2, 4, 6, 8, 10}})
			return err
		}, "collinear"},
		{"nan", func() error {
			_, err := FitLine([]float64{1, math.NaN(), 2, 3}, x)
			return err
		}, "response value 1 is NaN"},
		{"constant y", func() error {
			_, err := FitLine([]float64{2, 2, 2, 2}, x)
			return err
		}, "response is constant"},
		{"exact", func() error {
			_, err := FitLine([]float64{3, 5, 7, 9}, x)
			return err
		}, "exact"},
		{"interaction lengths", func() error {
			_, err := FitInteraction([]float64{1, 2, 3, 4, 5}, x, Predictor{"b", []float64{1}})
			return err
		}, `predictor "x" has 4 values but "b" has 1`},
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
