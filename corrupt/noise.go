package corrupt

import (
	"math"
	"math/rand/v2"
)

// u8scale[v] is v/255 as numpy computes np.array(x)/255. for uint8 x.
var u8scale = func() (t [256]float64) {
	for v := range t {
		t[v] = float64(v) / 255
	}
	return t
}()

// gaussianNoise: clip(x/255 + N(0, c²), 0, 1)·255, truncated.
func gaussianNoise(c float64, src, dst []uint8, rng *rand.Rand) {
	for i, v := range src {
		dst[i] = finish01(u8scale[v] + c*rng.NormFloat64())
	}
}

// poissonTable samples shot noise by inversion: for every uint8 input v it
// holds the cumulative distribution of min(K, c) for K ~ Poisson(λ),
// λ = (v/255)·c, over k = 0 … ceil(c), since every count ≥ c clips to
// white. One uniform and an indexed search give an exact Poisson draw (the
// distribution numpy's samplers produce, not their random stream).
type poissonTable struct {
	c     float64
	cdf   [256][]float64
	out   [256][]uint8 // output value for each k
	guide [256][guideSize]uint16
}

// guideSize is the number of guide-table cells: guide[j] is the first k
// with cdf[k] > j/guideSize, where the search for u ∈ [j/G, (j+1)/G)
// starts (Chen & Asau's indexed search), so a draw takes about one step.
const guideSize = 32

// newPoissonTable precomputes the tables for photon count c.
func newPoissonTable(c float64) *poissonTable {
	t := &poissonTable{c: c}
	kmax := int(math.Ceil(c))
	for v := range t.cdf {
		lam := u8scale[v] * c
		cdf := make([]float64, kmax+1)
		out := make([]uint8, kmax+1)
		p := math.Exp(-lam)
		acc := 0.0
		for k := 0; k <= kmax; k++ {
			acc += p
			cdf[k] = acc
			out[k] = finish01(float64(k) / c)
			p *= lam / float64(k+1)
		}
		cdf[kmax] = math.Inf(1) // all remaining mass clips to white
		t.cdf[v], t.out[v] = cdf, out
		k := 0
		for j := 0; j < guideSize; j++ {
			for cdf[k] <= float64(j)/guideSize {
				k++
			}
			t.guide[v][j] = uint16(k)
		}
	}
	return t
}

// sample returns the shot-noise output for input value v.
func (t *poissonTable) sample(v uint8, rng *rand.Rand) uint8 {
	u := rng.Float64()
	cdf := t.cdf[v]
	k := int(t.guide[v][int(u*guideSize)])
	for cdf[k] <= u {
		k++
	}
	return t.out[v][k]
}

// shotNoise: clip(Poisson(x/255·c)/c, 0, 1)·255, truncated.
func shotNoise(t *poissonTable, src, dst []uint8, rng *rand.Rand) {
	for i, v := range src {
		dst[i] = t.sample(v, rng)
	}
}

// impulseNoise is skimage.util.random_noise(mode="s&p", amount=p): every
// element (each channel of each pixel) is independently replaced with
// probability p, by 1 or 0 with equal probability; then clip·255,
// truncated.
func impulseNoise(p float64, src, dst []uint8, rng *rand.Rand) {
	for i, v := range src {
		x := u8scale[v]
		if rng.Float64() <= p {
			if rng.Float64() <= 0.5 {
				x = 1
			} else {
				x = 0
			}
		}
		dst[i] = finish01(x)
	}
}
