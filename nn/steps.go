package nn

import (
	"fmt"
	"math"
)

// StepLR is a fixed step schedule with a restart: the learning rate starts
// at LR and is multiplied by Factor every Every epochs; after epoch Reset
// (if positive) the schedule starts over at LR. Li et al. 2019 §4.1: "starts
// at 0.1 and decays by 0.3 every 4 epochs, but resets to 0.1 after the 20th
// epoch" is {LR: 0.1, Factor: 0.3, Every: 4, Reset: 20}.
type StepLR struct {
	LR     float64 `toml:"lr"`
	Factor float64 `toml:"factor"`
	Every  int     `toml:"every"`
	Reset  int     `toml:"reset"`
}

// Validate checks the schedule.
func (s StepLR) Validate() error {
	if !(s.LR > 0) || !(s.Factor > 0) || s.Factor > 1 || s.Every < 1 || s.Reset < 0 {
		return fmt.Errorf("step schedule lr %v, factor %v, every %d, reset %d: need lr > 0, 0 < factor ≤ 1, every ≥ 1, reset ≥ 0",
			s.LR, s.Factor, s.Every, s.Reset)
	}
	return nil
}

// At is the learning rate of epoch (counted from 1).
func (s StepLR) At(epoch int) float64 {
	e := epoch - 1
	if s.Reset > 0 {
		e %= s.Reset
	}
	return s.LR * math.Pow(s.Factor, float64(e/s.Every))
}
