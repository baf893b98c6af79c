package data

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// seq returns an h×w×c image whose bytes are start, start+1, ... (mod 256).
func seq(h, w, c, start int) Image {
	m := NewImage(h, w, c)
	for i := range m.Pix {
		m.Pix[i] = uint8(start + i)
	}
	return m
}

func TestCrop(t *testing.T) {
	in := seq(3, 4, 1, 1) // rows 1 2 3 4 / 5 6 7 8 / 9 10 11 12
	tests := []struct {
		name            string
		top, left, h, w int
		want            []uint8
	}{
		{"inside", 1, 1, 2, 2, []uint8{6, 7, 10, 11}},
		{"whole", 0, 0, 3, 4, in.Pix},
		{"top-left overhang", -1, -1, 2, 3, []uint8{0, 0, 0, 0, 1, 2}},
		{"bottom-right overhang", 2, 3, 2, 2, []uint8{12, 0, 0, 0}},
		{"fully outside", 5, 5, 1, 2, []uint8{0, 0}},
		{"wider than image", 0, -1, 1, 6, []uint8{0, 1, 2, 3, 4, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Crop(in, tc.top, tc.left, tc.h, tc.w)
			if got.H != tc.h || got.W != tc.w || !slices.Equal(got.Pix, tc.want) {
				t.Errorf("Crop = %dx%d %v; want %dx%d %v", got.H, got.W, got.Pix, tc.h, tc.w, tc.want)
			}
		})
	}
}

func TestPadImage(t *testing.T) {
	in := seq(2, 2, 3, 1)
	got := PadImage(in, 1)
	if got.H != 4 || got.W != 4 || got.C != 3 {
		t.Fatalf("size %dx%dx%d; want 4x4x3", got.H, got.W, got.C)
	}
	for y := range 4 {
		for x := range 4 {
			for c := range 3 {
				v := got.Pix[(y*4+x)*3+c]
				want := uint8(0)
				if y >= 1 && y <= 2 && x >= 1 && x <= 2 {
					want = in.Pix[((y-1)*2+x-1)*3+c]
				}
				if v != want {
					t.Errorf("pixel (%d,%d,%d) = %d; want %d", y, x, c, v, want)
				}
			}
		}
	}
	// 28×28 → 32×32 as for Fashion-MNIST.
	if p := PadImage(NewImage(28, 28, 1), 2); p.H != 32 || p.W != 32 {
		t.Errorf("28x28 padded by 2 is %dx%d", p.H, p.W)
	}
}

func TestFlipHorizontal(t *testing.T) {
	in := seq(2, 3, 3, 1) // pixels (1,2,3)(4,5,6)(7,8,9) / (10..)(13..)(16..)
	want := []uint8{7, 8, 9, 4, 5, 6, 1, 2, 3, 16, 17, 18, 13, 14, 15, 10, 11, 12}
	if got := FlipHorizontal(in); !slices.Equal(got.Pix, want) {
		t.Errorf("FlipHorizontal = %v; want %v", got.Pix, want)
	}
}

// pilRotations are the outputs of Pillow 9.4's
// Image.fromarray(arange(1, 36).reshape(5, 7), "L").rotate(angle,
// Image.NEAREST, False, None, fillcolor=0), the call torchvision's
// RandomRotation makes on a PIL image.
var pilRotations = []struct {
	angle float64
	want  []uint8
}{
	{7.5, []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}},
	{-13, []uint8{8, 9, 3, 4, 5, 5, 0, 15, 9, 10, 11, 12, 13, 7, 22, 16, 17, 18, 19, 20, 14, 29, 23, 24, 25, 26, 27, 21, 0, 31, 31, 32, 33, 27, 28}},
	{15, []uint8{0, 3, 4, 5, 5, 13, 14, 1, 9, 10, 11, 12, 20, 21, 8, 9, 17, 18, 19, 27, 28, 15, 16, 24, 25, 26, 27, 35, 22, 23, 31, 31, 32, 33, 0}},
	{-15, []uint8{8, 9, 3, 3, 4, 5, 0, 15, 16, 10, 11, 12, 13, 7, 22, 23, 17, 18, 19, 13, 14, 29, 23, 24, 25, 26, 20, 21, 0, 31, 32, 33, 33, 27, 28}},
	{30, []uint8{0, 0, 4, 5, 13, 14, 0, 2, 3, 11, 12, 19, 20, 28, 8, 9, 17, 18, 26, 27, 35, 8, 16, 17, 25, 25, 33, 34, 0, 22, 23, 31, 32, 0, 0}},
	{45, []uint8{0, 0, 5, 12, 13, 21, 0, 0, 3, 11, 12, 19, 27, 28, 2, 10, 10, 18, 26, 26, 34, 8, 9, 17, 24, 25, 33, 0, 0, 15, 23, 24, 31, 0, 0}},
	{10.3, []uint8{0, 2, 3, 4, 5, 6, 14, 1, 9, 10, 11, 12, 13, 21, 8, 16, 17, 18, 19, 20, 28, 15, 23, 24, 25, 26, 27, 35, 22, 30, 31, 32, 33, 34, 0}},
	{90, []uint8{0, 6, 13, 20, 27, 34, 0, 0, 5, 12, 19, 26, 33, 0, 0, 4, 11, 18, 25, 32, 0, 0, 3, 10, 17, 24, 31, 0, 0, 2, 9, 16, 23, 30, 0}},
	{-90, []uint8{0, 30, 23, 16, 9, 2, 0, 0, 31, 24, 17, 10, 3, 0, 0, 32, 25, 18, 11, 4, 0, 0, 33, 26, 19, 12, 5, 0, 0, 34, 27, 20, 13, 6, 0}},
	{180, []uint8{35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
}

func TestRotateMatchesPillow(t *testing.T) {
	in := seq(5, 7, 1, 1)
	for _, tc := range pilRotations {
		if got := Rotate(in, tc.angle); !slices.Equal(got.Pix, tc.want) {
			t.Errorf("Rotate(%v°) = %v;\n want (Pillow) %v", tc.angle, got.Pix, tc.want)
		}
	}
}

func TestRotateRGBMatchesPillow(t *testing.T) {
	// Pillow: Image.fromarray((arange(72)*5+3).astype(uint8).reshape(4, 6, 3)).rotate(20, NEAREST, fillcolor=(0,0,0)).
	in := NewImage(4, 6, 3)
	for i := range in.Pix {
		in.Pix[i] = uint8(i*5 + 3)
	}
	want := []uint8{0, 0, 0, 33, 38, 43, 48, 53, 58, 48, 53, 58, 153, 158, 163, 168, 173, 178, 3, 8, 13, 108, 113, 118, 123, 128, 133, 138, 143, 148, 243, 248, 253, 2, 7, 12, 93, 98, 103, 108, 113, 118, 213, 218, 223, 228, 233, 238, 243, 248, 253, 92, 97, 102, 183, 188, 193, 198, 203, 208, 47, 52, 57, 47, 52, 57, 62, 67, 72, 0, 0, 0}
	if got := Rotate(in, 20); !slices.Equal(got.Pix, want) {
		t.Errorf("Rotate(20°) RGB = %v;\n want (Pillow) %v", got.Pix, want)
	}
}

func TestRotate64MatchesPillow(t *testing.T) {
	// SHA-256 of Pillow's rotation of the 64×64 "L" image (7x + 13y + xy) mod 251.
	in := NewImage(64, 64, 1)
	for y := range 64 {
		for x := range 64 {
			in.Pix[y*64+x] = uint8((x*7 + y*13 + x*y) % 251)
		}
	}
	tests := []struct {
		angle float64
		sha   string
	}{
		{15, "e94202fcfa80e9073092211f9e3ec1e9350d7f29d5336fe237c41a0e6d69a39b"},
		{-15, "88f36ade43d04c1380f4e812df17e4804b91c8b8c764a355e7421e3024d258fd"},
		{3.7, "af5708479a4775bc81198a518d173e09a3dee4a8cafd25340fd5aa0e5ddab65c"},
		{-8.2, "e421aff88727a8f88bc667e653cb52246fce16ee77e064883f165317b2cbefbe"},
		{12.9, "8f4fe7da22ebcfe30f5598bc33a68a0353e9d7cad1fb5c2b827650dcbe8cfdf8"},
		{-0.01, "f7a2897da5ae9654fdb494ea6743bba8cc67b723864b010fba04ba371e826b23"},
		{0.3, "f7a2897da5ae9654fdb494ea6743bba8cc67b723864b010fba04ba371e826b23"},
	}
	for _, tc := range tests {
		sum := sha256.Sum256(Rotate(in, tc.angle).Pix)
		if got := hex.EncodeToString(sum[:]); got != tc.sha {
			t.Errorf("Rotate(%v°) of the 64×64 pattern differs from Pillow (sha256 %s, want %s)", tc.angle, got, tc.sha)
		}
	}
}

func TestRotateGeometry(t *testing.T) {
	t.Run("90 degrees is transpose then vertical flip", func(t *testing.T) {
		in := seq(4, 4, 1, 0)
		got := Rotate(in, 90)
		for y := range 4 {
			for x := range 4 {
				// Counter-clockwise: out[y][x] = in[x][W-1-y].
				if got.Pix[y*4+x] != in.Pix[x*4+3-y] {
					t.Fatalf("out[%d][%d] = %d; want in[%d][%d] = %d", y, x, got.Pix[y*4+x], x, 3-y, in.Pix[x*4+3-y])
				}
			}
		}
		if back := Rotate(Rotate(Rotate(got, 90), 90), 90); !slices.Equal(back.Pix, in.Pix) {
			t.Errorf("four 90° turns changed the image")
		}
	})
	t.Run("positive angle turns counter-clockwise", func(t *testing.T) {
		in := NewImage(5, 5, 1)
		in.Pix[2*5+4] = 255 // right of the centre
		got := Rotate(in, 90)
		if got.Pix[0*5+2] != 255 { // now above the centre
			t.Errorf("the pixel right of the centre did not move to the top: %v", got.Pix)
		}
	})
	t.Run("centre pixel is kept at every angle", func(t *testing.T) {
		for _, size := range []int{5, 7, 63} {
			in := seq(size, size, 3, 0)
			c := (size / 2 * size) + size/2
			for a := -45.0; a <= 45; a += 0.7 {
				got := Rotate(in, a)
				if !slices.Equal(got.Pix[3*c:3*c+3], in.Pix[3*c:3*c+3]) {
					t.Fatalf("size %d, %v°: centre pixel %v; want %v", size, a, got.Pix[3*c:3*c+3], in.Pix[3*c:3*c+3])
				}
			}
		}
	})
	t.Run("corners are zero filled", func(t *testing.T) {
		in := NewImage(16, 16, 3)
		for i := range in.Pix {
			in.Pix[i] = 255
		}
		for _, a := range []float64{-15, -10, 10, 15} {
			got := Rotate(in, a)
			for _, p := range [][2]int{{0, 0}, {0, 15}, {15, 0}, {15, 15}} {
				if v := got.Pix[(p[0]*16+p[1])*3]; v != 0 {
					t.Errorf("%v°: corner %v = %d; want 0", a, p, v)
				}
			}
			if v := got.Pix[(8*16+8)*3]; v != 255 {
				t.Errorf("%v°: centre = %d; want 255", a, v)
			}
		}
	})
	t.Run("matches the float inverse mapping away from pixel boundaries", func(t *testing.T) {
		in := seq(64, 64, 1, 0)
		for _, deg := range []float64{-14.3, 6.1, 11.7} {
			got := Rotate(in, deg)
			th := deg * math.Pi / 180
			agree, total := 0, 0
			for y := range 64 {
				for x := range 64 {
					dx, dy := float64(x)+0.5-32, float64(y)+0.5-32
					xi := math.Cos(th)*dx - math.Sin(th)*dy + 32
					yi := math.Sin(th)*dx + math.Cos(th)*dy + 32
					if frac := xi - math.Floor(xi); frac < 1e-3 || frac > 1-1e-3 {
						continue
					}
					if frac := yi - math.Floor(yi); frac < 1e-3 || frac > 1-1e-3 {
						continue
					}
					total++
					want := uint8(0)
					if xi >= 0 && xi < 64 && yi >= 0 && yi < 64 {
						want = in.Pix[int(yi)*64+int(xi)]
					}
					if got.Pix[y*64+x] == want {
						agree++
					}
				}
			}
			if agree != total {
				t.Errorf("%v°: %d of %d pixels differ from the float mapping", deg, total-agree, total)
			}
		}
	})
}

func TestRandomCrop(t *testing.T) {
	in := seq(8, 8, 1, 1)
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[[2]int]bool{}
	for range 2000 {
		out, err := RandomCrop{Size: 8, Padding: 2}.Apply(in, rng)
		if err != nil {
			t.Fatal(err)
		}
		// Locate the offset from the first non-zero pixel's value.
		top, left := 99, 99
		for y := range 8 {
			for x := range 8 {
				if v := out.Pix[y*8+x]; v != 0 {
					sy, sx := (int(v)-1)/8, (int(v)-1)%8
					top, left = sy-y, sx-x
					goto found
				}
			}
		}
	found:
		if want := Crop(in, top, left, 8, 8); !slices.Equal(out.Pix, want.Pix) {
			t.Fatalf("crop is not a shifted window with zero fill")
		}
		seen[[2]int{top, left}] = true
	}
	if len(seen) != 25 { // offsets -2..2 in each direction
		t.Errorf("saw %d distinct offsets; want 25: %v", len(seen), seen)
	}
	for off := range seen {
		if off[0] < -2 || off[0] > 2 || off[1] < -2 || off[1] > 2 {
			t.Errorf("offset %v outside the padding", off)
		}
	}
	if _, err := (RandomCrop{Size: 13, Padding: 2}).Apply(in, rng); err == nil {
		t.Error("a window larger than the padded image was accepted")
	}
}

func TestRandomFlipAndRotationDraws(t *testing.T) {
	in := seq(6, 6, 1, 1)
	rng := rand.New(rand.NewPCG(3, 4))
	flips := 0
	for range 4000 {
		out, _ := RandomHorizontalFlip{P: 0.5}.Apply(in, rng)
		if !slices.Equal(out.Pix, in.Pix) {
			flips++
		}
	}
	if flips < 1800 || flips > 2200 {
		t.Errorf("%d flips in 4000 draws with p = 0.5", flips)
	}
	if out, _ := (RandomHorizontalFlip{P: 0}).Apply(in, rng); !slices.Equal(out.Pix, in.Pix) {
		t.Error("p = 0 flipped")
	}
	// The rotation angle is uniform in [-15, 15): replay the draws.
	r1, r2 := rand.New(rand.NewPCG(5, 6)), rand.New(rand.NewPCG(5, 6))
	for range 200 {
		angle := -15 + 30*r2.Float64()
		out, err := RandomRotation{Degrees: 15}.Apply(in, r1)
		if err != nil {
			t.Fatal(err)
		}
		if angle < -15 || angle >= 15 || !slices.Equal(out.Pix, Rotate(in, angle).Pix) {
			t.Fatalf("rotation by %v° not reproduced", angle)
		}
	}
}

func TestGray(t *testing.T) {
	tests := []struct {
		name string
		img  Image
		want []float64 // hand computation: 0.2989 r + 0.587 g + 0.114 b on /255 values
	}{
		{"rgb", Image{H: 1, W: 3, C: 3, Pix: []uint8{255, 0, 0, 0, 255, 0, 10, 20, 30}},
			[]float64{0.2989, 0.587, (0.2989*10 + 0.587*20 + 0.114*30) / 255}},
		{"white and black", Image{H: 1, W: 2, C: 3, Pix: []uint8{255, 255, 255, 0, 0, 0}},
			[]float64{0.9999, 0}},
		{"gray image is R=G=B", Image{H: 1, W: 2, C: 1, Pix: []uint8{255, 51}},
			[]float64{0.9999, 0.9999 * 51 / 255}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make([]float32, len(tc.want))
			Gray(tc.img, got)
			for i := range got {
				if math.Abs(float64(got[i])-tc.want[i]) > 1e-6 {
					t.Errorf("pixel %d: %v; want %v", i, got[i], tc.want[i])
				}
			}
		})
	}
	// Bit-exact against the float32 expression torchvision evaluates:
	// ToTensor's v/255, then (0.2989·r + 0.587·g) + 0.114·b.
	rng := rand.New(rand.NewPCG(9, 9))
	img := NewImage(32, 32, 3)
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	img.Pix[0], img.Pix[1], img.Pix[2] = 255, 255, 255
	got := make([]float32, 32*32)
	Gray(img, got)
	for i := range got {
		r, g, b := float32(img.Pix[3*i])/255, float32(img.Pix[3*i+1])/255, float32(img.Pix[3*i+2])/255
		rw, gw, bw := float32(0.2989)*r, float32(0.587)*g, float32(0.114)*b
		if want := float32(rw+gw) + bw; got[i] != want {
			t.Fatalf("pixel %d: %v; want %v", i, got[i], want)
		}
	}
	// A gray JPEG converted to RGB gives the same values as the gray image.
	g := seq(4, 4, 1, 0)
	a, b := make([]float32, 16), make([]float32, 16)
	Gray(g, a)
	Gray(g.RGB(), b)
	if !slices.Equal(a, b) {
		t.Errorf("gray %v and its RGB copy %v differ", a, b)
	}
}

func TestNormalize(t *testing.T) {
	x := []float32{0, 0.4519, 1}
	Normalize{Mean: 0.4519, Std: 0.2221}.Apply(x)
	want := []float64{-0.4519 / 0.2221, 0, 0.5481 / 0.2221}
	for i := range x {
		if math.Abs(float64(x[i])-want[i]) > 1e-5 {
			t.Errorf("x[%d] = %v; want %v", i, x[i], want[i])
		}
	}
	for _, bad := range []Normalize{{0, 0}, {0, -1}, {0, float32(math.Inf(1))}} {
		if bad.validate() == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

func TestWithProbability(t *testing.T) {
	invert := func(img Image, _ *rand.Rand) (Image, error) {
		for i := range img.Pix {
			img.Pix[i] = 255 - img.Pix[i]
		}
		return img, nil
	}
	rng := rand.New(rand.NewPCG(7, 8))
	applied := 0
	for range 4000 {
		out, _ := WithProbability(0.5, invert)(seq(1, 1, 1, 0), rng)
		if out.Pix[0] == 255 {
			applied++
		}
	}
	if applied < 1800 || applied > 2200 {
		t.Errorf("applied %d times in 4000 with p = 0.5", applied)
	}
}
