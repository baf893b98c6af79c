package experiment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/data/responses"
	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/internal/progress"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/report"
	"github.com/cotrain/cotrain/robustness"
	"github.com/cotrain/cotrain/roles"
)

// Run runs the plan's jobs, skipping finished ones (an interrupted
// training job resumes from its last checkpoint), and writes the results
// table to out: in plan order with one environment, up to one job per
// environment at once with more (RunJobsAt). Progress goes to the first
// environment's Progress. The report job always runs: it is cheap and
// gives the same table for the same results.
func (p *Plan) Run(ctx context.Context, envs []recipes.Env, out io.Writer) error {
	if len(envs) == 0 {
		return errNoEnv
	}
	start := time.Now()
	if err := p.RunJobsAt(ctx, envs, out, p.Jobs, p.Jobs[len(p.Jobs)-1]); err != nil {
		return err
	}
	fmt.Fprintf(progressOrDiscard(envs[0]), "experiment %q finished in %s (this invocation)\n", p.Config.Name, time.Since(start).Round(time.Second))
	return nil
}

var errNoEnv = errors.New("no environment to run jobs in")

// RunJobs runs the given jobs of the plan in order, skipping finished ones
// except always (nil: none), which runs even when done. Each job is the
// same function whichever command runs it.
func (p *Plan) RunJobs(ctx context.Context, env recipes.Env, out io.Writer, jobs []*Job, always *Job) error {
	r := &runner{ctx: ctx, cfg: p.Config, env: env, out: out, log: progressOrDiscard(env), read: p.ReadResult}
	if r.read == nil {
		r.read = os.ReadFile
	}
	for _, j := range jobs {
		if j != always && j.Status() == "done" {
			continue
		}
		if err := ctx.Err(); err != nil {
			return interrupted(p)
		}
		n := slices.Index(p.Jobs, j) + 1
		fmt.Fprintf(r.log, "[%d/%d] %s\n", n, len(p.Jobs), j.Name)
		t0 := time.Now()
		if err := j.run(r); err != nil {
			if errors.Is(err, recipes.ErrInterrupted) || ctx.Err() != nil {
				return interrupted(p)
			}
			return fmt.Errorf("%s: %w", j.Name, err)
		}
		fmt.Fprintf(r.log, "[%d/%d] done in %s\n", n, len(p.Jobs), time.Since(t0).Round(time.Second))
	}
	return nil
}

func progressOrDiscard(env recipes.Env) io.Writer {
	if env.Progress == nil {
		return io.Discard
	}
	return env.Progress
}

func interrupted(p *Plan) error {
	return fmt.Errorf("interrupted; run the same command again to continue (finished jobs are kept in %s)", p.Root)
}

// runner holds what jobs share: the opened data, the recordings.
type runner struct {
	ctx    context.Context
	cfg    Config
	env    recipes.Env
	out    io.Writer
	log    io.Writer
	splits *Splits
	rec    map[string]*recordings.Recordings
	read   func(path string) ([]byte, error) // the evaluation results
	// liSplits holds the classification data of Li et al.'s tasks.
	liSplits map[string]*Splits
}

func (r *runner) data() (*Splits, error) {
	if r.splits == nil {
		s, err := r.cfg.Data.Open()
		if err != nil {
			return nil, err
		}
		r.splits = s
	}
	return r.splits, nil
}

func (r *runner) recordings(path string) (*recordings.Recordings, error) {
	return r.cachedRecordings(path, func() (*recordings.Recordings, error) { return recordings.Open(path) })
}

// cachedRecordings returns the recordings kept under path, opening them
// with open the first time.
func (r *runner) cachedRecordings(path string, open func() (*recordings.Recordings, error)) (*recordings.Recordings, error) {
	if rec, ok := r.rec[path]; ok {
		return rec, nil
	}
	rec, err := open()
	if err != nil {
		return nil, err
	}
	if r.rec == nil {
		r.rec = map[string]*recordings.Recordings{}
	}
	r.rec[path] = rec
	return rec, nil
}

func (r *runner) classifierData() (recipes.ClassifierData, error) {
	s, err := r.data()
	if err != nil {
		return recipes.ClassifierData{}, err
	}
	return recipes.ClassifierData{Train: s.Train, Validation: s.Validation, TrainPipeline: s.TrainPipeline, Normalize: s.Normalize}, nil
}

func (r *runner) simulate(path string) error {
	rec, err := r.cfg.V1.Simulate.Record(r.ctx)
	if err != nil {
		return err
	}
	if err := recordings.Save(path, rec); err != nil {
		return err
	}
	fev, err := rec.TestFEV()
	if err != nil {
		return err
	}
	above := 0
	for _, f := range fev {
		if f > r.cfg.V1.FEVThreshold {
			above++
		}
	}
	fmt.Fprintf(r.log, "simulated %d neurons on %d images; %d with FEV > %.2f\n", len(fev), rec.Images.N, above, r.cfg.V1.FEVThreshold)
	return nil
}

func (r *runner) trainBaseline(dir string, seed int64) error {
	d, err := r.classifierData()
	if err != nil {
		return err
	}
	_, err = recipes.TrainClassifier(r.ctx, r.env, recipes.ClassifierJob{Dir: dir, Model: r.cfg.Model, Tap: r.cfg.Model.Tap, Recipe: r.cfg.Classifier, Data: d, Seed: seed})
	return err
}

func (r *runner) trainOracle(dir string, seed int64) error {
	d, err := r.classifierData()
	if err != nil {
		return err
	}
	_, err = recipes.TrainOracle(r.ctx, r.env, recipes.OracleJob{Dir: dir, Model: r.cfg.Model, Tap: r.cfg.Model.Tap, Classifier: r.cfg.Classifier,
		Recipe: r.cfg.Oracle, Data: d, Seed: seed})
	return err
}

// trainPredictor fits a predictor to the recordings; with coreFrom, only
// its readouts, on that model's frozen core.
func (r *runner) trainPredictor(dir string, seed int64, recPath, coreFrom string) error {
	rec, err := r.recordings(recPath)
	if err != nil {
		return err
	}
	recipe := r.cfg.Predictor
	if coreFrom != "" && r.cfg.Oracle.ReadoutEpochs > 0 {
		recipe.Stopping.MaxEpochs = r.cfg.Oracle.ReadoutEpochs
	}
	_, err = recipes.TrainPredictor(r.ctx, r.env, recipes.PredictorJob{Dir: dir, Core: r.cfg.Model, Tap: r.cfg.Model.Tap, Recipe: recipe,
		Recordings: rec, Seed: seed, CoreFrom: coreFrom})
	return err
}

func (r *runner) predictResponses(modelDir, out string) error {
	s, err := r.data()
	if err != nil {
		return err
	}
	m, err := predict.LoadNeural(r.env.Backend, modelDir)
	if err != nil {
		return err
	}
	rs, err := m.ResponseSet(r.ctx, s.Train, r.cfg.MTL.Batch, r.env.Workers)
	if err != nil {
		return err
	}
	return responses.Save(out, rs)
}

func (r *runner) shuffleResponses(in, out string) error {
	rs, err := responses.Load(in)
	if err != nil {
		return err
	}
	return responses.Save(out, rs.Shuffled(r.cfg.Responses.ShuffleSeed))
}

func (r *runner) trainMTL(dir string, seed int64, respPath string, ratio recipes.Ratio) error {
	d, err := r.classifierData()
	if err != nil {
		return err
	}
	rs, err := responses.Load(respPath)
	if err != nil {
		return err
	}
	recipe := r.cfg.MTL
	recipe.Ratio = ratio
	_, err = recipes.TrainMTL(r.ctx, r.env, recipes.MTLJob{Dir: dir, Model: r.cfg.Model, Tap: r.cfg.Model.Tap, Recipe: recipe, Data: d, Responses: rs, Seed: seed})
	return err
}

// evalCorruptions tests a classifier on the clean and corrupted test
// images and saves its accuracy matrix (one seed).
func (r *runner) evalCorruptions(dir, out string) error {
	s, err := r.data()
	if err != nil {
		return err
	}
	clf, err := predict.LoadClassifier(r.env.Backend, dir)
	if err != nil {
		return err
	}
	e := r.cfg.Evaluation
	var bar *progress.Bar
	res, err := robustness.Evaluate(r.ctx, clf, s.Test, robustness.Options{Table: e.Table, FrostDir: e.FrostDir, Corruptions: e.Corruptions, Seed: e.Seed,
		Workers: r.env.Workers, Progress: func(p robustness.Progress) {
			if bar == nil {
				bar = progress.New(r.env.Progress, "evaluate", p.Total, "images")
			}
			bar.Update(p.Images, p.Images, p.Cell.String())
		}})
	if err != nil {
		return err
	}
	m, err := res.Matrix(dir)
	if err != nil {
		return err
	}
	t, err := m.MeanTable()
	if err != nil {
		return err
	}
	mean := 0.0
	for _, row := range t.Accuracy {
		for _, a := range row {
			mean += a
		}
	}
	mean /= float64(len(t.Accuracy) * t.Severities())
	if bar != nil {
		bar.Done(fmt.Sprintf("clean %.2f%%, corrupted %.2f%% on average", t.Clean, mean))
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	return m.SaveJSON(out)
}

// evalV1 measures a model's predictions of the test recordings.
func (r *runner) evalV1(dir, recPath, out string) error {
	rec, err := r.recordings(recPath)
	if err != nil {
		return err
	}
	m, err := predict.LoadNeural(r.env.Backend, dir)
	if err != nil {
		return err
	}
	rep, err := m.EvaluateV1(r.ctx, rec, r.cfg.V1.Selection())
	if err != nil {
		return err
	}
	fmt.Fprintf(r.log, "FEVe %.3f over %d of %d neurons, single-trial correlation %.3f\n",
		rep.Mean.FEVe, rep.NumSelected, len(rep.FEV), rep.Mean.SingleTrialCorrelation)
	return writeJSON(out, rep)
}

func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteBytes(path, raw)
}

func (r *runner) readNeural(path string) (metrics.NeuralReport, error) {
	var rep metrics.NeuralReport
	raw, err := r.read(path)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		return rep, fmt.Errorf("%s: %w (delete it to evaluate again)", path, err)
	}
	return rep, nil
}

// modelResults gathers the evaluations of one model's seeds.
func (r *runner) modelResults(l layout, name string, dirs []string, classifies, neural bool) (*metrics.AccuracyMatrix, *report.NeuralSummary, []float64, error) {
	var acc *metrics.AccuracyMatrix
	if classifies {
		ms := make([]*metrics.AccuracyMatrix, len(dirs))
		for i, d := range dirs {
			path := l.evalFile(d, corruptionsFile)
			raw, err := r.read(path)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("reading accuracy matrix: %w", err)
			}
			var m metrics.AccuracyMatrix
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, nil, nil, fmt.Errorf("reading accuracy matrix %s: %w (delete it to evaluate again)", path, err)
			}
			ms[i] = &m
		}
		var err error
		if acc, err = metrics.CombineSeeds(name, ms...); err != nil {
			return nil, nil, nil, err
		}
	}
	if !neural {
		return acc, nil, nil, nil
	}
	reps := make([]metrics.NeuralReport, len(dirs))
	feve := make([]float64, len(dirs))
	for i, d := range dirs {
		rep, err := r.readNeural(l.evalFile(d, v1File))
		if err != nil {
			return nil, nil, nil, err
		}
		reps[i], feve[i] = rep, rep.Mean.FEVe
	}
	sum, err := report.SummarizeNeural(reps, r.cfg.V1.Selection())
	if err != nil {
		return nil, nil, nil, err
	}
	return acc, sum, feve, nil
}

// writeReport assembles the results, analyses them, writes the report
// folder and prints the table.
func (r *runner) writeReport(l layout) error {
	c := r.cfg
	res := report.Results{Experiment: c.Name, Dataset: r.describeData(), Backend: r.env.Backend.Name(), Baseline: roles.Baseline.Title(),
		Bootstrap: metrics.BootstrapOptions{Replicates: c.Evaluation.Bootstrap, Seed: c.Evaluation.BootstrapSeed, Corruptions: c.Evaluation.Corruptions}}
	kinds := c.roles()
	var baseline *metrics.AccuracyMatrix
	for _, kind := range kinds {
		dirs := make([]string, len(c.Seeds))
		for i, s := range c.Seeds {
			dirs[i] = l.model(kind, s)
		}
		acc, neu, _, err := r.modelResults(l, kind.Title(), dirs, kind.Classifies(), kind.NeedsV1())
		if err != nil {
			return err
		}
		if kind == roles.Oracle && slices.Contains(kinds, roles.MTLOracle) {
			// The Oracle's V1 predictivity is that of its frozen core with
			// the fitted readout.
			if _, neu, _, err = r.modelResults(l, "", []string{l.oracleReadout()}, false, true); err != nil {
				return err
			}
		}
		if kind == roles.Baseline {
			baseline = acc
		}
		var adv []*metrics.Adversarial
		if kind.Classifies() {
			if adv, err = r.adversarialResults(l, kind); err != nil {
				return err
			}
		}
		res.Models = append(res.Models, report.Model{Name: kind.Title(), Kind: kind, Accuracy: acc, Neural: neu, Adversarial: adv})
	}
	for _, ratio := range c.Sweep.Ratios {
		var dirs []string
		for _, s := range c.sweepSeeds(ratio) {
			if c.sweepReuses(ratio, s) {
				dirs = append(dirs, l.model(roles.MTLMonkey, s))
			} else {
				dirs = append(dirs, l.sweepModel(ratio, s))
			}
		}
		acc, _, feve, err := r.modelResults(l, roles.MTLMonkey.Title()+" "+ratio.String(), dirs, true, true)
		if err != nil {
			return err
		}
		pts, err := report.SweepPoints(roles.MTLMonkey.Title(), ratio.String(), acc, baseline, feve, c.Evaluation.Corruptions)
		if err != nil {
			return err
		}
		res.Sweep = append(res.Sweep, pts...)
	}
	a, err := report.Analyze(res)
	if err != nil {
		return err
	}
	if err := writeJSON(l.path(ResultsFile), res); err != nil {
		return err
	}
	figs, notes, err := r.analysisFigures(l)
	if err != nil {
		return err
	}
	a.Notes = append(a.Notes, notes...)
	if err := report.WriteReportWith(l.report(), a, figs); err != nil {
		return err
	}
	fmt.Fprint(r.out, report.Table(a))
	fmt.Fprintf(r.out, "report: %s\n", filepath.Join(l.report(), report.ReportHTML))
	return nil
}

// describeData names the data of the report.
func (r *runner) describeData() string {
	c := r.cfg
	s, err := r.data()
	if err != nil {
		return c.Data.Dataset
	}
	desc := fmt.Sprintf("%s (%d training, %d test images)", c.Data.Dataset, s.Train.Len(), s.Test.Len())
	if c.needsV1() {
		if c.V1.Recordings != "" {
			desc += "; V1 recordings " + c.V1.Recordings
		} else {
			desc += fmt.Sprintf("; simulated V1 (%s)", strings.TrimSpace(c.V1.Simulate.Images))
		}
	}
	return desc
}
