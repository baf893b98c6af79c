package recipes

import (
	"context"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/data/responses"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// MTLConfig is the co-training recipe of spec §3.3 (MTL-Monkey,
// MTL-Shuffled, MTL-Oracle).
type MTLConfig struct {
	// Batch is the size of both the classification and the neural batches.
	Batch     int       `toml:"batch"`
	Optimizer SGDConfig `toml:"optimizer"`
	// Ratio is the batch ratio "p:q": p neural batches for every q
	// classification batches (the paper's sweep runs 5:1 … 1:15).
	Ratio Ratio `toml:"ratio"`
	// DecayLossWeights applies weight decay to the learned log-variances
	// s_c and s_n, as the original did (docs/fidelity.md).
	DecayLossWeights bool `toml:"decay_loss_weights"`
	// ReadoutL1 is an L1 penalty on the readout's feature weights; the
	// paper's MTL runs had none (the original's γ was inactive).
	ReadoutL1 float64        `toml:"readout_l1"`
	Readout   ReadoutConfig  `toml:"readout"`
	Plateau   PlateauConfig  `toml:"plateau"`
	Stopping  StoppingConfig `toml:"stopping"`
}

// PaperMTL is the co-training recipe of spec §3.3: SGD lr 0.1, momentum
// 0.75, weight decay 5e-4, batches of 128, ratio 1:1; plateau on the
// validation accuracy (factor 0.3, patience 5, threshold 1e-4 absolute, min
// lr 1e-4); early stopping with patience 5, 5 decay steps, at most 407
// epochs.
func PaperMTL() MTLConfig {
	return MTLConfig{
		Batch:     128,
		Optimizer: SGDConfig{LR: 0.1, Momentum: 0.75, WeightDecay: 5e-4},
		Ratio:     Ratio{Neural: 1, Classification: 1},
		Readout:   ReadoutConfig{InitMuRange: 0.3, InitSigmaRange: 0.6},
		Plateau:   PlateauConfig{Factor: 0.3, Patience: 5, Threshold: 1e-4, ThresholdMode: "abs", MinLR: 1e-4},
		Stopping:  StoppingConfig{Patience: 5, DecaySteps: 5, MaxEpochs: 407, Tolerance: 1e-4},
	}
}

// Validate checks the recipe.
func (c MTLConfig) Validate() error {
	if c.Batch < 1 {
		return fmt.Errorf("batch = %d, need at least 1", c.Batch)
	}
	if err := c.Optimizer.validate(); err != nil {
		return err
	}
	if c.Ratio.Neural < 1 || c.Ratio.Classification < 1 {
		return fmt.Errorf("batch ratio %s: need positive batch counts", c.Ratio)
	}
	if c.ReadoutL1 < 0 {
		return fmt.Errorf("readout_l1 = %v must not be negative", c.ReadoutL1)
	}
	if _, err := c.Plateau.schedule(c.Optimizer.LR, nn.Max); err != nil {
		return err
	}
	return c.Stopping.validate()
}

// Ratio is a batch ratio of co-training, reduced: Neural neural batches
// for every Classification classification batches. In files and on the
// command line it is written "p:q" (the paper's sweep runs 5:1 … 1:15).
type Ratio struct {
	Neural, Classification int
}

// ParseRatio reads a batch ratio "p:q" (neural : classification) and
// reduces it.
func ParseRatio(s string) (Ratio, error) {
	var p, q int
	a, b, ok := strings.Cut(s, ":")
	var err error
	if ok {
		p, err = strconv.Atoi(strings.TrimSpace(a))
		if err == nil {
			q, err = strconv.Atoi(strings.TrimSpace(b))
		}
	}
	if !ok || err != nil || p < 1 || q < 1 {
		return Ratio{}, fmt.Errorf("batch ratio %q must be \"p:q\" with positive integers (neural : classification batches, e.g. \"1:3\")", s)
	}
	g := gcd(p, q)
	return Ratio{Neural: p / g, Classification: q / g}, nil
}

// String writes the ratio as "p:q".
func (r Ratio) String() string { return fmt.Sprintf("%d:%d", r.Neural, r.Classification) }

// MarshalText writes the ratio as "p:q".
func (r Ratio) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads "p:q" as ParseRatio does.
func (r *Ratio) UnmarshalText(text []byte) error {
	v, err := ParseRatio(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// NeuralBatches is the number of neural batches that precede classification
// batch i (from 0) at ratio p:q: ⌊(i+1)p/q⌋ − ⌊ip/q⌋. Over any q consecutive
// classification batches this totals p, for every ratio (the original's
// float modulo only handled 1:k and k:1).
func NeuralBatches(i, p, q int) int { return (i+1)*p/q - i*p/q }

// MTLJob is one co-training run.
type MTLJob struct {
	Dir   string
	Model models.Network
	// Tap is the layer the neural readout reads (conv3_1).
	Tap    string
	Recipe MTLConfig
	Data   ClassifierData
	// Responses are the neural targets, one row per image of Data.Train.
	Responses *responses.Set
	Seed      int64
}

// MTLResult summarizes a co-trained model.
type MTLResult struct {
	*LoopResult
	// ValidationAccuracy is the best validation accuracy in percent.
	ValidationAccuracy float64
}

// TrainMTL trains (or resumes, or returns the finished) co-trained model of
// job in job.Dir.
func TrainMTL(ctx context.Context, env Env, job MTLJob) (*MTLResult, error) {
	if err := job.Model.Validate(); err != nil {
		return nil, err
	}
	if !slices.Contains(job.Model.Layers(), job.Tap) {
		return nil, fmt.Errorf("co-training needs the layer the neural readout reads (e.g. conv3_1); %q is not one of %v", job.Tap, job.Model.Layers())
	}
	if err := job.Recipe.Validate(); err != nil {
		return nil, fmt.Errorf("co-training recipe: %w", err)
	}
	rs := job.Responses
	if rs.Images != job.Data.Train.Len() {
		return nil, fmt.Errorf("the response set (of %s) has %d images, the classification training set %s has %d; "+
			"make it for the training images", rs.Source, rs.Images, job.Data.Train.Name(), job.Data.Train.Len())
	}
	p, q := job.Recipe.Ratio.Neural, job.Recipe.Ratio.Classification
	spec, err := models.SpecOf(job.Model)
	if err != nil {
		return nil, err
	}
	configHash, err := hash(spec, job.Tap, job.Recipe, job.Seed, job.Data.Train.Name(), job.Data.Train.Len(),
		job.Data.Validation.Name(), job.Data.Validation.Len(), rs.Source, rs.Meta, rs.Neurons, p, q)
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
	// The neural images: the training images with their responses, split
	// 80/20 by image id with seed 1000 as the original's loader did, without
	// augmentation.
	trainIDs, valIDs := recordings.SplitImageIDs(rs.Images, recordings.DefaultTrainFrac, recordings.DefaultSplitSeed)
	nTrain, nVal := idsToRows(trainIDs), idsToRows(valIDs)
	nTrainSet, err := data.Subset(job.Data.Train, nTrain)
	if err != nil {
		return nil, err
	}
	nValSet, err := data.Subset(job.Data.Train, nVal)
	if err != nil {
		return nil, err
	}
	neural, err := data.NewLoader(nTrainSet, data.LoaderConfig{BatchSize: job.Recipe.Batch, Shuffle: true,
		Seed: uint64(job.Seed) + 1, Pipeline: data.EvalPipeline(job.Data.Normalize), Workers: env.Workers})
	if err != nil {
		return nil, err
	}
	neuralVal, err := data.NewEvalLoader(nValSet, job.Recipe.Batch, job.Data.Normalize, env.Workers)
	if err != nil {
		return nil, err
	}
	_, h, w := train.Size()
	readout := models.Readout{Name: "responses", Neurons: rs.Neurons}
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := checkpoint.WriteRunInfo(job.Dir, checkpoint.RunInfo{Kind: checkpoint.KindMTL, Model: spec, Tap: job.Tap, Normalize: job.Data.Normalize,
		Classes: job.Data.Train.Classes(), Readouts: []models.Readout{readout}, Seed: job.Seed, Input: [2]int{h, w}}); err != nil {
		return nil, err
	}
	head := models.GaussianHead{Readouts: []models.Readout{readout}, Options: job.Recipe.Readout.options()}
	t := &mtlTrainer{env: env, g: g, model: job.Model, tap: job.Tap, head: head, cfg: job.Recipe, rs: rs, p: p, q: q,
		opt:   &nn.SGD{LR: job.Recipe.Optimizer.LR, Momentum: job.Recipe.Optimizer.Momentum, WeightDecay: job.Recipe.Optimizer.WeightDecay},
		train: train, val: val, neural: neural, neuralVal: neuralVal, neuralRows: nTrain, neuralValRows: nVal}
	// The readout bias starts at the mean target of the first neural batch.
	first := neural.Order(epochPass(1, 0))[:min(job.Recipe.Batch, len(nTrain))]
	mean := make([]float64, rs.Neurons)
	for _, i := range first {
		for n, v := range rs.Row(nTrain[i]) {
			mean[n] += float64(v) / float64(len(first))
		}
	}
	nn.Param(g.In("readout").In("0"), "bias", dtypes.Float32, []int{rs.Neurons}, func(*rand.Rand, []int) []float64 { return mean })
	l := &loop{dir: job.Dir, configHash: configHash, mode: nn.Max, lr: job.Recipe.Optimizer.LR,
		plateau: job.Recipe.Plateau, stopping: job.Recipe.Stopping, dtype: dtypes.Float32, objective: "validation accuracy %"}
	res, err := l.run(ctx, env, g, t)
	if res == nil {
		return nil, err
	}
	return &MTLResult{LoopResult: res, ValidationAccuracy: res.BestObjective}, err
}

// idsToRows turns 1-based image ids into 0-based rows.
func idsToRows(ids []int64) []int {
	rows := make([]int, len(ids))
	for i, id := range ids {
		rows[i] = int(id - 1)
	}
	return rows
}

// epochPass numbers the passes of the neural loader: within a training
// epoch the neural images are cycled, each pass in a new order, and every
// epoch starts afresh, so a resumed run sees the same batches.
func epochPass(epoch, pass int) int { return epoch*1000 + pass }

// mtlTrainer co-trains classification and neural prediction with learned
// uncertainty weighting and gradient accumulation (spec §3.3).
type mtlTrainer struct {
	env                       Env
	g                         *gctx.Context
	model                     models.Network
	tap                       string
	head                      models.GaussianHead
	cfg                       MTLConfig
	rs                        *responses.Set
	p, q                      int
	opt                       nn.Optimizer
	train, val                *data.Loader
	neural, neuralVal         *data.Loader
	neuralRows, neuralValRows []int // response-set rows of the neural loaders' examples
	step, eval, predict       *gctx.Exec
}

// lossWeight is the learned log-variance s of one task, a scalar starting
// at 0.
func (t *mtlTrainer) lossWeight(ctx *gctx.Context, g *graph.Graph, name string) *graph.Node {
	c := ctx.In("loss_weights")
	if !t.cfg.DecayLossWeights {
		nn.NoWeightDecay(c, name)
	}
	return nn.Param(c, name, dtypes.Float32, []int{}, nn.Constant(0)).ValueGraph(g)
}

func (t *mtlTrainer) build() error {
	if t.step != nil {
		return nil
	}
	var err error
	// Inputs: classification images and labels, then (images, targets)
	// for each neural batch of the step.
	t.step, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, in []*graph.Node) []*graph.Node {
		g := in[0].Graph()
		ctx.SetTraining(g, true)
		sc, sn := t.lossWeight(ctx, g, "classification"), t.lossWeight(ctx, g, "neural")
		half := func(x *graph.Node) *graph.Node { return graph.MulScalar(x, 0.5) }
		total := graph.ScalarZero(g, dtypes.Float32)
		mse := graph.ScalarZero(g, dtypes.Float32)
		// Neural batches first, then the classification batch, as the
		// original; batch norm statistics update after each.
		for j := 2; j < len(in); j += 2 {
			pred := t.head.Responses(ctx, t.model.Features(ctx, in[j], t.tap)[0], 0)
			m := nn.MSE(pred, in[j+1])
			mse = graph.Add(mse, m)
			total = graph.Add(total, graph.Add(half(graph.Mul(graph.Exp(graph.Neg(sn)), m)), half(sn)))
			if t.cfg.ReadoutL1 > 0 {
				total = graph.Add(total, graph.MulScalar(t.head.L1(ctx, g, 0), t.cfg.ReadoutL1))
			}
		}
		logits := t.model.Logits(ctx, in[0])
		ce := nn.CrossEntropy(logits, in[1])
		total = graph.Add(total, graph.Add(graph.Mul(graph.Exp(graph.Neg(sc)), ce), half(sc)))
		t.opt.UpdateGraph(ctx, g, total)
		return []*graph.Node{ce, nn.Correct(logits, in[1]), mse}
	})
	if err != nil {
		return err
	}
	t.eval, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x, labels *graph.Node) *graph.Node {
		return nn.Correct(t.model.Logits(ctx, x), labels)
	})
	if err != nil {
		return err
	}
	t.predict, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		return t.head.All(ctx, t.model.Features(ctx, x, t.tap)[0])
	})
	return err
}

// targets stacks the responses of a neural batch's images.
func (t *mtlTrainer) targets(b *data.Batch, rows []int) *tensors.Tensor {
	y := make([]float32, 0, b.N*t.rs.Neurons)
	for _, i := range b.Indices {
		y = append(y, t.rs.Row(rows[i])...)
	}
	return tensors.FromFlatDataAndDimensions(y, b.N, t.rs.Neurons)
}

func (t *mtlTrainer) epoch(ctx context.Context, epoch int, report func(done, total, images int, note string)) (map[string]float64, error) {
	if err := t.build(); err != nil {
		return nil, err
	}
	pass := 0
	next, stop := iter.Pull2(t.neural.Epoch(ctx, epochPass(epoch, pass)))
	defer func() { stop() }()
	neuralBatch := func() (*data.Batch, error) {
		for range 2 {
			b, err, ok := next()
			if ok {
				return b, err
			}
			stop() // this pass is exhausted: start the next, reshuffled
			pass++
			next, stop = iter.Pull2(t.neural.Epoch(ctx, epochPass(epoch, pass)))
		}
		return nil, fmt.Errorf("the neural training images yielded no batch")
	}
	total := t.train.NumBatches()
	var ceSum, mseSum float64
	var correct, images, done, neuralBatches int
	i := 0
	for b, err := range t.train.Epoch(ctx, epoch) {
		if err != nil {
			return nil, err
		}
		x, y := batchTensors(b)
		args := []any{x, y}
		for range NeuralBatches(i, t.p, t.q) {
			nb, err := neuralBatch()
			if err != nil {
				return nil, err
			}
			nx, _ := batchTensors(nb)
			args = append(args, nx, t.targets(nb, t.neuralRows))
		}
		out, err := nn.Call(t.step, args...)
		if err != nil {
			return nil, fmt.Errorf("training step: %w", err)
		}
		ceSum += scalar(out[0]) * float64(b.N)
		correct += int(scalar(out[1]))
		mseSum += scalar(out[2])
		neuralBatches += (len(args) - 2) / 2
		images += b.N
		done++
		i++
		report(done, total, images, fmt.Sprintf("loss %.4f", ceSum/float64(images)))
	}
	if images == 0 {
		return nil, fmt.Errorf("the training set %s yielded no batches", t.train.Set().Name())
	}
	m := map[string]float64{"train_loss": ceSum / float64(images), "train_accuracy": 100 * float64(correct) / float64(images),
		"neural_batches": float64(neuralBatches)}
	if neuralBatches > 0 {
		m["train_neural_mse"] = mseSum / float64(neuralBatches)
	}
	for _, name := range []string{"classification", "neural"} {
		if v := t.g.In("loss_weights").GetVariableByScopeAndName("/loss_weights", name); v != nil {
			if val, err := v.Value(); err == nil {
				m["s_"+name] = scalar(val)
			}
		}
	}
	return m, nil
}

// validate returns the validation accuracy (the monitored objective) and
// the mean correlation between predicted and target responses on the
// neural validation images (logged only, as in the original).
func (t *mtlTrainer) validate(ctx context.Context) (float64, map[string]float64, error) {
	if err := t.build(); err != nil {
		return 0, nil, err
	}
	acc, err := accuracy(ctx, t.eval, t.val, 0)
	if err != nil {
		return 0, nil, err
	}
	var resp, pred [][]float64
	for b, err := range t.neuralVal.Epoch(ctx, 0) {
		if err != nil {
			return 0, nil, err
		}
		x, _ := batchTensors(b)
		out, err := nn.Call(t.predict, x)
		if err != nil {
			return 0, nil, fmt.Errorf("neural validation: %w", err)
		}
		for k, row := range out[0].Value().([][]float32) {
			pred = append(pred, float64s(row))
			resp = append(resp, float64s(t.rs.Row(t.neuralValRows[b.Indices[k]])))
		}
	}
	corr, err := metrics.Correlation(resp, pred)
	if err != nil {
		return 0, nil, fmt.Errorf("neural validation: %w", err)
	}
	var c float64
	for _, v := range corr {
		c += v
	}
	c /= float64(max(len(corr), 1))
	if math.IsNaN(c) {
		c = 0
	}
	return acc, map[string]float64{"val_accuracy": acc, "val_neural_correlation": c}, nil
}

func float64s(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// accuracy is the percentage of correctly classified examples of an
// evaluation loader's epoch, with eval a compiled (images, labels) → correct
// count graph.
func accuracy(ctx context.Context, eval *gctx.Exec, loader *data.Loader, epoch int) (float64, error) {
	correct, n := 0, 0
	for b, err := range loader.Epoch(ctx, epoch) {
		if err != nil {
			return 0, err
		}
		x, y := batchTensors(b)
		out, err := nn.Call(eval, x, y)
		if err != nil {
			return 0, fmt.Errorf("validation: %w", err)
		}
		correct += int(scalar(out[0]))
		n += b.N
	}
	return 100 * float64(correct) / float64(max(n, 1)), nil
}
