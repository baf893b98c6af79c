package attack

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Norm is the distance an attack minimizes.
type Norm string

// The norms.
const (
	Linf Norm = "linf"
	L2   Norm = "l2"
)

// ParseNorm reads "linf" or "l2".
func ParseNorm(s string) (Norm, error) {
	switch Norm(s) {
	case Linf, L2:
		return Norm(s), nil
	}
	return "", fmt.Errorf("norm %q: want %q or %q", s, Linf, L2)
}

// Distance is the norm's distance between two images.
func (n Norm) Distance(a, b []float32) float64 {
	if n == Linf {
		return linf(a, b)
	}
	return l2(a, b)
}

// Config is the attack suite: PGD for L∞; for L2 the Brendel–Bethge
// boundary attack and DDN, the boundary attack starting from DDN's
// adversarial or the nearest differently classified natural image.
type Config struct {
	PGD           PGD           `toml:"pgd" json:"pgd"`
	BrendelBethge BrendelBethge `toml:"brendel_bethge" json:"brendel_bethge"`
	DDN           DDN           `toml:"ddn" json:"ddn"`
	// Batch is the number of images attacked together.
	Batch int `toml:"batch" json:"batch"`
	// Seed seeds the random starts and noise (one stream per batch).
	Seed uint64 `toml:"seed" json:"seed"`
}

// Default is the paper's search (Li et al. 2019 §4.2) in batches of 100.
func Default() Config {
	return Config{PGD: DefaultPGD(), BrendelBethge: DefaultBrendelBethge(), DDN: DefaultDDN(), Batch: 100, Seed: 1}
}

// Validate checks the configuration.
func (c Config) Validate() error {
	if c.Batch < 1 {
		return fmt.Errorf("attack: batch %d must be positive", c.Batch)
	}
	if err := c.PGD.Validate(); err != nil {
		return err
	}
	if err := c.BrendelBethge.Validate(); err != nil {
		return err
	}
	return c.DDN.Validate()
}

// Budgets are the attack budgets of Fig. 5 for norm: PGD's iterations for
// L∞, the boundary attack's step checkpoints for L2.
func (c Config) Budgets(norm Norm) []int {
	if norm == Linf {
		return slices.Clone(c.PGD.Iterations)
	}
	return c.BrendelBethge.budgets()
}

// Names of the attacks in Result.Attack.
const (
	AttackClean = "misclassified" // the clean image is already misclassified
	AttackPGD   = "pgd"
	AttackDDN   = "ddn"
	AttackBB    = "brendel-bethge"
	AttackNone  = "none" // never flipped
)

// Result holds the minimal perturbations of a set of images.
type Result struct {
	Norm Norm
	// Distance is, per image, the norm of the smallest perturbation found
	// that flips the model's decision (0: already misclassified; +Inf:
	// never flipped), measured on the returned image.
	Distance []float64
	// Attack names the attack that found it.
	Attack []string
	// Adversarial holds the perturbed images (n×H×W pixel values; the clean
	// image where none was found), every one re-verified by a forward pass.
	Adversarial []float32
	// Budgets and PerBudget: the smallest perturbation per image within
	// each budget of Config.Budgets ([budget][image]), for Fig. 5.
	Budgets   []int
	PerBudget [][]float64
}

// Run attacks n images x0 (pixel values in [0, 1], n×H×W) with labels in
// norm and returns the smallest perturbation per image over the attacks
// and settings of c. progress, when set, is told the number of images done
// after each batch.
func (t *Target) Run(ctx context.Context, x0 []float32, labels []int32, n int, norm Norm, c Config, progress func(done int)) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	px := t.H * t.W
	if len(x0) != n*px || len(labels) != n {
		return nil, fmt.Errorf("attack: %d values and %d labels for %d images of %d×%d", len(x0), len(labels), n, t.H, t.W)
	}
	for _, v := range x0 {
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("attack: pixel value %v outside [0, 1] (pass pixel values, not normalized ones)", v)
		}
	}
	t.ctx = ctx
	defer func() { t.ctx = nil }()
	res := &Result{Norm: norm, Distance: make([]float64, n), Attack: make([]string, n), Adversarial: slices.Clone(x0), Budgets: c.Budgets(norm)}
	res.PerBudget = make([][]float64, len(res.Budgets))
	for k := range res.PerBudget {
		res.PerBudget[k] = make([]float64, n)
	}
	for start := 0; start < n; start += c.Batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+c.Batch, n)
		rng := rand.New(rand.NewPCG(c.Seed, uint64(start)))
		if err := t.runBatch(x0[start*px:end*px], labels[start:end], end-start, norm, c, rng, res, start); err != nil {
			return nil, err
		}
		if progress != nil {
			progress(end)
		}
	}
	return res, nil
}

// verifyScales stretch a perturbation whose margin is too close to the
// boundary to be trusted (float32 rounding differs between graphs and
// batch sizes): x0 + s·(x − x0), clipped to the pixel box.
var verifyScales = [...]float64{1, 1 + 1e-5, 1 + 1e-4, 1 + 1e-3, 1 + 1e-2}

// verifyMargin is the relative margin a verified adversarial must have:
// the largest other logit exceeds the label's by more than
// verifyMargin·(1 + |label's logit|).
const verifyMargin = 1e-5

// verify re-evaluates each found image by a forward pass and returns the
// images, stretched where needed (verifyScales), with whether each is
// adversarial by the margin verifyMargin.
func (t *Target) verify(x0 []float32, labels []int32, n int, cand []found, attack []bool) ([]float32, []bool, error) {
	px := t.H * t.W
	x := slices.Clone(x0)
	pending := make([]bool, n)
	for i, f := range cand {
		if f.img != nil && attack[i] {
			copy(x[i*px:], f.img)
			pending[i] = true
		}
	}
	ok := make([]bool, n)
	for k, s := range verifyScales {
		if !slices.Contains(pending, true) {
			break
		}
		if k > 0 {
			for i := range n {
				if pending[i] {
					for j := i * px; j < (i+1)*px; j++ {
						x[j] = clamp01(x0[j] + float32(s)*(cand[i].img[j-i*px]-x0[j]))
					}
				}
			}
		}
		logits, err := t.Logits(x, n)
		if err != nil {
			return nil, nil, err
		}
		c := len(logits) / n
		for i := range n {
			if !pending[i] {
				continue
			}
			row := logits[i*c : (i+1)*c]
			y := labels[i]
			other := math.Inf(-1)
			for j, v := range row {
				if int32(j) != y {
					other = max(other, float64(v))
				}
			}
			if other-float64(row[y]) > verifyMargin*(1+math.Abs(float64(row[y]))) {
				ok[i], pending[i] = true, false
			}
		}
	}
	return x, ok, nil
}

// runBatch attacks one batch and writes its rows of res from row off.
func (t *Target) runBatch(x0 []float32, labels []int32, n int, norm Norm, c Config, rng *rand.Rand, res *Result, off int) error {
	px := t.H * t.W
	pred, err := t.Predict(x0, n)
	if err != nil {
		return err
	}
	attack := make([]bool, n)
	for i := range n {
		attack[i] = pred[i] == labels[i]
	}
	type candidate struct {
		name  string
		found []found
	}
	var cands []candidate
	var perBudget [][]float64
	if norm == Linf {
		best, pb, err := t.pgdSearch(x0, labels, n, attack, c.PGD, rng)
		if err != nil {
			return err
		}
		cands, perBudget = append(cands, candidate{AttackPGD, best}), pb
	} else {
		ddn, err := t.ddn(x0, labels, n, attack, c.DDN)
		if err != nil {
			return err
		}
		start, err := t.startingPoints(x0, labels, n, attack, ddn, x0, pred, c.BrendelBethge, rng)
		if err != nil {
			return err
		}
		bb := notFound(n)
		perBudget = make([][]float64, len(c.BrendelBethge.budgets()))
		for k := range perBudget {
			perBudget[k] = make([]float64, n)
			for i := range perBudget[k] {
				perBudget[k][i] = math.Inf(1)
			}
		}
		for _, lr := range c.BrendelBethge.LRs {
			b, pb, err := t.brendelBethge(x0, labels, n, start, lr, c.BrendelBethge)
			if err != nil {
				return err
			}
			for i := range n {
				if b[i].img != nil {
					bb[i].offer(b[i].dist, b[i].img)
				}
				for k := range pb {
					perBudget[k][i] = min(perBudget[k][i], pb[k][i])
				}
			}
		}
		cands = append(cands, candidate{AttackBB, bb}, candidate{AttackDDN, ddn})
	}
	// Verify every candidate by a forward pass; keep the smallest verified.
	for i := range n {
		res.Distance[off+i] = math.Inf(1)
		res.Attack[off+i] = AttackNone
		if !attack[i] {
			res.Distance[off+i], res.Attack[off+i] = 0, AttackClean
		}
	}
	for _, cd := range cands {
		x, ok, err := t.verify(x0, labels, n, cd.found, attack)
		if err != nil {
			return err
		}
		for i := range n {
			if !ok[i] {
				continue
			}
			row := x[i*px : (i+1)*px]
			if d := norm.Distance(row, x0[i*px:(i+1)*px]); d < res.Distance[off+i] {
				res.Distance[off+i], res.Attack[off+i] = d, cd.name
				copy(res.Adversarial[(off+i)*px:], row)
			}
		}
	}
	for k := range res.PerBudget {
		for i := range n {
			v := perBudget[k][i]
			if !attack[i] {
				v = 0
			}
			res.PerBudget[k][off+i] = max(v, res.Distance[off+i]) // never below the verified best
		}
	}
	return nil
}
