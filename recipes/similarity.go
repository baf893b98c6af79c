package recipes

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// SimilarityConfig is Li et al. 2019's recipe of a similarity-regularized
// classifier (§3–4.1): every step one classification batch and one batch
// of stimulus images, L = CE + α · L_similarity, SGD with a step schedule
// for a fixed number of epochs; the model after the last epoch is kept.
type SimilarityConfig struct {
	// Batch is the classification batch (64).
	Batch int `toml:"batch"`
	// StimulusBatch is the number of stimulus images per step (64: "the
	// same number of images are passed in the classification pathway and
	// neural pathway"); the loss averages over all their pairs.
	StimulusBatch int `toml:"stimulus_batch"`
	// Epochs is the length of training (40).
	Epochs int `toml:"epochs"`
	// Optimizer is SGD; its lr is the schedule's starting rate.
	Optimizer SGDConfig `toml:"optimizer"`
	// Schedule multiplies the rate by Factor every Every epochs and starts
	// over after Reset epochs (0.3, 4, 20); its lr is Optimizer.LR.
	Schedule StepConfig `toml:"schedule"`
	// Alpha is the regularization strength α (20).
	Alpha float64 `toml:"alpha"`
	// Clamp keeps both similarities in [−1 + Clamp, 1 − Clamp] before the
	// arctanh (1e-4; the paper gives none).
	Clamp float64 `toml:"clamp"`
}

// StepConfig is a step schedule's shape (nn.StepLR without its rate).
type StepConfig struct {
	Factor float64 `toml:"factor"`
	Every  int     `toml:"every"`
	Reset  int     `toml:"reset"`
}

// PaperSimilarity is Li et al.'s recipe (§4.1): 40 epochs, batch 64 (and
// 64 stimulus images), lr 0.1 × 0.3 every 4 epochs, back to 0.1 after
// epoch 20, α = 20. The paper names no momentum or weight decay; cotrain
// uses momentum 0.9 and weight decay 5e-4, the usual CIFAR ResNet setting
// (docs/fidelity.md), and the clamp 1e-4.
func PaperSimilarity() SimilarityConfig {
	return SimilarityConfig{
		Batch: 64, StimulusBatch: 64, Epochs: 40,
		Optimizer: SGDConfig{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4},
		Schedule:  StepConfig{Factor: 0.3, Every: 4, Reset: 20},
		Alpha:     20, Clamp: 1e-4,
	}
}

// Steps is the recipe's learning-rate schedule.
func (c SimilarityConfig) Steps() nn.StepLR {
	return nn.StepLR{LR: c.Optimizer.LR, Factor: c.Schedule.Factor, Every: c.Schedule.Every, Reset: c.Schedule.Reset}
}

// Validate checks the recipe.
func (c SimilarityConfig) Validate() error {
	if c.Batch < 1 || c.Epochs < 1 {
		return fmt.Errorf("batch %d and epochs %d must be positive", c.Batch, c.Epochs)
	}
	if c.Alpha < 0 || math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0) {
		return fmt.Errorf("alpha %v must be finite and not negative", c.Alpha)
	}
	if c.Alpha > 0 && c.StimulusBatch < 2 {
		return fmt.Errorf("stimulus_batch %d: the similarity loss needs at least two images (one pair)", c.StimulusBatch)
	}
	if !(c.Clamp > 0 && c.Clamp < 1) {
		return fmt.Errorf("clamp %v must be in (0, 1)", c.Clamp)
	}
	if err := c.Optimizer.validate(); err != nil {
		return err
	}
	return c.Steps().Validate()
}

// SimilarityTarget is what the regularizer matches: the stimulus images
// and their target similarity matrix (a similarity.Target's content).
type SimilarityTarget struct {
	// Name identifies the target in messages and in the run's hash (the
	// target file's path and kind).
	Name string
	// N images of H×W grayscale pixels (0 black … 255 white), row-major.
	N, H, W int
	Pixels  []uint8
	// S is the N×N target, row-major: S[i*N+j] for images i and j.
	S []float32
}

// Validate checks the target's sizes.
func (t *SimilarityTarget) Validate() error {
	if t.N < 2 || t.H < 1 || t.W < 1 || len(t.Pixels) != t.N*t.H*t.W || len(t.S) != t.N*t.N {
		return fmt.Errorf("similarity target %s: %d images of %d×%d with %d pixels and %d similarities: need at least 2 images, N·H·W pixels and N² similarities",
			t.Name, t.N, t.H, t.W, len(t.Pixels), len(t.S))
	}
	return nil
}

// digest identifies the target's content.
func (t *SimilarityTarget) digest() string {
	h := sha256.New()
	var b [4]byte
	for _, v := range t.S {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		h.Write(b[:])
	}
	h.Write(t.Pixels)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// SimilarityJob is one similarity-regularized training run (Li et al.'s
// Fig. 4 models): a classifier with a SimilarityHead on Head's layers.
// With Alpha 0 or no Target it is the "None" control: the same recipe
// without the regularizer.
type SimilarityJob struct {
	Dir    string
	Model  models.Network
	Head   models.SimilarityHead
	Recipe SimilarityConfig
	Data   ClassifierData
	Target *SimilarityTarget
	Seed   int64
}

// regularized reports whether the job trains with the similarity loss.
func (j SimilarityJob) regularized() bool { return j.Recipe.Alpha > 0 && j.Target != nil }

// TrainSimilarity trains (or resumes, or returns the finished) model of job
// in job.Dir. The monitored objective is the validation accuracy; it is
// logged every epoch with the similarity loss and the layer weights γ
// ("gamma_<layer>"), but the model kept is the last epoch's.
func TrainSimilarity(ctx context.Context, env Env, job SimilarityJob) (*ClassifierResult, error) {
	if err := job.Model.Validate(); err != nil {
		return nil, err
	}
	if err := job.Recipe.Validate(); err != nil {
		return nil, fmt.Errorf("similarity recipe: %w", err)
	}
	reg := job.regularized()
	targetID := ""
	if reg {
		if err := job.Head.Validate(job.Model); err != nil {
			return nil, err
		}
		if err := job.Target.Validate(); err != nil {
			return nil, err
		}
		if job.Recipe.StimulusBatch > job.Target.N {
			return nil, fmt.Errorf("stimulus_batch %d is larger than the %d images of the similarity target %s", job.Recipe.StimulusBatch, job.Target.N, job.Target.Name)
		}
		targetID = job.Target.Name + "@" + job.Target.digest()
	}
	spec, err := models.SpecOf(job.Model)
	if err != nil {
		return nil, err
	}
	configHash, err := hash(spec, job.Head, job.Recipe, job.Seed, job.Data.Train.Name(), job.Data.Train.Len(),
		job.Data.Validation.Name(), job.Data.Validation.Len(), job.Data.TrainPipeline.NumViews(), targetID)
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
	if views, _, _ := train.Size(); views != 1 {
		return nil, fmt.Errorf("similarity training takes a one-view training pipeline, not %d views", views)
	}
	_, h, w := train.Size()
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	info := checkpoint.RunInfo{Kind: checkpoint.KindSimilarity, Model: spec, Normalize: job.Data.Normalize,
		Classes: job.Data.Train.Classes(), Seed: job.Seed, Input: [2]int{h, w}}
	if reg {
		head := job.Head
		info.Similarity = &head
	}
	if err := checkpoint.WriteRunInfo(job.Dir, info); err != nil {
		return nil, err
	}
	steps := job.Recipe.Steps()
	l := &loop{dir: job.Dir, configHash: configHash, mode: nn.Max, lr: job.Recipe.Optimizer.LR,
		plateau:  PlateauConfig{Factor: job.Recipe.Schedule.Factor, ThresholdMode: string(nn.Abs)},
		stopping: StoppingConfig{Patience: job.Recipe.Epochs + 1, DecaySteps: 1, MaxEpochs: job.Recipe.Epochs},
		dtype:    dtypes.Float32, objective: "validation accuracy %", steps: steps.At}
	t := &similarityTrainer{env: env, g: g, job: job, reg: reg, train: train, val: val,
		opt: &nn.SGD{LR: job.Recipe.Optimizer.LR, Momentum: job.Recipe.Optimizer.Momentum, WeightDecay: job.Recipe.Optimizer.WeightDecay}}
	if reg {
		t.stimuli = stimulusImages(job.Target, job.Data.Normalize)
	}
	res, err := l.run(ctx, env, g, t)
	if res == nil {
		return nil, err
	}
	return &ClassifierResult{LoopResult: res, ValidationAccuracy: res.History[len(res.History)-1].Metrics["val_accuracy"]}, err
}

// stimulusImages preprocesses the target's images as the classification
// images are: cotrain's grayscale formula on the one-channel image, then
// the normalization. [N·H·W] float32.
func stimulusImages(t *SimilarityTarget, n data.Normalize) []float32 {
	size := t.H * t.W
	out := make([]float32, t.N*size)
	for i := range t.N {
		img := data.Image{H: t.H, W: t.W, C: 1, Pix: t.Pixels[i*size : (i+1)*size]}
		dst := out[i*size : (i+1)*size]
		data.Gray(img, dst)
		n.Apply(dst)
	}
	return out
}

// SimilarityStep builds one training step of the regularized classifier in
// the graph of x: the cross-entropy of the classification batch x [N, H,
// W, 1] with labels [N], then, with alpha > 0, the similarity loss of the
// stimulus batch stim [B, H′, W′, 1] against target [B, B] (both batches
// run through the network in training mode, classification first, so batch
// norm's statistics update after each); one update of opt on
// CE + alpha·L_sim. It returns the cross-entropy, the similarity loss (0
// without regularization) and the number of correct classifications.
func SimilarityStep(ctx *gctx.Context, model models.Network, head models.SimilarityHead, opt nn.Optimizer, alpha, clamp float64,
	x, labels, stim, target *graph.Node) (ce, sim, correct *graph.Node) {
	g := x.Graph()
	ctx.SetTraining(g, true)
	logits := model.Logits(ctx, x)
	ce = nn.CrossEntropy(logits, labels)
	total := ce
	sim = graph.ScalarZero(g, ce.DType())
	if alpha > 0 {
		sim = nn.SimilarityLoss(head.Similarity(ctx, model, stim), target, clamp)
		total = graph.Add(ce, graph.MulScalar(sim, alpha))
	}
	opt.UpdateGraph(ctx, g, total)
	return ce, sim, nn.Correct(logits, labels)
}

// similarityTrainer trains with cross-entropy plus the similarity loss and
// validates by accuracy.
type similarityTrainer struct {
	env        Env
	g          *gctx.Context
	job        SimilarityJob
	reg        bool
	opt        nn.Optimizer
	train, val *data.Loader
	stimuli    []float32 // the target's images, preprocessed
	step, eval *gctx.Exec
}

func (t *similarityTrainer) build() error {
	if t.step != nil {
		return nil
	}
	alpha, clamp := t.job.Recipe.Alpha, t.job.Recipe.Clamp
	var err error
	if t.reg {
		t.step, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x, labels, stim, target *graph.Node) []*graph.Node {
			ce, sim, correct := SimilarityStep(ctx, t.job.Model, t.job.Head, t.opt, alpha, clamp, x, labels, stim, target)
			return []*graph.Node{ce, sim, correct}
		})
	} else {
		t.step, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x, labels *graph.Node) []*graph.Node {
			ce, sim, correct := SimilarityStep(ctx, t.job.Model, t.job.Head, t.opt, 0, clamp, x, labels, nil, nil)
			return []*graph.Node{ce, sim, correct}
		})
	}
	if err != nil {
		return err
	}
	t.eval, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x, labels *graph.Node) *graph.Node {
		return nn.Correct(t.job.Model.Logits(ctx, x), labels)
	})
	return err
}

// stimulusSampler draws the stimulus batches of one epoch: the images in a
// random order (from the job's seed and the epoch), B at a time, a new
// order whenever fewer than B remain, so a batch never repeats an image.
type stimulusSampler struct {
	rng   *rand.Rand
	n, b  int
	order []int
	next  int
}

func newStimulusSampler(seed int64, epoch, n, b int) *stimulusSampler {
	return &stimulusSampler{rng: rand.New(rand.NewPCG(uint64(seed), 0x5151<<32|uint64(epoch))), n: n, b: b}
}

// batch returns the next B image indices.
func (s *stimulusSampler) batch() []int {
	if s.order == nil || s.next+s.b > s.n {
		s.order = s.rng.Perm(s.n)
		s.next = 0
	}
	idx := s.order[s.next : s.next+s.b]
	s.next += s.b
	return idx
}

// stimulusBatch gathers the images idx and their target block.
func (t *similarityTrainer) stimulusBatch(idx []int) (*tensors.Tensor, *tensors.Tensor) {
	tg := t.job.Target
	size := tg.H * tg.W
	x := make([]float32, 0, len(idx)*size)
	s := make([]float32, 0, len(idx)*len(idx))
	for _, i := range idx {
		x = append(x, t.stimuli[i*size:(i+1)*size]...)
		row := tg.S[i*tg.N : (i+1)*tg.N]
		for _, j := range idx {
			s = append(s, row[j])
		}
	}
	return tensors.FromFlatDataAndDimensions(x, len(idx), tg.H, tg.W, 1), tensors.FromFlatDataAndDimensions(s, len(idx), len(idx))
}

func (t *similarityTrainer) epoch(ctx context.Context, epoch int, report func(done, total, images int, note string)) (map[string]float64, error) {
	if err := t.build(); err != nil {
		return nil, err
	}
	var sampler *stimulusSampler
	if t.reg {
		sampler = newStimulusSampler(t.job.Seed, epoch, t.job.Target.N, t.job.Recipe.StimulusBatch)
	}
	total := t.train.NumBatches()
	var ceSum, simSum float64
	var correct, images, done int
	for b, err := range t.train.Epoch(ctx, epoch) {
		if err != nil {
			return nil, err
		}
		x, y := batchTensors(b)
		args := []any{x, y}
		if t.reg {
			stim, target := t.stimulusBatch(sampler.batch())
			args = append(args, stim, target)
		}
		out, err := nn.Call(t.step, args...)
		if err != nil {
			return nil, fmt.Errorf("training step: %w", err)
		}
		ceSum += scalar(out[0]) * float64(b.N)
		simSum += scalar(out[1])
		correct += int(scalar(out[2]))
		images += b.N
		done++
		report(done, total, images, fmt.Sprintf("loss %.4f sim %.4f", ceSum/float64(images), simSum/float64(done)))
	}
	if images == 0 {
		return nil, fmt.Errorf("the training set %s yielded no batches", t.train.Set().Name())
	}
	ce := ceSum / float64(images)
	m := map[string]float64{"train_ce": ce, "train_accuracy": 100 * float64(correct) / float64(images)}
	if t.reg {
		sim := simSum / float64(done)
		m["train_similarity_loss"] = sim
		m["train_loss"] = ce + t.job.Recipe.Alpha*sim
		if gamma, ok := t.job.Head.GammaValues(t.g); ok {
			for k, layer := range t.job.Head.Layers {
				m["gamma_"+layer] = gamma[k]
			}
		}
	} else {
		m["train_loss"] = ce
	}
	return m, nil
}

func (t *similarityTrainer) validate(ctx context.Context) (float64, map[string]float64, error) {
	if err := t.build(); err != nil {
		return 0, nil, err
	}
	acc, err := accuracy(ctx, t.eval, t.val, 0)
	if err != nil {
		return 0, nil, err
	}
	return acc, map[string]float64{"val_accuracy": acc}, nil
}
