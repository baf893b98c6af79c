package recipes

import (
	"context"
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
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// MousePredictorJob trains Li et al.'s (2019 §2.2) denoising predictor on
// mouse recordings: a MouseCore and, per scan, a Gaussian readout of its
// stacked layers with an optional shifter (eye position → readout
// position) and modulator (pupil size and running speed → gain), fitted
// with the Poisson loss by the neural-predictor recipe (PredictorConfig:
// Adam, the readout L1 penalty, the plateau schedule and early stopping).
type MousePredictorJob struct {
	Dir  string
	Core models.MouseCore
	// Shifter and Modulator switch the behaviour networks on; both need
	// every scan to carry behaviour.
	Shifter, Modulator bool
	Recipe             PredictorConfig
	// Recordings are the scans (one session each); their non-test trials
	// are split into training and validation (a session's validation mask,
	// else by image id, spec §1.3). The test (oracle) trials are held out.
	Recordings *recordings.Recordings
	// Normalize normalizes the images; the zero value uses the recordings'
	// pixel mean and standard deviation.
	Normalize data.Normalize
	Seed      int64
}

// MousePredictorResult summarizes a trained denoising predictor.
type MousePredictorResult struct {
	*LoopResult
	// ValidationCorrelation is the best mean single-trial correlation on
	// the validation trials; TestCorrelation the same on the held-out
	// oracle trials, ScanTestCorrelation per scan (each neuron's Pearson
	// correlation over the scan's oracle trials, averaged over neurons).
	ValidationCorrelation float64
	TestCorrelation       float64
	ScanTestCorrelation   []float64
}

// TrainMousePredictor trains (or resumes, or returns the finished) mouse
// predictor of job in job.Dir.
func TrainMousePredictor(ctx context.Context, env Env, job MousePredictorJob) (*MousePredictorResult, error) {
	if err := job.Core.Validate(); err != nil {
		return nil, err
	}
	if err := job.Recipe.Validate(); err != nil {
		return nil, fmt.Errorf("mouse predictor recipe: %w", err)
	}
	rec := job.Recordings
	if err := rec.Validate(); err != nil {
		return nil, err
	}
	head := models.MouseHead{Shifter: job.Shifter, Modulator: job.Modulator, Options: job.Recipe.Readout.options()}
	norm := job.Normalize
	if norm.Std == 0 {
		mean, std := rec.PixelStats()
		norm = data.Normalize{Mean: float32(mean), Std: float32(std)}
	}
	d := &mouseData{neuralData: prepareNeural(rec, norm)}
	for k := range rec.Sessions {
		s := &rec.Sessions[k]
		if len(d.train[k]) == 0 || len(d.val[k]) == 0 {
			return nil, fmt.Errorf("scan %q has %d training and %d validation trials; both must be non-empty", s.Name, len(d.train[k]), len(d.val[k]))
		}
		if head.UsesBehavior() && s.Behavior == nil {
			return nil, fmt.Errorf("scan %q has no behaviour, which the shifter and modulator need (turn them off, or give recordings with pupil_center, pupil_size and running_speed)", s.Name)
		}
		head.Readouts = append(head.Readouts, models.Readout{Name: s.Name, Neurons: s.Neurons})
		head.Normalize = append(head.Normalize, behaviorNorm(s, d.train[k]))
	}
	d.head = head
	spec, err := models.SpecOf(job.Core)
	if err != nil {
		return nil, err
	}
	configHash, err := hash(spec, head, job.Recipe, job.Seed, norm, rec.Images.N, rec.Images.H, rec.Images.W, rec.Meta.Source)
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
	info := checkpoint.RunInfo{Kind: checkpoint.KindMousePredictor, Model: spec, Normalize: norm, Readouts: head.Readouts,
		Mouse: &head, Tap: models.MouseStack, Seed: job.Seed, Input: [2]int{d.h, d.w}}
	if err := checkpoint.WriteRunInfo(job.Dir, info); err != nil {
		return nil, err
	}
	t := &mouseTrainer{env: env, g: g, core: job.Core, head: head, cfg: job.Recipe, d: d, seed: job.Seed,
		opt: &nn.Adam{LR: job.Recipe.Optimizer.LR, WeightDecay: job.Recipe.Optimizer.WeightDecay}}
	t.initBias()
	l := &loop{dir: job.Dir, configHash: configHash, mode: nn.Max, lr: job.Recipe.Optimizer.LR,
		plateau: job.Recipe.Plateau, stopping: job.Recipe.Stopping, dtype: dtypes.Float32, objective: "validation correlation"}
	res, err := l.run(ctx, env, g, t)
	if res == nil {
		return nil, err
	}
	out := &MousePredictorResult{LoopResult: res, ValidationCorrelation: res.BestObjective}
	if err != nil {
		return out, err
	}
	// The loop ends with the best weights in g: score them on the oracle trials.
	test := make([][]int, len(rec.Sessions))
	for k := range rec.Sessions {
		for tr, isTest := range rec.Sessions[k].Test {
			if isTest {
				test[k] = append(test[k], tr)
			}
		}
	}
	out.TestCorrelation, out.ScanTestCorrelation, err = t.correlation(ctx, test)
	return out, err
}

// behaviorNorm is the training trials' mean and standard deviation of a
// scan's behaviour (a constant variable gets standard deviation 1).
func behaviorNorm(s *recordings.Session, train []int) models.BehaviorNorm {
	var n models.BehaviorNorm
	if s.Behavior == nil {
		n.EyeStd, n.ModStd = [2]float32{1, 1}, [2]float32{1, 1}
		return n
	}
	stat := func(get func(t int) float32) (float32, float32) {
		var sum, sq float64
		for _, t := range train {
			v := float64(get(t))
			sum += v
			sq += v * v
		}
		m := sum / float64(len(train))
		sd := math.Sqrt(max(sq/float64(len(train))-m*m, 0))
		if sd == 0 {
			sd = 1
		}
		return float32(m), float32(sd)
	}
	b := s.Behavior
	for i := 0; i < 2; i++ {
		n.EyeMean[i], n.EyeStd[i] = stat(func(t int) float32 { return b.Eye(t)[i] })
		n.ModMean[i], n.ModStd[i] = stat(func(t int) float32 { return b.Modulators(t)[i] })
	}
	return n
}

// standardBehavior returns trial t's standardized eye position and
// modulator inputs under norm (zeros without behaviour).
func standardBehavior(s *recordings.Session, t int, norm models.BehaviorNorm) (eye, mod [2]float32) {
	if s.Behavior == nil {
		return eye, mod
	}
	return norm.Standardize(s.Behavior.Eye(t), s.Behavior.Modulators(t))
}

// mouseData adds the head (with its behaviour normalization) to the
// prepared recordings.
type mouseData struct {
	*neuralData
	head models.MouseHead
}

// behaviorBatch stacks the standardized behaviour of scan k's trials into
// eye [n, 2] and modulator [n, 2] tensors.
func (d *mouseData) behaviorBatch(k int, trials []int) (eye, mod *tensors.Tensor) {
	e := make([]float32, 0, 2*len(trials))
	m := make([]float32, 0, 2*len(trials))
	s := &d.rec.Sessions[k]
	for _, t := range trials {
		ev, mv := standardBehavior(s, t, d.head.Normalize[k])
		e = append(e, ev[:]...)
		m = append(m, mv[:]...)
	}
	return tensors.FromFlatDataAndDimensions(e, len(trials), 2), tensors.FromFlatDataAndDimensions(m, len(trials), 2)
}

// mouseTrainer fits the core and the per-scan heads with the Poisson loss,
// one batch of every scan per step (spec §3.2's session cycling).
type mouseTrainer struct {
	env  Env
	g    *gctx.Context
	core models.MouseCore
	head models.MouseHead
	cfg  PredictorConfig
	d    *mouseData
	seed int64
	opt  nn.Optimizer
	step *gctx.Exec
	eval []*gctx.Exec // per scan
}

// initBias sets each readout's bias to the mean response of the first
// training batch of its scan, as the Monkey Predictor's.
func (t *mouseTrainer) initBias() {
	for k := range t.head.Readouts {
		tr := order(t.d.train[k], t.seed, 1, k, 0)
		tr = tr[:min(len(tr), t.cfg.Batch)]
		mean := meanResponse(&t.d.rec.Sessions[k], tr)
		nn.Param(t.g.In("readout").In(fmt.Sprint(k)), "bias", dtypes.Float32, []int{len(mean)}, func(*rand.Rand, []int) []float64 { return mean })
	}
}

// inputsPerScan is the number of graph inputs of one scan's training batch:
// images, responses, mask, eye position and modulator inputs.
const inputsPerScan = 5

func (t *mouseTrainer) build() error {
	if t.step != nil {
		return nil
	}
	var err error
	t.step, err = nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, in []*graph.Node) []*graph.Node {
		g := in[0].Graph()
		ctx.SetTraining(g, true)
		var total, poisson *graph.Node
		for k := range t.head.Readouts {
			x, y, mask, eye, mod := in[inputsPerScan*k], in[inputsPerScan*k+1], in[inputsPerScan*k+2], in[inputsPerScan*k+3], in[inputsPerScan*k+4]
			pred := t.head.Responses(ctx, t.core.Features(ctx, x, models.MouseStack)[0], eye, mod, k)
			l := nn.PoissonLoss(graph.Mul(pred, mask), y)
			poisson = addNode(poisson, l)
			if t.cfg.ScaleLoss {
				l = graph.MulScalar(l, math.Sqrt(float64(len(t.d.train[k]))/float64(t.cfg.Batch)))
			}
			if t.cfg.ReadoutL1 > 0 {
				l = graph.Add(l, graph.MulScalar(t.head.L1(ctx, g, k), t.cfg.ReadoutL1))
			}
			total = addNode(total, l)
		}
		t.opt.UpdateGraph(ctx, g, total)
		return []*graph.Node{poisson}
	})
	if err != nil {
		return err
	}
	for k := range t.head.Readouts {
		exec, err := nn.Compile(t.env.Backend, t.g, func(ctx *gctx.Context, x, eye, mod *graph.Node) *graph.Node {
			return t.head.Responses(ctx, t.core.Features(ctx, x, models.MouseStack)[0], eye, mod, k)
		})
		if err != nil {
			return err
		}
		t.eval = append(t.eval, exec)
	}
	return nil
}

func addNode(a, b *graph.Node) *graph.Node {
	if a == nil {
		return b
	}
	return graph.Add(a, b)
}

func (t *mouseTrainer) epoch(ctx context.Context, epoch int, report func(done, total, images int, note string)) (map[string]float64, error) {
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
		args := make([]any, 0, inputsPerScan*len(t.head.Readouts))
		for k := range t.head.Readouts {
			batch := cyc.next(k)
			x, y, m := t.d.trialBatch(k, batch)
			eye, mod := t.d.behaviorBatch(k, batch)
			trials += len(batch)
			args = append(args, x, y, m, eye, mod)
		}
		out, err := nn.Call(t.step, args...)
		if err != nil {
			return nil, fmt.Errorf("training step: %w", err)
		}
		lossSum += scalar(out[0])
		report(step+1, steps, trials, fmt.Sprintf("poisson %.4f", lossSum/float64(trials)))
	}
	return map[string]float64{"train_loss": lossSum / float64(max(trials, 1))}, nil
}

// predictTrials returns scan k's eval-mode predictions of the given
// trials, each with its own behaviour: len(trials)×neurons.
func (t *mouseTrainer) predictTrials(ctx context.Context, k int, trials []int) ([]float32, error) {
	if err := t.build(); err != nil {
		return nil, err
	}
	s := &t.d.rec.Sessions[k]
	out := make([]float32, 0, len(trials)*s.Neurons)
	for start := 0; start < len(trials); start += t.cfg.Batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := trials[start:min(start+t.cfg.Batch, len(trials))]
		rows := make([]int, len(chunk))
		for i, tr := range chunk {
			rows[i] = s.ImageIndex[tr]
		}
		eye, mod := t.d.behaviorBatch(k, chunk)
		res, err := nn.Call(t.eval[k], t.d.imageBatch(rows), eye, mod)
		if err != nil {
			return nil, fmt.Errorf("predicting scan %q: %w", s.Name, err)
		}
		for _, row := range res[0].Value().([][]float32) {
			out = append(out, row...)
		}
		res[0].FinalizeAll()
	}
	return out, nil
}

// correlation is the mean over all neurons of each neuron's single-trial
// correlation on the given trials of each scan, with the per-scan means.
func (t *mouseTrainer) correlation(ctx context.Context, trials [][]int) (float64, []float64, error) {
	var sum float64
	var count int
	perScan := make([]float64, len(trials))
	for k, tr := range trials {
		pred, err := t.predictTrials(ctx, k, tr)
		if err != nil {
			return 0, nil, err
		}
		s := &t.d.rec.Sessions[k]
		var scan float64
		for n := 0; n < s.Neurons; n++ {
			var resp, p []float64
			for i, trial := range tr {
				if s.Valid != nil && !s.Valid[trial*s.Neurons+n] {
					continue
				}
				resp = append(resp, float64(s.Responses[trial*s.Neurons+n]))
				p = append(p, float64(pred[i*s.Neurons+n]))
			}
			scan += metrics.Pearson(resp, p)
		}
		perScan[k] = scan / float64(s.Neurons)
		sum += scan
		count += s.Neurons
	}
	return sum / float64(max(count, 1)), perScan, nil
}

// validate is the mean single-trial correlation on the validation trials.
func (t *mouseTrainer) validate(ctx context.Context) (float64, map[string]float64, error) {
	c, _, err := t.correlation(ctx, t.d.val)
	if err != nil {
		return 0, nil, err
	}
	return c, map[string]float64{"val_correlation": c}, nil
}
