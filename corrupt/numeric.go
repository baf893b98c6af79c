package corrupt

import "math"

// ceil is math.Ceil, named for brevity in the parameter code.
func ceil(x float64) float64 { return math.Ceil(x) }

// truncU8 converts a value on the 0–255 scale to uint8 the way the
// references finish: clip to [0, 255], then truncate toward zero
// (numpy.uint8 on a float array). NaN maps to 0.
func truncU8(v float64) uint8 {
	if !(v > 0) {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// clip01 clips to [0, 1] as numpy.clip does for finite values.
func clip01(v float64) float64 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// clip01f32 is clip01 for float32.
func clip01f32(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// finish01 converts a value on the [0, 1] scale to uint8 as the references
// do: np.uint8(np.clip(x, 0, 1) * 255).
func finish01(v float64) uint8 {
	return truncU8(clip01(v) * 255)
}

// clampIndex is the "nearest" (edge-replicate) boundary: scipy mode
// 'nearest', OpenCV BORDER_REPLICATE.
func clampIndex(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// reflectIndex is the half-sample symmetric boundary (d c b a | a b c d):
// scipy mode 'reflect', OpenCV BORDER_REFLECT.
func reflectIndex(i, n int) int {
	if i >= 0 && i < n {
		return i
	}
	p := 2 * n
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - 1 - i
	}
	return i
}

// reflect101Index is the whole-sample symmetric boundary (d c b | a b c d):
// OpenCV BORDER_REFLECT_101 (its default), scipy mode 'mirror', numpy.pad
// mode 'reflect'.
func reflect101Index(i, n int) int {
	if i >= 0 && i < n {
		return i
	}
	if n == 1 {
		return 0
	}
	p := 2*n - 2
	i %= p
	if i < 0 {
		i += p
	}
	if i >= n {
		i = p - i
	}
	return i
}

// pairwiseSum adds the values in the order numpy's pairwise summation does
// for a contiguous float64 array (np.sum): fewer than 8 values are summed
// in order; up to 128 values use eight interleaved partial sums combined as
// ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) plus the remainder in order; longer
// arrays are split at a multiple of 8 near the middle and summed
// recursively.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		s := 0.0
		for _, v := range a {
			s += v
		}
		return s
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for j := 0; j < 8; j++ {
				r[j] += a[i+j]
			}
		}
		s := (r[0] + r[1]) + (r[2] + r[3]) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			s += a[i]
		}
		return s
	default:
		n2 := n / 2
		n2 -= n2 % 8
		return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
	}
}

// scipyGaussianKernel returns the 1-D Gaussian weights of
// scipy.ndimage.gaussian_filter: radius int(truncate*sigma + 0.5), weights
// exp(-0.5/sigma² · x²) divided by their (pairwise) sum. The kernel is
// symmetric; element radius is the centre.
func scipyGaussianKernel(sigma, truncate float64) []float64 {
	radius := int(truncate*sigma + 0.5)
	k := make([]float64, 2*radius+1)
	s2 := sigma * sigma
	c := -0.5 / s2
	for i := range k {
		x := float64((i - radius) * (i - radius))
		k[i] = math.Exp(c * x)
	}
	sum := pairwiseSum(k)
	for i := range k {
		k[i] /= sum
	}
	return k
}

// boundary selects an index mapping for out-of-range samples.
type boundary func(i, n int) int

// correlate1dSym filters n values spaced by stride starting at src[off]
// with a symmetric kernel k (centre at len(k)/2) in the order of SciPy's
// NI_Correlate1D for symmetric weights: out = c·w0, then for the farthest
// pair to the nearest, out += (left + right)·w. line is scratch space of at
// least n + len(k) - 1 values.
func correlate1dSym(src, dst []float64, off, stride, n int, k []float64, bnd boundary, line []float64) {
	r := len(k) / 2
	line = line[:n+2*r]
	for i := -r; i < n+r; i++ {
		j := i
		if i < 0 || i >= n {
			j = bnd(i, n)
		}
		line[i+r] = src[off+j*stride]
	}
	w0 := k[r]
	for i := 0; i < n; i++ {
		c := i + r
		s := line[c] * w0
		for j := r; j >= 1; j-- {
			s += (line[c-j] + line[c+j]) * k[r-j]
		}
		dst[off+i*stride] = s
	}
}

// gaussianHWC applies scipy.ndimage.gaussian_filter with sigma (sy, sx, 0)
// to an H×W×C float64 array, as skimage.filters.gaussian does with a
// channel axis: rows (axis 0) first, then columns (axis 1). A sigma whose
// kernel has radius 0 leaves that axis unchanged, as does sigma 0. src and
// dst may be the same slice; tmp must hold H*W*C values and line
// max(H, W) + len(kernel) - 1 values.
func gaussianHWC(src, dst, tmp []float64, H, W, C int, ky, kx []float64, bnd boundary, line []float64) {
	cur := src
	if len(ky) > 1 {
		for x := 0; x < W; x++ {
			for ch := 0; ch < C; ch++ {
				correlate1dSym(cur, tmp, x*C+ch, W*C, H, ky, bnd, line)
			}
		}
		cur = tmp
	}
	if len(kx) > 1 {
		for y := 0; y < H; y++ {
			for ch := 0; ch < C; ch++ {
				correlate1dSym(cur, dst, y*W*C+ch, C, W, kx, bnd, line)
			}
		}
		return
	}
	if &cur[0] != &dst[0] {
		copy(dst, cur[:H*W*C])
	}
}
