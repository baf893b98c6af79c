package attack

import (
	"fmt"
	"math"
	"slices"
)

// DDN configures the decoupled direction and norm attack (Rony et al.
// 2019), the cheap L2 cross-check: a normalized gradient-ascent step on
// the cross-entropy with a cosine-annealed step size, then a projection
// onto the L2 sphere of radius ε, which shrinks by the factor 1 − γ after
// an adversarial iterate and grows by 1 + γ after a clean one.
type DDN struct {
	Steps       int     `toml:"steps" json:"steps"`
	InitEpsilon float64 `toml:"init_epsilon" json:"init_epsilon"` // foolbox's 1
	Gamma       float64 `toml:"gamma" json:"gamma"`               // foolbox's 0.05
	// MaxStep and MinStep are the ends of the cosine schedule of the step
	// size (1 to 0.01, as Rony et al.).
	MaxStep float64 `toml:"max_step" json:"max_step"`
	MinStep float64 `toml:"min_step" json:"min_step"`
}

// DefaultDDN runs 100 steps with foolbox's ε₀ = 1 and γ = 0.05.
func DefaultDDN() DDN { return DDN{Steps: 100, InitEpsilon: 1, Gamma: 0.05, MaxStep: 1, MinStep: 0.01} }

// Validate checks the configuration.
func (c DDN) Validate() error {
	if c.Steps < 1 || !(c.InitEpsilon > 0) || !(c.Gamma > 0 && c.Gamma < 1) || !(c.MaxStep >= c.MinStep && c.MinStep > 0) {
		return fmt.Errorf("ddn: steps %d ≥ 1, init_epsilon %v > 0, gamma %v in (0, 1) and 0 < min_step %v ≤ max_step %v needed",
			c.Steps, c.InitEpsilon, c.Gamma, c.MinStep, c.MaxStep)
	}
	return nil
}

// ddn runs DDN on the rows marked in attack and returns the smallest
// adversarial iterate per image.
func (t *Target) ddn(x0 []float32, labels []int32, n int, attack []bool, c DDN) ([]found, error) {
	px := t.H * t.W
	best := notFound(n)
	delta := make([]float64, n*px)
	eps := make([]float64, n)
	worst := make([]float64, n) // the largest L2 norm inside the pixel box
	for i := range n {
		eps[i] = c.InitEpsilon
		var s float64
		for _, v := range x0[i*px : (i+1)*px] {
			m := max(float64(v), 1-float64(v))
			s += m * m
		}
		worst[i] = math.Sqrt(s)
	}
	x := slices.Clone(x0)
	for k := 0; k <= c.Steps; k++ {
		if err := t.interrupted(); err != nil {
			return nil, err
		}
		if k == c.Steps {
			logits, err := t.Logits(x, n)
			if err != nil {
				return nil, err
			}
			offerAdversarial(best, x, x0, labels, argmaxRows(logits, n), attack, px, l2)
			break
		}
		logits, grad, err := t.crossEntropyGrad(x, labels, n)
		if err != nil {
			return nil, err
		}
		pred := argmaxRows(logits, n)
		offerAdversarial(best, x, x0, labels, pred, attack, px, l2)
		alpha := c.MinStep + (c.MaxStep-c.MinStep)*(1+math.Cos(math.Pi*float64(k)/float64(c.Steps)))/2
		for i := range n {
			if !attack[i] {
				continue
			}
			g, d := grad[i*px:(i+1)*px], delta[i*px:(i+1)*px]
			var gn float64
			for _, v := range g {
				gn += float64(v) * float64(v)
			}
			gn = max(math.Sqrt(gn), 1e-12)
			var dn float64
			for j := range d {
				d[j] += alpha * float64(g[j]) / gn
				dn += d[j] * d[j]
			}
			dn = max(math.Sqrt(dn), 1e-12)
			if pred[i] != labels[i] {
				eps[i] *= 1 - c.Gamma
			} else {
				eps[i] *= 1 + c.Gamma
			}
			eps[i] = min(eps[i], worst[i])
			for j := range d {
				v := min(max(float64(x0[i*px+j])+d[j]*eps[i]/dn, 0), 1)
				d[j] = v - float64(x0[i*px+j])
				x[i*px+j] = float32(v)
			}
		}
	}
	return best, nil
}

// offerAdversarial offers each attacked row of x that pred classifies
// differently from its label to best, at its distance dist from x0.
func offerAdversarial(best []found, x, x0 []float32, labels, pred []int32, attack []bool, px int, dist func(a, b []float32) float64) {
	for i := range best {
		if attack[i] && pred[i] != labels[i] {
			row := x[i*px : (i+1)*px]
			best[i].offer(dist(row, x0[i*px:(i+1)*px]), row)
		}
	}
}
