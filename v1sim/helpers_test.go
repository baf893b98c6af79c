package v1sim

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"sort"
	"testing"

	"github.com/cotrain/cotrain/data/recordings"
)

const fashionDir = "/usr/share/datasets/fashion-mnist"

// loadFashion reads the first n images of a Fashion-MNIST IDX file as
// [0, 1] floats, padded with black to size×size (size ≥ 28). It skips the
// test when the file is absent.
func loadFashion(t testing.TB, file string, n, size int) [][]float32 {
	t.Helper()
	f, err := os.Open(fashionDir + "/" + file)
	if err != nil {
		t.Skipf("Fashion-MNIST not available: %v", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var hdr [4]uint32
	if err := binary.Read(gz, binary.BigEndian, &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr[0] != 0x803 || hdr[2] != 28 || hdr[3] != 28 {
		t.Fatalf("%s: unexpected IDX header %x", file, hdr)
	}
	n = min(n, int(hdr[1]))
	buf := make([]byte, 28*28)
	pad := (size - 28) / 2
	out := make([][]float32, n)
	for i := range out {
		if _, err := io.ReadFull(gz, buf); err != nil {
			t.Fatal(err)
		}
		img := make([]float32, size*size)
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				img[(y+pad)*size+x+pad] = float32(buf[y*28+x]) / 255
			}
		}
		out[i] = img
	}
	return out
}

// naturalLike returns n size×size images with an approximately 1/f
// amplitude spectrum (sums of bilinearly upsampled white noise at octave
// scales with equal variance: power density ∝ 1/f²), rescaled to [0, 1] with a random contrast.
func naturalLike(n, size int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 99))
	out := make([][]float32, n)
	for i := range out {
		img := make([]float64, size*size)
		for s := 1; s <= size/2; s *= 2 {
			g := size/s + 2
			grid := make([]float64, g*g)
			for k := range grid {
				grid[k] = rng.NormFloat64()
			}
			for y := 0; y < size; y++ {
				for x := 0; x < size; x++ {
					fy, fx := float64(y)/float64(s), float64(x)/float64(s)
					y0, x0 := int(fy), int(fx)
					ty, tx := fy-float64(y0), fx-float64(x0)
					v := grid[y0*g+x0]*(1-ty)*(1-tx) + grid[y0*g+x0+1]*(1-ty)*tx +
						grid[(y0+1)*g+x0]*ty*(1-tx) + grid[(y0+1)*g+x0+1]*ty*tx
					img[y*size+x] += v
				}
			}
		}
		var m, v float64
		for _, p := range img {
			m += p
		}
		m /= float64(len(img))
		for _, p := range img {
			v += (p - m) * (p - m)
		}
		sd := math.Sqrt(v / float64(len(img)))
		contrast := 0.1 + 0.15*rng.Float64() // RMS contrast of natural images
		o := make([]float32, len(img))
		for k, p := range img {
			o[k] = float32(min(max(0.5+(p-m)/sd*contrast, 0), 1))
		}
		out[i] = o
	}
	return out
}

// fev computes each neuron's fraction of explainable variance from a
// session's test repeats: V_tot = variance of all test trials (ddof 1),
// V_noise = mean over images of the across-repeat variance (ddof 1),
// FEV = (V_tot − V_noise)/V_tot.
func fev(s *recordings.Session) []float64 {
	groups := s.TestByImage()
	out := make([]float64, s.Neurons)
	for j := range out {
		var all []float64
		var noise float64
		for _, g := range groups {
			var vals []float64
			for _, t := range g.Trials {
				vals = append(vals, float64(s.Response(t)[j]))
			}
			noise += variance(vals)
			all = append(all, vals...)
		}
		noise /= float64(len(groups))
		tot := variance(all)
		if tot == 0 {
			out[j] = 0
			continue
		}
		out[j] = (tot - noise) / tot
	}
	return out
}

func variance(v []float64) float64 {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return s / float64(len(v)-1)
}

// quantiles returns the q-quantiles of v (linear interpolation).
func quantiles(v []float64, qs ...float64) []float64 {
	s := append([]float64{}, v...)
	sort.Float64s(s)
	out := make([]float64, len(qs))
	for i, q := range qs {
		pos := q * float64(len(s)-1)
		lo := int(pos)
		hi := min(lo+1, len(s)-1)
		out[i] = s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
	}
	return out
}

func summarize(f []float64) string {
	q := quantiles(f, 0.1, 0.25, 0.5, 0.75, 0.9)
	above := 0
	for _, v := range f {
		if v > 0.15 {
			above++
		}
	}
	return fmt.Sprintf("FEV quantiles 10/25/50/75/90%%: %.3f %.3f %.3f %.3f %.3f; fraction > 0.15: %.3f",
		q[0], q[1], q[2], q[3], q[4], float64(above)/float64(len(f)))
}
