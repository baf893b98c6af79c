// Package experiment reads experiment files (TOML): the data, the models
// and their recipes, the seeds and the evaluations of a run of the paper's
// experiment, with the paper's settings as defaults for anything a file
// leaves out.
package experiment

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"

	"github.com/cotrain/cotrain/analysis"
	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/roles"
)

// Config is one experiment.
type Config struct {
	Name   string       `toml:"name"`
	Seeds  []int64      `toml:"seeds"`
	Models []roles.Role `toml:"models"` // the models to train (roles.Table1)

	Data       DataConfig               `toml:"data"`
	Model      models.VGG               `toml:"model"`
	Classifier recipes.ClassifierConfig `toml:"classifier"`
	V1         V1Config                 `toml:"v1"`
	Predictor  recipes.PredictorConfig  `toml:"predictor"`
	MTL        recipes.MTLConfig        `toml:"mtl"`
	Oracle     recipes.OracleConfig     `toml:"oracle"`
	Responses  ResponsesConfig          `toml:"responses"`
	Evaluation EvaluationConfig         `toml:"evaluation"`
	Sweep      SweepConfig              `toml:"sweep"`

	// Mouse is the neural side of Li et al. 2019: mouse recordings and
	// the denoising predictor (mouse.go).
	Mouse MouseConfig `toml:"mouse"`

	// Adversarial is Li et al.'s adversarial evaluation (adversarial.go).
	Adversarial AdversarialConfig `toml:"adversarial"`
	// Analysis is Safarani et al.'s §4: constrained reconstruction and
	// saliency (experiment/analysis.go); off unless it names images.
	Analysis analysis.Config `toml:"analysis"`
	// Li is the machine side of Li et al. 2019: similarity-regularized
	// classifiers and their controls (li.go).
	Li LiConfig `toml:"li"`
}

// ResponsesConfig says how the co-training targets are made.
type ResponsesConfig struct {
	// PredictorSeed picks the Monkey Predictor (and the Oracle) whose
	// predictions become the response sets (default: the first seed).
	PredictorSeed int64 `toml:"predictor_seed"`
	// ShuffleSeed seeds the permutation of the shuffled control.
	ShuffleSeed uint32 `toml:"shuffle_seed"`
}

// EvaluationConfig configures the robustness benchmark.
type EvaluationConfig struct {
	// Corruptions lists the corruptions tested (default: the paper's 14).
	Corruptions []string `toml:"corruptions"`
	// Table is the corruption parameter table: "imagenet" (the paper's) or
	// "tinyimagenet".
	Table corrupt.Table `toml:"table"`
	// FrostDir is an optional folder of frost photographs (the
	// imagecorruptions frost images); without it frost is procedural
	// (docs/corruptions.md).
	FrostDir string `toml:"frost_dir"`
	// Seed fixes the noise of the corrupted test images.
	Seed uint64 `toml:"seed"`
	// Bootstrap is the number of bootstrap replicates over test images
	// behind the error bars (250), BootstrapSeed their seed.
	Bootstrap     int    `toml:"bootstrap"`
	BootstrapSeed uint64 `toml:"bootstrap_seed"`
}

// SweepConfig is the batch-ratio sweep of Fig. 3C: MTL-Monkey trained at
// several ratios of neural to classification batches.
type SweepConfig struct {
	// Ratios lists the batch ratios "p:q" (empty: no sweep).
	Ratios []recipes.Ratio `toml:"ratios"`
	// Seeds lists the seeds per ratio (default: the experiment's seeds).
	Seeds []int64 `toml:"seeds"`
}

// DataConfig selects and prepares the classification images.
type DataConfig struct {
	// Dataset is "tinyimagenet" or "fashion-mnist".
	Dataset string `toml:"dataset"`
	// Root is the dataset folder (Tiny ImageNet: the extracted
	// tiny-imagenet-200; Fashion-MNIST: empty for the Debian package's).
	Root string `toml:"root"`
	// Pad adds zero pixels on every side (Fashion-MNIST 28 → 32 with 2).
	Pad int `toml:"pad"`
	// TrainLimit, ValidationLimit and TestLimit keep only the first N
	// examples of a split (0 keeps all).
	TrainLimit      int `toml:"train_limit"`
	ValidationLimit int `toml:"validation_limit"`
	TestLimit       int `toml:"test_limit"`
	// Augment configures the training augmentation (spec §1.2).
	Augment AugmentConfig `toml:"augment"`
	// Cache keeps decoded images in memory (Tiny ImageNet).
	Cache bool `toml:"cache"`
}

// AugmentConfig is the training augmentation: random crop with zero
// padding, horizontal flip, random rotation.
type AugmentConfig struct {
	CropPadding int     `toml:"crop_padding"` // 0 disables the random crop
	Flip        bool    `toml:"flip"`
	Rotation    float64 `toml:"rotation"` // maximum angle in degrees; 0 disables
}

// Paper returns the defaults: the paper's settings (spec §1–3) on Tiny
// ImageNet. A file only needs to name what differs.
func Paper() Config {
	return Config{
		Name:       "paper",
		Seeds:      []int64{1000, 2000, 3000, 4000, 5000},
		Models:     []roles.Role{roles.Baseline},
		Data:       DataConfig{Dataset: data.DatasetTinyImageNet, Augment: AugmentConfig{CropPadding: 4, Flip: true, Rotation: 15}},
		Model:      models.VGG19BN(200),
		Classifier: recipes.PaperClassifier(),
		V1:         V1Config{FEVThreshold: 0.15},
		Predictor:  recipes.PaperPredictor(),
		MTL:        recipes.PaperMTL(),
		Oracle:     recipes.PaperOracle(),
		Responses:  ResponsesConfig{ShuffleSeed: 1000},
		Evaluation: EvaluationConfig{Corruptions: corrupt.Paper14(), Table: corrupt.TableImageNet, Bootstrap: metrics.DefaultReplicates},
		Mouse:      PaperMouse(),

		Adversarial: PaperAdversarial(),
		Analysis:    PaperAnalysis(),
		Li:          PaperLi(),
	}
}

// Parse reads an experiment from TOML text on top of the paper defaults.
// source names the text in errors.
func Parse(source string, text []byte) (Config, error) {
	c := Paper()
	md, err := toml.NewDecoder(bytes.NewReader(text)).Decode(&c)
	if err != nil {
		return c, fmt.Errorf("experiment %s: %w", source, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("experiment %s: unknown setting %q (check its spelling and section)", source, und[0].String())
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("experiment %s: %w", source, err)
	}
	return c, nil
}

// Validate checks the experiment.
func (c Config) Validate() error {
	if len(c.Seeds) == 0 {
		return fmt.Errorf("no seeds")
	}
	if err := c.Model.Validate(); err != nil {
		return fmt.Errorf("[model]: %w", err)
	}
	if err := c.Classifier.Validate(); err != nil {
		return fmt.Errorf("[classifier]: %w", err)
	}
	for _, m := range c.Models {
		if r, err := roles.Parse(string(m)); err != nil || r == roles.Other {
			return fmt.Errorf("models: unknown model %q (known: %v)", m, roles.Table1())
		}
	}
	if c.needsV1() {
		if err := c.V1.validate(); err != nil {
			return err
		}
		if err := c.Predictor.Validate(); err != nil {
			return fmt.Errorf("[predictor]: %w", err)
		}
		if err := c.MTL.Validate(); err != nil {
			return fmt.Errorf("[mtl]: %w", err)
		}
	}
	if slices.Contains(c.Models, roles.Oracle) || slices.Contains(c.Models, roles.MTLOracle) {
		if err := c.Oracle.Validate(); err != nil {
			return fmt.Errorf("[oracle]: %w", err)
		}
	}
	if c.Responses.PredictorSeed != 0 && !slices.Contains(c.Seeds, c.Responses.PredictorSeed) {
		return fmt.Errorf("[responses] predictor_seed %d is not one of the seeds %v", c.Responses.PredictorSeed, c.Seeds)
	}
	if len(c.Sweep.Ratios) > 0 && !slices.Contains(c.Models, roles.MTLMonkey) {
		return fmt.Errorf("[sweep] trains MTL-Monkey at several ratios: add \"mtl-monkey\" to models")
	}
	for _, name := range c.Evaluation.Corruptions {
		if !slices.Contains(corrupt.Names(), name) {
			return fmt.Errorf("[evaluation]: unknown corruption %q (known: %v)", name, corrupt.Names())
		}
	}
	switch c.Data.Dataset {
	case data.DatasetTinyImageNet:
		if c.Data.Root == "" {
			return fmt.Errorf("[data]: root must name the extracted tiny-imagenet-200 folder")
		}
	case data.DatasetFashionMNIST:
	case data.DatasetCIFAR10, data.DatasetCIFAR100:
		if c.Data.Root == "" {
			return fmt.Errorf("[data]: root must name the %s folder (cifar-10-batches-bin, cifar-10-batches-py, cifar-100-binary or cifar-100-python)", c.Data.Dataset)
		}
	default:
		return fmt.Errorf("[data]: dataset %q must be %q, %q, %q or %q", c.Data.Dataset, data.DatasetTinyImageNet, data.DatasetFashionMNIST, data.DatasetCIFAR10, data.DatasetCIFAR100)
	}
	if c.Data.Pad < 0 || c.Data.TrainLimit < 0 || c.Data.ValidationLimit < 0 || c.Data.TestLimit < 0 {
		return fmt.Errorf("[data]: pad and limits must not be negative")
	}
	if err := c.Adversarial.Validate(c.Seeds); err != nil {
		return err
	}
	if err := c.validateAnalysis(); err != nil {
		return err
	}
	if c.Mouse.Used() {
		if err := c.Mouse.Validate(); err != nil {
			return err
		}
	}
	return c.validateLi()
}

// needsV1 reports whether any model of the experiment needs V1 data.
func (c Config) needsV1() bool {
	for _, m := range c.Models {
		if m.NeedsV1() {
			return true
		}
	}
	return false
}
