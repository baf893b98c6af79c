// Package recipes holds cotrain's training recipes — the Baseline
// classifier, the Monkey Predictor, co-training, the Oracle — and the
// resumable training loop they share: the plateau learning-rate schedule
// and early stopping of the original code, atomic per-epoch checkpoints, a
// per-epoch metrics log and progress output.
package recipes

import (
	"fmt"

	"github.com/cotrain/cotrain/nn"
)

// PlateauConfig configures the ReduceLROnPlateau schedule.
type PlateauConfig struct {
	Factor        float64 `toml:"factor"`
	Patience      int     `toml:"patience"`
	Threshold     float64 `toml:"threshold"`
	ThresholdMode string  `toml:"threshold_mode"` // "rel" or "abs"
	MinLR         float64 `toml:"min_lr"`
	Cooldown      int     `toml:"cooldown"`
}

// StoppingConfig configures early stopping (spec §3.4).
type StoppingConfig struct {
	Patience   int `toml:"patience"`
	DecaySteps int `toml:"decay_steps"` // rounds of patience before training ends
	MaxEpochs  int `toml:"max_epochs"`
	// Tolerance is the absolute improvement that counts; the original used
	// the plateau threshold.
	Tolerance float64 `toml:"tolerance"`
	// OriginalSchedule restores the original's two patience mechanisms
	// (spec §3.4, §7.7): the early-stopping counter starts at −1, so it
	// waits Patience+1 bad epochs, and the learning rate follows PyTorch's
	// ReduceLROnPlateau with the [plateau] patience and threshold,
	// counting bad epochs of its own. By default the counter starts at 0
	// and the learning rate is multiplied by the plateau factor exactly
	// when the patience runs out and the best weights are restored, so the
	// two never drift apart; [plateau] patience, threshold and cooldown
	// then have no effect.
	OriginalSchedule bool `toml:"original_schedule"`
	// KeepMomentum keeps the optimizer state when the best weights are
	// restored, as the original did; by default it is reset, so that stale
	// momentum from the abandoned trajectory is not applied to the restored
	// weights.
	KeepMomentum bool `toml:"keep_momentum"`
}

// SGDConfig configures SGD with momentum and coupled weight decay.
type SGDConfig struct {
	LR          float64 `toml:"lr"`
	Momentum    float64 `toml:"momentum"`
	WeightDecay float64 `toml:"weight_decay"`
}

// ClassifierConfig is the recipe of a classifier (the paper's Baseline).
type ClassifierConfig struct {
	Batch     int            `toml:"batch"`
	Optimizer SGDConfig      `toml:"optimizer"`
	Plateau   PlateauConfig  `toml:"plateau"`
	Stopping  StoppingConfig `toml:"stopping"`
}

// PaperClassifier is the Baseline recipe of spec §3.1: SGD lr 0.1, momentum
// 0.75, weight decay 5e-4, batch 128; plateau on validation accuracy
// (factor 0.4, patience 5, threshold 1e-4 relative, min lr 1e-4); early
// stopping with patience 5, 5 decay steps, at most 400 epochs.
func PaperClassifier() ClassifierConfig {
	return ClassifierConfig{
		Batch:     128,
		Optimizer: SGDConfig{LR: 0.1, Momentum: 0.75, WeightDecay: 5e-4},
		Plateau:   PlateauConfig{Factor: 0.4, Patience: 5, Threshold: 1e-4, ThresholdMode: "rel", MinLR: 1e-4},
		Stopping:  StoppingConfig{Patience: 5, DecaySteps: 5, MaxEpochs: 400, Tolerance: 1e-4},
	}
}

// Validate checks the recipe.
func (c ClassifierConfig) Validate() error {
	if c.Batch < 1 {
		return fmt.Errorf("batch = %d, need at least 1", c.Batch)
	}
	if err := c.Optimizer.validate(); err != nil {
		return err
	}
	if _, err := c.Plateau.schedule(c.Optimizer.LR, nn.Max); err != nil {
		return err
	}
	return c.Stopping.validate()
}

func (c SGDConfig) validate() error {
	if c.LR <= 0 || c.Momentum < 0 || c.Momentum >= 1 || c.WeightDecay < 0 {
		return fmt.Errorf("optimizer lr %v, momentum %v, weight decay %v: need lr > 0, 0 ≤ momentum < 1, weight decay ≥ 0",
			c.LR, c.Momentum, c.WeightDecay)
	}
	return nil
}

func (c StoppingConfig) validate() error {
	if c.Patience < 1 || c.DecaySteps < 1 || c.MaxEpochs < 1 || c.Tolerance < 0 {
		return fmt.Errorf("stopping patience %d, decay steps %d, max epochs %d, tolerance %v: need positive counts and tolerance ≥ 0",
			c.Patience, c.DecaySteps, c.MaxEpochs, c.Tolerance)
	}
	return nil
}

func (c PlateauConfig) schedule(lr float64, mode nn.Mode) (*nn.Plateau, error) {
	p, err := nn.NewPlateau(lr, mode, c.Factor, c.Patience, c.Threshold, nn.ThresholdMode(c.ThresholdMode), c.Cooldown, c.MinLR)
	if err != nil {
		return nil, fmt.Errorf("plateau schedule: %w", err)
	}
	return p, nil
}

func (c StoppingConfig) stopping(mode nn.Mode) *nn.EarlyStopping {
	return nn.NewEarlyStopping(mode, c.Patience, c.Tolerance, c.DecaySteps, c.MaxEpochs, c.OriginalSchedule)
}
