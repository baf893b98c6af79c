package analysis

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/roles"
)

// OptimizerConfig is one optimizer and its learning rate.
type OptimizerConfig struct {
	Optimizer string  `toml:"optimizer" json:"optimizer"`
	LR        float64 `toml:"lr" json:"lr"`
}

// Config is the analyses of one experiment: the reconstruction grid of
// noisy test images (Figs. 5, 10, 11; the content share) and the saliency
// analysis of clean images (Figs. 6, 7).
type Config struct {
	// Layer is the reconstructed layer (conv3_1, the co-trained layer).
	Layer string `toml:"layer"`
	// Steps per reconstruction (8,000).
	Steps int `toml:"steps"`
	// Budgets are the norm constraints, in the paper's unit: the L2 norm
	// of the network's input in normalized pixels over its C channels,
	// for 64×64 images (BudgetScale converts to other sizes).
	Budgets []float64 `toml:"budgets"`
	// BudgetScale multiplies every budget; 0 scales by
	// √(H·W·C / (64·64·3)), which keeps the contrast per input value of the
	// paper's 64×64×3 input on other image sizes and channel counts.
	BudgetScale float64 `toml:"budget_scale"`
	// CoTrained is the optimizer of co-trained models (MTL-*: SGD, lr 5),
	// Classifier that of the Baseline and the Oracle (Adam, lr 0.01).
	CoTrained  OptimizerConfig `toml:"cotrained"`
	Classifier OptimizerConfig `toml:"classifier"`
	// Loss is LossMean (the original code's objective) or LossSum.
	Loss string `toml:"loss"`
	// BlurSigma is the original code's Gaussian gradient preconditioning
	// (σ = 1 px); 0 turns it off.
	BlurSigma float64 `toml:"blur_sigma"`
	// Seed seeds the initial images and the noise of the targets.
	Seed uint64 `toml:"seed"`
	// Sphere projects onto the sphere ‖x‖ = r, as the original's demo did,
	// instead of the ball ‖x‖ ≤ r.
	Sphere bool `toml:"sphere"`
	// ModelSeed picks which seed's models are analyzed (0: the
	// experiment's first).
	ModelSeed int64 `toml:"model_seed"`
	// Models are the models of the reconstruction grid (default: every
	// classifier of the experiment).
	Models []roles.Role `toml:"models"`
	// First and Images select the test images of the grid: Images from
	// index First.
	First  int `toml:"first"`
	Images int `toml:"images"`
	// Noise and Severity corrupt the grid's targets (Gaussian noise,
	// severity 2, from the experiment's corruption table).
	Noise    string `toml:"noise"`
	Severity int    `toml:"severity"`
	// Saliency is the saliency analysis.
	Saliency SaliencyConfig `toml:"saliency"`
	// Batch caps the reconstructions in one graph (0: a model's whole grid
	// at once).
	Batch int `toml:"batch"`
	// CheckpointEvery is how often (steps) the iterate is saved.
	CheckpointEvery int `toml:"checkpoint_every"`
}

// SaliencyConfig is the saliency analysis: clean images reconstructed by
// MTL-Monkey, the Oracle and the Baseline, masks from saliency maps.
type SaliencyConfig struct {
	// First and Images select the test images (the paper: 70 ImageNet
	// images).
	First  int `toml:"first"`
	Images int `toml:"images"`
	// Models are the models compared (MTL-Monkey first, then the others).
	Models []roles.Role `toml:"models"`
	// Maps is a folder of saliency maps (INDEX.npy or INDEX.png, e.g. from
	// DeepGaze II); empty: the spectral-residual model.
	Maps string `toml:"maps"`
	// Mass is the binarization threshold (0.7).
	Mass float64 `toml:"mass"`
}

// PaperBudgets is this reading of Fig. 10's nine norm constraints: the
// text names 5, 15 and 60 (Fig. 5) and the original demo used 5, 10, 20,
// 40 and 60; the other values fill the range up to about the norm of a
// whole 64×64×3 image (docs/analysis.md).
func PaperBudgets() []float64 { return []float64{5, 10, 15, 20, 30, 40, 60, 80, 100} }

// Paper returns the paper's settings (Safarani et al. §4, appendix A).
func Paper() Config {
	return Config{
		Layer:           "conv3_1",
		Steps:           8000,
		Budgets:         PaperBudgets(),
		CoTrained:       OptimizerConfig{Optimizer: SGD, LR: 5},
		Classifier:      OptimizerConfig{Optimizer: Adam, LR: 0.01},
		Loss:            LossMean,
		BlurSigma:       1,
		Seed:            1,
		Images:          70,
		Noise:           "gaussian_noise",
		Severity:        2,
		CheckpointEvery: 200,
		Saliency: SaliencyConfig{Images: 70, Mass: DefaultMass,
			Models: []roles.Role{roles.MTLMonkey, roles.Oracle, roles.Baseline}},
	}
}

// Used reports whether the analyses are configured to run.
func (c Config) Used() bool { return c.Images > 0 || c.Saliency.Images > 0 }

// Validate checks the configuration.
func (c Config) Validate() error {
	if !c.Used() {
		return nil
	}
	s := Settings{Layer: c.Layer, Steps: c.Steps, Loss: c.Loss, BlurSigma: c.BlurSigma}
	for _, o := range []OptimizerConfig{c.CoTrained, c.Classifier} {
		s.Optimizer, s.LR = o.Optimizer, o.LR
		if err := s.Validate(); err != nil {
			return fmt.Errorf("[analysis]: %w", err)
		}
	}
	if len(c.Budgets) == 0 {
		return errors.New("[analysis]: no budgets")
	}
	for _, b := range c.Budgets {
		if !(b > 0) || math.IsInf(b, 0) {
			return fmt.Errorf("[analysis]: budget %v must be positive", b)
		}
	}
	if c.BudgetScale < 0 {
		return fmt.Errorf("[analysis]: budget_scale %v must not be negative (0: automatic)", c.BudgetScale)
	}
	if c.First < 0 || c.Images < 0 || c.Saliency.First < 0 || c.Saliency.Images < 0 || c.Batch < 0 || c.CheckpointEvery < 0 {
		return errors.New("[analysis]: counts must not be negative")
	}
	if c.Images > 0 && !slices.Contains(corrupt.Names(), c.Noise) {
		return fmt.Errorf("[analysis]: noise %q is not a corruption (known: %v)", c.Noise, corrupt.Names())
	}
	if c.Images > 0 && (c.Severity < 1 || c.Severity > corrupt.Severities) {
		return fmt.Errorf("[analysis]: severity %d must be 1–%d", c.Severity, corrupt.Severities)
	}
	for _, m := range append(slices.Clone(c.Models), c.Saliency.Models...) {
		if !m.Classifies() || m == roles.Other {
			return fmt.Errorf("[analysis]: model %q: want a classifier of %v", m, roles.Table1())
		}
	}
	if c.Saliency.Images > 0 {
		if len(c.Saliency.Models) < 2 || c.Saliency.Models[0] != roles.MTLMonkey {
			return fmt.Errorf("[analysis.saliency]: models %v must start with %q and name at least one model to compare", c.Saliency.Models, roles.MTLMonkey)
		}
		if !(c.Saliency.Mass > 0 && c.Saliency.Mass <= 1) {
			return fmt.Errorf("[analysis.saliency]: mass %v must be in (0, 1]", c.Saliency.Mass)
		}
	}
	return nil
}

// Optimizer returns the optimizer of a model of role r: the paper's SGD
// for co-trained models, Adam for the Baseline and the Oracle.
func (c Config) Optimizer(r roles.Role) OptimizerConfig {
	if r.IsMTL() {
		return c.CoTrained
	}
	return c.Classifier
}

// Scale is the factor from the paper's budgets to this input's: the
// configured BudgetScale or √(H·W·C/(64·64·3)).
func (c Config) Scale(h, w, channels int) float64 {
	if c.BudgetScale > 0 {
		return c.BudgetScale
	}
	return math.Sqrt(float64(h*w*max(channels, 1)) / (64 * 64 * 3))
}

// Settings are the reconstruction settings of a model of role r.
func (c Config) Settings(r roles.Role) Settings {
	o := c.Optimizer(r)
	return Settings{Layer: c.Layer, Steps: c.Steps, Optimizer: o.Optimizer, LR: o.LR, Loss: c.Loss, BlurSigma: c.BlurSigma, Seed: c.Seed, Sphere: c.Sphere}
}
