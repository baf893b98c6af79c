package corrupt

import (
	"fmt"
	"image"
	"image/draw"
	_ "image/png" // frost directories hold PNG or JPEG files
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// frostFiles is how many frost images the references choose from:
// np.random.randint(5) over the list frost1.png … frost6.jpg, so the
// sixth is never used.
const frostFiles = 5

// rgbImage is an interleaved 8-bit RGB image.
type rgbImage struct {
	w, h int
	pix  []uint8
}

// frostSource provides the frost textures: the first five image files of a
// directory in sorted order, or five procedural textures. Rescaled copies
// are cached per target size.
type frostSource struct {
	n    int
	base [frostFiles]*rgbImage
	once [frostFiles]sync.Once

	mu     sync.Mutex
	scaled map[frostKey]*rgbImage
}

type frostKey struct {
	idx, w, h int
	cubic     bool
}

// frostExts are the file name extensions read from a frost directory.
var frostExts = map[string]bool{".png": true, ".jpg": true, ".jpeg": true}

// newFrostSource opens the frost textures: with dir == "" the procedural
// stand-ins (generated lazily), otherwise the first five image files of
// dir in sorted name order, decoded now so that a bad directory is
// reported at once.
func newFrostSource(dir string) (*frostSource, error) {
	fs := &frostSource{n: frostFiles, scaled: map[frostKey]*rgbImage{}}
	if dir == "" {
		return fs, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading frost directory %s: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		if e.Type().IsRegular() && frostExts[strings.ToLower(filepath.Ext(e.Name()))] {
			files = append(files, e.Name())
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("frost directory %s holds no PNG or JPEG files: give a directory with frost photographs (e.g. frost1.png … frost5.jpg)", dir)
	}
	if len(files) > frostFiles {
		files = files[:frostFiles]
	}
	fs.n = len(files)
	for i, name := range files {
		img, err := loadFrostImage(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		fs.base[i] = img
		fs.once[i].Do(func() {})
	}
	return fs, nil
}

// loadFrostImage decodes an image file to RGB, dropping any alpha channel
// without compositing (as cv2.imread does). JPEG chroma is upsampled the
// libjpeg way (see libjpegRGB).
func loadFrostImage(path string) (*rgbImage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening frost image: %w", err)
	}
	defer f.Close()
	m, _, err := image.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decoding frost image %s: %w", path, err)
	}
	b := m.Bounds()
	out := &rgbImage{w: b.Dx(), h: b.Dy(), pix: make([]uint8, 3*b.Dx()*b.Dy())}
	if out.w < 2 || out.h < 2 {
		return nil, fmt.Errorf("frost image %s is %d×%d: too small to use", path, out.w, out.h)
	}
	switch s := m.(type) {
	case *image.YCbCr:
		libjpegRGB(s, out.pix)
	case *image.Gray:
		for y := 0; y < out.h; y++ {
			for x := 0; x < out.w; x++ {
				v := s.Pix[y*s.Stride+x]
				out.pix[(y*out.w+x)*3], out.pix[(y*out.w+x)*3+1], out.pix[(y*out.w+x)*3+2] = v, v, v
			}
		}
	default:
		n := image.NewNRGBA(image.Rect(0, 0, out.w, out.h))
		draw.Draw(n, n.Rect, m, b.Min, draw.Src)
		for i := 0; i < out.w*out.h; i++ {
			copy(out.pix[3*i:3*i+3], n.Pix[4*i:4*i+3])
		}
	}
	return out, nil
}

// texture returns frost texture idx, generating the procedural one on
// first use.
func (fs *frostSource) texture(idx int) *rgbImage {
	fs.once[idx].Do(func() { fs.base[idx] = proceduralFrost(idx) })
	return fs.base[idx]
}

// scaledTexture returns texture idx rescaled for an H×W image, cached.
// ImageNet table (imagecorruptions): if the texture is smaller than the
// image in a dimension it is scaled up to fit (the larger factor when both
// are too small), always times 1.1, to (ceil(w·s), ceil(h·s)) with
// OpenCV's bicubic resize. Tiny table (make_tinyimagenet_c.py): resized by
// 0.3 with OpenCV's bilinear resize; if that is not larger than the image
// (the reference only handles 64-px images) the ImageNet rule is used.
func (fs *frostSource) scaledTexture(idx, H, W int, tiny bool) *rgbImage {
	t := fs.texture(idx)
	nw, nh, cubic := frostTargetSize(t.w, t.h, H, W, tiny)
	key := frostKey{idx, nw, nh, cubic}
	fs.mu.Lock()
	s, ok := fs.scaled[key]
	fs.mu.Unlock()
	if ok {
		return s
	}
	if cubic {
		s = cvResizeCubic8(t, nw, nh)
	} else {
		s = cvResizeLinear8(t, nw, nh, 0.3)
	}
	fs.mu.Lock()
	fs.scaled[key] = s
	fs.mu.Unlock()
	return s
}

// frostTargetSize computes the rescaled texture size and whether the
// bicubic (ImageNet) rule applies; see scaledTexture.
func frostTargetSize(fw, fh, H, W int, tiny bool) (nw, nh int, cubic bool) {
	if tiny {
		nw = int(math.RoundToEven(float64(fw) * 0.3))
		nh = int(math.RoundToEven(float64(fh) * 0.3))
		if nh > H && nw > W {
			return nw, nh, false
		}
	}
	s := 1.0
	switch {
	case fh >= H && fw >= W:
	case fh < H && fw >= W:
		s = float64(H) / float64(fh)
	case fh >= H && fw < W:
		s = float64(W) / float64(fw)
	default:
		s = max(float64(H)/float64(fh), float64(W)/float64(fw))
	}
	s *= 1.1
	return int(math.Ceil(float64(fw) * s)), int(math.Ceil(float64(fh) * s)), true
}

// frost blends a random crop of a random frost texture into the image:
// clip(a·x + b·frost, 0, 255), truncated. The texture index is
// randint(5) (of the available textures), the crop origin
// (randint(0, h'-H), randint(0, w'-W)). Gray images blend the crop's gray
// value computed as imagecorruptions does on OpenCV's BGR array, i.e.
// 0.2989·B + 0.5870·G + 0.1140·R.
func (fs *frostSource) frost(a, b float64, tiny bool, img Image, dst []uint8, rng *rand.Rand) {
	H, W, C := img.H, img.W, img.C
	idx := rng.IntN(fs.n)
	t := fs.scaledTexture(idx, H, W, tiny)
	y0 := rng.IntN(t.h - H)
	x0 := rng.IntN(t.w - W)
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			f := t.pix[((y0+y)*t.w+x0+x)*3:]
			i := (y*W + x) * C
			if C == 1 {
				g := float64(f[2])*0.2989 + float64(f[1])*0.5870 + float64(f[0])*0.1140
				dst[i] = truncU8(a*float64(img.Pix[i]) + b*g)
				continue
			}
			for ch := 0; ch < 3; ch++ {
				dst[i+ch] = truncU8(a*float64(img.Pix[i+ch]) + b*float64(f[ch]))
			}
		}
	}
}

// ---------------------------------------------------------------------------
// OpenCV-style resizing of 8-bit RGB images (fixed point, 11-bit weights).

// cvRound is OpenCV's cvRound/saturate_cast from floating point: round
// half to even.
func cvRound(x float64) int { return int(math.RoundToEven(x)) }

// cubicCoeffs are OpenCV's interpolateCubic weights (A = -0.75) in float32.
func cubicCoeffs(x float32) [4]float32 {
	const A = -0.75
	var c [4]float32
	c[0] = ((A*(x+1)-5*A)*(x+1)+8*A)*(x+1) - 4*A
	c[1] = ((A+2)*x-(A+3))*x*x + 1
	c[2] = ((A+2)*(1-x)-(A+3))*(1-x)*(1-x) + 1
	c[3] = 1 - c[0] - c[1] - c[2]
	return c
}

// resizeTaps holds, per output sample, the source indices (clamped to the
// image) and 11-bit fixed-point weights of a separable resize.
type resizeTaps struct {
	idx [][4]int
	w   [][4]int32
	n   int // taps used (2 or 4)
}

// newCubicTaps computes OpenCV's INTER_CUBIC taps for one axis.
func newCubicTaps(sIn, sOut int) resizeTaps {
	scale := 1 / (float64(sOut) / float64(sIn))
	t := resizeTaps{idx: make([][4]int, sOut), w: make([][4]int32, sOut), n: 4}
	for d := 0; d < sOut; d++ {
		f := float32((float64(d)+0.5)*scale - 0.5)
		s := int(math.Floor(float64(f)))
		f -= float32(s)
		c := cubicCoeffs(f)
		for k := 0; k < 4; k++ {
			t.idx[d][k] = clampIndex(s-1+k, sIn)
			t.w[d][k] = int32(cvRound(float64(c[k] * 2048)))
		}
	}
	return t
}

// newLinearTaps computes OpenCV's INTER_LINEAR taps for one axis; scale is
// the source/destination ratio OpenCV uses (1/fx when fx is given).
func newLinearTaps(sIn, sOut int, scale float64) resizeTaps {
	t := resizeTaps{idx: make([][4]int, sOut), w: make([][4]int32, sOut), n: 2}
	for d := 0; d < sOut; d++ {
		f := float32((float64(d)+0.5)*scale - 0.5)
		s := int(math.Floor(float64(f)))
		f -= float32(s)
		if s < 0 {
			f, s = 0, 0
		}
		if s >= sIn-1 {
			f, s = 0, sIn-1
		}
		t.idx[d][0] = s
		t.idx[d][1] = min(s+1, sIn-1)
		t.w[d][0] = int32(cvRound(float64((1 - f) * 2048)))
		t.w[d][1] = int32(cvRound(float64(f * 2048)))
	}
	return t
}

// cvResize8 applies separable fixed-point taps: a horizontal pass into
// int32 rows, then a vertical pass, as OpenCV's resizeGeneric does for
// 8-bit images. The vertical rounding is that of OpenCV's vector loops:
// bilinear ((b0·(S0>>4))>>16 + (b1·(S1>>4))>>16 + 2) >> 2, bicubic
// (Σ b·S + 2²¹) >> 22, saturated to [0, 255].
func cvResize8(src *rgbImage, tx, ty resizeTaps, dw, dh int) *rgbImage {
	rows := make([]int32, src.h*dw*3)
	for y := 0; y < src.h; y++ {
		srow := src.pix[y*src.w*3:]
		drow := rows[y*dw*3:]
		for x := 0; x < dw; x++ {
			for ch := 0; ch < 3; ch++ {
				var s int32
				for k := 0; k < tx.n; k++ {
					s += int32(srow[tx.idx[x][k]*3+ch]) * tx.w[x][k]
				}
				drow[x*3+ch] = s
			}
		}
	}
	out := &rgbImage{w: dw, h: dh, pix: make([]uint8, dw*dh*3)}
	for y := 0; y < dh; y++ {
		for i := 0; i < dw*3; i++ {
			var v int64
			if ty.n == 2 {
				s0 := int64(rows[ty.idx[y][0]*dw*3+i])
				s1 := int64(rows[ty.idx[y][1]*dw*3+i])
				v = ((int64(ty.w[y][0])*(s0>>4))>>16 + (int64(ty.w[y][1])*(s1>>4))>>16 + 2) >> 2
			} else {
				var s int64
				for k := 0; k < ty.n; k++ {
					s += int64(rows[ty.idx[y][k]*dw*3+i]) * int64(ty.w[y][k])
				}
				v = (s + 1<<21) >> 22
			}
			out.pix[y*dw*3+i] = uint8(max(0, min(255, v)))
		}
	}
	return out
}

// cvResizeCubic8 is cv2.resize(src, (dw, dh), interpolation=INTER_CUBIC).
func cvResizeCubic8(src *rgbImage, dw, dh int) *rgbImage {
	return cvResize8(src, newCubicTaps(src.w, dw), newCubicTaps(src.h, dh), dw, dh)
}

// cvResizeLinear8 is cv2.resize(src, (0, 0), fx=f, fy=f) with the default
// INTER_LINEAR, producing dw×dh.
func cvResizeLinear8(src *rgbImage, dw, dh int, f float64) *rgbImage {
	return cvResize8(src, newLinearTaps(src.w, dw, 1/f), newLinearTaps(src.h, dh, 1/f), dw, dh)
}

// ---------------------------------------------------------------------------
// Procedural frost textures.

// frostStyle describes one procedural stand-in: its size and target colour
// statistics follow the frost photograph at the same index of the
// ImageNet-C set (per-channel mean and standard deviation in RGB), its
// structure one of four looks seen in those photographs.
type frostStyle struct {
	w, h      int
	mean, std [3]float64
	kind      frostKind
	seed      uint64
}

type frostKind int

const (
	frostGlaze    frostKind = iota // smooth marbled ice with fine wrinkles
	frostFeathers                  // dense white feather crystals
	frostWindow                    // window frost with vertical dendrites
	frostStars                     // bright star dendrites on dark glass
)

var frostStyles = [frostFiles]frostStyle{
	{900, 600, [3]float64{77.7, 149.1, 165.7}, [3]float64{26.9, 16.5, 15.3}, frostGlaze, 1},
	{560, 315, [3]float64{200.8, 205.4, 214.5}, [3]float64{21.4, 22.1, 22.6}, frostFeathers, 2},
	{560, 315, [3]float64{200.8, 205.4, 214.5}, [3]float64{21.4, 22.1, 22.6}, frostFeathers, 3},
	{527, 350, [3]float64{137.6, 152.8, 165.2}, [3]float64{28.5, 28.5, 29.9}, frostWindow, 4},
	{660, 495, [3]float64{112.4, 123.4, 134.8}, [3]float64{44.4, 43.3, 41.7}, frostStars, 5},
}

// canvas is a float32 intensity field that crystals are drawn into.
type canvas struct {
	w, h int
	v    []float32
}

// splat adds intensity a at (x, y) with bilinear weights, wrapping around
// the edges so that the texture tiles without seams.
func (c *canvas) splat(x, y float64, a float32) {
	fx, fy := math.Floor(x), math.Floor(y)
	tx, ty := float32(x-fx), float32(y-fy)
	x0 := ((int(fx) % c.w) + c.w) % c.w
	y0 := ((int(fy) % c.h) + c.h) % c.h
	x1, y1 := (x0+1)%c.w, (y0+1)%c.h
	c.v[y0*c.w+x0] += a * (1 - tx) * (1 - ty)
	c.v[y0*c.w+x1] += a * tx * (1 - ty)
	c.v[y1*c.w+x0] += a * (1 - tx) * ty
	c.v[y1*c.w+x1] += a * tx * ty
}

// line draws an anti-aliased segment, sampled every half pixel.
func (c *canvas) line(x0, y0, x1, y1 float64, a float32) {
	n := int(math.Hypot(x1-x0, y1-y0)*2) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		c.splat(x0+(x1-x0)*t, y0+(y1-y0)*t, a)
	}
}

// dendrite draws a crystal: a slightly wavering stem of the given length
// from (x, y) at angle th, with side branches at about ±60° whose length
// shrinks towards the tip, recursively to the given depth.
func (c *canvas) dendrite(rng *rand.Rand, x, y, th, length float64, depth int, a float32, spread float64) {
	const seg = 3.0
	steps := int(length/seg) + 1
	for i := 0; i < steps; i++ {
		th += (rng.Float64() - 0.5) * 0.15
		nx, ny := x+seg*math.Cos(th), y+seg*math.Sin(th)
		c.line(x, y, nx, ny, a)
		x, y = nx, ny
		if depth > 0 && rng.Float64() < 0.45 {
			frac := float64(i) / float64(steps)
			bl := length * (0.2 + 0.3*rng.Float64()) * (1 - 0.7*frac)
			side := 1.0
			if rng.IntN(2) == 0 {
				side = -1
			}
			c.dendrite(rng, x, y, th+side*spread*(0.8+0.4*rng.Float64()), bl, depth-1, a*0.8, spread)
		}
	}
}

// blurWrap smooths v (w×h) in place with a Gaussian of the given sigma,
// wrapping around the edges.
func blurWrap(v []float64, w, h int, sigma float64) {
	if sigma <= 0 {
		return
	}
	k := scipyGaussianKernel(sigma, 3)
	r := len(k) / 2
	tmp := make([]float64, len(v))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for j, kw := range k {
				s += kw * v[y*w+((x+j-r)%w+w)%w]
			}
			tmp[y*w+x] = s
		}
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			s := 0.0
			for j, kw := range k {
				s += kw * tmp[((y+j-r)%h+h)%h*w+x]
			}
			v[y*w+x] = s
		}
	}
}

// proceduralFrost generates frost texture idx: a seeded, deterministic
// stand-in for the photograph frost{idx+1} of ImageNet-C, built from a
// plasma-fractal haze, ice crystals drawn as branching anti-aliased lines
// (softened by a small blur and a saturating tone curve), fine grain, and a
// per-channel affine map to the photograph's colour mean and standard
// deviation.
func proceduralFrost(idx int) *rgbImage {
	st := frostStyles[idx]
	rng := rand.New(rand.NewPCG(0x66726f7374, st.seed))
	w, h := st.w, st.h
	n := nextPow2(max(w, h))
	haze := make([]float64, n*n)
	plasmaFractal(n, 1.6, rng, haze)
	c := &canvas{w: w, h: h, v: make([]float32, w*h)}
	area := float64(w * h)
	var hazeW, crystalW, grainW, gain, soft float64
	switch st.kind {
	case frostGlaze:
		// Smooth marbled ice with soft, short wrinkles.
		for i := 0; i < int(area/60); i++ {
			x, y := rng.Float64()*float64(w), rng.Float64()*float64(h)
			th := rng.Float64() * 2 * math.Pi
			for j := 0; j < 4+rng.IntN(8); j++ {
				th += (rng.Float64() - 0.5) * 1.0
				nx, ny := x+2.5*math.Cos(th), y+2.5*math.Sin(th)
				c.line(x, y, nx, ny, 0.3)
				x, y = nx, ny
			}
		}
		hazeW, crystalW, grainW, gain, soft = 0.8, 0.8, 0.09, 1.2, 0.8
	case frostFeathers:
		// Dense feathers: long stems with many short side branches.
		for i := 0; i < int(area/1100); i++ {
			c.dendrite(rng, rng.Float64()*float64(w), rng.Float64()*float64(h),
				rng.Float64()*2*math.Pi, 30+rng.Float64()*100, 2, 0.45, math.Pi/3)
		}
		hazeW, crystalW, grainW, gain, soft = 0.55, 1.0, 0.12, 0.8, 0.9
	case frostWindow:
		// Window frost: mostly vertical dendrites, a vertical haze gradient.
		for i := 0; i < int(area/700); i++ {
			th := -math.Pi/2 + (rng.Float64()-0.5)*0.7
			if rng.IntN(3) == 0 {
				th += math.Pi
			}
			c.dendrite(rng, rng.Float64()*float64(w), rng.Float64()*float64(h),
				th, 15+rng.Float64()*60, 2, 0.5, math.Pi/3)
		}
		hazeW, crystalW, grainW, gain, soft = 0.5, 1.0, 0.16, 1.0, 0.7
	case frostStars:
		// Six-armed star dendrites on dark glass.
		for i := 0; i < int(area/1300); i++ {
			x, y := rng.Float64()*float64(w), rng.Float64()*float64(h)
			th0 := rng.Float64() * math.Pi / 3
			size := 8 + rng.Float64()*30
			for k := 0; k < 6; k++ {
				c.dendrite(rng, x, y, th0+float64(k)*math.Pi/3, size*(0.7+0.6*rng.Float64()), 1, 0.6, math.Pi/3)
			}
		}
		hazeW, crystalW, grainW, gain, soft = 0.6, 1.3, 0.14, 1.1, 0.7
	}
	cr := make([]float64, w*h)
	for i, v := range c.v {
		cr[i] = float64(v)
	}
	blurWrap(cr, w, h, soft)
	f := make([]float64, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			cv := 1 - math.Exp(-gain*cr[y*w+x])
			f[y*w+x] = hazeW*haze[y*n+x] + crystalW*cv + grainW*(rng.Float64()-0.5)
		}
	}
	mu, sd := meanStd(f)
	out := &rgbImage{w: w, h: h, pix: make([]uint8, 3*w*h)}
	for i, v := range f {
		z := (v - mu) / sd
		for ch := 0; ch < 3; ch++ {
			out.pix[3*i+ch] = uint8(max(0, min(255, math.Round(st.mean[ch]+st.std[ch]*z))))
		}
	}
	return out
}

// meanStd returns the mean and (population) standard deviation.
func meanStd(v []float64) (float64, float64) {
	s := 0.0
	for _, x := range v {
		s += x
	}
	mu := s / float64(len(v))
	ss := 0.0
	for _, x := range v {
		ss += (x - mu) * (x - mu)
	}
	sd := math.Sqrt(ss / float64(len(v)))
	if sd == 0 {
		sd = 1
	}
	return mu, sd
}
