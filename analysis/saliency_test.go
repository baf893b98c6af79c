package analysis

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cotrain/cotrain/internal/npy"
)

// TestBinarize checks masks against hand computations: pixels are taken
// in descending order of saliency until their mass reaches the threshold.
func TestBinarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		sal  []float64
		mass float64
		want []bool
	}{
		// Sorted 4, 3, 2, 1 (total 10): 4 < 6.5, 4+3 = 7 ≥ 6.5.
		{"two of four", []float64{1, 4, 2, 3}, 0.65, []bool{false, true, false, true}},
		// 4+3 = 7 < 7.5, 4+3+2 = 9 ≥ 7.5.
		{"three of four", []float64{1, 4, 2, 3}, 0.75, []bool{false, true, true, true}},
		// Ties go by position: 2 ≥ 2 after the first pixel.
		{"tie", []float64{2, 2, 1}, 0.4, []bool{true, false, false}},
		{"tie, both", []float64{2, 2, 1}, 0.5, []bool{true, true, false}},
		// Negative values count as 0 and are never needed.
		{"negative", []float64{-5, 1, 3}, 0.7, []bool{false, false, true}},
		{"all", []float64{1, 1}, 1, []bool{true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Binarize(tc.sal, tc.mass)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("mask %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []struct {
		sal  []float64
		mass float64
	}{{[]float64{0, 0}, 0.7}, {[]float64{1}, 0}, {[]float64{1}, 1.5}} {
		if _, err := Binarize(bad.sal, bad.mass); err == nil {
			t.Errorf("Binarize(%v, %v) accepted", bad.sal, bad.mass)
		}
	}
}

// TestNormRatio checks ρ and Eq. 1 against hand computations.
func TestNormRatio(t *testing.T) {
	mask := []bool{false, true, true, false}
	for _, tc := range []struct {
		name string
		img  []float64
		want float64
	}{
		{"mixed", []float64{1, -2, 3, 0}, 13.0 / 14},
		{"inside only", []float64{0, 1, 1, 0}, 1},
		{"outside only", []float64{5, 0, 0, 1}, 0},
	} {
		if got := NormRatio(tc.img, mask); math.Abs(got-tc.want) > 1e-15 {
			t.Errorf("%s: ρ = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !math.IsNaN(NormRatio([]float64{0, 0, 0, 0}, mask)) {
		t.Error("ρ of a zero image is not NaN")
	}
	// (13/14 − 1/2)/(1 − 1/2) = 6/7.
	if got := NormalizedDifference(13.0/14, 0.5); math.Abs(got-6.0/7) > 1e-15 {
		t.Errorf("normalized difference %v, want 6/7", got)
	}
	if got := NormalizedDifference(0.5, 0.5); got != 0 {
		t.Errorf("normalized difference of equal ratios %v, want 0", got)
	}
}

// TestSpectralResidualAgainstNumpy compares the saliency model with the
// numpy implementation of testdata/make_fixtures.py.
func TestSpectralResidualAgainstNumpy(t *testing.T) {
	fx := fixtures(t)
	img, want := fx["sal_img"].Float64s(), fx["saliency"].Float64s()
	h, w := fx["sal_img"].Shape[0], fx["sal_img"].Shape[1]
	got, err := SpectralResidual(img, h, w)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("saliency[%d] = %v, numpy %v", i, got[i], want[i])
		}
	}
}

// TestSpectralResidualPopOut runs the saliency model on pop-out images
// with a known salient region: a bright 8×8 square on a 64×64 background of
// 1/f ("pink") noise, the spectrum natural images share and that the
// spectral residual removes. The saliency peak must fall in the square,
// the square must lie in the 0.7-mass mask, and its mean saliency must be
// well above the background's. (A perfectly periodic lattice of bars with
// one odd bar has exact spectral zeros and fails, in numpy too.)
func TestSpectralResidualPopOut(t *testing.T) {
	const n, side = 64, 8
	for seed := uint64(1); seed <= 6; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		spec := make([]complex128, n*n)
		for u := 0; u < n; u++ {
			for v := 0; v < n; v++ {
				fu, fv := float64(min(u, n-u)), float64(min(v, n-v))
				f := math.Max(math.Hypot(fu, fv), 1)
				spec[u*n+v] = complex(rng.NormFloat64()/f, rng.NormFloat64()/f)
			}
		}
		back := IFFT2(spec, n, n)
		img := make([]float64, n*n)
		for i, c := range back {
			img[i] = real(c)
		}
		scaleTo(img, 0.5*n) // standard deviation about 0.5
		y0, x0 := 8+rng.IntN(40), 8+rng.IntN(40)
		inside := func(i int) bool { y, x := i/n, i%n; return y >= y0 && y < y0+side && x >= x0 && x < x0+side }
		for i := range img {
			if inside(i) {
				img[i] += 3
			}
		}
		sal, err := SpectralResidual(img, n, n)
		if err != nil {
			t.Fatal(err)
		}
		mask, err := Binarize(sal, DefaultMass)
		if err != nil {
			t.Fatal(err)
		}
		peak, in, out, covered := 0, 0.0, 0.0, 0
		for i, v := range sal {
			if v > sal[peak] {
				peak = i
			}
			if inside(i) {
				in += v / (side * side)
				if mask[i] {
					covered++
				}
			} else {
				out += v / (n*n - side*side)
			}
		}
		if !inside(peak) {
			t.Errorf("seed %d: square at (%d, %d), saliency peak at (%d, %d)", seed, y0, x0, peak/n, peak%n)
		}
		if covered != side*side {
			t.Errorf("seed %d: %d of the square's %d pixels in the mask", seed, covered, side*side)
		}
		if in < 2*out {
			t.Errorf("seed %d: mean saliency %.3g in the square, %.3g outside; want at least twice", seed, in, out)
		}
	}
}

// TestSaliencyFolder reads a .npy map of the images' size and a PNG of
// twice the size, resized.
func TestSaliencyFolder(t *testing.T) {
	dir := t.TempDir()
	a, err := npy.New([]float64{1, 2, 3, 4, 5, 6}, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteFile(filepath.Join(dir, "7.npy"), a); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenSaliencyFolder(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.Map(7, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m, []float64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("map %v", m)
	}
	// Halving by bilinear interpolation at half-pixel centres averages
	// 2×2 blocks.
	r := resizeBilinear([]float64{0, 2, 4, 6, 1, 3, 5, 7}, 2, 4, 1, 2)
	if !slices.Equal(r, []float64{1.5, 5.5}) {
		t.Errorf("resized %v, want [1.5 5.5]", r)
	}
	if _, err := f.Map(8, 2, 3); err == nil {
		t.Error("a missing map was found")
	}
}
