package corrupt

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// These tests compare the Go primitives and deterministic corruptions with
// values computed by OpenCV, SciPy, scikit-image, Pillow and ImageMagick
// (testdata/gen.py).

func tableByName(t *testing.T, s string) Table {
	t.Helper()
	tb, err := ParseTable(s)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestDiskKernelMatchesOpenCV(t *testing.T) {
	f := loadFixtures(t)
	for _, d := range f.Disk {
		t.Run(fmt.Sprintf("%s/s%d", d.Table, d.Severity), func(t *testing.T) {
			p := tables[tableByName(t, d.Table)].defocus[d.Severity-1]
			got := newDiskKernel(p.radius, p.alias)
			want := f.f32(d.K)
			if got.n != d.N {
				t.Fatalf("kernel side %d, OpenCV %d", got.n, d.N)
			}
			exact, maxRel := 0, 0.0
			sumGot, sumWant := 0.0, 0.0
			for i, w := range want {
				if got.k[i] == w {
					exact++
				}
				if w != 0 {
					maxRel = max(maxRel, math.Abs(float64(got.k[i]-w))/float64(w))
				} else if got.k[i] != 0 {
					t.Errorf("element %d: got %g where OpenCV has 0", i, got.k[i])
				}
				sumGot += float64(got.k[i])
				sumWant += float64(w)
			}
			if maxRel > 1e-6 {
				t.Errorf("max relative difference %g, want ≤ 1e-6", maxRel)
			}
			if math.Abs(sumGot-sumWant) > 1e-7 {
				t.Errorf("kernel sum %.10f, OpenCV %.10f", sumGot, sumWant)
			}
			// The kernel sums to 1 up to float32 rounding, except where the
			// disk touches the grid border and BORDER_REFLECT_101 folds
			// mass back in (radius 8 and 10: about 1.3% and 1.1% extra).
			if p.radius < 8 && math.Abs(sumGot-1) > 1e-6 {
				t.Errorf("kernel sum %.10f, want 1", sumGot)
			}
			t.Logf("exact %d/%d, max rel diff %.2g, sum %.9f", exact, len(want), maxRel, sumGot)
		})
	}
}

func TestZoomFactorsMatchNumpy(t *testing.T) {
	f := loadFixtures(t)
	for _, z := range f.ZoomFactors {
		want := f.f64(z.Z)
		got := tables[tableByName(t, z.Table)].zoom[z.Severity-1].zoomFactors()
		if len(got) != len(want) {
			t.Errorf("%s s%d: %d zoom factors, numpy.arange gives %d", z.Table, z.Severity, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s s%d factor %d: %v, numpy %v", z.Table, z.Severity, i, got[i], want[i])
			}
		}
	}
}

// deterministicTolerance is, per corruption, the least fraction of output
// values that must equal the reference exactly and the largest allowed
// difference. All replicate the reference arithmetic bit for bit on the
// fixtures; defocus is allowed rare ±1 differences because OpenCV's
// filter2D sums in an order of its own (it may use a DFT), so a value
// within 1e-15 of an integer can truncate either way.
var deterministicTolerance = map[string]struct {
	exact   float64
	maxDiff int
	meanAbs float64
}{
	"defocus_blur":     {0.995, 1, 0.005},
	"zoom_blur":        {1, 0, 0},
	"contrast":         {1, 0, 0},
	"brightness":       {1, 0, 0},
	"pixelate":         {1, 0, 0},
	"jpeg_compression": {1, 0, 0},
}

func TestDeterministicCorruptionsMatchReference(t *testing.T) {
	f := loadFixtures(t)
	cs := map[string]*Corrupter{}
	for _, o := range f.Outputs {
		t.Run(fmt.Sprintf("%s/%s/%s/s%d", o.Table, o.Image, o.Corruption, o.Severity), func(t *testing.T) {
			c := cs[o.Table]
			if c == nil {
				c = mustNew(t, Options{Table: tableByName(t, o.Table)})
				cs[o.Table] = c
			}
			img := f.image(o.Image)
			var got Image
			tol := deterministicTolerance[o.Corruption]
			if o.Corruption == "final_jpeg85" {
				// The Tiny-ImageNet-C save step (Options.FinalJPEGQuality).
				got = NewImage(img.W, img.H, img.C)
				libjpegRoundTrip(85, img, got.Pix, &jpegScratch{})
				tol = deterministicTolerance["jpeg_compression"]
			} else {
				var err error
				got, err = c.Apply(o.Corruption, o.Severity, img, rand.New(rand.NewPCG(1, 2)))
				if err != nil {
					t.Fatal(err)
				}
			}
			exact, maxDiff, meanAbs := agreement(got.Pix, f.u8(o.Pix))
			if exact < tol.exact || maxDiff > tol.maxDiff || meanAbs > tol.meanAbs {
				t.Errorf("agreement with reference: %.4f exact, max |Δ| %d, mean |Δ| %.4f; want ≥ %.4f, ≤ %d, ≤ %.4f",
					exact, maxDiff, meanAbs, tol.exact, tol.maxDiff, tol.meanAbs)
			}
			t.Logf("exact %.4f, max |Δ| %d, mean |Δ| %.4f", exact, maxDiff, meanAbs)
		})
	}
}

func TestPillowResizeMatches(t *testing.T) {
	f := loadFixtures(t)
	for _, r := range f.PilResize {
		t.Run(fmt.Sprintf("%s/%dx%d-%dx%d", r.Filter, r.W, r.H, r.NW, r.NH), func(t *testing.T) {
			src := Image{W: r.W, H: r.H, C: 1, Pix: f.u8(r.Src)}
			var got []uint8
			if r.Filter == "box" {
				got = pilResizeBox(src, r.NW, r.NH).Pix
			} else {
				ix, iy := pilNearestIndex(r.W, r.NW), pilNearestIndex(r.H, r.NH)
				got = make([]uint8, r.NW*r.NH)
				for y := 0; y < r.NH; y++ {
					for x := 0; x < r.NW; x++ {
						got[y*r.NW+x] = src.Pix[iy[y]*r.W+ix[x]]
					}
				}
			}
			if exact, maxDiff, _ := agreement(got, f.u8(r.Dst)); exact != 1 {
				t.Errorf("differs from Pillow: %.4f exact, max |Δ| %d", exact, maxDiff)
			}
		})
	}
}

func TestLuminanceMatchesPillow(t *testing.T) {
	f := loadFixtures(t)
	src := Image{W: 40, H: 32, C: 3, Pix: f.u8(f.Luminance.Src)}
	got := src.Luminance()
	if exact, maxDiff, _ := agreement(got.Pix, f.u8(f.Luminance.Dst)); exact != 1 {
		t.Errorf("differs from Pillow convert('L'): %.4f exact, max |Δ| %d", exact, maxDiff)
	}
}

func TestOpenCVResizeMatches(t *testing.T) {
	f := loadFixtures(t)
	for _, r := range f.CvResize {
		t.Run(r.Kind, func(t *testing.T) {
			src := &rgbImage{w: r.W, h: r.H, pix: f.u8(r.Src)}
			var got *rgbImage
			if r.Kind == "cubic" {
				got = cvResizeCubic8(src, r.NW, r.NH)
			} else {
				got = cvResizeLinear8(src, r.NW, r.NH, 0.3)
			}
			exact, maxDiff, meanAbs := agreement(got.pix, f.u8(r.Dst))
			if exact < 1 {
				t.Errorf("differs from cv2.resize: %.4f exact, max |Δ| %d, mean |Δ| %.4f", exact, maxDiff, meanAbs)
			}
			t.Logf("exact %.4f, max |Δ| %d, mean |Δ| %.4f", exact, maxDiff, meanAbs)
		})
	}
}

func TestOpenCVGrayMatches(t *testing.T) {
	f := loadFixtures(t)
	src, want := f.f32(f.CvGray.Src), f.f32(f.CvGray.Dst)
	bad := 0
	for i := range want {
		if g := cvGray32(src[3*i], src[3*i+1], src[3*i+2], i%20 >= 16); g != want[i] {
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d gray values differ from cv2.cvtColor", bad, len(want))
	}
}

func TestGaussianFilterMatchesSkimage(t *testing.T) {
	f := loadFixtures(t)
	img := f.image("rgb")
	const H, W, C = 16, 20, 3
	x := make([]float64, H*W*C)
	for y := 0; y < H; y++ {
		for xx := 0; xx < W; xx++ {
			for ch := 0; ch < C; ch++ {
				x[(y*W+xx)*C+ch] = u8scale[img.Pix[(y*img.W+xx)*C+ch]]
			}
		}
	}
	for _, g := range f.SkGauss {
		k := scipyGaussianKernel(g.Sigma, 4)
		out := make([]float64, len(x))
		gaussianHWC(x, out, make([]float64, len(x)), H, W, C, k, k, clampIndex, make([]float64, 64))
		want := f.f64(g.Dst)
		maxd := 0.0
		for i := range want {
			maxd = max(maxd, math.Abs(out[i]-want[i]))
		}
		if maxd > 1e-15 {
			t.Errorf("sigma %g: max difference %g from skimage.filters.gaussian", g.Sigma, maxd)
		}
	}
	// Per-axis sigma, mode 'reflect', truncate 3 (the elastic fields).
	e := f.ElasticGauss
	src := f.f64(e.Src)
	const eh, ew = 21, 26
	out := make([]float64, len(src))
	gaussianHWC(src, out, make([]float64, len(src)), eh, ew, 1,
		scipyGaussianKernel(e.Sigma[0], 3), scipyGaussianKernel(e.Sigma[1], 3), reflectIndex, make([]float64, 64))
	want := f.f64(e.Dst)
	maxd := 0.0
	for i := range want {
		maxd = max(maxd, math.Abs(out[i]-want[i]))
	}
	if maxd > 1e-15 {
		t.Errorf("elastic smoothing: max difference %g from skimage.filters.gaussian", maxd)
	}
}

func TestMapCoordinatesMatchesScipy(t *testing.T) {
	f := loadFixtures(t)
	m := f.MapCoords
	const H, W, C = 21, 26, 3
	got := make([]uint8, H*W*C)
	mapCoordinatesHWC(f.f32(m.Img), H, W, C, f.f32(m.Dy), f.f32(m.Dx), got)
	exact, maxDiff, _ := agreement(got, f.u8(m.Out))
	if exact < 0.999 || maxDiff > 1 {
		t.Errorf("differs from scipy map_coordinates: %.4f exact, max |Δ| %d", exact, maxDiff)
	}
}

func TestWarpAffineMatchesOpenCV(t *testing.T) {
	f := loadFixtures(t)
	w := f.WarpAffine
	var p1, p2 [3][2]float32
	for i := 0; i < 3; i++ {
		for j := 0; j < 2; j++ {
			p1[i][j] = float32(w.Pts1[2*i+j])
			p2[i][j] = float32(w.Pts2[2*i+j])
		}
	}
	M := solveAffine(p1, p2)
	wantM := f.f64(w.M)
	for i := range M {
		if math.Abs(M[i]-wantM[i]) > 1e-12 {
			t.Errorf("affine matrix element %d: %v, cv2.getAffineTransform %v", i, M[i], wantM[i])
		}
	}
	const H, W = 64, 64
	out := make([]float32, H*W)
	warpAffineReflect101(f.f32(w.Img), out, H, W, 1, [6]float64(wantM))
	want := f.f32(w.Out)
	maxd := 0.0
	for i := range want {
		maxd = max(maxd, math.Abs(float64(out[i]-want[i])))
	}
	if maxd > 1e-6 {
		t.Errorf("warped image: max difference %g from cv2.warpAffine", maxd)
	}
}

func TestMagickMotionBlurMatchesImageMagick(t *testing.T) {
	f := loadFixtures(t)
	for _, m := range f.Magick {
		t.Run(fmt.Sprintf("r%d_s%g_a%g", m.Radius, m.Sigma, m.Angle), func(t *testing.T) {
			mk := newMotionKernelMagick(m.Radius, m.Sigma)
			width := len(mk.w)
			oy, ox := make([]int, width), make([]int, width)
			n := motionOffsets(width, magickDegToRad(m.Angle), m.H, m.W, false, oy, ox)
			acc := make([]float64, m.W*m.H)
			motionAccumulate(f.u8(m.Src), acc, m.H, m.W, 1, mk.w, oy, ox, n)
			got := make([]uint8, len(acc))
			for i, v := range acc {
				got[i] = magickRound8(v)
			}
			exact, maxDiff, meanAbs := agreement(got, f.u8(m.Dst))
			if exact < 1 {
				t.Errorf("differs from ImageMagick -motion-blur: %.4f exact, max |Δ| %d, mean |Δ| %.4f", exact, maxDiff, meanAbs)
			}
			t.Logf("exact %.4f, max |Δ| %d", exact, maxDiff)
		})
	}
}

// seqSource replays the uniform draws of testdata/gen.py: Float64 returns
// k/2⁵³ for k = (i·2654435761·97 + 12345) mod 2⁵³.
type seqSource struct{ i uint64 }

func (s *seqSource) Uint64() uint64 {
	k := (s.i*2654435761*97 + 12345) % (1 << 53)
	s.i++
	return k
}

func TestPlasmaFractalMatchesNumpyRoll(t *testing.T) {
	f := loadFixtures(t)
	for _, p := range f.Plasma {
		m := make([]float64, p.N*p.N)
		plasmaFractal(p.N, p.Decay, rand.New(&seqSource{}), m)
		want := f.f64(p.Out)
		maxd := 0.0
		for i := range want {
			maxd = max(maxd, math.Abs(m[i]-want[i]))
		}
		if maxd > 1e-12 {
			t.Errorf("map %d decay %g: max difference %g from the numpy diamond-square", p.N, p.Decay, maxd)
		}
	}
}

func TestSnowBlendMatchesReference(t *testing.T) {
	f := loadFixtures(t)
	img := f.image("rgb")
	out := make([]uint8, len(img.Pix))
	snowBlend(f.SnowBlend.Blend, img, f.f64(f.SnowBlend.Layer), out)
	exact, maxDiff, _ := agreement(out, f.u8(f.SnowBlend.Out))
	if exact < 0.999 || maxDiff > 1 {
		t.Errorf("differs from the numpy/OpenCV blend: %.4f exact, max |Δ| %d", exact, maxDiff)
	}
}

func TestNumpyMotionBlurMatches(t *testing.T) {
	f := loadFixtures(t)
	for _, m := range f.NumpyMotion {
		t.Run(fmt.Sprintf("r%d_s%g_a%g_%s", m.Radius, m.Sigma, m.Angle, m.Image), func(t *testing.T) {
			img := f.image(m.Image)
			mk := newMotionKernelNumpy(m.Radius, m.Sigma)
			width := len(mk.w)
			oy, ox := make([]int, width), make([]int, width)
			n := motionOffsets(width, degToRad(m.Angle), img.H, img.W, true, oy, ox)
			acc := make([]float64, len(img.Pix))
			motionAccumulate(img.Pix, acc, img.H, img.W, img.C, mk.w, oy, ox, n)
			got := make([]uint8, len(acc))
			for i, v := range acc {
				got[i] = truncU8(v)
			}
			exact, maxDiff, _ := agreement(got, f.u8(m.Dst))
			if exact < 0.999 || maxDiff > 1 {
				t.Errorf("differs from the numpy shift-and-add: %.4f exact, max |Δ| %d", exact, maxDiff)
			}
		})
	}
}

// TestGlassShuffleMatchesNumpy runs the glass-blur loop with the fixed
// draws dx = (7k+3) mod 2δ - δ, dy = (11k+5) mod 2δ - δ and compares with
// numpy executing the reference's tuple assignment on an RGB array.
func TestGlassShuffleMatchesNumpy(t *testing.T) {
	f := loadFixtures(t)
	g := f.GlassShuffle
	img := f.image("rgb")
	d, k := g.Delta, 0
	glassShuffle(img.Pix, img.H, img.W, img.C, d, g.Iters, func() (int, int) {
		dx, dy := (k*7+3)%(2*d)-d, (k*11+5)%(2*d)-d
		k++
		return dx, dy
	})
	if exact, maxDiff, _ := agreement(img.Pix, f.u8(g.Out)); exact != 1 {
		t.Errorf("differs from numpy: %.4f exact, max |Δ| %d", exact, maxDiff)
	}
}
