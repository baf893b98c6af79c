package recordings

import "math"

// rescaledSize returns max(1, round(n·scale)) with NumPy's round-half-to-
// even, the output size skimage.transform.rescale computes.
func rescaledSize(n int, scale float64) int {
	return max(1, int(math.RoundToEven(float64(n)*scale)))
}

// rescaleBilinear resizes an h×w image to oh×ow the way
// skimage.transform.resize(order=1, mode='reflect', anti_aliasing=False,
// preserve_range=True) does in scikit-image 0.19 (scipy.ndimage.zoom with
// grid_mode=True and mode='mirror'): output pixel o samples the input at
// (o + 0.5)·(in/out) − 0.5 by bilinear interpolation, reflecting about the
// edge pixels, and the result is clipped to the input's value range. The
// arithmetic follows ndimage's order so results agree bit for bit.
func rescaleBilinear(src []float64, h, w, oh, ow int) []float64 {
	type tap struct {
		i0, i1 int
		w0, w1 float64
	}
	taps := func(in, out int) []tap {
		zoom := float64(in) / float64(out)
		t := make([]tap, out)
		for o := range t {
			c := float64(o)
			c += 0.5
			c *= zoom
			c -= 0.5
			f := math.Floor(c)
			frac := c - f
			t[o] = tap{mirror(int(f), in), mirror(int(f)+1, in), 1 - frac, frac}
		}
		return t
	}
	rows, cols := taps(h, oh), taps(w, ow)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range src {
		lo, hi = min(lo, v), max(hi, v)
	}
	out := make([]float64, oh*ow)
	for y, r := range rows {
		for x, c := range cols {
			v := src[r.i0*w+c.i0] * r.w0 * c.w0
			v += src[r.i0*w+c.i1] * r.w0 * c.w1
			v += src[r.i1*w+c.i0] * r.w1 * c.w0
			v += src[r.i1*w+c.i1] * r.w1 * c.w1
			out[y*ow+x] = min(max(v, lo), hi)
		}
	}
	return out
}

// mirror maps an index outside [0, n) back inside by reflecting about the
// first and last samples (… c b | a b c d | c b …), ndimage's 'mirror'.
func mirror(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2*n - 2
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}
