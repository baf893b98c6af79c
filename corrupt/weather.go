package corrupt

import (
	"math"
	"math/rand/v2"
)

// ---------------------------------------------------------------------------
// Fog: diamond-square plasma fractal.

// nextPow2 is imagecorruptions' next_power_of_2: the smallest power of two
// ≥ x (1 for x = 0).
func nextPow2(x int) int {
	p := 1
	for p < x {
		p <<= 1
	}
	return p
}

// plasmaFractal fills m (n×n, n a power of two) with the references'
// diamond-square heightmap (a modification of FLHerne/mapgen
// diamondsquare.py) and normalises it to [0, 1]. It reproduces the
// numpy.roll wrap-around of the reference and draws its uniforms in the
// same order: per step, one C-ordered batch for the squares, then one for
// the left/top diamonds and one for the top/left diamonds. Each new value is
// mean/4 + wibble·U(-wibble, wibble); wibble starts at 100 and is divided
// by decay after every step.
func plasmaFractal(n int, decay float64, rng *rand.Rand, m []float64) {
	m[0] = 0
	wibble := 100.0
	for step := n; step >= 2; step /= 2 {
		h := step / 2
		g := n / step
		span := wibble - (-wibble)
		// Squares: centre = mean of the four corners (with wrap-around).
		for i := 0; i < g; i++ {
			i1 := (i + 1) % g
			for j := 0; j < g; j++ {
				j1 := (j + 1) % g
				sa := m[i*step*n+j*step] + m[i1*step*n+j*step]
				sb := m[i*step*n+j1*step] + m[i1*step*n+j1*step]
				m[(i*step+h)*n+j*step+h] = (sa+sb)/4 + wibble*(-wibble+span*rng.Float64())
			}
		}
		// Diamonds on the rows of the corner grid.
		for i := 0; i < g; i++ {
			im := (i - 1 + g) % g
			for j := 0; j < g; j++ {
				j1 := (j + 1) % g
				ldr := m[(i*step+h)*n+j*step+h] + m[(im*step+h)*n+j*step+h]
				lul := m[i*step*n+j*step] + m[i*step*n+j1*step]
				m[i*step*n+j*step+h] = (ldr+lul)/4 + wibble*(-wibble+span*rng.Float64())
			}
		}
		// Diamonds on the columns of the corner grid.
		for i := 0; i < g; i++ {
			i1 := (i + 1) % g
			for j := 0; j < g; j++ {
				jm := (j - 1 + g) % g
				tdr := m[(i*step+h)*n+j*step+h] + m[(i*step+h)*n+jm*step+h]
				tul := m[i*step*n+j*step] + m[i1*step*n+j*step]
				m[(i*step+h)*n+j*step] = (tdr+tul)/4 + wibble*(-wibble+span*rng.Float64())
			}
		}
		wibble /= decay
	}
	lo := m[0]
	for _, v := range m[:n*n] {
		lo = min(lo, v)
	}
	hi := math.Inf(-1)
	for i := range m[:n*n] {
		m[i] -= lo
		hi = max(hi, m[i])
	}
	for i := range m[:n*n] {
		m[i] /= hi
	}
}

// fogMapSize is the plasma map size: the next power of two ≥ the largest
// side for the ImageNet table (imagecorruptions), 64 for the Tiny table
// (make_tinyimagenet_c.py), or the next power of two ≥ the largest side
// when the image is larger than 64.
func fogMapSize(tiny bool, H, W int) int {
	n := nextPow2(max(H, W))
	if tiny {
		n = max(64, n)
	}
	return n
}

// fog adds strength·plasma to x/255 (all channels alike), rescales by
// max/(max + strength), clips, ·255, truncates.
func fog(strength, decay float64, tiny bool, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	H, W, C := img.H, img.W, img.C
	n := fogMapSize(tiny, H, W)
	m := ws.f64a(n * n)
	plasmaFractal(n, decay, rng, m)
	maxVal := 0.0
	for _, v := range img.Pix {
		maxVal = max(maxVal, u8scale[v])
	}
	den := maxVal + strength
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			add := strength * m[y*n+x]
			i := (y*W + x) * C
			for ch := 0; ch < C; ch++ {
				v := u8scale[img.Pix[i+ch]] + add
				dst[i+ch] = finish01(v * maxVal / den)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Brightness: +c on the HSV value channel (scikit-image colour conversion).

// rgbToHSV is skimage.color.rgb2hsv for one pixel on [0, 1]: V = max,
// S = (max-min)/V (0 where max = min), H from whichever channel is the
// maximum (blue wins ties over green, green over red), divided by 6 and
// wrapped into [0, 1).
func rgbToHSV(r, g, b float64) (h, s, v float64) {
	v = max(r, g, b)
	delta := v - min(r, g, b)
	if delta == 0 {
		return 0, 0, v
	}
	s = delta / v
	if b == v {
		h = 4 + (r-g)/delta
	} else if g == v {
		h = 2 + (b-r)/delta
	} else {
		h = (g - b) / delta
	}
	h = math.Mod(h/6, 1)
	if h < 0 {
		h++
	}
	return h, s, v
}

// hsvToRGB is skimage.color.hsv2rgb for one pixel.
func hsvToRGB(h, s, v float64) (r, g, b float64) {
	hi := math.Floor(h * 6)
	f := h*6 - hi
	p := v * (1 - s)
	q := v * (1 - f*s)
	t := v * (1 - (1-f)*s)
	switch int(uint8(hi)) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}

// brightness raises the HSV value by c (clipped to 1) for RGB images and
// adds c to gray images (imagecorruptions' gray branch, identical to the
// HSV route on a gray pixel); then clip·255, truncated.
func brightness(c float64, img Image, dst []uint8) {
	if img.C == 1 {
		for i, v := range img.Pix {
			dst[i] = finish01(clip01(u8scale[v] + c))
		}
		return
	}
	for i := 0; i < len(img.Pix); i += 3 {
		h, s, v := rgbToHSV(u8scale[img.Pix[i]], u8scale[img.Pix[i+1]], u8scale[img.Pix[i+2]])
		r, g, b := hsvToRGB(h, s, clip01(v+c))
		dst[i], dst[i+1], dst[i+2] = finish01(r), finish01(g), finish01(b)
	}
}

// ---------------------------------------------------------------------------
// Snow.

// zoom2D is scipy.ndimage.zoom(order=1) of the centre crop g of an H×W
// float64 array, producing g.zh × g.zw values in dst.
func zoom2D(src []float64, W int, g zoomCrop, ay, ax *zoomAxis, dst []float64) {
	newZoomAxis(g.ch0, g.zh, ay)
	newZoomAxis(g.ch1, g.zw, ax)
	for y := 0; y < g.zh; y++ {
		r0 := (g.top + ay.i0[y]) * W
		r1 := (g.top + ay.i1[y]) * W
		wy0, wy1 := ay.w0[y], ay.w1[y]
		for x := 0; x < g.zw; x++ {
			c0 := g.left + ax.i0[x]
			c1 := g.left + ax.i1[x]
			dst[y*g.zw+x] = zoomSample(src[r0+c0], src[r0+c1], src[r1+c0], src[r1+c1], wy0, wy1, ax.w0[x], ax.w1[x])
		}
	}
}

// cvGray32 is cv2.cvtColor(RGB2GRAY) on float32 pixels, bit-exact with
// OpenCV 4.6's fused multiply-adds: B·0.114 + (G·0.587 + R·0.299) in its
// 8-pixel vector loop, B·0.114 + (R·0.299 + G·0.587) for the last
// width mod 8 pixels of a row (tail).
func cvGray32(r, g, b float32, tail bool) float32 {
	if tail {
		return fmaf32(b, 0.114, fmaf32(r, 0.299, g*0.587))
	}
	return fmaf32(b, 0.114, fmaf32(g, 0.587, r*0.299))
}

// snowBlend finishes both snow variants: x (float32 on [0, 1]) is blended
// towards max(x, gray·1.5 + 0.5) in float32, the snow layer s (H×W) and its
// 180° rotation are added in float64, then clip·255, truncated.
func snowBlend(blend float64, img Image, s []float64, dst []uint8) {
	H, W, C := img.H, img.W, img.C
	b32 := float32(blend)
	nb32 := float32(1 - blend)
	vecEnd := W - W%8
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			i := (y*W + x) * C
			layer := s[y*W+x]
			rot := s[(H-1-y)*W+(W-1-x)]
			var gray float32
			if C == 3 {
				gray = cvGray32(float32(img.Pix[i])/255, float32(img.Pix[i+1])/255, float32(img.Pix[i+2])/255, x >= vecEnd)
			}
			for ch := 0; ch < C; ch++ {
				xv := float32(img.Pix[i+ch]) / 255
				g := gray
				if C == 1 {
					g = xv
				}
				m := max(xv, g*1.5+0.5)
				xb := b32*xv + nb32*m
				dst[i+ch] = finish01(float64(xb) + layer + rot)
			}
		}
	}
}

// snowImageNet is imagecorruptions' snow: a N(loc, scale²) layer is
// clipped-zoomed (centre crop, zoom, no trim), thresholded, clipped,
// motion-blurred (numpy kernel, angle U(-135°, -45°)) at the zoomed size,
// rounded to 8 bits (half to even), cropped to the top-left H×W and added
// with its 180° rotation to the brightened image.
func snowImageNet(p snowParams, mk *motionKernel, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	H, W := img.H, img.W
	layer := ws.f64a(H * W)
	for i := range layer {
		layer[i] = p.loc + p.scale*rng.NormFloat64()
	}
	g := newZoomCrop(H, W, p.zoom)
	zl := ws.f64b(g.zh * g.zw)
	zoom2D(layer, W, g, &ws.za[0], &ws.za[1], zl)
	for i, v := range zl {
		if v < p.thresh {
			v = 0
		}
		zl[i] = clip01(v)
	}
	angle := -135 + 90*rng.Float64()
	width := len(mk.w)
	oy, ox := ws.ints(2 * width)
	n := motionOffsets(width, degToRad(angle), g.zh, g.zw, true, oy, ox)
	acc := ws.f64c(g.zh * g.zw)
	clear(acc)
	motionAccumulate(zl, acc, g.zh, g.zw, 1, mk.w, oy, ox, n)
	s := ws.f64d(H * W)
	rows, cols := min(H, g.zh), min(W, g.zw)
	clear(s)
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			s[y*W+x] = float64(uint8(math.RoundToEven(acc[y*g.zw+x]*255))) / 255
		}
	}
	snowBlend(p.blend, img, s, dst)
}

// snowTiny is make_tinyimagenet_c.py's snow: the layer is clipped-zoomed
// and trimmed to H×W, thresholded, converted to uint8 (truncation),
// motion-blurred by ImageMagick (stood in for by the same kernel with
// ImageMagick's rounding), then blended like snowImageNet.
func snowTiny(p snowParams, mk *motionKernel, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	H, W := img.H, img.W
	layer := ws.f64a(H * W)
	for i := range layer {
		layer[i] = p.loc + p.scale*rng.NormFloat64()
	}
	g := newZoomCrop(H, W, p.zoom)
	zl := ws.f64b(g.zh * g.zw)
	zoom2D(layer, W, g, &ws.za[0], &ws.za[1], zl)
	offY, offX := (g.zh-H)/2, (g.zw-W)/2
	u := ws.u8a(H * W)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			v := zl[(y+offY)*g.zw+x+offX]
			if v < p.thresh {
				v = 0
			}
			u[y*W+x] = truncU8(clip01(v) * 255)
		}
	}
	angle := -135 + 90*rng.Float64()
	width := len(mk.w)
	oy, ox := ws.ints(2 * width)
	n := motionOffsets(width, magickDegToRad(angle), H, W, false, oy, ox)
	acc := ws.f64c(H * W)
	clear(acc)
	motionAccumulate(u, acc, H, W, 1, mk.w, oy, ox, n)
	s := ws.f64d(H * W)
	for i, v := range acc {
		s[i] = float64(magickRound8(v)) / 255
	}
	snowBlend(p.blend, img, s, dst)
}
