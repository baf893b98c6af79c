package analysis

import "math"

// Decomposition splits a reconstruction x of a noisy target x₀ = c + n
// (clean image c, noise n) by least squares in the plane of c and n:
// x ≈ α·c + β·n. An agnostic model, whose reconstruction is the target
// scaled down, has α = β (Fig. 4's pink point); a model more sensitive to
// content than to noise has α > β. In JSON an undefined (NaN) field is
// null.
type Decomposition struct {
	// Content (α) and Noise (β) are the coefficients: the fractions of the
	// clean image and of the noise the reconstruction holds.
	Content float64
	Noise   float64
	// Share is α/(α + β), the content share: 0.5 for an agnostic model,
	// 1 for one that reconstructs no noise; NaN when α + β ≤ 0.
	Share float64
	// Residual is the fraction of ‖x‖² outside the plane of c and n.
	Residual float64
}

// Decompose computes the decomposition of x along clean and noise (all of
// one length).
func Decompose(x, clean, noise []float64) Decomposition {
	var cc, nn, cn, xc, xn, xx float64
	for i := range x {
		cc += clean[i] * clean[i]
		nn += noise[i] * noise[i]
		cn += clean[i] * noise[i]
		xc += x[i] * clean[i]
		xn += x[i] * noise[i]
		xx += x[i] * x[i]
	}
	det := cc*nn - cn*cn
	d := Decomposition{Share: math.NaN(), Residual: math.NaN()}
	if det <= 0 {
		d.Content, d.Noise = math.NaN(), math.NaN()
		return d
	}
	d.Content = (xc*nn - xn*cn) / det
	d.Noise = (xn*cc - xc*cn) / det
	if s := d.Content + d.Noise; s > 0 {
		d.Share = d.Content / s
	}
	if xx > 0 {
		// ‖projection‖² = α⟨x,c⟩ + β⟨x,n⟩ for the least-squares fit.
		d.Residual = 1 - (d.Content*xc+d.Noise*xn)/xx
	}
	return d
}
