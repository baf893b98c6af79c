package analysis

import (
	"math"
	"math/cmplx"
	"testing"

	"github.com/cotrain/cotrain/internal/npy"
)

func fixtures(t *testing.T) map[string]*npy.Array {
	t.Helper()
	a, err := npy.ReadNPZ("testdata/fixtures.npz")
	if err != nil {
		t.Fatalf("%v (regenerate with testdata/make_fixtures.py)", err)
	}
	return a
}

// TestFFT2AgainstNumpy compares FFT2 and its inverse with numpy.fft on a
// non-square image whose sides are not powers of two.
func TestFFT2AgainstNumpy(t *testing.T) {
	fx := fixtures(t)
	rec := fx["rec"].Float64s()
	h, w := fx["rec"].Shape[0], fx["rec"].Shape[1]
	re, im := fx["fft_real"].Float64s(), fx["fft_imag"].Float64s()
	f := FFT2(rec, h, w)
	for i := range f {
		if cmplx.Abs(f[i]-complex(re[i], im[i])) > 1e-9 {
			t.Fatalf("FFT2[%d] = %v, numpy %v", i, f[i], complex(re[i], im[i]))
		}
	}
	back := IFFT2(f, h, w)
	for i, v := range back {
		if cmplx.Abs(v-complex(rec[i], 0)) > 1e-12 {
			t.Fatalf("IFFT2(FFT2(x))[%d] = %v, want %v", i, v, rec[i])
		}
	}
}

// TestSpectralControl checks that the control has exactly the
// reconstruction's amplitude spectrum, the original's phase and the
// reconstruction's norm, and that it equals numpy's.
func TestSpectralControl(t *testing.T) {
	fx := fixtures(t)
	rec, orig, want := fx["rec"].Float64s(), fx["orig"].Float64s(), fx["control"].Float64s()
	h, w := fx["rec"].Shape[0], fx["rec"].Shape[1]
	got, err := SpectralControl(rec, orig, h, w)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("control[%d] = %v, numpy %v", i, got[i], want[i])
		}
	}
	fc, fr, fo := FFT2(got, h, w), FFT2(rec, h, w), FFT2(orig, h, w)
	for i := range fc {
		if d := math.Abs(cmplx.Abs(fc[i]) - cmplx.Abs(fr[i])); d > 1e-12 {
			t.Errorf("amplitude %d: control %v, reconstruction %v", i, cmplx.Abs(fc[i]), cmplx.Abs(fr[i]))
		}
		dp := math.Remainder(cmplx.Phase(fc[i])-cmplx.Phase(fo[i]), 2*math.Pi)
		if math.Abs(dp) > 1e-9 {
			t.Errorf("phase %d: control %v, original %v", i, cmplx.Phase(fc[i]), cmplx.Phase(fo[i]))
		}
	}
	if math.Abs(norm64(got)-norm64(rec)) > 1e-12 {
		t.Errorf("‖control‖ = %v, ‖reconstruction‖ = %v", norm64(got), norm64(rec))
	}
	if _, err := SpectralControl(rec, orig[:5], h, w); err == nil {
		t.Error("images of different sizes accepted")
	}
}
