package attack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// PGD configures the L∞ attack: projected gradient descent on the
// cross-entropy (Madry et al. 2018) from a uniform random start in the
// ε-box, run for a fixed budget of iterations and stopped at the first
// adversarial iterate, inside a search for the smallest ε per image that
// it still flips. Every combination of step size and budget is searched;
// the smallest perturbation found wins.
type PGD struct {
	// StepSizes are foolbox 2's absolute step sizes at the initial
	// Epsilon; during the search the step scales with ε (α = s·ε/Epsilon),
	// as foolbox's binary search keeps stepsize/epsilon fixed. Li et al.
	// search {1e-6, 1e-5, …, 1}.
	StepSizes []float64 `toml:"step_sizes" json:"step_sizes"`
	// Iterations are the budgets searched, ascending: Li et al.'s
	// {10, 30, 50, 100, 200}. PGD stops at its first adversarial iterate,
	// so a run of the largest budget holds the runs of every smaller one
	// (same start, same steps, cut short): ε is bisected for the largest
	// budget, and each probe that succeeds at iteration s counts for every
	// budget ≥ s. Fig. 5 plots the median perturbation found within each.
	Iterations []int `toml:"iterations" json:"iterations"`
	// Epsilon is the first ε tried for an image (foolbox's 0.3); it is
	// doubled until PGD succeeds (up to 1, the whole pixel range) and then
	// halved and bisected.
	Epsilon float64 `toml:"epsilon" json:"epsilon"`
	// Tolerance ends the search when the bracket [fails, succeeds] of ε
	// is narrower than this relative width.
	Tolerance float64 `toml:"tolerance" json:"tolerance"`
	// NoRandomStart starts from the clean image instead of a uniform draw
	// in the ε-box.
	NoRandomStart bool `toml:"no_random_start" json:"no_random_start"`
	// Targets adds, for every setting, PGD on the margin of each of the
	// Targets most likely other classes (by the clean image's logits) over
	// the label: the cross-entropy's gradient mixes the directions toward
	// all classes, so on its own it can miss a nearer boundary of another
	// class (docs/adversarial.md). 0 runs the untargeted attack only, as
	// Li et al.
	Targets int `toml:"targets" json:"targets"`
}

// DefaultPGD is Li et al.'s search: seven step sizes × five budgets,
// foolbox's initial ε of 0.3, the ε bracket narrowed to 0.1 %.
func DefaultPGD() PGD {
	return PGD{
		StepSizes:  []float64{1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1},
		Iterations: []int{10, 30, 50, 100, 200},
		Epsilon:    0.3,
		Tolerance:  1e-3,
	}
}

// Validate checks the configuration.
func (p PGD) Validate() error {
	if len(p.StepSizes) == 0 || len(p.Iterations) == 0 {
		return fmt.Errorf("pgd: step_sizes and iterations must not be empty")
	}
	for _, s := range p.StepSizes {
		if !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("pgd: step size %v must be positive and finite", s)
		}
	}
	if !slices.IsSorted(p.Iterations) || p.Iterations[0] < 1 {
		return fmt.Errorf("pgd: iterations %v must be positive and ascending", p.Iterations)
	}
	if !(p.Epsilon > 0 && p.Epsilon <= 1) {
		return fmt.Errorf("pgd: epsilon %v must be in (0, 1]", p.Epsilon)
	}
	if p.Targets < 0 {
		return fmt.Errorf("pgd: targets %d must not be negative", p.Targets)
	}
	if !(p.Tolerance > 0 && p.Tolerance < 1) {
		return fmt.Errorf("pgd: tolerance %v must be in (0, 1)", p.Tolerance)
	}
	return nil
}

// found is one image's best adversarial so far under one attack.
type found struct {
	dist float64   // +Inf: none
	img  []float32 // nil: none
}

func notFound(n int) []found {
	f := make([]found, n)
	for i := range f {
		f[i].dist = math.Inf(1)
	}
	return f
}

func (f *found) offer(d float64, img []float32) {
	if d < f.dist {
		f.dist, f.img = d, slices.Clone(img)
	}
}

// pgdSearch runs the PGD search on the images of a batch whose rows are
// marked in attack; it returns the best adversarial per image and the
// best distance per budget (cumulative: within at most that many
// iterations).
func (t *Target) pgdSearch(x0 []float32, labels []int32, n int, attack []bool, p PGD, rng *rand.Rand) ([]found, [][]float64, error) {
	best := notFound(n)
	perBudget := make([][]float64, len(p.Iterations))
	for k := range perBudget {
		perBudget[k] = make([]float64, n)
		for i := range perBudget[k] {
			perBudget[k][i] = math.Inf(1)
		}
	}
	targets := [][]int32{nil} // untargeted first
	if p.Targets > 0 {
		logits, err := t.Logits(x0, n)
		if err != nil {
			return nil, nil, err
		}
		targets = append(targets, rankedOthers(logits, labels, n, p.Targets)...)
	}
	for _, s := range p.StepSizes {
		for _, tg := range targets {
			if err := t.pgdBisect(x0, labels, tg, n, attack, s/p.Epsilon, p, best, perBudget, rng); err != nil {
				return nil, nil, err
			}
		}
	}
	return best, perBudget, nil
}

// pgdBisect searches, for every attacked image, the smallest ε at which
// PGD with the largest budget and step factor·ε succeeds, starting from
// the best distance found so far: an image whose best cannot be improved
// by the tolerance leaves after one round. Every success also counts for
// the budgets it fits in (perBudget).
func (t *Target) pgdBisect(x0 []float32, labels, targets []int32, n int, attack []bool, factor float64, p PGD, best []found, perBudget [][]float64, rng *rand.Rand) error {
	iters := p.Iterations[len(p.Iterations)-1]
	lo, hi := make([]float64, n), make([]float64, n)
	probe := make([]float64, n)
	active := make([]bool, n)
	for i := range n {
		if !attack[i] {
			continue
		}
		active[i] = true
		hi[i] = best[i].dist
		if math.IsInf(hi[i], 1) {
			probe[i] = p.Epsilon
		} else {
			probe[i] = hi[i] / (1 + p.Tolerance)
		}
	}
	for slices.Contains(active, true) {
		eps, alpha := make([]float32, n), make([]float32, n)
		for i := range n {
			if active[i] {
				eps[i], alpha[i] = float32(probe[i]), float32(factor*probe[i])
			}
		}
		adv, at, err := t.pgdRun(x0, labels, targets, n, active, eps, alpha, iters, !p.NoRandomStart, rng)
		if err != nil {
			return err
		}
		for i := range n {
			if !active[i] {
				continue
			}
			if adv[i] != nil {
				d := linf(adv[i], x0[i*t.H*t.W:(i+1)*t.H*t.W])
				best[i].offer(d, adv[i])
				for k, budget := range p.Iterations {
					if at[i] <= budget {
						perBudget[k][i] = min(perBudget[k][i], d)
					}
				}
				hi[i] = min(hi[i], d, probe[i])
			} else {
				lo[i] = max(lo[i], probe[i])
			}
			switch {
			case math.IsInf(hi[i], 1):
				if lo[i] >= 1 {
					active[i] = false // not even the whole pixel range
				}
				probe[i] = min(2*lo[i], 1)
			case lo[i] == 0:
				probe[i] = hi[i] / 2
			case hi[i] <= lo[i]*(1+p.Tolerance):
				active[i] = false
			default:
				probe[i] = math.Sqrt(lo[i] * hi[i])
			}
		}
	}
	return nil
}

// pgdRun runs PGD on the active rows with per-image ε and step α for at
// most iters iterations and returns, per active row, the first adversarial
// iterate (nil: none) and its iteration (0: the start). Only rows still
// running are computed: they are gathered into a batch of the next power
// of two, regathered whenever half of it has finished.
func (t *Target) pgdRun(x0 []float32, labels, targets []int32, n int, active []bool, eps, alpha []float32, iters int, randomStart bool, rng *rand.Rand) ([][]float32, []int, error) {
	px := t.H * t.W
	x := slices.Clone(x0)
	var pending []int
	for i := range n {
		if !active[i] {
			continue
		}
		pending = append(pending, i)
		if randomStart {
			for j := i * px; j < (i+1)*px; j++ {
				x[j] = clamp01(x0[j] + eps[i]*float32(2*rng.Float64()-1))
			}
		}
	}
	adv := make([][]float32, n)
	at := make([]int, n)
	var sub *subBatch
	for step := 0; step <= iters && len(pending) > 0; step++ {
		if sub == nil || len(pending) <= sub.size/2 {
			sub = gather(pending, n, px, x, x0, labels, targets, eps, alpha)
		}
		if err := t.interrupted(); err != nil {
			return nil, nil, err
		}
		var logits, next []float32
		var err error
		if step < iters {
			logits, next, err = t.pgdStep(sub.x, sub.x0, sub.labels, sub.targets, sub.eps, sub.alpha, sub.size)
		} else {
			logits, err = t.Logits(sub.x, sub.size)
		}
		if err != nil {
			return nil, nil, err
		}
		pred := argmaxRows(logits, sub.size)
		for k, i := range sub.rows {
			if i >= 0 && adv[i] == nil && pred[k] != labels[i] {
				adv[i], at[i] = slices.Clone(sub.x[k*px:(k+1)*px]), step
				sub.rows[k] = -1
			}
		}
		if next == nil {
			break // the last iterate is checked
		}
		pending = pending[:0]
		for k, i := range sub.rows {
			if i >= 0 {
				pending = append(pending, i)
				copy(x[i*px:(i+1)*px], next[k*px:(k+1)*px])
			}
		}
		sub.x = next
	}
	return adv, at, nil
}

// subBatch is the rows of a batch still running PGD, padded to a power of
// two with copies of the first (rows[k] = −1 for padding).
type subBatch struct {
	size            int
	rows            []int
	x, x0           []float32
	labels, targets []int32
	eps, alpha      []float32
}

func gather(pending []int, n, px int, x, x0 []float32, labels, targets []int32, eps, alpha []float32) *subBatch {
	size := 1
	for size < len(pending) {
		size *= 2
	}
	size = min(size, n)
	s := &subBatch{size: size, rows: make([]int, size), x: make([]float32, size*px), x0: make([]float32, size*px),
		labels: make([]int32, size), eps: make([]float32, size), alpha: make([]float32, size)}
	if targets != nil {
		s.targets = make([]int32, size)
	}
	for k := range size {
		i := pending[0]
		s.rows[k] = -1
		if k < len(pending) {
			i, s.rows[k] = pending[k], pending[k]
		}
		copy(s.x[k*px:], x[i*px:(i+1)*px])
		copy(s.x0[k*px:], x0[i*px:(i+1)*px])
		s.labels[k], s.eps[k], s.alpha[k] = labels[i], eps[i], alpha[i]
		if targets != nil {
			s.targets[k] = targets[i]
		}
	}
	return s
}

// rankedOthers returns, for rank r < k, the r-th most likely class other
// than the label of every image (by logits; the label itself where there
// are fewer classes).
func rankedOthers(logits []float32, labels []int32, n, k int) [][]int32 {
	classes := len(logits) / n
	out := make([][]int32, min(k, classes-1))
	for r := range out {
		out[r] = make([]int32, n)
	}
	for i := range n {
		row := logits[i*classes : (i+1)*classes]
		order := make([]int32, 0, classes)
		for j := range classes {
			if int32(j) != labels[i] {
				order = append(order, int32(j))
			}
		}
		slices.SortStableFunc(order, func(a, b int32) int {
			switch {
			case row[a] > row[b]:
				return -1
			case row[a] < row[b]:
				return 1
			}
			return 0
		})
		for r := range out {
			out[r][i] = order[r]
		}
	}
	return out
}

func clamp01(v float32) float32 { return min(max(v, 0), 1) }

// linf is the L∞ distance of two images.
func linf(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// l2 is the L2 distance of two images.
func l2(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}
