package experiment

import (
	"context"
	"fmt"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/v1sim"
)

// V1Config names the V1 recordings the neural predictors are trained on:
// real recordings, or a simulated population recorded on stimulus images.
type V1Config struct {
	// Recordings is a cotrain recordings file (.npz), a CSRF19 data folder
	// (with neuronal_data/ and images/individual/) or the Cadena et al.
	// 2019 pickle (.pkl). Empty: simulate (see Simulate).
	Recordings string `toml:"recordings"`
	// Simulate describes the simulated recording used when Recordings is
	// empty.
	Simulate SimulateConfig `toml:"simulate"`
	// FEVThreshold selects the neurons that enter mean neural metrics:
	// those with FEV above it (0.15; negative: all neurons).
	FEVThreshold float64 `toml:"fev_threshold"`
}

// SimulateConfig is a simulated V1 recording (v1sim): a population of model
// neurons shown stimulus images under the paper's protocol.
type SimulateConfig struct {
	// Images is the data spec of the stimulus images, e.g.
	// "fashion-mnist:train"; First and Count select a range of it.
	Images string `toml:"images"`
	First  int    `toml:"first"`
	Count  int    `toml:"count"`
	// Pad adds zero pixels on every side, as [data] pad does for the
	// classification images.
	Pad int `toml:"pad"`
	// Neurons, TestImages, TestRepeats and Sessions set the population and
	// protocol (defaults: v1sim's 458 neurons, 75 test images × 40 repeats,
	// one session).
	Neurons     int `toml:"neurons"`
	TestImages  int `toml:"test_images"`
	TestRepeats int `toml:"test_repeats"`
	Sessions    int `toml:"sessions"`
	// Seed draws the population and the recording noise.
	Seed uint64 `toml:"seed"`
}

// Selection returns the neuron selection of FEVThreshold.
func (c V1Config) Selection() metrics.NeuronSelection {
	return metrics.NeuronSelection{UseMinFEV: c.FEVThreshold >= 0, MinFEV: c.FEVThreshold}
}

func (c V1Config) validate() error {
	if c.Recordings != "" {
		return nil
	}
	s := c.Simulate
	if s.Images == "" {
		return fmt.Errorf("[v1]: give recordings (a file or folder) or [v1.simulate] images")
	}
	if _, err := data.ParseSpec(s.Images); err != nil {
		return fmt.Errorf("[v1.simulate] images: %w", err)
	}
	if s.First < 0 || s.Count < 0 || s.Pad < 0 || s.Neurons < 0 || s.TestImages < 0 || s.TestRepeats < 0 || s.Sessions < 0 {
		return fmt.Errorf("[v1.simulate]: counts must not be negative")
	}
	return nil
}

// Open reads the configured recordings, or simulates them.
func (c V1Config) Open(ctx context.Context) (*recordings.Recordings, error) {
	if c.Recordings == "" {
		return c.Simulate.Record(ctx)
	}
	return recordings.Open(c.Recordings)
}

// Record simulates the recording: it reads the stimulus images, pads them,
// converts them to grayscale in [0, 1] with the classification images'
// formula, draws the population and records it.
func (c SimulateConfig) Record(ctx context.Context) (*recordings.Recordings, error) {
	images, h, w, name, err := loadStimuli(ctx, "[v1.simulate]", c.Images, c.First, c.Count, c.Pad)
	if err != nil {
		return nil, err
	}
	count := len(images)
	cfg := v1sim.DefaultConfig()
	if c.Neurons > 0 {
		cfg.Neurons = c.Neurons
	}
	proto := v1sim.DefaultProtocol()
	if c.TestImages > 0 {
		proto.TestImages = c.TestImages
	}
	if c.TestRepeats > 0 {
		proto.TestRepeats = c.TestRepeats
	}
	if c.Sessions > 0 {
		proto.Sessions = c.Sessions
	}
	pop, err := v1sim.NewPopulation(cfg, h, w, c.Seed)
	if err != nil {
		return nil, err
	}
	rec, err := v1sim.Record(pop, images, proto, c.Seed+1)
	if err != nil {
		return nil, err
	}
	rec.Meta.Notes = fmt.Sprintf("stimuli: images %d..%d of %s, padded by %d", c.First, c.First+count-1, name, c.Pad)
	return rec, nil
}

// loadStimuli reads images first… (count of them, 0: to the end) of the
// data spec, padded, as grayscale in [0, 1] with the classification images'
// formula. section names the configuration in errors.
func loadStimuli(ctx context.Context, section, specText string, first, count, pad int) (images [][]float32, h, w int, name string, err error) {
	spec, err := data.ParseSpec(specText)
	if err != nil {
		return nil, 0, 0, "", err
	}
	set, err := spec.Open(data.OpenOptions{})
	if err != nil {
		return nil, 0, 0, "", err
	}
	if count == 0 {
		count = set.Len() - first
	}
	if first+count > set.Len() || count < 1 {
		return nil, 0, 0, "", fmt.Errorf("%s: images %d..%d of %s, which has %d", section, first, first+count-1, set.Name(), set.Len())
	}
	set = data.Padded(set, pad)
	images = make([][]float32, count)
	for i := range images {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, 0, 0, "", err
			}
		}
		img, _, err := set.Example(first + i)
		if err != nil {
			return nil, 0, 0, "", err
		}
		if i == 0 {
			h, w = img.H, img.W
		} else if img.H != h || img.W != w {
			return nil, 0, 0, "", fmt.Errorf("%s: image %d is %d×%d, image %d is %d×%d", set.Name(), first+i, img.H, img.W, first, h, w)
		}
		images[i] = make([]float32, h*w)
		data.Gray(img, images[i])
	}
	return images, h, w, set.Name(), nil
}
