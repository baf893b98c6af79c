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

// poissonTable holds, for every uint8 input value v, the Poisson mean
// λ = (v/255)·c and the constants of the sampler for that mean.
type poissonTable struct {
	c     float64
	lam   [256]float64
	small [256]float64 // exp(-λ) for the multiplication method (λ < 10)
	ptrs  [256]ptrsConsts
}

// ptrsConsts are the per-λ constants of Hörmann's PTRS sampler.
type ptrsConsts struct {
	slam, loglam, a, b, invAlpha, vr, logInvAlpha float64
}

// newPoissonTable precomputes the sampler constants for shot noise with
// photon count c.
func newPoissonTable(c float64) *poissonTable {
	t := &poissonTable{c: c}
	for v := range t.lam {
		lam := u8scale[v] * c
		t.lam[v] = lam
		if lam < 10 {
			t.small[v] = math.Exp(-lam)
			continue
		}
		p := &t.ptrs[v]
		p.slam = math.Sqrt(lam)
		p.loglam = math.Log(lam)
		p.b = 0.931 + 2.53*p.slam
		p.a = -0.059 + 0.02483*p.b
		p.invAlpha = 1.1239 + 1.1328/(p.b-3.4)
		p.vr = 0.9277 - 3.6224/(p.b-2)
		p.logInvAlpha = math.Log(p.invAlpha)
	}
	return t
}

// sample draws a Poisson variate with mean lam[v]. Like numpy it uses the
// multiplication (Knuth) method below λ = 10 and Hörmann's (1993)
// transformed rejection with squeeze (PTRS) above.
func (t *poissonTable) sample(v uint8, rng *rand.Rand) float64 {
	lam := t.lam[v]
	if lam == 0 {
		return 0
	}
	if lam < 10 {
		limit := t.small[v]
		k := 0.0
		prod := 1.0
		for {
			prod *= rng.Float64()
			if prod <= limit {
				return k
			}
			k++
		}
	}
	p := &t.ptrs[v]
	for {
		u := rng.Float64() - 0.5
		w := rng.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*p.a/us+p.b)*u + lam + 0.43)
		if us >= 0.07 && w <= p.vr {
			return k
		}
		if k < 0 || (us < 0.013 && w > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(w)+p.logInvAlpha-math.Log(p.a/(us*us)+p.b) <= -lam+k*p.loglam-lg {
			return k
		}
	}
}

// shotNoise: clip(Poisson(x/255·c)/c, 0, 1)·255, truncated.
func shotNoise(t *poissonTable, src, dst []uint8, rng *rand.Rand) {
	for i, v := range src {
		dst[i] = finish01(t.sample(v, rng) / t.c)
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
