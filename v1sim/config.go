// Package v1sim simulates a population of macaque V1 neurons responding to
// grayscale images, standing in for the monkey recordings of Safarani et
// al. 2021 that cannot be downloaded.
//
// Each model neuron is a simple cell (half-wave rectified Gabor filter) or
// a complex cell (quadrature-pair energy) whose drive is raised to a power
// and divided by a local contrast-energy normalization pool, so responses
// saturate with contrast following a Naka–Rushton curve. Rates are scaled
// to spike counts in a 120 ms window and spike counts are drawn with
// Poisson or gamma-Poisson (over-dispersed) noise. Record runs the paper's
// protocol (single trials for training images, a repeated test set) and
// returns cotrain recordings. Receptive-field parameters follow the V1
// literature as summarized by VOneNet (De Valois 1982, Ringach 2002); see
// docs/v1sim.md.
package v1sim

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// LogNormal is a per-neuron parameter drawn as Median·exp(Sigma·z) with z
// standard normal, then clipped to [Min, Max].
type LogNormal struct {
	Median, Sigma, Min, Max float64
}

func (l LogNormal) sample(rng *rand.Rand) float64 {
	v := l.Median * math.Exp(l.Sigma*rng.NormFloat64())
	return min(max(v, l.Min), l.Max)
}

func (l LogNormal) check(name string) error {
	if !(l.Median > 0) || l.Sigma < 0 || l.Min < 0 || l.Max < l.Min || math.IsInf(l.Median, 0) {
		return fmt.Errorf("v1sim config: %s %+v must have Median > 0, Sigma ≥ 0 and 0 ≤ Min ≤ Max", name, l)
	}
	return nil
}

// NoiseModel selects the trial-to-trial variability of spike counts.
type NoiseModel int

const (
	// GammaPoisson draws count ~ Poisson(rate·g) with a per-trial gain g ~
	// Gamma(mean 1, variance GainVar): variance = rate + GainVar·rate²
	// (Goris et al. 2014).
	GammaPoisson NoiseModel = iota
	// Poisson draws count ~ Poisson(rate): variance = mean.
	Poisson
)

// String names the noise model.
func (m NoiseModel) String() string {
	switch m {
	case GammaPoisson:
		return "gamma-Poisson"
	case Poisson:
		return "Poisson"
	}
	return fmt.Sprintf("NoiseModel(%d)", int(m))
}

// Config sets the population's size and the distributions its neurons
// are drawn from. DefaultConfig documents each default's source.
type Config struct {
	// Neurons is the population size (default 458, the paper's count).
	Neurons int
	// SimpleFraction is the fraction of simple cells; the rest are complex
	// (default 0.5, as in VOneNet).
	SimpleFraction float64
	// PixelsPerDegree converts the literature's degrees to pixels (default
	// 14, the resolution of the paper's 64×64 model inputs).
	PixelsPerDegree float64
	// CenterRegion is the fraction of each image side, centred, within
	// which receptive-field centres are drawn uniformly (default 0.5).
	CenterRegion float64
	// SFMin and SFMax (cycles/degree) truncate De Valois et al.'s (1982)
	// peak spatial-frequency distribution (defaults 0.5 and 11.2, its full
	// range); MaxCyclesPerPixel further caps it below the Nyquist limit
	// (default 0.25).
	SFMin, SFMax, MaxCyclesPerPixel float64
	// MinSigmaPixels and MaxSigmaDegrees clamp the Gabor envelope's
	// standard deviations (defaults 1 px and 0.5°) so that receptive fields
	// are neither sub-pixel nor larger than a V1 receptive field at a few
	// degrees eccentricity.
	MinSigmaPixels, MaxSigmaDegrees float64
	// PoolOrientations and PoolCycles define each neuron's normalization
	// pool: the summed energy of quadrature Gabor pairs at the neuron's
	// spatial frequency and position, at PoolOrientations evenly spaced
	// orientations (default 6), with an isotropic envelope of PoolCycles
	// cycles of that frequency (default 0.35: broadband, so the pool is
	// nearly untuned for orientation and about ±1 octave wide in spatial
	// frequency, as normalization pools are; Heeger 1992, Carandini &
	// Heeger 2012).
	PoolOrientations int
	PoolCycles       float64
	// Exponent is the Naka–Rushton exponent n (Albrecht & Hamilton 1982:
	// median about 2–3, range 1–5).
	Exponent LogNormal
	// C50 is the semi-saturation contrast (Michelson) for an optimal
	// grating (Albrecht & Hamilton 1982, Sclar et al. 1990: median about
	// 0.2, range 0.05–0.8).
	C50 LogNormal
	// PeakRate is the rate (spikes/s) evoked by an optimal full-contrast
	// grating, above spontaneous (awake macaque V1: tens of spikes/s).
	PeakRate LogNormal
	// SpontRate is the spontaneous rate in spikes/s (a few spikes/s).
	SpontRate LogNormal
	// Window is the counting window in seconds (default 0.12: 40–160 ms
	// after onset, as in the paper).
	Window float64
	// Noise is the spike-count noise model (default GammaPoisson).
	Noise NoiseModel
	// GainVar is the variance of the multiplicative gain of the
	// gamma-Poisson model (Goris et al. 2014); unused for Poisson.
	GainVar LogNormal
	// Workers is the number of goroutines for Rates and Record (0: one per
	// CPU). Results do not depend on it.
	Workers int

	// SF, if not nil, replaces De Valois et al.'s macaque histogram: the
	// preferred spatial frequency in cycles/degree is drawn from it (and
	// then capped by MaxCyclesPerPixel). SFMin and SFMax are then unused.
	SF *LogNormal
	// EnvelopeSigma, if not nil, replaces Ringach's joint (nx, ny)
	// histogram: the envelope's standard deviations across and along the
	// bars are drawn from it independently, in degrees (then clamped to
	// [MinSigmaPixels, MaxSigmaDegrees]).
	EnvelopeSigma *LogNormal
	// PoolEnvelope, if positive, sizes each neuron's normalization pool by
	// its own receptive field instead of PoolCycles: the pool's Gaussian
	// radius is PoolEnvelope·√(σx·σy), so that the pool spans the same
	// band of spatial frequencies as the drive. Receptive fields of a
	// fraction of a cycle (mouse V1) are broadband, and a pool narrower in
	// frequency would not see what drives them.
	PoolEnvelope float64
	// UniformOrientation draws preferred orientations uniformly instead of
	// from De Valois et al.'s cardinally biased macaque histogram.
	UniformOrientation bool
}

// DefaultConfig returns the documented defaults (docs/v1sim.md).
func DefaultConfig() Config {
	return Config{
		Neurons:           458,
		SimpleFraction:    0.5,
		PixelsPerDegree:   14,
		CenterRegion:      0.5,
		SFMin:             0.5,
		SFMax:             11.2,
		MaxCyclesPerPixel: 0.25,
		MinSigmaPixels:    1,
		MaxSigmaDegrees:   0.5,
		PoolOrientations:  6,
		PoolCycles:        0.35,
		Exponent:          LogNormal{Median: 2, Sigma: 0.3, Min: 1, Max: 4},
		C50:               LogNormal{Median: 0.2, Sigma: 0.6, Min: 0.04, Max: 0.9},
		PeakRate:          LogNormal{Median: 70, Sigma: 0.5, Min: 10, Max: 300},
		SpontRate:         LogNormal{Median: 2, Sigma: 0.6, Min: 0.2, Max: 15},
		Window:            0.12,
		Noise:             GammaPoisson,
		GainVar:           LogNormal{Median: 0.1, Sigma: 0.5, Min: 0.01, Max: 0.6},
	}
}

// Validate reports a configuration that cannot produce a population.
func (c *Config) Validate() error {
	switch {
	case c.Neurons < 1:
		return fmt.Errorf("v1sim config: Neurons = %d, want ≥ 1", c.Neurons)
	case c.SimpleFraction < 0 || c.SimpleFraction > 1:
		return fmt.Errorf("v1sim config: SimpleFraction = %v, want within [0, 1]", c.SimpleFraction)
	case !(c.PixelsPerDegree > 0):
		return fmt.Errorf("v1sim config: PixelsPerDegree = %v, want > 0", c.PixelsPerDegree)
	case !(c.CenterRegion > 0 && c.CenterRegion <= 1):
		return fmt.Errorf("v1sim config: CenterRegion = %v, want within (0, 1]", c.CenterRegion)
	case c.SF == nil && !(c.SFMin > 0 && c.SFMin < c.SFMax):
		return fmt.Errorf("v1sim config: SFMin %v, SFMax %v: want 0 < SFMin < SFMax", c.SFMin, c.SFMax)
	case !(c.MaxCyclesPerPixel > 0 && c.MaxCyclesPerPixel <= 0.5):
		return fmt.Errorf("v1sim config: MaxCyclesPerPixel = %v, want within (0, 0.5]", c.MaxCyclesPerPixel)
	case c.SF == nil && c.SFMin/c.PixelsPerDegree >= c.MaxCyclesPerPixel:
		return fmt.Errorf("v1sim config: SFMin %v c/deg is above the %v cycles/pixel cap at %v pixels/degree", c.SFMin, c.MaxCyclesPerPixel, c.PixelsPerDegree)
	case !(c.MinSigmaPixels > 0 && c.MaxSigmaDegrees*c.PixelsPerDegree >= c.MinSigmaPixels):
		return fmt.Errorf("v1sim config: MinSigmaPixels %v, MaxSigmaDegrees %v: want 0 < min ≤ max", c.MinSigmaPixels, c.MaxSigmaDegrees)
	case c.PoolEnvelope < 0:
		return fmt.Errorf("v1sim config: PoolEnvelope = %v, want ≥ 0", c.PoolEnvelope)
	case c.PoolOrientations < 1 || !(c.PoolCycles > 0):
		return fmt.Errorf("v1sim config: PoolOrientations %d, PoolCycles %v: want ≥ 1 and > 0", c.PoolOrientations, c.PoolCycles)
	case !(c.Window > 0):
		return fmt.Errorf("v1sim config: Window = %v s, want > 0", c.Window)
	case c.Noise != GammaPoisson && c.Noise != Poisson:
		return fmt.Errorf("v1sim config: unknown noise model %v", c.Noise)
	case c.Workers < 0:
		return fmt.Errorf("v1sim config: Workers = %d, want ≥ 0", c.Workers)
	}
	for _, p := range []struct {
		name string
		l    LogNormal
	}{{"Exponent", c.Exponent}, {"C50", c.C50}, {"PeakRate", c.PeakRate}, {"SpontRate", c.SpontRate}, {"GainVar", c.GainVar}} {
		if err := p.l.check(p.name); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		name string
		l    *LogNormal
	}{{"SF", c.SF}, {"EnvelopeSigma", c.EnvelopeSigma}} {
		if p.l == nil {
			continue
		}
		if err := p.l.check(p.name); err != nil {
			return err
		}
		if p.l.Min <= 0 {
			return fmt.Errorf("v1sim config: %s.Min = %v, want > 0", p.name, p.l.Min)
		}
	}
	if c.Exponent.Min <= 0 {
		return fmt.Errorf("v1sim config: Exponent.Min = %v, want > 0", c.Exponent.Min)
	}
	return nil
}

// Literature distributions, as tabulated in VOneNet (Dapello et al. 2020,
// vonenet/params.py): histogram counts over bins, sampled by inverse CDF
// with linear interpolation inside a bin (in log scale for SF and size).
var (
	// De Valois, Yund & Hepler 1982: preferred orientation (degrees).
	oriBins   = []float64{-22.5, 22.5, 67.5, 112.5, 157.5}
	oriCounts = []float64{66, 49, 77, 54}
	// De Valois, Albrecht & Thorell 1982: peak spatial frequency (c/deg).
	sfBins   = []float64{0.5, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8, 11.2}
	sfCounts = []float64{4, 4, 8, 25, 32, 26, 28, 12, 8}
	// Ringach 2002: joint histogram of nx = σx·f (rows) and ny = σy·f
	// (columns) over log10-spaced bins from 10^-1 to 10^0.2.
	nJoint = [5][5]float64{
		{2, 0, 1, 0, 0},
		{8, 9, 4, 1, 0},
		{1, 2, 19, 17, 3},
		{0, 0, 1, 7, 4},
		{0, 0, 0, 0, 0},
	}
)

// nBins returns the Ringach 2002 bin edges 10^(-1 + 0.24k), k = 0..5.
func nBins() []float64 {
	b := make([]float64, 6)
	for k := range b {
		b[k] = math.Pow(10, -1+0.24*float64(k))
	}
	return b
}

// histQuantile maps u in [0, 1] through the inverse CDF of a histogram,
// interpolating linearly within a bin (in the log domain when log is set).
func histQuantile(u float64, bins, counts []float64, log bool) float64 {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	edge := func(i int) float64 {
		if log {
			return math.Log(bins[i])
		}
		return bins[i]
	}
	acc := 0.0
	for i, c := range counts {
		p := c / total
		if u <= acc+p && p > 0 {
			v := edge(i) + (u-acc)/p*(edge(i+1)-edge(i))
			if log {
				return math.Exp(v)
			}
			return v
		}
		acc += p
	}
	return bins[len(bins)-1]
}

// histCDF is the inverse of histQuantile: the CDF at v.
func histCDF(v float64, bins, counts []float64, log bool) float64 {
	total := 0.0
	for _, c := range counts {
		total += c
	}
	if log {
		v = math.Log(v)
	}
	acc := 0.0
	for i, c := range counts {
		lo, hi := bins[i], bins[i+1]
		if log {
			lo, hi = math.Log(lo), math.Log(hi)
		}
		if v <= lo {
			return acc
		}
		if v < hi {
			return acc + c/total*(v-lo)/(hi-lo)
		}
		acc += c / total
	}
	return 1
}
