package attack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// BrendelBethge configures the L2 gradient-based boundary attack (Brendel
// et al. 2019): from an adversarial starting point on the decision
// boundary, every step linearizes the boundary with the gradient of the
// margin (the label's logit minus the largest other) and moves to the
// point that (a) lies on the linearized boundary, overshooting it
// slightly, (b) stays in the pixel box, (c) is as close to the clean image
// as possible and (d) moves at most lr·‖x − x0‖ (the trust region where
// the linearization holds). The trust radius lr halves LRNumDecay times
// over the run; the search covers every lr of LRs.
type BrendelBethge struct {
	Steps int `toml:"steps" json:"steps"` // foolbox's 1000
	// LRs are the trust-region sizes searched: Li et al.'s {0.0003, 0.001,
	// 0.003, 0.01, 0.03, 0.1, 0.3} (the paper's list repeats 0.03 where
	// the half-decade sequence has 0.3).
	LRs        []float64 `toml:"lrs" json:"lrs"`
	LRDecay    float64   `toml:"lr_decay" json:"lr_decay"`         // foolbox's 0.5
	LRNumDecay int       `toml:"lr_num_decay" json:"lr_num_decay"` // foolbox's 20
	// Overshoot aims each step at a margin of −(Overshoot − 1)·|margin|,
	// just past the boundary (foolbox's 1.1), and at least twice the
	// verification margin past it.
	Overshoot float64 `toml:"overshoot" json:"overshoot"`
	// BinarySearchSteps bisect the segment from the clean image to a
	// starting point onto the boundary (foolbox's 10).
	BinarySearchSteps int `toml:"binary_search_steps" json:"binary_search_steps"`
	// NoiseDraws is how many uniform-noise images are tried per image as a
	// starting point when neither a natural image nor another attack gives
	// one.
	NoiseDraws int `toml:"noise_draws" json:"noise_draws"`
	// Checkpoints are the step counts at which the best distance so far is
	// recorded for Fig. 5 (those ≤ Steps).
	Checkpoints []int `toml:"checkpoints" json:"checkpoints"`
}

// DefaultBrendelBethge is foolbox's L2 attack with Li et al.'s lr grid.
func DefaultBrendelBethge() BrendelBethge {
	return BrendelBethge{Steps: 1000, LRs: []float64{3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3}, LRDecay: 0.5, LRNumDecay: 20,
		Overshoot: 1.1, BinarySearchSteps: 10, NoiseDraws: 20, Checkpoints: []int{10, 30, 100, 300, 1000}}
}

// Validate checks the configuration.
func (c BrendelBethge) Validate() error {
	if c.Steps < 1 || len(c.LRs) == 0 || c.LRNumDecay < 1 || !(c.LRDecay > 0 && c.LRDecay <= 1) || !(c.Overshoot >= 1) || c.BinarySearchSteps < 1 {
		return fmt.Errorf("brendel-bethge: steps ≥ 1, lrs, lr_num_decay ≥ 1, lr_decay in (0, 1], overshoot ≥ 1 and binary_search_steps ≥ 1 needed")
	}
	for _, lr := range c.LRs {
		if !(lr > 0 && lr <= 1) {
			return fmt.Errorf("brendel-bethge: lr %v must be in (0, 1]", lr)
		}
	}
	if !slices.IsSorted(c.Checkpoints) {
		return fmt.Errorf("brendel-bethge: checkpoints %v must be ascending", c.Checkpoints)
	}
	return nil
}

// budgets are the checkpoints ≤ Steps, and Steps itself.
func (c BrendelBethge) budgets() []int {
	var out []int
	for _, k := range c.Checkpoints {
		if k < c.Steps {
			out = append(out, k)
		}
	}
	return append(out, c.Steps)
}

// startingPoints finds, for every attacked image, an adversarial point on
// the segment from it to the nearest candidate: the given starts (another
// attack's adversarials), the natural images of pool that the model
// classifies as anything but the image's label (Li et al.: "a natural
// input sample that is classified as different"), and, for images that
// have neither, blended uniform noise. Each candidate is bisected onto the
// boundary; the closest adversarial end wins. Rows without any stay nil.
func (t *Target) startingPoints(x0 []float32, labels []int32, n int, attack []bool, starts []found, pool []float32, poolPred []int32, c BrendelBethge, rng *rand.Rand) ([][]float32, error) {
	px := t.H * t.W
	cand := make([][]float32, n)
	for i := range n {
		if !attack[i] {
			continue
		}
		if starts != nil && starts[i].img != nil {
			cand[i] = starts[i].img
		}
		// The nearest differently classified natural image.
		bestD := math.Inf(1)
		var nat []float32
		for j := range len(poolPred) {
			if poolPred[j] == labels[i] {
				continue
			}
			img := pool[j*px : (j+1)*px]
			if d := l2(img, x0[i*px:(i+1)*px]); d < bestD {
				bestD, nat = d, img
			}
		}
		if nat != nil {
			cand[i] = nearer(cand[i], nat, x0[i*px:(i+1)*px])
		}
	}
	ends, err := t.toBoundary(x0, labels, n, cand, c.BinarySearchSteps)
	if err != nil {
		return nil, err
	}
	// Blended uniform noise where nothing else was found.
	for draw := 0; draw < c.NoiseDraws; draw++ {
		var need []int
		noise := make([][]float32, n)
		for i := range n {
			if attack[i] && ends[i] == nil {
				need = append(need, i)
				noise[i] = make([]float32, px)
				for j := range noise[i] {
					noise[i][j] = float32(rng.Float64())
				}
			}
		}
		if len(need) == 0 {
			break
		}
		got, err := t.toBoundary(x0, labels, n, noise, c.BinarySearchSteps)
		if err != nil {
			return nil, err
		}
		for _, i := range need {
			ends[i] = got[i]
		}
	}
	return ends, nil
}

// nearer returns whichever of a (may be nil) and b is closer to x.
func nearer(a, b, x []float32) []float32 {
	if a == nil || l2(b, x) < l2(a, x) {
		return b
	}
	return a
}

// toBoundary bisects, for every row with a candidate that is adversarial,
// the segment from the clean image to the candidate and returns its
// adversarial end after steps bisections (nil where the candidate is not
// adversarial).
func (t *Target) toBoundary(x0 []float32, labels []int32, n int, cand [][]float32, steps int) ([][]float32, error) {
	px := t.H * t.W
	blend := func(ts []float64) []float32 {
		x := slices.Clone(x0)
		for i := range n {
			if cand[i] == nil {
				continue
			}
			for j := range px {
				x[i*px+j] = (1-float32(ts[i]))*x0[i*px+j] + float32(ts[i])*cand[i][j]
			}
		}
		return x
	}
	lo, hi := make([]float64, n), make([]float64, n)
	for i := range hi {
		hi[i] = 1
	}
	pred, err := t.Predict(blend(hi), n)
	if err != nil {
		return nil, err
	}
	ok := make([]bool, n)
	for i := range n {
		ok[i] = cand[i] != nil && pred[i] != labels[i]
	}
	mid := make([]float64, n)
	for range steps {
		for i := range n {
			mid[i] = (lo[i] + hi[i]) / 2
		}
		pred, err := t.Predict(blend(mid), n)
		if err != nil {
			return nil, err
		}
		for i := range n {
			if pred[i] != labels[i] {
				hi[i] = mid[i]
			} else {
				lo[i] = mid[i]
			}
		}
	}
	x := blend(hi)
	out := make([][]float32, n)
	for i := range n {
		if ok[i] {
			out[i] = slices.Clone(x[i*px : (i+1)*px])
		}
	}
	return out, nil
}

// brendelBethge runs the boundary attack with trust-region size lr from
// the starting points start (nil rows are not attacked) and returns the
// best adversarial per image and the best distance after each budget.
func (t *Target) brendelBethge(x0 []float32, labels []int32, n int, start [][]float32, lr float64, c BrendelBethge) ([]found, [][]float64, error) {
	px := t.H * t.W
	best := notFound(n)
	budgets := c.budgets()
	perBudget := make([][]float64, len(budgets))
	x := slices.Clone(x0)
	for i := range n {
		if start[i] != nil {
			copy(x[i*px:], start[i])
		}
	}
	interval := max(c.Steps/c.LRNumDecay, 1)
	workspaces := make([]*trustWorkspace, min(t.threads, n))
	for w := range workspaces {
		workspaces[w] = newTrustWorkspace(px)
	}
	next := 0
	for k := 0; k <= c.Steps; k++ {
		if err := t.interrupted(); err != nil {
			return nil, nil, err
		}
		margin, logits, grad, err := t.marginGrad(x, labels, n)
		if err != nil {
			return nil, nil, err
		}
		// An iterate counts once it clears the boundary by the margin
		// the final verification asks for.
		classes := len(logits) / n
		safe := make([]float64, n)
		for i := range n {
			safe[i] = verifyMargin * (1 + math.Abs(float64(logits[i*classes+int(labels[i])])))
			if start[i] != nil && float64(margin[i]) < -safe[i] {
				best[i].offer(l2(x[i*px:(i+1)*px], x0[i*px:(i+1)*px]), x[i*px:(i+1)*px])
			}
		}
		for next < len(budgets) && budgets[next] == k {
			perBudget[next] = make([]float64, n)
			for i := range n {
				perBudget[next][i] = best[i].dist
			}
			next++
		}
		if k == c.Steps {
			break
		}
		rate := lr * math.Pow(c.LRDecay, float64(k/interval))
		parallelRows(n, workspaces, func(i int, ws *trustWorkspace) {
			if start[i] == nil {
				return
			}
			xi, oi, gi := x[i*px:(i+1)*px], x0[i*px:(i+1)*px], grad[i*px:(i+1)*px]
			for j := range px {
				ws.d[j] = float64(oi[j]) - float64(xi[j])
				ws.b[j] = float64(gi[j])
				ws.lo[j] = -float64(xi[j])
				ws.hi[j] = 1 - float64(xi[j])
			}
			m := float64(margin[i])
			target := -m - max((c.Overshoot-1)*math.Abs(m), 2*safe[i]) // the change of the margin asked for
			r := rate * l2(xi, oi)
			ws.solve(target, r, m < -safe[i])
			for j := range px {
				xi[j] = clamp01(float32(float64(xi[j]) + ws.delta[j]))
			}
		})
	}
	return best, perBudget, nil
}

// parallelRows calls step for rows 0…n−1, spread over one goroutine per
// workspace (each row's step reads and writes only its own row, so the
// result does not depend on the split).
func parallelRows(n int, ws []*trustWorkspace, step func(i int, ws *trustWorkspace)) {
	var wg sync.WaitGroup
	for w, work := range ws {
		wg.Go(func() {
			for i := w; i < n; i += len(ws) {
				step(i, work)
			}
		})
	}
	wg.Wait()
}

// trustWorkspace solves one image's step of the boundary attack:
//
//	minimize ‖δ − d‖ subject to b·δ = c, lo ≤ δ ≤ hi, ‖δ‖ ≤ r,
//
// with d = x0 − x, b the margin's gradient, c the margin change asked for
// and [lo, hi] the pixel box around x. For Lagrange multipliers λ (of the
// boundary) and μ (of the trust region) the minimizer is separable,
// δᵢ = clip((dᵢ − λ·bᵢ)/(1 + μ), loᵢ, hiᵢ); b·δ falls monotonically in λ
// and ‖δ‖ in μ, so both are found by one-dimensional root finding. Where
// the boundary cannot be reached inside the box, the step goes as far
// toward it as the box allows; where it cannot be reached inside the trust
// region, the shortest step to it is shortened to length r.
type trustWorkspace struct {
	d, b, lo, hi, delta []float64
}

func newTrustWorkspace(n int) *trustWorkspace {
	return &trustWorkspace{d: make([]float64, n), b: make([]float64, n), lo: make([]float64, n), hi: make([]float64, n), delta: make([]float64, n)}
}

// at sets delta for multipliers (λ, s = 1/(1+μ)) with the pull toward x0
// weighted by pull (0: none, 1: full), and returns b·δ.
func (w *trustWorkspace) at(lambda, s, pull float64) float64 {
	var g float64
	d, lo, hi, delta := w.d[:len(w.b)], w.lo[:len(w.b)], w.hi[:len(w.b)], w.delta[:len(w.b)]
	for i, b := range w.b {
		// Comparisons, not the min and max builtins: their NaN and
		// signed-zero rules made this, the attack's hottest loop, 2–2.5×
		// slower.
		v := s * (pull*d[i] - lambda*b)
		if v < lo[i] {
			v = lo[i]
		}
		if v > hi[i] {
			v = hi[i]
		}
		delta[i] = v
		g += b * v
	}
	return g
}

func (w *trustWorkspace) norm() float64 {
	var s float64
	for _, v := range w.delta {
		s += v * v
	}
	return math.Sqrt(s)
}

// boundary finds λ with b·δ(λ) = c for fixed s and pull (b·δ falls in λ),
// c clamped to what the box allows, and leaves δ(λ) in delta.
func (w *trustWorkspace) boundary(c, s, pull float64) {
	var gmin, gmax float64
	for i, b := range w.b {
		if b > 0 {
			gmin += b * w.lo[i]
			gmax += b * w.hi[i]
		} else {
			gmin += b * w.hi[i]
			gmax += b * w.lo[i]
		}
	}
	c = min(max(c, gmin), gmax)
	// Bracket λ.
	a, fa := -1.0, w.at(-1, s, pull)-c
	z, fz := 1.0, w.at(1, s, pull)-c
	for i := 0; fa < 0 && i < 200; i++ {
		a *= 4
		fa = w.at(a, s, pull) - c
	}
	for i := 0; fz > 0 && i < 200; i++ {
		z *= 4
		fz = w.at(z, s, pull) - c
	}
	// Illinois regula falsi on the piecewise linear, falling b·δ(λ).
	tol := 1e-12 * (math.Abs(c) + math.Abs(gmax-gmin) + 1e-30)
	side := 0
	lam := z
	for range 200 {
		lam = (a*fz - z*fa) / (fz - fa)
		if !(lam > min(a, z) && lam < max(a, z)) {
			lam = (a + z) / 2
		}
		f := w.at(lam, s, pull) - c
		if math.Abs(f) <= tol || math.Abs(z-a) <= 1e-15*math.Abs(lam) {
			return
		}
		if f > 0 { // λ too small
			a, fa = lam, f
			if side == -1 {
				fz /= 2
			}
			side = -1
		} else {
			z, fz = lam, f
			if side == 1 {
				fa /= 2
			}
			side = 1
		}
	}
	w.at(lam, s, pull)
}

// solve leaves the step in delta. From a point that is not adversarial
// (adv false) the step only returns to the boundary, the shortest way:
// the pull toward x0 raises the margin faster than the linearization
// predicts, and the iterate would drift along the wrong side.
func (w *trustWorkspace) solve(c, r float64, adv bool) {
	if adv {
		w.boundary(c, 1, 1)
		if w.norm() <= r {
			return
		}
	}
	// The shortest step to the boundary (no pull toward x0).
	w.boundary(c, 1, 0)
	if n := w.norm(); n >= r {
		for i := range w.delta {
			w.delta[i] *= r / n
		}
		return
	}
	if !adv {
		return
	}
	// ‖δ‖ = r: with s = 1/(1+μ), δ = clip(s·d − ν·b) where ν = s·λ; the
	// pull s·d toward x0 shrinks with μ. Bisect the pull's weight.
	lo, hi := 0.0, 1.0
	for range 40 {
		mid := (lo + hi) / 2
		w.boundary(c, 1, mid)
		if w.norm() > r {
			hi = mid
		} else {
			lo = mid
		}
		if hi-lo < 1e-6 {
			break
		}
	}
	w.boundary(c, 1, lo)
}
