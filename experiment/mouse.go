package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/v1sim"
)

// MouseConfig is the neural side of Li et al. 2019 (docs/similarity.md):
// the mouse V1 recordings, real or simulated, and the denoising predictor
// whose responses give the similarity targets.
type MouseConfig struct {
	// Recordings is a cotrain recordings file (.npz), a Sensorium /
	// neuralpredictors static folder (one scan) or a folder of them.
	// Empty: simulate (Simulate).
	Recordings string `toml:"recordings"`
	// Downsample averages Sensorium images over blocks of this size (Li
	// et al.'s 64×36 from Sensorium's 256×144: 4; 0 or 1 keeps them).
	Downsample int `toml:"downsample"`
	// Simulate is the simulated recording used when Recordings is empty.
	Simulate MouseSimulateConfig `toml:"simulate"`
	// Predictor is the denoising predictor.
	Predictor MousePredictorConfig `toml:"predictor"`
}

// MouseSimulateConfig is a simulated mouse recording (v1sim.MouseConfig,
// v1sim.RecordMouse): Count images from First of Images, padded by Pad, Li
// et al.'s protocol over Scans scans of NeuronsPerScan neurons each, drawn
// from a population of Population neurons.
type MouseSimulateConfig struct {
	Images string `toml:"images"`
	First  int    `toml:"first"`
	Count  int    `toml:"count"`
	Pad    int    `toml:"pad"`
	// PixelsPerDegree is the stimulus resolution (0: v1sim's 0.5, Li et
	// al.'s 64×36 images on their monitor).
	PixelsPerDegree float64 `toml:"pixels_per_degree"`
	Population      int     `toml:"population"`
	Scans           int     `toml:"scans"`
	NeuronsPerScan  int     `toml:"neurons_per_scan"`
	OracleImages    int     `toml:"oracle_images"`
	OracleRepeats   int     `toml:"oracle_repeats"`
	Seed            uint64  `toml:"seed"`
}

// MousePredictorConfig is the denoising predictor: a MouseCore, the
// shifter and modulator switches, the neural-predictor recipe and a seed.
type MousePredictorConfig struct {
	Core      models.MouseCore        `toml:"core"`
	Shifter   bool                    `toml:"shifter"`
	Modulator bool                    `toml:"modulator"`
	Recipe    recipes.PredictorConfig `toml:"recipe"`
	Seed      int64                   `toml:"seed"`
}

// PaperMouse is Li et al.'s setting: 8 scans of 5,000 neurons (the paper's
// have about 8,000), 5,000 single-trial images and 100 oracle images × 10
// repeats per scan, Sensorium images downsampled 4× to 64×36, and the
// predictor with shifter and modulator. Without recordings the stimuli must
// be named in [mouse.simulate] images.
func PaperMouse() MouseConfig {
	rec := recipes.PaperPredictor()
	return MouseConfig{
		Downsample: 4,
		Simulate:   MouseSimulateConfig{Count: 5100, Population: 8000, Scans: 8, NeuronsPerScan: 5000, OracleImages: 100, OracleRepeats: 10, Seed: 1},
		Predictor:  MousePredictorConfig{Core: models.LiMouseCore(), Shifter: true, Modulator: true, Recipe: rec, Seed: 1},
	}
}

// Used reports whether the experiment configures mouse recordings.
func (c MouseConfig) Used() bool { return c.Recordings != "" || c.Simulate.Images != "" }

// Validate checks the configuration.
func (c MouseConfig) Validate() error {
	if c.Downsample < 0 {
		return fmt.Errorf("[mouse]: downsample %d must not be negative", c.Downsample)
	}
	if c.Recordings == "" {
		s := c.Simulate
		if s.Images == "" {
			return fmt.Errorf("[mouse]: give recordings (a file or Sensorium folder) or [mouse.simulate] images")
		}
		if s.First < 0 || s.Count < 0 || s.Pad < 0 || s.Population < 0 || s.Scans < 0 || s.NeuronsPerScan < 0 || s.OracleImages < 0 || s.OracleRepeats < 0 || s.PixelsPerDegree < 0 {
			return fmt.Errorf("[mouse.simulate]: counts must not be negative")
		}
	}
	if err := c.Predictor.Core.Validate(); err != nil {
		return fmt.Errorf("[mouse.predictor.core]: %w", err)
	}
	if err := c.Predictor.Recipe.Validate(); err != nil {
		return fmt.Errorf("[mouse.predictor.recipe]: %w", err)
	}
	return nil
}

// Open reads the configured recordings, or simulates them.
func (c MouseConfig) Open(ctx context.Context) (*recordings.Recordings, error) {
	return c.OpenWith(ctx, false)
}

// OpenWith is Open keeping, with testOnly, only the test (oracle) trials
// of real recordings and all their images (recordings.LoadOptions): what
// S_model and S_oracle need, in a fraction of the memory. A simulation is
// recorded whole.
func (c MouseConfig) OpenWith(ctx context.Context, testOnly bool) (*recordings.Recordings, error) {
	if c.Recordings == "" {
		return c.Simulate.Record(ctx)
	}
	if scans := recordings.SensoriumScans(c.Recordings); scans != nil {
		cfg := recordings.DefaultSensoriumConfig()
		cfg.Downsample, cfg.TestOnly = max(c.Downsample, 1), testOnly
		return recordings.ReadSensorium(scans, cfg)
	}
	if st, err := os.Stat(c.Recordings); err == nil && !st.IsDir() && strings.EqualFold(filepath.Ext(c.Recordings), ".npz") {
		return recordings.LoadWith(c.Recordings, recordings.LoadOptions{TestOnly: testOnly})
	}
	return recordings.Open(c.Recordings)
}

// Record simulates the mouse recording.
func (c MouseSimulateConfig) Record(ctx context.Context) (*recordings.Recordings, error) {
	images, h, w, name, err := loadStimuli(ctx, "[mouse.simulate]", c.Images, c.First, c.Count, c.Pad)
	if err != nil {
		return nil, err
	}
	cfg := v1sim.MouseConfig()
	if c.Population > 0 {
		cfg.Neurons = c.Population
	}
	if c.PixelsPerDegree > 0 {
		cfg.PixelsPerDegree = c.PixelsPerDegree
	}
	proto := v1sim.PaperLiProtocol()
	for _, set := range []struct {
		dst *int
		v   int
	}{{&proto.Scans, c.Scans}, {&proto.NeuronsPerScan, c.NeuronsPerScan}, {&proto.OracleImages, c.OracleImages}, {&proto.OracleRepeats, c.OracleRepeats}} {
		if set.v > 0 {
			*set.dst = set.v
		}
	}
	pop, err := v1sim.NewPopulation(cfg, h, w, c.Seed)
	if err != nil {
		return nil, err
	}
	rec, err := v1sim.RecordMouse(pop, images, proto, c.Seed+1)
	if err != nil {
		return nil, err
	}
	rec.Meta.Notes += fmt.Sprintf("; stimuli: images %d..%d of %s, padded by %d", c.First, c.First+len(images)-1, name, c.Pad)
	return rec, nil
}

// PredictorJob returns the training job of the denoising predictor on rec
// in dir.
func (c MouseConfig) PredictorJob(dir string, rec *recordings.Recordings) recipes.MousePredictorJob {
	p := c.Predictor
	return recipes.MousePredictorJob{Dir: dir, Core: p.Core, Shifter: p.Shifter, Modulator: p.Modulator, Recipe: p.Recipe, Recordings: rec, Seed: p.Seed}
}
