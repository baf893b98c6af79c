package nn

import (
	"fmt"
	"math"
)

// Mode says whether a monitored objective should go down or up.
type Mode string

// Modes of a monitored objective.
const (
	Min Mode = "min"
	Max Mode = "max"
)

// ThresholdMode says how a new value must beat the best one.
type ThresholdMode string

// Threshold modes: relative (best·(1 ± threshold)) or absolute (best ± threshold).
const (
	Rel ThresholdMode = "rel"
	Abs ThresholdMode = "abs"
)

// better reports whether a beats best by more than threshold.
func better(mode Mode, tm ThresholdMode, threshold, a, best float64) bool {
	switch {
	case mode == Min && tm == Rel:
		return a < best*(1-threshold)
	case mode == Min:
		return a < best-threshold
	case tm == Rel:
		return a > best*(1+threshold)
	default:
		return a > best+threshold
	}
}

func worst(mode Mode) float64 {
	if mode == Min {
		return math.Inf(1)
	}
	return math.Inf(-1)
}

// Plateau is PyTorch's ReduceLROnPlateau: after more than Patience epochs
// without improvement it multiplies the learning rate by Factor (not below
// MinLR), then waits Cooldown epochs. The exported state fields let a
// resumed run continue exactly; create one with NewPlateau.
type Plateau struct {
	Mode          Mode
	Factor        float64
	Patience      int
	Threshold     float64
	ThresholdMode ThresholdMode
	Cooldown      int
	MinLR         float64

	LR               float64 // current learning rate
	Best             float64
	NumBadEpochs     int
	CooldownCounter  int
	LastEpoch        int
	Reductions       int
	LastReducedEpoch int
}

// NewPlateau returns a schedule starting at learning rate lr.
func NewPlateau(lr float64, mode Mode, factor float64, patience int, threshold float64, tm ThresholdMode, cooldown int, minLR float64) (*Plateau, error) {
	if factor >= 1 || factor <= 0 {
		return nil, fmt.Errorf("plateau factor %v must be in (0, 1)", factor)
	}
	if mode != Min && mode != Max {
		return nil, fmt.Errorf("plateau mode %q must be min or max", mode)
	}
	if tm != Rel && tm != Abs {
		return nil, fmt.Errorf("plateau threshold mode %q must be rel or abs", tm)
	}
	return &Plateau{Mode: mode, Factor: factor, Patience: patience, Threshold: threshold, ThresholdMode: tm,
		Cooldown: cooldown, MinLR: minLR, LR: lr, Best: worst(mode)}, nil
}

// Step records one epoch's objective and returns the learning rate to use
// next, and whether it was just reduced.
func (p *Plateau) Step(objective float64) (lr float64, reduced bool) {
	p.LastEpoch++
	if better(p.Mode, p.ThresholdMode, p.Threshold, objective, p.Best) {
		p.Best = objective
		p.NumBadEpochs = 0
	} else {
		p.NumBadEpochs++
	}
	if p.CooldownCounter > 0 {
		p.CooldownCounter--
		p.NumBadEpochs = 0
	}
	if p.NumBadEpochs > p.Patience {
		reduced = p.reduce()
		p.CooldownCounter = p.Cooldown
		p.NumBadEpochs = 0
	}
	return p.LR, reduced
}

// Reduce multiplies the learning rate by Factor (not below MinLR) now, as
// Step does when patience runs out, and returns the new rate: for a
// training loop whose early stopping decides when the rate falls.
func (p *Plateau) Reduce() (lr float64, reduced bool) {
	p.LastEpoch++
	return p.LR, p.reduce()
}

// reduce applies one reduction, unless the rate is already at MinLR.
func (p *Plateau) reduce() bool {
	newLR := math.Max(p.LR*p.Factor, p.MinLR)
	if p.LR-newLR <= 1e-8 {
		return false
	}
	p.LR = newLR
	p.Reductions++
	p.LastReducedEpoch = p.LastEpoch
	return true
}

// Action tells the training loop what to do after an epoch.
type Action string

// Actions of EarlyStopping.
const (
	Continue    Action = "continue"     // train another epoch
	RestoreBest Action = "restore-best" // patience ran out: reload the best weights, then continue
	Stop        Action = "stop"         // training is over: reload the best weights and finish
)

// EarlyStopping is the stopping procedure of the original training code
// (spec §3.4): rounds of patience; when a round's patience runs out the best
// weights are restored and a new round starts; training ends after
// DecaySteps rounds, at MaxEpochs, or on a non-finite objective.
//
// The original started its counter at −1, so "patience 5" waited for 6 bad
// epochs. By default the counter starts at 0 and Patience means what it
// says; OriginalOffByOne restores the original's counter. The state fields
// are exported for checkpoints.
type EarlyStopping struct {
	Mode             Mode
	Patience         int
	Tolerance        float64 // absolute improvement needed
	DecaySteps       int
	MaxEpochs        int
	OriginalOffByOne bool

	Best      float64
	BestEpoch int
	Counter   int
	Round     int
	Epoch     int
	Finished  bool
}

// NewEarlyStopping returns the procedure; call Start with the objective of
// the untrained model before the first epoch.
func NewEarlyStopping(mode Mode, patience int, tolerance float64, decaySteps, maxEpochs int, originalOffByOne bool) *EarlyStopping {
	e := &EarlyStopping{Mode: mode, Patience: patience, Tolerance: tolerance, DecaySteps: decaySteps,
		MaxEpochs: maxEpochs, OriginalOffByOne: originalOffByOne, Best: worst(mode)}
	e.Counter = e.reset()
	return e
}

func (e *EarlyStopping) reset() int {
	if e.OriginalOffByOne {
		return -1
	}
	return 0
}

// Start records the objective before training; it becomes the best so far.
func (e *EarlyStopping) Start(objective float64) {
	e.Best = objective
	e.BestEpoch = 0
}

// Observe records the objective after epoch e.Epoch+1 and says what to do.
// improved reports a new best (save it).
func (e *EarlyStopping) Observe(objective float64) (improved bool, action Action) {
	e.Epoch++
	if math.IsNaN(objective) || math.IsInf(objective, 0) {
		e.Finished = true
		return false, Stop
	}
	if better(e.Mode, Abs, e.Tolerance, objective, e.Best) {
		e.Best, e.BestEpoch = objective, e.Epoch
		e.Counter = e.reset()
		improved = true
	} else {
		e.Counter++
	}
	if e.Epoch >= e.MaxEpochs {
		e.Finished = true
		return improved, Stop
	}
	if e.Counter >= e.Patience {
		e.Round++
		e.Counter = e.reset()
		if e.Round >= e.DecaySteps {
			e.Finished = true
			return improved, Stop
		}
		return improved, RestoreBest
	}
	return improved, Continue
}
