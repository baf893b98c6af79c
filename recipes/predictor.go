package recipes

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// AdamConfig configures Adam with coupled weight decay.
type AdamConfig struct {
	LR          float64 `toml:"lr"`
	WeightDecay float64 `toml:"weight_decay"`
}

// ReadoutConfig configures the Gaussian readout (spec §2.3).
type ReadoutConfig struct {
	InitMuRange    float64 `toml:"init_mu_range"`
	InitSigmaRange float64 `toml:"init_sigma_range"`
	// DecayPosition applies weight decay to the read positions μ and
	// spreads σ as the original did (docs/fidelity.md).
	DecayPosition bool `toml:"decay_position"`
	// LRScale multiplies the learning rate of the readout's variables (1 in
	// the paper; a short co-training run needs a faster readout, see
	// docs/fidelity.md).
	LRScale float64 `toml:"lr_scale"`
}

func (c ReadoutConfig) options() nn.ReadoutOptions {
	return nn.ReadoutOptions{InitMuRange: c.InitMuRange, InitSigmaRange: c.InitSigmaRange, DecayPosition: c.DecayPosition, LRScale: c.LRScale}
}

// PredictorConfig is the recipe of a neural predictor: the Monkey Predictor
// (spec §3.2) and the readout fitted to the Oracle's frozen core (§3.8).
type PredictorConfig struct {
	Batch     int        `toml:"batch"`
	Optimizer AdamConfig `toml:"optimizer"`
	// ReadoutL1 is γ, the weight of the L1 penalty Σ|w| on each readout's
	// feature weights.
	ReadoutL1 float64 `toml:"readout_l1"`
	// ScaleLoss multiplies each session's summed Poisson loss by
	// √(training trials / batch size).
	ScaleLoss bool           `toml:"scale_loss"`
	Readout   ReadoutConfig  `toml:"readout"`
	Plateau   PlateauConfig  `toml:"plateau"`
	Stopping  StoppingConfig `toml:"stopping"`
}

// PaperPredictor is the single-task V1 recipe of spec §3.2: Adam lr 5e-4
// with coupled weight decay 5e-4, batch 128, Poisson loss scaled by
// √(N/B) plus 0.5·Σ|w|; plateau on the validation correlation (factor 0.5,
// patience 5, threshold 1e-6 absolute, min lr 1e-4); early stopping with
// patience 5, 5 decay steps, at most 150 epochs.
func PaperPredictor() PredictorConfig {
	return PredictorConfig{
		Batch:     128,
		Optimizer: AdamConfig{LR: 5e-4, WeightDecay: 5e-4},
		ReadoutL1: 0.5,
		ScaleLoss: true,
		Readout:   ReadoutConfig{InitMuRange: 0.3, InitSigmaRange: 0.6},
		Plateau:   PlateauConfig{Factor: 0.5, Patience: 5, Threshold: 1e-6, ThresholdMode: "abs", MinLR: 1e-4},
		Stopping:  StoppingConfig{Patience: 5, DecaySteps: 5, MaxEpochs: 150, Tolerance: 1e-6},
	}
}

// Validate checks the recipe.
func (c PredictorConfig) Validate() error {
	if c.Batch < 1 {
		return fmt.Errorf("batch = %d, need at least 1", c.Batch)
	}
	if c.Optimizer.LR <= 0 || c.Optimizer.WeightDecay < 0 {
		return fmt.Errorf("optimizer lr %v, weight decay %v: need lr > 0 and weight decay ≥ 0", c.Optimizer.LR, c.Optimizer.WeightDecay)
	}
	if c.ReadoutL1 < 0 {
		return fmt.Errorf("readout_l1 = %v must not be negative", c.ReadoutL1)
	}
	if _, err := c.Plateau.schedule(c.Optimizer.LR, nn.Max); err != nil {
		return err
	}
	return c.Stopping.validate()
}

// PredictorJob is one neural-predictor training run.
type PredictorJob struct {
	Dir string
	// Core is the predictor's core; it runs up to Tap, the layer the
	// readouts read.
	Core   models.Core
	Tap    string
	Recipe PredictorConfig
	// Recordings are the neural data; their train trials are split into
	// training and validation by image id (80/20, seed 1000, spec §1.3).
	Recordings *recordings.Recordings
	// Normalize normalizes the recorded images; the zero value uses the
	// recordings' own pixel mean and standard deviation, as the original.
	Normalize data.Normalize
	Seed      int64
	// CoreFrom, if set, is a model file whose core (every variable under
	// /features) is loaded and frozen, batch-norm statistics included: only
	// the readouts are fitted (the MTL-Oracle's readout, spec §3.8).
	CoreFrom string
}

// PredictorResult summarizes a trained predictor.
type PredictorResult struct {
	*LoopResult
	// ValidationCorrelation is the best validation correlation.
	ValidationCorrelation float64
}

// neuralData holds recordings prepared for training: normalized images and
// per-session trial lists.
type neuralData struct {
	rec        *recordings.Recordings
	h, w       int
	images     [][]float32 // normalized pixels per image row
	train, val [][]int     // per session: trial indices
}

func prepareNeural(rec *recordings.Recordings, norm data.Normalize) *neuralData {
	d := &neuralData{rec: rec, h: rec.Images.H, w: rec.Images.W, images: make([][]float32, rec.Images.N)}
	for i := range d.images {
		px := rec.Images.Pixels(i)
		norm.Apply(px)
		d.images[i] = px
	}
	d.train, d.val = rec.TrainValidation(recordings.DefaultTrainFrac, recordings.DefaultSplitSeed)
	return d
}

// imageBatch stacks images into an [n, H, W, 1] tensor.
func (d *neuralData) imageBatch(rows []int) *tensors.Tensor {
	x := make([]float32, 0, len(rows)*d.h*d.w)
	for _, r := range rows {
		x = append(x, d.images[r]...)
	}
	return tensors.FromFlatDataAndDimensions(x, len(rows), d.h, d.w, 1)
}

// trialBatch returns the images, responses and recorded-entry mask of
// session k's trials.
func (d *neuralData) trialBatch(k int, trials []int) (x, y, mask *tensors.Tensor) {
	s := &d.rec.Sessions[k]
	rows := make([]int, len(trials))
	resp := make([]float32, 0, len(trials)*s.Neurons)
	m := make([]float32, 0, len(trials)*s.Neurons)
	for i, t := range trials {
		rows[i] = s.ImageIndex[t]
		resp = append(resp, s.Response(t)...)
		for n := 0; n < s.Neurons; n++ {
			if s.Valid == nil || s.Valid[t*s.Neurons+n] {
				m = append(m, 1)
			} else {
				m = append(m, 0)
			}
		}
	}
	return d.imageBatch(rows), tensors.FromFlatDataAndDimensions(resp, len(trials), s.Neurons),
		tensors.FromFlatDataAndDimensions(m, len(trials), s.Neurons)
}

// readouts lists one readout per session.
func (d *neuralData) readouts() []models.Readout {
	r := make([]models.Readout, len(d.rec.Sessions))
	for k, s := range d.rec.Sessions {
		r[k] = models.Readout{Name: s.Name, Neurons: s.Neurons}
	}
	return r
}

// order is session k's trial order on pass p of epoch e: a permutation that
// depends only on the seed, so a resumed run sees the same batches.
func order(trials []int, seed int64, epoch, k, pass int) []int {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%d/%d", epoch, k, pass)
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	out := append([]int(nil), trials...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// cycler deals one epoch's batches of every session's training trials
// (spec §3.2's session cycling): an epoch has as many steps as the longest
// session has batches, and a shorter session restarts, reshuffled, when it
// runs out. Orders depend only on the seed, so a resumed run sees the same
// batches.
type cycler struct {
	trials       [][]int
	seed         int64
	epoch, batch int
	order        [][]int
	pos, pass    []int
}

func newCycler(trials [][]int, seed int64, epoch, batch int) *cycler {
	c := &cycler{trials: trials, seed: seed, epoch: epoch, batch: batch,
		order: make([][]int, len(trials)), pos: make([]int, len(trials)), pass: make([]int, len(trials))}
	for k := range trials {
		c.order[k] = order(trials[k], seed, epoch, k, 0)
	}
	return c
}

// steps is the number of steps of the epoch.
func (c *cycler) steps() int {
	n := 0
	for _, tr := range c.trials {
		n = max(n, (len(tr)+c.batch-1)/c.batch)
	}
	return n
}

// next returns session k's next batch of trials.
func (c *cycler) next(k int) []int {
	if c.pos[k] >= len(c.order[k]) {
		c.pass[k]++
		c.order[k], c.pos[k] = order(c.trials[k], c.seed, c.epoch, k, c.pass[k]), 0
	}
	end := min(c.pos[k]+c.batch, len(c.order[k]))
	b := c.order[k][c.pos[k]:end]
	c.pos[k] = end
	return b
}

// TrainPredictor trains (or resumes, or returns the finished) neural
// predictor of job in job.Dir.
func TrainPredictor(ctx context.Context, env Env, job PredictorJob) (*PredictorResult, error) {
	if err := job.Core.Validate(); err != nil {
		return nil, err
	}
	coreScopes, err := job.Core.ScopesThrough(job.Tap)
	if err != nil {
		return nil, fmt.Errorf("the predictor's readouts read layer %q: %w", job.Tap, err)
	}
	if err := job.Recipe.Validate(); err != nil {
		return nil, fmt.Errorf("predictor recipe: %w", err)
	}
	rec := job.Recordings
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	norm := job.Normalize
	if norm.Std == 0 {
		mean, std := rec.PixelStats()
		norm = data.Normalize{Mean: float32(mean), Std: float32(std)}
	}
	d := prepareNeural(rec, norm)
	for k, tr := range d.train {
		if len(tr) == 0 || len(d.val[k]) == 0 {
			return nil, fmt.Errorf("session %q has %d training and %d validation trials; both must be non-empty",
				rec.Sessions[k].Name, len(tr), len(d.val[k]))
		}
	}
	readouts := d.readouts()
	spec, err := models.SpecOf(job.Core)
	if err != nil {
		return nil, err
	}
	configHash, err := hash(spec, job.Tap, job.Recipe, job.Seed, norm,
		rec.Images.N, rec.Images.H, rec.Images.W, readouts, rec.Meta.Source, job.CoreFrom)
	if err != nil {
		return nil, err
	}
	g, err := newModelContext(job.Seed)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(job.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := checkpoint.WriteRunInfo(job.Dir, checkpoint.RunInfo{Kind: checkpoint.KindPredictor, Model: spec, Normalize: norm, Readouts: readouts,
		Tap: job.Tap, Seed: job.Seed, Input: [2]int{d.h, d.w}}); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(filepath.Join(job.Dir, checkpoint.StateFile))
	if job.CoreFrom != "" {
		if err := freeze(g, coreScopes, job.CoreFrom, statErr != nil); err != nil {
			return nil, err
		}
	}
	head := models.GaussianHead{Readouts: readouts, Options: job.Recipe.Readout.options()}
	t := &predictorTrainer{env: env, g: g, core: job.Core, tap: job.Tap, head: head, cfg: job.Recipe, d: d, seed: job.Seed,
		opt: &nn.Adam{LR: job.Recipe.Optimizer.LR, WeightDecay: job.Recipe.Optimizer.WeightDecay}}
	if err := t.initBias(); err != nil {
		return nil, err
	}
	l := &loop{dir: job.Dir, configHash: configHash, mode: nn.Max, lr: job.Recipe.Optimizer.LR,
		plateau: job.Recipe.Plateau, stopping: job.Recipe.Stopping, dtype: dtypes.Float32, objective: "validation correlation"}
	res, err := l.run(ctx, env, g, t)
	if res == nil {
		return nil, err
	}
	return &PredictorResult{LoopResult: res, ValidationCorrelation: res.BestObjective}, err
}

// predictorTrainer fits the core and one readout per session with the
// Poisson loss, cycling over sessions (spec §3.2).
type predictorTrainer struct {
	env  Env
	g    *gctx.Context
	core models.Core
	tap  string
	head models.GaussianHead
	cfg  PredictorConfig
	d    *neuralData
	seed int64
	opt  nn.Optimizer
	step *gctx.Exec
	eval *gctx.Exec
}

// initBias sets each readout's bias to the mean response of the first
// training batch of its session (the original's v1_readout_bias). A resumed
// run overwrites it with the checkpoint.
func (t *predictorTrainer) initBias() error {
	for k := range t.head.Readouts {
		tr := order(t.d.train[k], t.seed, 1, k, 0)
		tr = tr[:min(len(tr), t.cfg.Batch)]
		mean := meanResponse(&t.d.rec.Sessions[k], tr)
		nn.Param(t.g.In("readout").In(fmt.Sprint(k)), "bias", dtypes.Float32, []int{len(mean)}, func(*rand.Rand, []int) []float64 { return mean })
	}
	return nil
}

// meanResponse is each neuron's mean over the recorded entries of trials.
func meanResponse(s *recordings.Session, trials []int) []float64 {
	sum := make([]float64, s.Neurons)
	cnt := make([]float64, s.Neurons)
	for _, tr := range trials {
		for n, v := range s.Response(tr) {
			if s.Valid == nil || s.Valid[tr*s.Neurons+n] {
				sum[n] += float64(v)
				cnt[n]++
			}
		}
	}
	for n := range sum {
		if cnt[n] > 0 {
			sum[n] /= cnt[n]
		}
	}
	return sum
}

func (t *predictorTrainer) build() error {
	if t.step != nil {
		return nil
	}
	var err error
	t.step, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, in []*graph.Node) []*graph.Node {
		g := in[0].Graph()
		ctx.SetTraining(g, true)
		var total, poisson *graph.Node
		for k := range t.head.Readouts {
			x, y, mask := in[3*k], in[3*k+1], in[3*k+2]
			pred := t.head.Responses(ctx, t.core.Features(ctx, x, t.tap)[0], k)
			l := nn.PoissonLoss(graph.Mul(pred, mask), y)
			if poisson == nil {
				poisson = l
			} else {
				poisson = graph.Add(poisson, l)
			}
			if t.cfg.ScaleLoss {
				l = graph.MulScalar(l, math.Sqrt(float64(len(t.d.train[k]))/float64(t.cfg.Batch)))
			}
			if t.cfg.ReadoutL1 > 0 {
				l = graph.Add(l, graph.MulScalar(t.head.L1(ctx, g, k), t.cfg.ReadoutL1))
			}
			if total == nil {
				total = l
			} else {
				total = graph.Add(total, l)
			}
		}
		t.opt.UpdateGraph(ctx, g, total)
		return []*graph.Node{poisson}
	})
	if err != nil {
		return err
	}
	t.eval, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		return t.head.All(ctx, t.core.Features(ctx, x, t.tap)[0])
	})
	return err
}

func (t *predictorTrainer) epoch(ctx context.Context, epoch int, report func(done, total, images int, note string)) (map[string]float64, error) {
	if err := t.build(); err != nil {
		return nil, err
	}
	cyc := newCycler(t.d.train, t.seed, epoch, t.cfg.Batch)
	steps := cyc.steps()
	var lossSum float64
	trials := 0
	for step := 0; step < steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		args := make([]any, 0, 3*len(t.head.Readouts))
		n := 0
		for k := range t.head.Readouts {
			batch := cyc.next(k)
			x, y, m := t.d.trialBatch(k, batch)
			n += len(batch)
			args = append(args, x, y, m)
		}
		out, err := nn.Call(t.step, args...)
		if err != nil {
			return nil, fmt.Errorf("training step: %w", err)
		}
		lossSum += scalar(out[0])
		trials += n
		report(step+1, steps, trials, fmt.Sprintf("poisson %.4f", lossSum/float64(trials)))
	}
	return map[string]float64{"train_loss": lossSum / float64(max(trials, 1))}, nil
}

// predictImages returns the eval-mode responses of every readout
// (concatenated) to the given image rows.
func (t *predictorTrainer) predictImages(ctx context.Context, rows []int) (map[int][]float32, error) {
	if err := t.build(); err != nil {
		return nil, err
	}
	total := t.head.Neurons()
	pred := make(map[int][]float32, len(rows))
	for start := 0; start < len(rows); start += t.cfg.Batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := rows[start:min(start+t.cfg.Batch, len(rows))]
		out, err := nn.Call(t.eval, t.d.imageBatch(chunk))
		if err != nil {
			return nil, fmt.Errorf("predicting responses: %w", err)
		}
		flat := out[0].Value().([][]float32)
		for i, r := range chunk {
			if len(flat[i]) != total {
				return nil, fmt.Errorf("predicting responses: %d outputs, want %d", len(flat[i]), total)
			}
			pred[r] = flat[i]
		}
	}
	return pred, nil
}

// validate is the mean over all neurons of the single-trial correlation on
// the validation trials (spec §3.5).
func (t *predictorTrainer) validate(ctx context.Context) (float64, map[string]float64, error) {
	rows := uniqueImages(t.d.rec, t.d.val)
	pred, err := t.predictImages(ctx, rows)
	if err != nil {
		return 0, nil, err
	}
	var sum float64
	var count int
	offset := 0
	for k := range t.head.Readouts {
		corr := sessionCorrelation(&t.d.rec.Sessions[k], t.d.val[k], pred, offset)
		for _, c := range corr {
			sum += c
		}
		count += len(corr)
		offset += t.head.Readouts[k].Neurons
	}
	c := sum / float64(max(count, 1))
	return c, map[string]float64{"val_correlation": c}, nil
}

// uniqueImages lists the image rows the given trials show.
func uniqueImages(rec *recordings.Recordings, trials [][]int) []int {
	seen := map[int]bool{}
	var rows []int
	for k, tr := range trials {
		for _, t := range tr {
			if r := rec.Sessions[k].ImageIndex[t]; !seen[r] {
				seen[r] = true
				rows = append(rows, r)
			}
		}
	}
	return rows
}

// sessionCorrelation is each neuron's Pearson correlation between its
// recorded single-trial responses and the predictions (columns offset… of
// pred), over the recorded entries of trials; NaN becomes 0.
func sessionCorrelation(s *recordings.Session, trials []int, pred map[int][]float32, offset int) []float64 {
	corr := make([]float64, s.Neurons)
	for n := range corr {
		var resp, p []float64
		for _, tr := range trials {
			if s.Valid != nil && !s.Valid[tr*s.Neurons+n] {
				continue
			}
			resp = append(resp, float64(s.Responses[tr*s.Neurons+n]))
			p = append(p, float64(pred[s.ImageIndex[tr]][offset+n]))
		}
		corr[n] = metrics.Pearson(resp, p)
	}
	return corr
}
