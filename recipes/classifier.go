package recipes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// ClassifierData are the images a classifier trains on.
type ClassifierData struct {
	Train, Validation data.Set
	// TrainPipeline augments and normalizes training images.
	TrainPipeline data.Pipeline
	// Normalize normalizes validation and test images.
	Normalize data.Normalize
	// ValidationPipeline, if it has views, preprocesses the validation
	// images instead of plain normalization (the Oracle validates on
	// randomly corrupted images); its random draws are fixed, the same at
	// every validation, unless ResampleValidation is set.
	ValidationPipeline data.Pipeline
	// ResampleValidation draws the validation pipeline's randomness anew
	// at every epoch, as the original did for the Oracle.
	ResampleValidation bool
}

// ClassifierJob is one classifier training run.
type ClassifierJob struct {
	Dir    string
	Model  models.Network
	Recipe ClassifierConfig
	Data   ClassifierData
	Seed   int64
	// Tap names the layer representation matching compares (Consistency).
	Tap string
	// InitFrom loads the variables under the Frozen scopes from this model
	// file before training (e.g. the Oracle's noise-trained core).
	InitFrom string
	// Frozen lists variable scopes that are not trained and whose batch-norm
	// statistics stay fixed (e.g. "/features/conv1_1").
	Frozen []string
	// Consistency, if positive, is λ of the Oracle's representation
	// matching (spec §3.7): the training pipeline yields two views of each
	// image, the cross-entropy is taken on the first, and λ times the mean
	// over positions of 1 − cos(tap₁, tap₂) (cosine across channels of the
	// tapped layer) is added.
	Consistency float64
	// Matching is the distance of representation matching: MatchCosine
	// (also when empty) or MatchEuclidean.
	Matching string
}

// ClassifierResult summarizes a trained classifier.
type ClassifierResult struct {
	*LoopResult
	// ValidationAccuracy is the best validation accuracy in percent.
	ValidationAccuracy float64
}

// loaders returns the shuffled, augmenting training loader (seeded with
// seed) and the validation loader.
func (d ClassifierData) loaders(env Env, batch int, seed int64) (train, val *data.Loader, err error) {
	train, err = data.NewLoader(d.Train, data.LoaderConfig{BatchSize: batch, Shuffle: true, Seed: uint64(seed),
		Pipeline: d.TrainPipeline, Workers: env.Workers})
	if err != nil {
		return nil, nil, err
	}
	if len(d.ValidationPipeline.Views) > 0 {
		val, err = data.NewLoader(d.Validation, data.LoaderConfig{BatchSize: batch, Seed: validationSeed,
			Pipeline: d.ValidationPipeline, Workers: env.Workers})
	} else {
		val, err = data.NewEvalLoader(d.Validation, batch, d.Normalize, env.Workers)
	}
	return train, val, err
}

// hash identifies a job's configuration, so a resumed run is the same run.
func hash(parts ...any) (string, error) {
	raw, err := json.Marshal(parts)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8]), nil
}

// newModelContext returns a GoMLX context seeded for the job.
func newModelContext(seed int64) (*gctx.Context, error) {
	g := gctx.New()
	if err := nn.SetSeed(g, seed); err != nil {
		return nil, err
	}
	return g, nil
}

// freeze loads frozen scopes from a model file (on a fresh run) and marks
// their variables untrainable with batch norm statistics fixed.
func freeze(g *gctx.Context, frozen []string, initFrom string, fresh bool) error {
	if len(frozen) == 0 {
		return nil
	}
	if fresh && initFrom != "" {
		src := gctx.New()
		if err := checkpoint.Load(initFrom, src); err != nil {
			return err
		}
		n := 0
		for v := range src.IterVariables() {
			if !inScopes(v.Scope(), frozen) {
				continue
			}
			t, err := v.Value()
			if err != nil {
				return err
			}
			g.InAbsPath(v.Scope()).Checked(false).VariableWithValue(v.Name(), t)
			n++
		}
		if n == 0 {
			return fmt.Errorf("model file %s has no variables under %v", initFrom, frozen)
		}
	}
	for v := range g.IterVariables() {
		if inScopes(v.Scope(), frozen) {
			v.SetTrainable(false)
		}
	}
	for _, s := range frozen {
		nn.FreezeBatchNorm(g.InAbsPath(s))
	}
	return nil
}

func inScopes(scope string, scopes []string) bool {
	for _, s := range scopes {
		if scope == s || strings.HasPrefix(scope, s+"/") {
			return true
		}
	}
	return false
}

// TrainClassifier trains (or resumes, or returns the finished) classifier
// of job in job.Dir.
func TrainClassifier(ctx context.Context, env Env, job ClassifierJob) (*ClassifierResult, error) {
	if err := job.Model.Validate(); err != nil {
		return nil, err
	}
	if err := job.Recipe.Validate(); err != nil {
		return nil, fmt.Errorf("classifier recipe: %w", err)
	}
	spec, err := models.SpecOf(job.Model)
	if err != nil {
		return nil, err
	}
	configHash, err := hash(spec, job.Recipe, job.Seed, job.Data.Train.Name(), job.Data.Train.Len(),
		job.Data.Validation.Name(), job.Data.Validation.Len(), job.InitFrom, job.Frozen, job.Consistency, job.Tap, job.Matching,
		job.Data.TrainPipeline.NumViews(), job.Data.ValidationPipeline.NumViews(), job.Data.ResampleValidation)
	if err != nil {
		return nil, err
	}
	g, err := newModelContext(job.Seed)
	if err != nil {
		return nil, err
	}
	train, val, err := job.Data.loaders(env, job.Recipe.Batch, job.Seed)
	if err != nil {
		return nil, err
	}
	if job.Consistency > 0 && !slices.Contains(job.Model.Layers(), job.Tap) {
		return nil, fmt.Errorf("representation matching compares layer %q, which the model does not have (layers: %v)", job.Tap, job.Model.Layers())
	}
	if views, _, _ := train.Size(); (job.Consistency > 0) != (views == 2) {
		return nil, fmt.Errorf("consistency %v with a %d-view training pipeline: representation matching needs exactly two views", job.Consistency, views)
	}
	_, h, w := train.Size()
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := checkpoint.WriteRunInfo(job.Dir, checkpoint.RunInfo{Kind: checkpoint.KindClassifier, Model: spec, Normalize: job.Data.Normalize,
		Classes: job.Data.Train.Classes(), Seed: job.Seed, Input: [2]int{h, w}}); err != nil {
		return nil, err
	}
	l := &loop{dir: job.Dir, configHash: configHash, mode: nn.Max, lr: job.Recipe.Optimizer.LR,
		plateau: job.Recipe.Plateau, stopping: job.Recipe.Stopping, dtype: dtypes.Float32, objective: "validation accuracy %"}
	_, statErr := os.Stat(filepath.Join(job.Dir, checkpoint.StateFile))
	if err := freeze(g, job.Frozen, job.InitFrom, statErr != nil); err != nil {
		return nil, err
	}
	opt := &nn.SGD{LR: job.Recipe.Optimizer.LR, Momentum: job.Recipe.Optimizer.Momentum, WeightDecay: job.Recipe.Optimizer.WeightDecay}
	distance := nn.CosineDistance
	if job.Matching == MatchEuclidean {
		distance = nn.EuclideanDistance
	}
	t := &classifierTrainer{env: env, g: g, model: job.Model, tap: job.Tap, distance: distance, opt: opt, train: train, val: val,
		consistency: job.Consistency, resample: job.Data.ResampleValidation}
	res, err := l.run(ctx, env, g, t)
	if res == nil {
		return nil, err
	}
	return &ClassifierResult{LoopResult: res, ValidationAccuracy: res.BestObjective}, err
}

// classifierTrainer trains with cross-entropy and validates by accuracy.
type classifierTrainer struct {
	env         Env
	g           *gctx.Context
	model       models.Network
	tap         string // the layer representation matching compares
	distance    func(a, b *graph.Node) *graph.Node
	opt         nn.Optimizer
	train, val  *data.Loader
	consistency float64 // λ of representation matching (two views) or 0
	resample    bool    // a new draw of the validation pipeline every epoch
	lastEpoch   int     // the last epoch trained, which numbers resampled validation draws
	step, eval  *gctx.Exec
}

// validationSeed seeds the randomness of validation pipelines, the same for
// every run so that all models see the same corrupted validation images.
const validationSeed = 1000

func (t *classifierTrainer) build() error {
	if t.step != nil {
		return nil
	}
	var err error
	t.step, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x, labels *graph.Node) (*graph.Node, *graph.Node) {
		g := x.Graph()
		ctx.SetTraining(g, true)
		if t.consistency <= 0 {
			logits := t.model.Logits(ctx, x)
			loss := nn.CrossEntropy(logits, labels)
			t.opt.UpdateGraph(ctx, g, loss)
			return loss, nn.Correct(logits, labels)
		}
		// Both views pass through the network as one 2N batch, as in the
		// original; the labels belong to the first view.
		n := labels.Shape().Dimensions[0]
		logits, taps := t.model.Forward(ctx, x, t.tap)
		tapped := taps[0]
		first := graph.Slice(logits, graph.AxisRange(0, n))
		ce := nn.CrossEntropy(first, labels)
		loss := graph.Add(ce, graph.MulScalar(t.distance(graph.Slice(tapped, graph.AxisRange(0, n)),
			graph.Slice(tapped, graph.AxisRange(n, 2*n))), t.consistency))
		t.opt.UpdateGraph(ctx, g, loss)
		return ce, nn.Correct(first, labels)
	})
	if err != nil {
		return err
	}
	t.eval, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x, labels *graph.Node) *graph.Node {
		return nn.Correct(t.model.Logits(ctx, x), labels)
	})
	return err
}

func batchTensors(b *data.Batch) (*tensors.Tensor, *tensors.Tensor) {
	x := tensors.FromFlatDataAndDimensions(b.X, b.N*b.Views, b.H, b.W, 1)
	y := tensors.FromFlatDataAndDimensions(b.Labels, b.N)
	return x, y
}

func (t *classifierTrainer) epoch(ctx context.Context, epoch int, report func(done, total, images int, note string)) (map[string]float64, error) {
	if err := t.build(); err != nil {
		return nil, err
	}
	t.lastEpoch = epoch
	total := t.train.NumBatches()
	var lossSum float64
	var correct, images, done int
	for b, err := range t.train.Epoch(ctx, epoch) {
		if err != nil {
			return nil, err
		}
		x, y := batchTensors(b)
		out, err := nn.Call(t.step, x, y)
		if err != nil {
			return nil, fmt.Errorf("training step: %w", err)
		}
		lossSum += scalar(out[0]) * float64(b.N)
		correct += int(scalar(out[1]))
		images += b.N
		done++
		report(done, total, images, fmt.Sprintf("loss %.4f", lossSum/float64(images)))
	}
	if images == 0 {
		return nil, fmt.Errorf("the training set %s yielded no batches", t.train.Set().Name())
	}
	return map[string]float64{"train_loss": lossSum / float64(images), "train_accuracy": 100 * float64(correct) / float64(images)}, nil
}

func (t *classifierTrainer) validate(ctx context.Context) (float64, map[string]float64, error) {
	if err := t.build(); err != nil {
		return 0, nil, err
	}
	epoch := 0
	if t.resample {
		epoch = t.lastEpoch
	}
	acc, err := accuracy(ctx, t.eval, t.val, epoch)
	if err != nil {
		return 0, nil, err
	}
	return acc, map[string]float64{"val_accuracy": acc}, nil
}
