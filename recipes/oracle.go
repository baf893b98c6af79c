package recipes

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/models"
)

// OracleConfig is the Oracle recipe (spec §3.7): a classifier trained on a
// 50/50 mix of clean and corrupted images with representation matching,
// whose layers up to the tap are then frozen while the rest is
// re-initialized and retrained on clean images. Both stages use the
// Baseline's classifier recipe.
type OracleConfig struct {
	// Consistency is λ, the weight of the representation-matching loss
	// between the tapped maps of the two views (1 in the original).
	Consistency float64 `toml:"consistency"`
	// Matching is the representation-matching distance: MatchCosine
	// (default; the original code's) or MatchEuclidean (the paper's text).
	Matching string `toml:"matching"`
	// CleanProbability is the chance that the first view stays clean (0.5);
	// the second view is always corrupted.
	CleanProbability float64 `toml:"clean_probability"`
	// Corruptions are drawn uniformly, with a severity uniform in 1..5
	// (default: the paper's 14, all but glass blur).
	Corruptions []string `toml:"corruptions"`
	// Table is the corruption parameter table ("imagenet" by default).
	Table corrupt.Table `toml:"table"`
	// FrostDir is an optional folder of frost photographs.
	FrostDir string `toml:"frost_dir"`
	// ResampleValidation corrupts the validation images anew every epoch,
	// as the original did; by default they are corrupted once, so the
	// early-stopping signal is not noisy (docs/fidelity.md).
	ResampleValidation bool `toml:"resample_validation"`
	// ReadoutEpochs is the number of epochs the readout fitted to the
	// frozen Oracle core trains for (MTL-Oracle's targets): 10, as the
	// paper says; 0 gives it the predictor's full schedule instead.
	ReadoutEpochs int `toml:"readout_epochs"`
	// PyTorchReset re-initializes the layers above the tap with PyTorch's
	// layer defaults, as the original's reset did, instead of the VGG
	// initialization.
	PyTorchReset bool `toml:"pytorch_reset"`
}

// Representation-matching distances of OracleConfig.Matching.
const (
	// MatchCosine is the mean over positions of 1 − cos across channels,
	// what the original code computed (spec §3.7).
	MatchCosine = "cosine"
	// MatchEuclidean is the mean over positions of the Euclidean distance
	// across channels, what the paper's text says (Safarani et al. §3).
	MatchEuclidean = "euclidean"
)

// PaperOracle is the most plausible reading of the unpublished Oracle
// recipe (spec §3.7): λ = 1, first view clean with probability 0.5, the 14
// corruptions of the paper from the imagenet table.
func PaperOracle() OracleConfig {
	return OracleConfig{Consistency: 1, CleanProbability: 0.5, Matching: MatchCosine, ReadoutEpochs: 10, Corruptions: corrupt.Paper14(), Table: corrupt.TableImageNet}
}

// Validate checks the recipe.
func (c OracleConfig) Validate() error {
	if c.Consistency < 0 || c.CleanProbability < 0 || c.CleanProbability > 1 {
		return fmt.Errorf("oracle consistency %v and clean probability %v: need λ ≥ 0 and a probability in [0, 1]", c.Consistency, c.CleanProbability)
	}
	if c.ReadoutEpochs < 0 {
		return fmt.Errorf("oracle readout_epochs = %d must not be negative", c.ReadoutEpochs)
	}
	if c.Matching != "" && c.Matching != MatchCosine && c.Matching != MatchEuclidean {
		return fmt.Errorf("oracle matching %q: want %q or %q", c.Matching, MatchCosine, MatchEuclidean)
	}
	if len(c.Corruptions) == 0 {
		return fmt.Errorf("oracle: no corruptions")
	}
	for _, name := range c.Corruptions {
		if !slices.Contains(corrupt.Names(), name) {
			return fmt.Errorf("oracle: unknown corruption %q (known: %v)", name, corrupt.Names())
		}
	}
	return nil
}

// OracleJob is one Oracle training run, both stages.
type OracleJob struct {
	// Dir receives the final classifier; the noise-trained first stage
	// lives in Dir/NoiseStage.
	Dir   string
	Model models.Network
	// Tap is the layer the Oracle matches and freezes (conv3_1).
	Tap        string
	Classifier ClassifierConfig
	Recipe     OracleConfig
	Data       ClassifierData
	Seed       int64
}

// NoiseStage is the subdirectory of an Oracle run holding its first,
// noise-trained stage.
const NoiseStage = "noise"

// TrainOracle trains (or resumes) both stages of the Oracle: first on
// clean and corrupted images with representation matching, then, with
// everything up to the tap frozen (batch-norm statistics included), the
// layers above re-initialized and trained on clean images.
func TrainOracle(ctx context.Context, env Env, job OracleJob) (*ClassifierResult, error) {
	if err := job.Recipe.Validate(); err != nil {
		return nil, err
	}
	frozen, err := job.Model.ScopesThrough(job.Tap)
	if err != nil {
		return nil, fmt.Errorf("the Oracle needs the layer it matches and freezes (e.g. conv3_1): %w", err)
	}
	c, err := corrupt.New(corrupt.Options{Table: job.Recipe.Table, FrostDir: job.Recipe.FrostDir})
	if err != nil {
		return nil, err
	}
	corrupted := randomCorruption(c, job.Recipe.Corruptions, corrupt.Severities)
	maybe := data.WithProbability(1-job.Recipe.CleanProbability, corrupted)
	noisy := job.Data
	noisy.TrainPipeline.Views = []data.Photometric{maybe, corrupted}
	noisy.ValidationPipeline = data.Pipeline{Views: []data.Photometric{maybe}, Normalize: job.Data.Normalize}
	noisy.ResampleValidation = job.Recipe.ResampleValidation
	stage1 := filepath.Join(job.Dir, NoiseStage)
	fmt.Fprintf(progressOrDiscard(env), "Oracle stage 1: training on clean and corrupted images in %s\n", stage1)
	if _, err := TrainClassifier(ctx, env, ClassifierJob{Dir: stage1, Model: job.Model, Recipe: job.Classifier, Data: noisy,
		Seed: job.Seed, Tap: job.Tap, Consistency: job.Recipe.Consistency, Matching: job.Recipe.Matching}); err != nil {
		return nil, fmt.Errorf("Oracle stage 1: %w", err)
	}
	model := job.Model
	if job.Recipe.PyTorchReset {
		v, ok := model.(models.VGG)
		if !ok {
			return nil, fmt.Errorf("oracle pytorch_reset re-initializes a VGG, not a %T", model)
		}
		v.Init = models.InitPyTorch
		model = v
	}
	fmt.Fprintf(progressOrDiscard(env), "Oracle stage 2: layers up to %s frozen, retraining the rest on clean images in %s\n", job.Tap, job.Dir)
	res, err := TrainClassifier(ctx, env, ClassifierJob{Dir: job.Dir, Model: model, Recipe: job.Classifier, Data: job.Data,
		Seed: job.Seed, InitFrom: filepath.Join(stage1, checkpoint.ModelFile), Frozen: frozen})
	if err != nil {
		return nil, fmt.Errorf("Oracle stage 2: %w", err)
	}
	return res, nil
}

// randomCorruption is the view of noise-augmented training: it draws a
// corruption uniformly from names and a severity uniformly from
// 1..severities, then corrupts the uint8 image (before the grayscale
// conversion, as the original), all from the view's generator.
func randomCorruption(c *corrupt.Corrupter, names []string, severities int) data.Photometric {
	return func(img data.Image, rng *rand.Rand) (data.Image, error) {
		name := names[rng.IntN(len(names))]
		severity := 1 + rng.IntN(severities)
		out := data.Image{H: img.H, W: img.W, C: img.C, Pix: make([]uint8, len(img.Pix))}
		if err := c.ApplyInto(out.Pix, name, severity, corrupt.Image{W: img.W, H: img.H, C: img.C, Pix: img.Pix}, rng); err != nil {
			return data.Image{}, fmt.Errorf("%s at severity %d: %w", name, severity, err)
		}
		return out, nil
	}
}
