package experiment

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cotrain/cotrain/attack"
	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/internal/progress"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/roles"
)

// AdversarialConfig is the adversarial evaluation of Li et al. 2019 §4.2
// (docs/adversarial.md): the median minimal perturbation of every
// classifier over the first Images test images, in each norm. The attack
// search (PGD's step sizes and budgets, the boundary attack's trust
// regions and steps, DDN) is in the same section: [adversarial.pgd],
// [adversarial.brendel_bethge], [adversarial.ddn].
type AdversarialConfig struct {
	// Images is the number of test images attacked; 0 runs no adversarial
	// evaluation.
	Images int `toml:"images"`
	// Norms are the norms evaluated (default both: "linf", "l2").
	Norms []attack.Norm `toml:"norms"`
	// Seeds lists the seeds whose models are attacked (default: every
	// seed of the experiment).
	Seeds []int64 `toml:"seeds"`
	// Bootstrap is the number of resamples behind the median's interval.
	Bootstrap int `toml:"bootstrap"`
	attack.Config
}

// PaperAdversarial is Li et al.'s search (off until images is set).
func PaperAdversarial() AdversarialConfig {
	return AdversarialConfig{Norms: []attack.Norm{attack.Linf, attack.L2}, Bootstrap: metrics.DefaultReplicates, Config: attack.Default()}
}

// Used reports whether the experiment evaluates adversarial robustness.
func (c AdversarialConfig) Used() bool { return c.Images > 0 }

// Validate checks the configuration.
func (c AdversarialConfig) Validate(seeds []int64) error {
	if c.Images < 0 {
		return fmt.Errorf("[adversarial]: images %d must not be negative", c.Images)
	}
	if !c.Used() {
		return nil
	}
	if len(c.Norms) == 0 {
		return fmt.Errorf("[adversarial]: norms must name \"linf\", \"l2\" or both")
	}
	for _, n := range c.Norms {
		if _, err := attack.ParseNorm(string(n)); err != nil {
			return fmt.Errorf("[adversarial]: %w", err)
		}
	}
	for _, s := range c.Seeds {
		if !slices.Contains(seeds, s) {
			return fmt.Errorf("[adversarial]: seed %d is not one of the experiment's seeds %v", s, seeds)
		}
	}
	if err := c.Config.Validate(); err != nil {
		return fmt.Errorf("[adversarial]: %w", err)
	}
	return nil
}

// adversarialFile is a model's evaluation in one norm.
func adversarialFile(norm attack.Norm) string { return "adversarial-" + string(norm) + ".json" }

// seeds are the seeds of the models attacked, of those of c.
func (c AdversarialConfig) seeds(all []int64) []int64 {
	if len(c.Seeds) == 0 {
		return all
	}
	var out []int64
	for _, s := range all {
		if slices.Contains(c.Seeds, s) {
			out = append(out, s)
		}
	}
	return out
}

// addAdversarial adds the adversarial evaluations of the classifier
// trained with seed in dir, one job per norm (none when the seed is not
// attacked).
func (p *Plan) addAdversarial(l layout, dir string, seed int64) {
	c := p.Config.Adversarial
	if !c.Used() || !slices.Contains(c.seeds(p.Config.Seeds), seed) {
		return
	}
	for _, norm := range c.Norms {
		out := l.evalFile(dir, adversarialFile(norm))
		p.add(&Job{Name: fmt.Sprintf("evaluate %s against minimal %s adversarial perturbations", shortDir(l.root, dir), norm),
			Inputs: []string{filepath.Join(dir, checkpoint.ModelFile)}, Output: out, Results: []string{out},
			run: func(r *runner) error { return r.evalAdversarial(dir, norm, out) }})
	}
}

// evalAdversarial attacks a classifier on the first test images.
func (r *runner) evalAdversarial(dir string, norm attack.Norm, out string) error {
	s, err := r.data()
	if err != nil {
		return err
	}
	c := r.cfg.Adversarial
	var bar *progress.Bar
	ev, err := attack.EvaluateRun(r.ctx, r.env.Backend, dir, s.Test, c.Images, norm, c.Config, c.Bootstrap, func(done, total int) {
		if bar == nil {
			bar = progress.New(r.env.Progress, "attack "+string(norm), total, "images")
		}
		bar.Update(done, done, "")
	})
	if err != nil {
		return err
	}
	if bar != nil {
		m := ev.Summary.Median
		bar.Done(fmt.Sprintf("median %s perturbation %.4g [%.4g, %.4g]", norm, float64(m.Median), float64(m.Low), float64(m.High)))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return ev.WriteDistances(out)
}

// adversarialResults reads the adversarial evaluations of a model's runs
// (every attacked seed, every norm); nil when the experiment has none.
func (r *runner) adversarialResults(l layout, kind roles.Role) ([]*metrics.Adversarial, error) {
	c := r.cfg.Adversarial
	if !c.Used() {
		return nil, nil
	}
	var out []*metrics.Adversarial
	for _, norm := range c.Norms {
		for _, seed := range c.seeds(r.cfg.Seeds) {
			path := l.evalFile(l.model(kind, seed), adversarialFile(norm))
			raw, err := r.read(path)
			if err != nil {
				return nil, fmt.Errorf("reading adversarial evaluation: %w", err)
			}
			var a metrics.Adversarial
			if err := json.Unmarshal(raw, &a); err != nil {
				return nil, fmt.Errorf("reading adversarial evaluation %s: %w (delete it to evaluate again)", path, err)
			}
			out = append(out, &a)
		}
	}
	return out, nil
}
