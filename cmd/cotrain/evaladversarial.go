package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/cotrain/cotrain/attack"
	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/internal/progress"
	"github.com/cotrain/cotrain/metrics"
)

func evalAdversarialCommand() command {
	return command{
		name:    "eval adversarial",
		summary: "minimal adversarial perturbations of a trained classifier (L∞ or L2)",
		usage:   "--checkpoint DIR --data SPEC [--images 1000] [--norm linf|l2] [--out FILE.csv|.json] [--save FILE.npz] [--config FILE] [--backend B]",
		help: `Attacks the classifier trained in DIR on the first images of SPEC and
prints the median minimal perturbation with its bootstrap 95 % interval, as
Li et al. 2019 measure adversarial robustness (docs/adversarial.md). For
--norm linf: PGD with a random start and a search for the smallest ε per
image over step sizes and iteration budgets; for l2: the Brendel–Bethge
boundary attack started from DDN's adversarial or the nearest natural image
the model classifies differently, and DDN. Distances are in pixel units
(values in [0, 1]); already misclassified images count 0, never flipped
ones +Inf. --out writes the per-image distances (CSV or JSON by its
extension), --save the adversarial and original images with labels and
distances as .npz. The search is the paper's unless --config names an
experiment file (or preset) whose [adversarial] section sets it; the flags
below override single settings.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			dir := fs.String("checkpoint", "", "run directory of a trained classifier")
			spec := fs.String("data", "", "dataset spec: NAME[:FOLDER]:SPLIT")
			images := fs.Int("images", 1000, "number of images attacked (the first of the set; 0: all)")
			normFlag := fs.String("norm", "linf", "linf or l2")
			out := fs.String("out", "", "per-image distances: FILE.csv or FILE.json")
			save := fs.String("save", "", "adversarial images, originals, labels and distances: FILE.npz")
			config := fs.String("config", "", "experiment file or preset whose [adversarial] search to use")
			iters := fs.String("pgd-iterations", "", "PGD budgets, comma-separated (default 10,30,50,100,200)")
			steps := fs.String("pgd-step-sizes", "", "PGD step sizes, comma-separated (default 1e-6,…,1)")
			targets := fs.Int("pgd-targets", -1, "also run targeted PGD toward this many most likely other classes")
			bbSteps := fs.Int("bb-steps", 0, "Brendel–Bethge steps (default 1000)")
			lrs := fs.String("bb-lrs", "", "Brendel–Bethge trust-region sizes, comma-separated")
			batch := fs.Int("batch", 0, "images attacked together (default 100)")
			seed := fs.Uint64("seed", 0, "seed of the random starts (default 1)")
			boot := fs.Int("bootstrap", 0, "bootstrap replicates of the median's interval (default 250)")
			backend := backendFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if *dir == "" || *spec == "" {
					return usagef("--checkpoint and --data are required")
				}
				norm, err := attack.ParseNorm(*normFlag)
				if err != nil {
					return usageError{err}
				}
				c := attack.Default()
				replicates := metrics.DefaultReplicates
				if *config != "" {
					cfg, err := loadConfig(*config)
					if err != nil {
						return err
					}
					c = cfg.Adversarial.Config
					replicates = cfg.Adversarial.Bootstrap
				}
				if err := overrideAttack(&c, *iters, *steps, *lrs, *targets, *bbSteps, *batch, *seed); err != nil {
					return err
				}
				if *boot > 0 {
					replicates = *boot
				}
				b, err := backend.open()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				info, err := checkpoint.ReadRunInfo(*dir)
				if err != nil {
					return err
				}
				set, err := openForModel(*spec, info.Input[0])
				if err != nil {
					return err
				}
				total := set.Len()
				if *images > 0 {
					total = min(*images, total)
				}
				bar := progress.New(os.Stderr, "attack "+string(norm), total, "images")
				ev, err := attack.EvaluateRun(ctx, b, *dir, set, *images, norm, c, replicates, func(done, total int) { bar.Update(done, done, "") })
				if err != nil {
					return err
				}
				s := ev.Summary
				bar.Done(fmt.Sprintf("%d images", len(s.Images)))
				fmt.Fprintf(w, "median minimal %s perturbation %.4g (95%% bootstrap interval %.4g–%.4g) over %d images of %s in %.0f s\n",
					norm, float64(s.Median.Median), float64(s.Median.Low), float64(s.Median.High), len(s.Images), set.Name(), s.Seconds)
				fmt.Fprintf(w, "already misclassified %d, never flipped %d\n", s.Misclassified, s.Unflipped)
				for k, budget := range s.Budgets {
					fmt.Fprintf(w, "  within %d %s: median %.4g\n", budget, budgetUnit(norm), float64(s.BudgetMedians[k]))
				}
				if *out != "" {
					if err := ev.WriteDistances(*out); err != nil {
						return err
					}
				}
				if *save != "" {
					if err := ev.Save(*save); err != nil {
						return err
					}
				}
				return nil
			}
		},
	}
}

func budgetUnit(n attack.Norm) string {
	if n == attack.Linf {
		return "PGD iterations"
	}
	return "boundary-attack steps"
}

// overrideAttack applies the command line's single settings.
func overrideAttack(c *attack.Config, iters, steps, lrs string, targets, bbSteps, batch int, seed uint64) error {
	if iters != "" {
		v, err := parseList(iters, strconv.Atoi)
		if err != nil {
			return usagef("--pgd-iterations %q: %v", iters, err)
		}
		c.PGD.Iterations = v
	}
	if steps != "" {
		v, err := parseList(steps, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
		if err != nil {
			return usagef("--pgd-step-sizes %q: %v", steps, err)
		}
		c.PGD.StepSizes = v
	}
	if lrs != "" {
		v, err := parseList(lrs, func(s string) (float64, error) { return strconv.ParseFloat(s, 64) })
		if err != nil {
			return usagef("--bb-lrs %q: %v", lrs, err)
		}
		c.BrendelBethge.LRs = v
	}
	if targets >= 0 {
		c.PGD.Targets = targets
	}
	if bbSteps > 0 {
		c.BrendelBethge.Steps = bbSteps
	}
	if batch > 0 {
		c.Batch = batch
	}
	if seed > 0 {
		c.Seed = seed
	}
	if err := c.Validate(); err != nil {
		return usageError{err}
	}
	return nil
}

func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	for _, f := range strings.Split(s, ",") {
		v, err := parse(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
