package corrupt

import (
	"math"
	"math/rand/v2"
)

// ---------------------------------------------------------------------------
// Contrast.

// contrast pulls every channel toward its mean: clip((x - m)·c + m)·255,
// truncated, with m the per-channel mean of x/255 summed in pixel order (as
// numpy's mean over axes (0, 1) does).
func contrast(c float64, img Image, dst []uint8) {
	C := img.C
	var sum [3]float64
	for i := 0; i < len(img.Pix); i += C {
		for ch := 0; ch < C; ch++ {
			sum[ch] += u8scale[img.Pix[i+ch]]
		}
	}
	var mean [3]float64
	for ch := 0; ch < C; ch++ {
		mean[ch] = sum[ch] / float64(img.W*img.H)
	}
	for i := 0; i < len(img.Pix); i += C {
		for ch := 0; ch < C; ch++ {
			m := mean[ch]
			dst[i+ch] = finish01((u8scale[img.Pix[i+ch]]-m)*c + m)
		}
	}
}

// ---------------------------------------------------------------------------
// Elastic transform.

// mapCoordReflect is scipy.ndimage's map_coordinate for mode 'reflect':
// a coordinate outside [0, n-1] is folded back into range (half-sample
// symmetric), before the interpolation picks its neighbours.
func mapCoordReflect(c float64, n int) float64 {
	if c < 0 {
		if n <= 1 {
			return 0
		}
		sz2 := float64(2 * n)
		if c < -sz2 {
			c = sz2*float64(int64(-c/sz2)) + c
		}
		if c < -float64(n) {
			return c + sz2
		}
		if c > -1e-15 {
			return 1e-15 - 1
		}
		return -c - 1
	}
	if c > float64(n-1) {
		if n <= 1 {
			return 0
		}
		sz2 := float64(2 * n)
		c -= sz2 * float64(int64(c/sz2))
		if c >= float64(n) {
			c = sz2 - c - 1
		}
	}
	return c
}

// linearTap returns SciPy's order-1 interpolation neighbours (half-sample
// symmetric boundary) and weights w0 = 1 - t, w1 = 1 - w0 for coordinate c
// on an axis of n samples.
func linearTap(c float64, n int) (i0, i1 int, w0, w1 float64) {
	c = mapCoordReflect(c, n)
	f := math.Floor(c)
	s := int(f)
	w0 = 1 - (c - f)
	w1 = 1 - w0
	return reflectIndex(s, n), reflectIndex(s+1, n), w0, w1
}

// mapCoordinatesHWC samples the float32 H×W×C image at (y + dy, x + dx)
// for every pixel with scipy.ndimage.map_coordinates(order=1,
// mode='reflect'), result cast to float32, then clip·255 (float32) and
// truncation.
func mapCoordinatesHWC(img []float32, H, W, C int, dy, dx []float32, dst []uint8) {
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			k := y*W + x
			y0, y1, wy0, wy1 := linearTap(float64(y)+float64(dy[k]), H)
			x0, x1, wx0, wx1 := linearTap(float64(x)+float64(dx[k]), W)
			for ch := 0; ch < C; ch++ {
				v := zoomSample(
					float64(img[(y0*W+x0)*C+ch]), float64(img[(y0*W+x1)*C+ch]),
					float64(img[(y1*W+x0)*C+ch]), float64(img[(y1*W+x1)*C+ch]),
					wy0, wy1, wx0, wx1)
				f := clip01f32(float32(v))
				dst[k*C+ch] = truncU8(float64(f * 255))
			}
		}
	}
}

// displacement fills d (H×W, float32) with
// float32(gaussian(U(lo, hi), sigma, mode='reflect', truncate=3)·alpha),
// the smoothed random field of the elastic transform. ky and kx are the
// per-axis Gaussian kernels.
func displacement(d []float32, H, W int, lo, hi, alpha float64, ky, kx []float64, rng *rand.Rand, ws *workspace) {
	f := ws.f64a(H * W)
	tmp := ws.f64b(H * W)
	line := ws.f64c(max(H, W) + max(len(ky), len(kx)))
	span := hi - lo
	for i := range f {
		f[i] = lo + span*rng.Float64()
	}
	gaussianHWC(f, f, tmp, H, W, 1, ky, kx, reflectIndex, line)
	for i, v := range f {
		d[i] = float32(v * alpha)
	}
}

// elasticImageNet is imagecorruptions' elastic_transform: displacement
// fields dx, dy drawn uniform in ±0.005·H, smoothed by a Gaussian of sigma
// 0.01·(H, W) (reflect, truncate 3), scaled by alpha = 250·f, then a
// bilinear remap with reflection.
func elasticImageNet(f float64, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	H, W, C := img.H, img.W, img.C
	alpha := 250 * f
	maxD := float64(H) * 0.005
	ky := scipyGaussianKernel(float64(H)*0.01, 3)
	kx := scipyGaussianKernel(float64(W)*0.01, 3)
	dx := ws.f32b(H * W)
	dy := ws.f32c(H * W)
	displacement(dx, H, W, -maxD, maxD, alpha, ky, kx, rng, ws)
	displacement(dy, H, W, -maxD, maxD, alpha, ky, kx, rng, ws)
	x := ws.f32a(H * W * C)
	for i, v := range img.Pix {
		x[i] = float32(v) / 255
	}
	mapCoordinatesHWC(x, H, W, C, dy, dx, dst)
}

// solveAffine is cv2.getAffineTransform: the 2×3 matrix M with
// M·(src_i, 1) = dst_i for three point pairs, from the 6×6 linear system
// solved by Gaussian elimination with partial pivoting (OpenCV's LU).
func solveAffine(src, dst [3][2]float32) [6]float64 {
	var a [6][7]float64
	for i := 0; i < 3; i++ {
		x, y := float64(src[i][0]), float64(src[i][1])
		a[2*i] = [7]float64{x, y, 1, 0, 0, 0, float64(dst[i][0])}
		a[2*i+1] = [7]float64{0, 0, 0, x, y, 1, float64(dst[i][1])}
	}
	for col := 0; col < 6; col++ {
		p := col
		for r := col + 1; r < 6; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[p][col]) {
				p = r
			}
		}
		a[col], a[p] = a[p], a[col]
		if a[col][col] == 0 {
			continue
		}
		for r := col + 1; r < 6; r++ {
			f := a[r][col] / a[col][col]
			for k := col; k < 7; k++ {
				a[r][k] -= f * a[col][k]
			}
		}
	}
	var m [6]float64
	for r := 5; r >= 0; r-- {
		s := a[r][6]
		for k := r + 1; k < 6; k++ {
			s -= a[r][k] * m[k]
		}
		if a[r][r] != 0 {
			m[r] = s / a[r][r]
		}
	}
	return m
}

// warpAffineReflect101 is cv2.warpAffine(src, M, (W, H),
// flags=INTER_LINEAR, borderMode=BORDER_REFLECT_101) for a float32 H×W×C
// image: M is inverted, source coordinates are computed in 1/1024 fixed
// point and quantised to 1/32 pixel, and the four neighbours are blended
// in float32 with OpenCV's bilinear table weights.
func warpAffineReflect101(src, dst []float32, H, W, C int, M [6]float64) {
	d := M[0]*M[4] - M[1]*M[3]
	if d != 0 {
		d = 1 / d
	}
	a11, a22 := M[4]*d, M[0]*d
	a12, a21 := M[1]*-d, M[3]*-d
	b1 := -a11*M[2] - a12*M[5]
	b2 := -a21*M[2] - a22*M[5]
	const abBits, interBits, tab = 10, 5, 32
	const abScale = 1 << abBits
	const roundDelta = abScale / tab / 2
	for y := 0; y < H; y++ {
		X0 := cvRound((a12*float64(y)+b1)*abScale) + roundDelta
		Y0 := cvRound((a22*float64(y)+b2)*abScale) + roundDelta
		for x := 0; x < W; x++ {
			X := (X0 + cvRound(a11*float64(x)*abScale)) >> (abBits - interBits)
			Y := (Y0 + cvRound(a21*float64(x)*abScale)) >> (abBits - interBits)
			sx, sy := X>>interBits, Y>>interBits
			fx := float32(1.0/tab) * float32(X&(tab-1))
			fy := float32(1.0/tab) * float32(Y&(tab-1))
			w00 := (1 - fy) * (1 - fx)
			w01 := (1 - fy) * fx
			w10 := fy * (1 - fx)
			w11 := fy * fx
			x0, x1 := reflect101Index(sx, W), reflect101Index(sx+1, W)
			y0, y1 := reflect101Index(sy, H), reflect101Index(sy+1, H)
			for ch := 0; ch < C; ch++ {
				v := src[(y0*W+x0)*C+ch]*w00 + src[(y0*W+x1)*C+ch]*w01
				v += src[(y1*W+x0)*C+ch] * w10
				v += src[(y1*W+x1)*C+ch] * w11
				dst[(y*W+x)*C+ch] = v
			}
		}
	}
}

// elasticTiny is make_tinyimagenet_c.py's elastic_transform: a random
// affine warp (three control points around the centre moved by
// U(±affine)), then displacement fields drawn uniform in ±1, smoothed with
// sigma (reflect, truncate 3) and scaled by alpha, and a bilinear remap
// with reflection. The script's constants are multiples of its 64-px image
// size; here they are multiples of min(H, W), identical at 64 px.
func elasticTiny(p tinyElasticParams, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	H, W, C := img.H, img.W, img.C
	size := float64(min(H, W))
	alpha, sigma, aff := size*p.alpha, size*p.sigma, size*p.affine
	x := ws.f32a(H * W * C)
	for i, v := range img.Pix {
		x[i] = float32(v) / 255
	}
	// The script builds its points from shape[:2] = (H, W) and hands them
	// to OpenCV as (x, y) pairs; this keeps that order.
	cs := [2]float32{float32(H / 2), float32(W / 2)}
	ss := float32(min(H, W) / 3)
	pts1 := [3][2]float32{{cs[0] + ss, cs[1] + ss}, {cs[0] + ss, cs[1] - ss}, {cs[0] - ss, cs[1] - ss}}
	var pts2 [3][2]float32
	for i := 0; i < 3; i++ {
		for j := 0; j < 2; j++ {
			pts2[i][j] = pts1[i][j] + float32(-aff+(aff-(-aff))*rng.Float64())
		}
	}
	warped := ws.f32b(H * W * C)
	warpAffineReflect101(x, warped, H, W, C, solveAffine(pts1, pts2))
	k := []float64{1} // sigma 0: gaussian_filter leaves the field unchanged
	if sigma > 0 {
		k = scipyGaussianKernel(sigma, 3)
	}
	dx := ws.f32c(H * W)
	dy := ws.f32d(H * W)
	displacement(dx, H, W, -1, 1, alpha, k, k, rng, ws)
	displacement(dy, H, W, -1, 1, alpha, k, k, rng, ws)
	mapCoordinatesHWC(warped, H, W, C, dy, dx, dst)
}

// ---------------------------------------------------------------------------
// Pixelate: Pillow BOX downscale, then NEAREST (ImageNet) or BOX (Tiny)
// upscale.

// pilCoeffs are Pillow's precompute_coeffs for one axis with the BOX
// filter, converted to 22-bit fixed point (normalize_coeffs_8bpc).
type pilCoeffs struct {
	bounds [][2]int // xmin, count
	k      [][]int32
}

// newPilBoxCoeffs computes the BOX resampling weights from inSize to
// outSize samples: each output covers [xx·scale, (xx+1)·scale) of the
// input, weights are the box filter at the sample centres normalised to
// sum 1, then scaled by 2²² and rounded.
func newPilBoxCoeffs(inSize, outSize int) pilCoeffs {
	scale := float64(float32(inSize)) / float64(outSize)
	filterscale := max(scale, 1)
	support := 0.5 * filterscale
	ss := 1 / filterscale
	c := pilCoeffs{bounds: make([][2]int, outSize), k: make([][]int32, outSize)}
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		w := make([]float64, xmax)
		ww := 0.0
		for x := 0; x < xmax; x++ {
			t := (float64(x+xmin) - center + 0.5) * ss
			if t > -0.5 && t <= 0.5 {
				w[x] = 1
			}
			ww += w[x]
		}
		k := make([]int32, xmax)
		for x := range w {
			if ww != 0 {
				w[x] /= ww
			}
			k[x] = int32(0.5 + w[x]*(1<<22))
		}
		c.bounds[xx] = [2]int{xmin, xmax}
		c.k[xx] = k
	}
	return c
}

// pilClip8 is Pillow's clip8: (accumulator >> 22) clamped to [0, 255].
func pilClip8(v int32) uint8 {
	v >>= 22
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// pilResizeBox is Image.resize((w, h), Image.BOX) for 8-bit images:
// horizontal pass first (into an 8-bit image), then vertical, each output
// (2²¹ + Σ pixel·k) >> 22.
func pilResizeBox(img Image, w, h int) Image {
	C := img.C
	cur := img
	if w != img.W {
		cx := newPilBoxCoeffs(img.W, w)
		tmp := NewImage(w, img.H, C)
		for y := 0; y < img.H; y++ {
			for xx := 0; xx < w; xx++ {
				b, k := cx.bounds[xx], cx.k[xx]
				for ch := 0; ch < C; ch++ {
					s := int32(1 << 21)
					for x := 0; x < b[1]; x++ {
						s += int32(img.Pix[(y*img.W+b[0]+x)*C+ch]) * k[x]
					}
					tmp.Pix[(y*w+xx)*C+ch] = pilClip8(s)
				}
			}
		}
		cur = tmp
	}
	if h != img.H {
		cy := newPilBoxCoeffs(img.H, h)
		out := NewImage(w, h, C)
		for yy := 0; yy < h; yy++ {
			b, k := cy.bounds[yy], cy.k[yy]
			for i := 0; i < w*C; i++ {
				s := int32(1 << 21)
				for y := 0; y < b[1]; y++ {
					s += int32(cur.Pix[(b[0]+y)*w*C+i]) * k[y]
				}
				out.Pix[yy*w*C+i] = pilClip8(s)
			}
		}
		cur = out
	}
	if cur.W == img.W && cur.H == img.H {
		return img.Clone()
	}
	return cur
}

// pilNearestIndex is Pillow's nearest-neighbour scaling table (the
// AFFINE_SCALE path of ImagingTransform): output x reads input
// int(x0 + x·a) with x0 = a/2, a = in/out, accumulated in double.
func pilNearestIndex(inSize, outSize int) []int {
	a := float64(inSize) / float64(outSize)
	xo := a * 0.5
	idx := make([]int, outSize)
	for x := range idx {
		xin := -1
		if xo >= 0 {
			xin = int(xo)
		}
		idx[x] = min(max(xin, 0), inSize-1)
		xo += a
	}
	return idx
}

// pixelate downsizes to int(W·c)×int(H·c) with Pillow's BOX filter and
// scales back with NEAREST (ImageNet table) or BOX (Tiny table).
func pixelate(c float64, tiny bool, img Image, dst []uint8) {
	w := int(float64(img.W) * c)
	h := int(float64(img.H) * c)
	small := pilResizeBox(img, w, h)
	if tiny {
		copy(dst, pilResizeBox(small, img.W, img.H).Pix)
		return
	}
	ix := pilNearestIndex(w, img.W)
	iy := pilNearestIndex(h, img.H)
	C := img.C
	for y := 0; y < img.H; y++ {
		srow := small.Pix[iy[y]*w*C:]
		drow := dst[y*img.W*C:]
		for x := 0; x < img.W; x++ {
			copy(drow[x*C:x*C+C], srow[ix[x]*C:ix[x]*C+C])
		}
	}
}
