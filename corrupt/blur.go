package corrupt

import (
	"math"
	"math/rand/v2"
)

// ---------------------------------------------------------------------------
// Defocus blur: anti-aliased disk kernel, 2-D correlation (OpenCV filter2D,
// BORDER_REFLECT_101).

// diskKernel is the defocus kernel of one severity: the float32 result of
// the reference disk() (aliased disk normalised to sum 1, then
// cv2.GaussianBlur with BORDER_REFLECT_101) and its non-zero taps.
type diskKernel struct {
	n    int       // side length (17, or 2·radius+1 above radius 8)
	k    []float32 // n×n, row-major
	rows []diskRow // non-zero kernel rows
}

// diskRow is one kernel row as a run of equal weights plus corrections:
// the non-zero taps of row dy span columns a … b; most of them (the disk
// interior) share the weight c, the others are listed in corr with their
// difference to c. The correlation then needs one prefix-sum difference
// per row instead of one product per tap.
type diskRow struct {
	dy, a, b int
	c        float64
	corr     []pairTap
}

// pairTap is a weight shared by the mirror-image columns dx1 and dx2 of a
// kernel row (dx2 < 0 for the centre column alone).
type pairTap struct {
	dx1, dx2 int
	w        float64
}

// cvGaussianKernel returns OpenCV's getGaussianKernel(n, sigma, CV_32F):
// exp(-x²/(2σ²)) at x = i - (n-1)/2, rounded to float32, divided by the
// sum of the float32 values (accumulated in double) and rounded again.
func cvGaussianKernel(n int, sigma float64) []float32 {
	if sigma <= 0 {
		sigma = (float64(n-1)*0.5-1)*0.3 + 0.8
	}
	scale2 := -0.5 / (sigma * sigma)
	k := make([]float32, n)
	sum := 0.0
	for i := range k {
		x := float64(i) - float64(n-1)*0.5
		k[i] = float32(math.Exp(scale2 * x * x))
		sum += float64(k[i])
	}
	inv := 1 / sum
	for i := range k {
		k[i] = float32(float64(k[i]) * inv)
	}
	return k
}

// fmaf32 is a float32 fused multiply-add (a·b + c rounded once), as the
// SIMD filters of OpenCV compute it.
func fmaf32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// cvSepFilterSym32 applies a symmetric 1-D float32 kernel along rows and
// then columns of an n×n float32 image with BORDER_REFLECT_101, in the
// operation order of OpenCV's vectorised symmetric filters: centre·k0,
// then fused multiply-adds of (left+right)·kj from the nearest pair out.
func cvSepFilterSym32(src []float32, n int, k []float32) []float32 {
	r := len(k) / 2
	tmp := make([]float32, n*n)
	out := make([]float32, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			s := src[y*n+x] * k[r]
			for j := 1; j <= r; j++ {
				l := src[y*n+reflect101Index(x-j, n)]
				rr := src[y*n+reflect101Index(x+j, n)]
				s = fmaf32(l+rr, k[r+j], s)
			}
			tmp[y*n+x] = s
		}
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			s := tmp[y*n+x] * k[r]
			for j := 1; j <= r; j++ {
				u := tmp[reflect101Index(y-j, n)*n+x]
				d := tmp[reflect101Index(y+j, n)*n+x]
				s = fmaf32(u+d, k[r+j], s)
			}
			out[y*n+x] = s
		}
	}
	return out
}

// newDiskKernel builds the reference disk(radius, alias_blur): the
// aliased disk X²+Y² ≤ r² on the grid -8..8 (or -r..r above radius 8),
// normalised by its float32 sum, then blurred with a 3×3 (5×5 above radius
// 8) Gaussian of sigma alias.
func newDiskKernel(radius, alias float64) *diskKernel {
	lo, ks := -8.0, 3
	if radius > 8 {
		lo, ks = -radius, 5
	}
	n := int(math.Ceil((radius + 1) - lo))
	if radius <= 8 {
		n = 17
	}
	d := make([]float32, n*n)
	r2 := radius * radius
	count := 0
	for i := 0; i < n; i++ {
		y := lo + float64(i)
		for j := 0; j < n; j++ {
			x := lo + float64(j)
			if x*x+y*y <= r2 {
				d[i*n+j] = 1
				count++
			}
		}
	}
	inv := float32(count)
	for i := range d {
		d[i] /= inv
	}
	k := cvSepFilterSym32(d, n, cvGaussianKernel(ks, alias))
	dk := &diskKernel{n: n, k: k}
	for i := 0; i < n; i++ {
		row := k[i*n : (i+1)*n]
		a, b := -1, -1
		count := map[float32]int{}
		for j, w := range row {
			if w != 0 {
				if a < 0 {
					a = j
				}
				b = j
				count[w]++
			}
		}
		if a < 0 {
			continue
		}
		// The most frequent weight of the run (ties: the larger weight).
		var c float32
		for w, m := range count {
			if m > count[c] || (m == count[c] && w > c) {
				c = w
			}
		}
		r := diskRow{dy: i, a: a, b: b, c: float64(c)}
		for j := a; j <= n/2; j++ {
			if row[j] == c {
				continue
			}
			m := n - 1 - j // the kernel is exactly symmetric
			if m == j {
				m = -1
			}
			r.corr = append(r.corr, pairTap{dx1: j, dx2: m, w: float64(row[j]) - float64(c)})
		}
		dk.rows = append(dk.rows, r)
	}
	return dk
}

// defocusBlur correlates every channel of x/255 with the disk kernel
// (cv2.filter2D, BORDER_REFLECT_101), then clip·255 and truncation. The
// image is padded by reflection and turned into per-row prefix sums, so a
// kernel row costs one difference plus its few edge corrections; the
// summation order differs from OpenCV's (which is not specified either),
// by about 1e-15 relative.
func defocusBlur(dk *diskKernel, img Image, dst []uint8, ws *workspace) {
	H, W, C := img.H, img.W, img.C
	r := dk.n / 2
	PW := W + 2*r
	PH := H + 2*r
	rowP := (PW + 1) * C // prefix row: P[x] = Σ pad[< x]
	pad := ws.f64a(PH * PW * C)
	pre := ws.f64c(PH * rowP)
	for py := 0; py < PH; py++ {
		sy := reflect101Index(py-r, H)
		prow := pre[py*rowP : (py+1)*rowP]
		for ch := 0; ch < C; ch++ {
			prow[ch] = 0
		}
		for px := 0; px < PW; px++ {
			sx := reflect101Index(px-r, W)
			s := img.Pix[(sy*W+sx)*C : (sy*W+sx)*C+C]
			p := pad[(py*PW+px)*C : (py*PW+px)*C+C]
			for ch := range p {
				v := u8scale[s[ch]]
				p[ch] = v
				prow[(px+1)*C+ch] = prow[px*C+ch] + v
			}
		}
	}
	rowLen := W * C
	acc := ws.f64b(rowLen)
	for y := 0; y < H; y++ {
		clear(acc)
		for _, kr := range dk.rows {
			prow := pre[(y+kr.dy)*rowP:]
			hi := prow[(kr.b+1)*C : (kr.b+1)*C+rowLen]
			lo := prow[kr.a*C : kr.a*C+rowLen]
			c := kr.c
			for i := range acc {
				acc[i] += c * (hi[i] - lo[i])
			}
			base := (y + kr.dy) * PW
			for _, t := range kr.corr {
				w := t.w
				s1 := pad[(base+t.dx1)*C : (base+t.dx1)*C+rowLen]
				if t.dx2 < 0 {
					for i, v := range s1 {
						acc[i] += w * v
					}
					continue
				}
				s2 := pad[(base+t.dx2)*C : (base+t.dx2)*C+rowLen]
				for i, v := range s1 {
					acc[i] += w * (v + s2[i])
				}
			}
		}
		out := dst[y*rowLen : (y+1)*rowLen]
		for i, v := range acc {
			out[i] = finish01(v)
		}
	}
}

// ---------------------------------------------------------------------------
// Glass blur: Gaussian, local pixel shuffling, Gaussian.

// glassBlur follows the reference: x = uint8(gaussian(x/255, σ)·255), then
// the local shuffle (glassShuffle), then clip(gaussian(x/255, σ))·255,
// truncated. The Gaussian is scipy's (mode 'nearest', truncate 4) on both
// spatial axes.
func glassBlur(p glassParams, kern []float64, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	H, W, C := img.H, img.W, img.C
	n := H * W * C
	a := ws.f64a(n)
	tmp := ws.f64b(n)
	line := ws.f64c(max(H, W) + len(kern))
	for i, v := range img.Pix {
		a[i] = u8scale[v]
	}
	gaussianHWC(a, a, tmp, H, W, C, kern, kern, clampIndex, line)
	x := ws.u8a(n)
	for i, v := range a {
		x[i] = truncU8(v * 255)
	}
	d := p.delta
	glassShuffle(x, H, W, C, d, p.iters, func() (int, int) {
		dx := rng.IntN(2*d) - d
		dy := rng.IntN(2*d) - d
		return dx, dy
	})
	for i, v := range x {
		a[i] = u8scale[v]
	}
	gaussianHWC(a, a, tmp, H, W, C, kern, kern, clampIndex, line)
	for i, v := range a {
		dst[i] = finish01(v)
	}
}

// glassShuffle is the references' "locally shuffle pixels" loop: `iters`
// passes over h from H-δ down to δ+1 and w from W-δ down to δ+1, each
// drawing (dx, dy) uniform in [-δ, δ-1] and executing
// x[h, w], x[h', w'] = x[h', w'], x[h, w] with (h', w') = (h+dy, w+dx).
// On an H×W×3 numpy array both sides are views, so that statement copies
// pixel (h', w') over (h, w) and leaves (h', w') as it was: it is not a
// swap. Both references run it on RGB arrays (imagecorruptions turns gray
// images into RGB first), so it is a copy here for every channel count.
func glassShuffle(x []uint8, H, W, C, d, iters int, draw func() (dx, dy int)) {
	for it := 0; it < iters; it++ {
		for h := H - d; h > d; h-- {
			for w := W - d; w > d; w-- {
				dx, dy := draw()
				i := (h*W + w) * C
				j := ((h+dy)*W + w + dx) * C
				copy(x[i:i+C], x[j:j+C])
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Motion blur: one-sided Gaussian line kernel.

// motionKernel holds the normalised weights of a motion kernel of width
// 2·radius+1.
type motionKernel struct {
	w []float64
}

// newMotionKernelNumpy is imagecorruptions' getMotionBlurKernel: weights
// exp(-i²/(2σ²))/(√(2π)σ) for i = 0..2r, divided by their numpy (pairwise)
// sum.
func newMotionKernelNumpy(radius int, sigma float64) *motionKernel {
	width := 2*radius + 1
	k := make([]float64, width)
	norm := math.Sqrt(2*math.Pi) * sigma
	for i := range k {
		k[i] = math.Exp(-float64(i*i)/(2*(sigma*sigma))) / norm
	}
	z := pairwiseSum(k)
	for i := range k {
		k[i] /= z
	}
	return &motionKernel{w: k}
}

// newMotionKernelMagick is ImageMagick's MotionBlurImage kernel: the same
// Gaussian weights divided by their running (sequential) sum.
func newMotionKernelMagick(radius int, sigma float64) *motionKernel {
	width := 2*radius + 1
	k := make([]float64, width)
	norm := math.Sqrt(2*math.Pi) * sigma
	z := 0.0
	for i := range k {
		k[i] = math.Exp(-float64(i*i)/(2*sigma*sigma)) / norm
		z += k[i]
	}
	for i := range k {
		k[i] /= z
	}
	return &motionKernel{w: k}
}

// degToRad converts degrees to radians as numpy.deg2rad does
// (x · (π/180), the factor rounded once).
func degToRad(deg float64) float64 {
	f := math.Pi
	f /= 180
	return deg * f
}

// magickDegToRad converts degrees to radians as ImageMagick's
// DegreesToRadians does ((π·x)/180).
func magickDegToRad(deg float64) float64 {
	return math.Pi * deg / 180
}

// motionOffsets returns the per-tap shifts of a motion kernel of the given
// width at angle rad (radians), in ImageMagick's convention (which
// imagecorruptions' _motion_blur mirrors): tap i samples the pixel at
// (y + oy[i], x + ox[i]) with ox = ceil(i·cos θ - 0.5), oy = ceil(i·sin θ
// - 0.5), edge pixels repeated outside the image. If stopAt is true the
// taps stop at the first one whose shift reaches the image size in either
// direction, as imagecorruptions does ("simulated motion exceeded image
// borders"); the remaining weights are then dropped, not renormalised.
func motionOffsets(width int, rad float64, H, W int, stopAt bool, oy, ox []int) int {
	py := float64(width) * math.Sin(rad)
	px := float64(width) * math.Cos(rad)
	hyp := math.Hypot(py, px)
	for i := 0; i < width; i++ {
		dy := int(math.Ceil(float64(i)*py/hyp - 0.5))
		dx := int(math.Ceil(float64(i)*px/hyp - 0.5))
		if stopAt && (abs(dy) >= H || abs(dx) >= W) {
			return i
		}
		oy[i], ox[i] = dy, dx
	}
	return width
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// motionAccumulate adds Σ_i w[i]·src[clamp(y+oy[i]), clamp(x+ox[i])] into
// acc (H×W×C, zeroed by the caller), tap by tap so that every output sums
// its taps in order i = 0, 1, … as the references do. get converts a
// source element to float64.
func motionAccumulate[T uint8 | float64](src []T, acc []float64, H, W, C int, w []float64, oy, ox []int, n int) {
	rowLen := W * C
	for i := 0; i < n; i++ {
		wi := w[i]
		dx := ox[i]
		for y := 0; y < H; y++ {
			sy := clampIndex(y+oy[i], H)
			srow := src[sy*rowLen : (sy+1)*rowLen]
			arow := acc[y*rowLen : (y+1)*rowLen]
			// Columns whose source is inside the image.
			x0, x1 := 0, W
			if dx < 0 {
				x0 = min(-dx, W)
			} else {
				x1 = max(W-dx, 0)
			}
			if x0 > 0 {
				edge := srow[:C]
				for x := 0; x < x0; x++ {
					for ch := 0; ch < C; ch++ {
						arow[x*C+ch] += wi * float64(edge[ch])
					}
				}
			}
			if x1 > x0 {
				s := srow[(x0+dx)*C : (x1+dx)*C]
				a := arow[x0*C : x1*C]
				for j, v := range s {
					a[j] += wi * float64(v)
				}
			}
			if x1 < W {
				edge := srow[(W-1)*C : W*C]
				for x := max(x1, x0); x < W; x++ {
					for ch := 0; ch < C; ch++ {
						arow[x*C+ch] += wi * float64(edge[ch])
					}
				}
			}
		}
	}
}

// motionBlurNumpy is imagecorruptions' motion_blur: the kernel applied to
// the uint8 image (0–255 scale) at an angle uniform in [-45°, 45°), then
// clip to [0, 255] and truncation.
func motionBlurNumpy(mk *motionKernel, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	angle := -45 + 90*rng.Float64()
	width := len(mk.w)
	oy, ox := ws.ints(2 * width)
	n := motionOffsets(width, degToRad(angle), img.H, img.W, true, oy, ox)
	acc := ws.f64a(len(img.Pix))
	clear(acc)
	motionAccumulate(img.Pix, acc, img.H, img.W, img.C, mk.w, oy, ox, n)
	for i, v := range acc {
		dst[i] = truncU8(v)
	}
}

// magickRound8 converts a blurred value on the 0–255 scale to the 8-bit
// value ImageMagick 6 (Q16, non-HDRI) writes to the PNG: the sum is
// computed on the 16-bit scale (value·257) and rounded to the nearest
// quantum, which is then scaled to 8 bits by integer division by 257
// (truncation). This reproduces `convert -motion-blur` of Debian's
// ImageMagick 6.9.11 exactly on the test fixtures.
func magickRound8(v float64) uint8 {
	q := v * 257
	var qi int
	switch {
	case q <= 0:
		qi = 0
	case q >= 65535:
		qi = 65535
	default:
		qi = int(q + 0.5)
	}
	return uint8(qi / 257)
}

// motionBlurMagick stands in for ImageMagick's MotionBlurImage as
// make_tinyimagenet_c.py calls it through Wand: the same kernel and
// offsets, edge virtual pixels, no early stop, and ImageMagick's rounding
// to 8 bits (the PNG round trip) instead of truncation.
func motionBlurMagick(mk *motionKernel, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	angle := -45 + 90*rng.Float64()
	width := len(mk.w)
	oy, ox := ws.ints(2 * width)
	n := motionOffsets(width, magickDegToRad(angle), img.H, img.W, false, oy, ox)
	acc := ws.f64a(len(img.Pix))
	clear(acc)
	motionAccumulate(img.Pix, acc, img.H, img.W, img.C, mk.w, oy, ox, n)
	for i, v := range acc {
		dst[i] = magickRound8(v)
	}
}

// ---------------------------------------------------------------------------
// Zoom blur: average of centre crops zoomed back up (scipy.ndimage.zoom,
// order 1).

// zoomAxis maps the output samples of one axis of scipy.ndimage.zoom
// (order=1, grid_mode=False, mode='constant') to input samples: output i
// reads input i0[i] with weight w0[i] and input i0[i]+1 with weight w1[i].
// An output whose coordinate falls beyond the last input sample (by a
// rounding error) is zero in SciPy; it gets zero weights here.
type zoomAxis struct {
	i0, i1 []int
	w0, w1 []float64
}

// newZoomAxis computes the coordinate i·(nIn-1)/(nOut-1) of every output
// sample and SciPy's linear spline weights w0 = 1 - t, w1 = 1 - w0.
func newZoomAxis(nIn, nOut int, za *zoomAxis) {
	za.i0 = growInts(za.i0, nOut)
	za.i1 = growInts(za.i1, nOut)
	za.w0 = growF64(za.w0, nOut)
	za.w1 = growF64(za.w1, nOut)
	ratio := 1.0
	if nOut > 1 {
		ratio = float64(nIn-1) / float64(nOut-1)
	}
	for i := 0; i < nOut; i++ {
		cc := float64(i) * ratio
		if cc > float64(nIn-1) {
			za.i0[i], za.i1[i], za.w0[i], za.w1[i] = nIn-1, nIn-1, 0, 0
			continue
		}
		f := math.Floor(cc)
		i0 := int(f)
		w0 := 1 - (cc - f)
		w1 := 1 - w0
		i1 := i0 + 1
		if i1 >= nIn {
			// The neighbour is outside (mode 'constant'); its weight is 0
			// unless a rounding error put cc past the end (handled above).
			i1 = i0
			w1 = 0
		}
		za.i0[i], za.i1[i], za.w0[i], za.w1[i] = i0, i1, w0, w1
	}
}

// zoomCrop describes clipped_zoom on one image size and zoom factor: the
// centre crop (top, left, ch0, ch1) and the zoomed size (zh, zw).
type zoomCrop struct {
	top, left, ch0, ch1, zh, zw int
}

// newZoomCrop computes imagecorruptions' clipped_zoom geometry: crop
// ceil(H/z) × ceil(W/z) at ((H-ch)//2, (W-cw)//2), zoomed to
// round(ch·z) × round(cw·z) (Python's round, half to even).
func newZoomCrop(H, W int, z float64) zoomCrop {
	ch0 := int(math.Ceil(float64(H) / z))
	ch1 := int(math.Ceil(float64(W) / z))
	return zoomCrop{
		top: (H - ch0) / 2, left: (W - ch1) / 2, ch0: ch0, ch1: ch1,
		zh: int(math.RoundToEven(float64(ch0) * z)),
		zw: int(math.RoundToEven(float64(ch1) * z)),
	}
}

// zoomSample computes one output value of scipy's order-1 zoom with SciPy's
// operation order: corners (0,0), (0,1), (1,0), (1,1), each value·wy·wx.
func zoomSample(v00, v01, v10, v11, wy0, wy1, wx0, wx1 float64) float64 {
	return v00*wy0*wx0 + v01*wy0*wx1 + v10*wy1*wx0 + v11*wy1*wx1
}

// zoomBlur is the zoom_blur of both tables. For the ImageNet table each
// zoomed layer is cropped to its top-left H×W (imagecorruptions); for the
// Tiny table it is trimmed symmetrically ((zoomed - H)//2 off the top, per
// axis). The layers are accumulated in float32 as numpy does, and the
// result (x + Σ layers)/(n+1) is clipped, scaled by 255 in float32 and
// truncated.
func zoomBlur(factors []float64, tiny bool, img Image, dst []uint8, ws *workspace) {
	H, W, C := img.H, img.W, img.C
	n := H * W * C
	x := ws.f32a(n)
	for i, v := range img.Pix {
		x[i] = float32(u8scale[v])
	}
	out := ws.f32b(n)
	clear(out)
	// The float32 input widened once (exactly) for the float64 arithmetic.
	x64 := ws.f64a(n)
	for i, v := range x {
		x64[i] = float64(v)
	}
	var ay, ax zoomAxis
	ay.i0, ay.i1, ay.w0, ay.w1 = ws.za[0].i0, ws.za[0].i1, ws.za[0].w0, ws.za[0].w1
	ax.i0, ax.i1, ax.w0, ax.w1 = ws.za[1].i0, ws.za[1].i1, ws.za[1].w0, ws.za[1].w1
	for _, z := range factors {
		g := newZoomCrop(H, W, z)
		newZoomAxis(g.ch0, g.zh, &ay)
		newZoomAxis(g.ch1, g.zw, &ax)
		offY, offX := 0, 0
		if tiny {
			offY, offX = (g.zh-H)/2, (g.zw-W)/2
		}
		rows := min(H, g.zh-offY)
		cols := min(W, g.zw-offX)
		for y := 0; y < rows; y++ {
			oy := y + offY
			r0 := x64[(g.top+ay.i0[oy])*W*C:]
			r1 := x64[(g.top+ay.i1[oy])*W*C:]
			wy0, wy1 := ay.w0[oy], ay.w1[oy]
			orow := out[y*W*C : (y+1)*W*C]
			for xx := 0; xx < cols; xx++ {
				ox := xx + offX
				c0 := (g.left + ax.i0[ox]) * C
				c1 := (g.left + ax.i1[ox]) * C
				wx0, wx1 := ax.w0[ox], ax.w1[ox]
				o := orow[xx*C : xx*C+C]
				for ch := range o {
					v := zoomSample(r0[c0+ch], r0[c1+ch], r1[c0+ch], r1[c1+ch], wy0, wy1, wx0, wx1)
					o[ch] += float32(v)
				}
			}
		}
	}
	ws.za[0], ws.za[1] = ay, ax
	den := float32(len(factors) + 1)
	for i := range out {
		v := clip01f32((x[i] + out[i]) / den)
		dst[i] = truncU8(float64(v * 255))
	}
}
