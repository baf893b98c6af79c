package analysis

import (
	"fmt"
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// FFT2 is the 2-D discrete Fourier transform of the real image x [h, w]
// (row-major), unnormalized, with numpy.fft.fft2's sign convention:
// X[u,v] = Σ x[y,x]·exp(−2πi(uy/h + vx/w)).
func FFT2(x []float64, h, w int) []complex128 {
	c := make([]complex128, h*w)
	for i, v := range x[:h*w] {
		c[i] = complex(v, 0)
	}
	transform2(c, h, w, false)
	return c
}

// IFFT2 is the inverse of FFT2 (numpy.fft.ifft2, normalized by 1/(h·w)).
func IFFT2(c []complex128, h, w int) []complex128 {
	out := append([]complex128(nil), c[:h*w]...)
	transform2(out, h, w, true)
	k := complex(1/float64(h*w), 0)
	for i := range out {
		out[i] *= k
	}
	return out
}

// transform2 transforms c in place along rows, then columns; inverse
// transforms are unnormalized.
func transform2(c []complex128, h, w int, inverse bool) {
	apply := func(t *fourier.CmplxFFT, buf []complex128) {
		if inverse {
			t.Sequence(buf, buf)
		} else {
			t.Coefficients(buf, buf)
		}
	}
	rows := fourier.NewCmplxFFT(w)
	for y := 0; y < h; y++ {
		apply(rows, c[y*w:(y+1)*w])
	}
	cols := fourier.NewCmplxFFT(h)
	col := make([]complex128, h)
	for x := 0; x < w; x++ {
		for y := 0; y < h; y++ {
			col[y] = c[y*w+x]
		}
		apply(cols, col)
		for y := 0; y < h; y++ {
			c[y*w+x] = col[y]
		}
	}
}

// SpectralControl is Safarani et al.'s spectral control of a
// reconstruction rec of the image orig (both [h, w]): the image with the
// Fourier amplitude spectrum of rec and the phase of orig, then scaled to
// the norm of rec. By Parseval the amplitude already fixes the norm, so the
// scaling only removes rounding; a zero coefficient of orig has phase 0.
// The result is real because both spectra of real images are Hermitian.
func SpectralControl(rec, orig []float64, h, w int) ([]float64, error) {
	if len(rec) != h*w || len(orig) != h*w {
		return nil, fmt.Errorf("spectral control: images of %d and %d values, want %d×%d", len(rec), len(orig), h, w)
	}
	fr, fo := FFT2(rec, h, w), FFT2(orig, h, w)
	mixed := make([]complex128, h*w)
	for i := range mixed {
		mixed[i] = cmplx.Rect(cmplx.Abs(fr[i]), cmplx.Phase(fo[i]))
	}
	back := IFFT2(mixed, h, w)
	out := make([]float64, h*w)
	for i, v := range back {
		out[i] = real(v)
	}
	scaleTo(out, norm64(rec))
	return out, nil
}

func norm64(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// scaleTo scales x to norm r (x = 0 stays 0).
func scaleTo(x []float64, r float64) {
	n := norm64(x)
	if n == 0 {
		return
	}
	for i := range x {
		x[i] *= r / n
	}
}
