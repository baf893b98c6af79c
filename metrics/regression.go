package metrics

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"
)

// maxCondition is the largest condition number of a design matrix that OLS
// accepts; beyond it the predictors are treated as collinear.
const maxCondition = 1e12

// InterceptName is the name OLS gives the intercept coefficient.
const InterceptName = "intercept"

// Predictor is one named column of a regression design.
type Predictor struct {
	// Name labels the coefficient (e.g. "clean", "neural").
	Name string
	// Values holds one value per observation.
	Values []float64
}

// Fit is an ordinary-least-squares fit with intercept, with the classical
// (homoscedastic) standard errors and two-sided Student-t tests.
type Fit struct {
	// Names labels the coefficients: InterceptName, then the predictors.
	Names []string `json:"names"`
	// Coef holds the estimated coefficients.
	Coef []float64 `json:"coef"`
	// StdErr holds their standard errors, √diag(σ̂² (XᵀX)⁻¹).
	StdErr []float64 `json:"stderr"`
	// T holds the t statistics Coef/StdErr.
	T []float64 `json:"t"`
	// P holds the two-sided p-values 2·P(T_DF > |t|).
	P []float64 `json:"p"`
	// R2 is the coefficient of determination 1 − RSS/TSS.
	R2 float64 `json:"r2"`
	// AdjR2 is 1 − (1 − R2)(N − 1)/DF.
	AdjR2 float64 `json:"adj_r2"`
	// ResidualStdErr is σ̂ = √(RSS/DF).
	ResidualStdErr float64 `json:"residual_std_err"`
	// N is the number of observations.
	N int `json:"n"`
	// DF is the residual degrees of freedom, N − number of coefficients.
	DF int `json:"df"`
}

// OLS fits y = β₀ + Σ_j β_j x_j + ε by least squares (QR factorisation) and
// returns the coefficients with standard errors, t statistics, two-sided
// p-values from Student's t with N − p degrees of freedom, and R². It is an
// error when the shapes disagree, a value is not finite, there are not more
// observations than coefficients, the predictors are collinear, y is
// constant or the fit is exact (no residual variance to test against).
func OLS(y []float64, predictors []Predictor) (Fit, error) {
	n, p := len(y), len(predictors)+1
	if n <= p {
		return Fit{}, fmt.Errorf("%d observations for %d coefficients; need more observations than coefficients", n, p)
	}
	names := []string{InterceptName}
	data := make([]float64, n*p)
	for i, v := range y {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Fit{}, fmt.Errorf("response value %d is %g", i, v)
		}
		data[i*p] = 1
	}
	for j, pr := range predictors {
		if len(pr.Values) != n {
			return Fit{}, fmt.Errorf("predictor %q has %d values for %d observations", pr.Name, len(pr.Values), n)
		}
		for i, v := range pr.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return Fit{}, fmt.Errorf("predictor %q value %d is %g", pr.Name, i, v)
			}
			data[i*p+j+1] = v
		}
		names = append(names, pr.Name)
	}
	x := mat.NewDense(n, p, data)
	yv := mat.NewVecDense(n, append([]float64(nil), y...))

	var qr mat.QR
	qr.Factorize(x)
	if c := qr.Cond(); !(c <= maxCondition) {
		return Fit{}, fmt.Errorf("design matrix condition number %.3g exceeds %g; the predictors (with the intercept) are collinear", c, float64(maxCondition))
	}
	var beta mat.VecDense
	if err := qr.SolveVecTo(&beta, false, yv); err != nil {
		return Fit{}, fmt.Errorf("solving least squares: %w", err)
	}

	var fitted, resid mat.VecDense
	fitted.MulVec(x, &beta)
	resid.SubVec(yv, &fitted)
	rss := mat.Dot(&resid, &resid)
	ybar := mean(y)
	var tss float64
	for _, v := range y {
		tss += (v - ybar) * (v - ybar)
	}
	if tss == 0 {
		return Fit{}, errors.New("response is constant; R² and the tests are undefined")
	}
	if 1-rss/tss == 1 {
		// RSS is zero or lost in rounding relative to TSS.
		return Fit{}, errors.New("the fit is exact (zero residuals up to rounding); standard errors vanish and the tests are undefined")
	}
	df := n - p
	sigma2 := rss / float64(df)

	// (XᵀX)⁻¹ = R⁻¹R⁻ᵀ with R the p×p upper factor of X.
	var rFull mat.Dense
	qr.RTo(&rFull)
	r := mat.NewTriDense(p, mat.Upper, nil)
	for i := range p {
		for j := i; j < p; j++ {
			r.SetTri(i, j, rFull.At(i, j))
		}
	}
	var rInv mat.TriDense
	if err := rInv.InverseTri(r); err != nil {
		return Fit{}, fmt.Errorf("inverting the R factor: %w", err)
	}
	var xtxInv mat.Dense
	xtxInv.Mul(&rInv, rInv.T())

	tdist := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(df)}
	f := Fit{
		Names:          names,
		Coef:           make([]float64, p),
		StdErr:         make([]float64, p),
		T:              make([]float64, p),
		P:              make([]float64, p),
		R2:             1 - rss/tss,
		ResidualStdErr: math.Sqrt(sigma2),
		N:              n,
		DF:             df,
	}
	f.AdjR2 = 1 - (1-f.R2)*float64(n-1)/float64(df)
	for j := range p {
		f.Coef[j] = beta.AtVec(j)
		f.StdErr[j] = math.Sqrt(sigma2 * xtxInv.At(j, j))
		f.T[j] = f.Coef[j] / f.StdErr[j]
		f.P[j] = 2 * tdist.Survival(math.Abs(f.T[j]))
	}
	return f, nil
}

// FitLine fits the univariate line y = β₀ + β₁ x (the grey line of the
// paper's Fig. 3C).
func FitLine(y []float64, x Predictor) (Fit, error) {
	return OLS(y, []Predictor{x})
}

// FitAdditive fits the two-factor model y = β₀ + β₁ a + β₂ b, e.g.
// robustness ~ clean accuracy + neural prediction.
func FitAdditive(y []float64, a, b Predictor) (Fit, error) {
	return OLS(y, []Predictor{a, b})
}

// FitInteraction fits y = β₀ + β₁ a + β₂ b + β₃ a·b. The product column is
// named "a:b" after the two predictor names.
func FitInteraction(y []float64, a, b Predictor) (Fit, error) {
	if len(a.Values) != len(b.Values) {
		return Fit{}, fmt.Errorf("predictor %q has %d values but %q has %d", a.Name, len(a.Values), b.Name, len(b.Values))
	}
	ab := Predictor{Name: a.Name + ":" + b.Name, Values: make([]float64, len(a.Values))}
	for i := range ab.Values {
		ab.Values[i] = a.Values[i] * b.Values[i]
	}
	return OLS(y, []Predictor{a, b, ab})
}

// Coefficient is one row of a fit's coefficient table.
type Coefficient struct {
	// Name is InterceptName or the predictor's name.
	Name string `json:"name"`
	// Estimate is the fitted coefficient.
	Estimate float64 `json:"estimate"`
	// StdErr is its standard error.
	StdErr float64 `json:"stderr"`
	// T is Estimate/StdErr.
	T float64 `json:"t"`
	// P is the two-sided p-value of T.
	P float64 `json:"p"`
}

// Coefficient returns the coefficient called name (InterceptName or a
// predictor name).
func (f Fit) Coefficient(name string) (Coefficient, error) {
	for j, n := range f.Names {
		if n == name {
			return Coefficient{Name: n, Estimate: f.Coef[j], StdErr: f.StdErr[j], T: f.T[j], P: f.P[j]}, nil
		}
	}
	return Coefficient{}, fmt.Errorf("fit has no coefficient %q (it has %v)", name, f.Names)
}

// Predict returns β₀ + Σ_j β_j x_j for one observation, x holding the
// predictor values in the order of the fit (without the intercept).
func (f Fit) Predict(x ...float64) (float64, error) {
	if len(x) != len(f.Coef)-1 {
		return 0, fmt.Errorf("%d predictor values for a fit with %d predictors", len(x), len(f.Coef)-1)
	}
	v := f.Coef[0]
	for j, xj := range x {
		v += f.Coef[j+1] * xj
	}
	return v, nil
}
