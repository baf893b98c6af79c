package attack

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkTrustSolve times one image's step of the boundary attack's
// trust-region solver on a 32×32 image, from an adversarial point whose
// pull toward the clean image overshoots the trust region (the solver's
// longest path).
func BenchmarkTrustSolve(b *testing.B) {
	const px = 32 * 32
	rng := rand.New(rand.NewPCG(1, 2))
	w := newTrustWorkspace(px)
	d := make([]float64, px)
	for i := range px {
		x := rng.Float64()
		d[i] = rng.Float64() - x
		w.b[i] = rng.NormFloat64()
		w.lo[i], w.hi[i] = -x, 1-x
	}
	b.ResetTimer()
	for range b.N {
		copy(w.d, d)
		w.solve(0.5, 0.5, true)
	}
}
