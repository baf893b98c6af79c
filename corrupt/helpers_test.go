package corrupt

import (
	"math"
	"math/rand/v2"
	"testing"
)

// testImage returns a deterministic synthetic W×H image with C channels
// that has the ingredients the corruptions act on: smooth colour gradients,
// flat areas, sharp edges (a disc and bars) and some texture.
func testImage(W, H, C int, seed uint64) Image {
	rng := rand.New(rand.NewPCG(seed, 99))
	img := NewImage(W, H, C)
	cx, cy := float64(W)*(0.3+0.4*rng.Float64()), float64(H)*(0.3+0.4*rng.Float64())
	r := float64(min(W, H)) * (0.15 + 0.1*rng.Float64())
	phase := rng.Float64() * 6
	for y := 0; y < H; y++ {
		for x := 0; x < W; x++ {
			fx, fy := float64(x)/float64(W), float64(y)/float64(H)
			base := [3]float64{
				40 + 170*fx,
				60 + 150*fy,
				120 + 80*math.Sin(6*fx+3*fy+phase),
			}
			if math.Hypot(float64(x)-cx, float64(y)-cy) < r {
				base = [3]float64{230, 200, 40}
			}
			if (x/6)%4 == 0 && y > H*2/3 {
				base = [3]float64{15, 15, 25}
			}
			tex := 12 * (rng.Float64() - 0.5)
			for ch := 0; ch < C; ch++ {
				v := base[ch] + tex
				if C == 1 {
					v = 0.299*base[0] + 0.587*base[1] + 0.114*base[2] + tex
				}
				img.Pix[(y*W+x)*C+ch] = uint8(max(0, min(255, math.Round(v))))
			}
		}
	}
	return img
}

// mustNew creates a Corrupter or fails the test.
func mustNew(t testing.TB, opts Options) *Corrupter {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// meanAbsDiff is the mean absolute difference of two equally sized images.
func meanAbsDiff(a, b Image) float64 {
	s := 0.0
	for i := range a.Pix {
		s += math.Abs(float64(a.Pix[i]) - float64(b.Pix[i]))
	}
	return s / float64(len(a.Pix))
}
