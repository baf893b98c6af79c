package analysis

import (
	"math"
	"testing"
)

// TestDecompose builds reconstructions from known parts.
func TestDecompose(t *testing.T) {
	clean := []float64{1, 2, 0, 1}
	noise := []float64{0.5, -0.5, 1, 0} // not orthogonal to clean: ⟨c,n⟩ = −0.5
	ortho := []float64{2, -1, -1.5, 0}  // orthogonal to both
	for _, tc := range []struct {
		name                 string
		a, b, e              float64
		share, residualShare float64
	}{
		{"agnostic", 0.4, 0.4, 0, 0.5, 0},
		{"content", 0.3, 0.1, 0, 0.75, 0},
		{"with residual", 0.3, 0.1, 0.2, 0.75, -1},
	} {
		x := make([]float64, 4)
		for i := range x {
			x[i] = tc.a*clean[i] + tc.b*noise[i] + tc.e*ortho[i]
		}
		d := Decompose(x, clean, noise)
		if math.Abs(d.Content-tc.a) > 1e-12 || math.Abs(d.Noise-tc.b) > 1e-12 || math.Abs(d.Share-tc.share) > 1e-12 {
			t.Errorf("%s: %+v, want α %v β %v share %v", tc.name, d, tc.a, tc.b, tc.share)
		}
		want := tc.residualShare
		if want < 0 {
			want = sumSq(ortho) * tc.e * tc.e / sumSq(x)
		}
		if math.Abs(d.Residual-want) > 1e-12 {
			t.Errorf("%s: residual %v, want %v", tc.name, d.Residual, want)
		}
	}
}

func sumSq(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return s
}
