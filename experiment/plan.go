package experiment

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/report"
	"github.com/cotrain/cotrain/roles"
)

// Job is one step of an experiment: it reads its inputs and writes its
// output file last, so a job whose output exists is done.
type Job struct {
	// Name says what the job does, e.g. "train mtl-monkey seed 1".
	Name string
	// Inputs lists the files the job reads.
	Inputs []string
	// Output is the file whose presence marks the job done.
	Output string
	// Dir, for a training job, is its run directory: a partly trained model
	// there resumes from its last checkpoint.
	Dir string
	// Role and Seed name the model a training job trains (Role is empty
	// for other jobs and for the Oracle's readout).
	Role roles.Role
	Seed int64
	// Epochs, for a training job, is the most epochs it trains (early
	// stopping may end it sooner): the denominator of its progress.
	Epochs int
	// Results lists the files the job writes that hold results
	// (evaluations, per-epoch metrics, the results table): what a job
	// table records beside the job's state.
	Results []string
	// Paper is PaperLi2019 for the jobs of Li et al. 2019, empty for those
	// of Safarani et al. 2021 (Plan.Part).
	Paper string
	run   func(r *runner) error
}

// Status is "done", "started" (a training job with checkpoints) or
// "pending".
func (j *Job) Status() string {
	if exists(j.Output) {
		return "done"
	}
	if j.Dir != "" && exists(filepath.Join(j.Dir, checkpoint.StateFile)) {
		return "started"
	}
	return "pending"
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// Plan is the ordered list of jobs of an experiment; every job comes after
// the jobs that make its inputs.
type Plan struct {
	Config Config
	// Root is the folder every output goes to.
	Root string
	// Recordings is the V1 recordings file the jobs read (the simulated
	// recording's, or the configured one); empty when no model needs V1.
	Recordings string
	Jobs       []*Job
	// ReadResult, when set, reads the evaluation results the report job
	// gathers (given by their file paths) from elsewhere than the files,
	// e.g. a database; nil reads the files.
	ReadResult func(path string) ([]byte, error)
}

// layout names the files of a run.
type layout struct{ root string }

func (l layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.root}, parts...)...)
}
func (l layout) recordings() string { return l.path("v1", "recordings.npz") }
func (l layout) model(role roles.Role, seed int64) string {
	return l.path(string(role), fmt.Sprintf("seed-%d", seed))
}
func (l layout) sweepModel(ratio recipes.Ratio, seed int64) string {
	return l.path("sweep", fmt.Sprintf("ratio-%d-%d", ratio.Neural, ratio.Classification), fmt.Sprintf("seed-%d", seed))
}
func (l layout) responses(name string) string { return l.path("responses", name+".npz") }
func (l layout) oracleReadout() string        { return l.path("oracle-readout") }
func (l layout) evalFile(modelDir, name string) string {
	rel, _ := filepath.Rel(l.root, modelDir)
	return l.path("eval", rel, name)
}
func (l layout) report() string { return l.path("report") }

// ResultsFile, in a run's root, holds the report's input: every model's
// evaluations gathered.
const ResultsFile = "results.json"

// Evaluation files of a model's run.
const (
	corruptionsFile = "corruptions.json"
	v1File          = "v1.json"
)

// NewPlan derives the jobs of c, writing under root: the V1 recording (when
// simulated), every model of c.Models per seed with what it depends on,
// the response sets, the sweep, the evaluations (clean and corrupted
// accuracy of every classifier, V1 predictivity of every model with a
// neural head) and the report.
func NewPlan(c Config, root string) (*Plan, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := &Plan{Config: c, Root: root}
	l := layout{root}
	kinds := c.roles()
	has := func(k roles.Role) bool { return slices.Contains(kinds, k) }
	respSeed := c.Responses.PredictorSeed
	if respSeed == 0 {
		respSeed = c.Seeds[0]
	}

	recPath := c.V1.Recordings
	if c.needsV1() && recPath == "" {
		recPath = l.recordings()
		p.add(&Job{Name: "simulate V1 recordings", Output: recPath, run: func(r *runner) error { return r.simulate(recPath) }})
	}
	if c.needsV1() {
		p.Recordings = recPath
	}
	train := func(kind string, seed int64, dir string, epochs int, inputs []string, fn func(r *runner) error) {
		p.add(&Job{Name: fmt.Sprintf("train %s seed %d", kind, seed), Inputs: inputs, Output: filepath.Join(dir, checkpoint.ModelFile),
			Dir: dir, Role: roles.Role(kind), Seed: seed, Epochs: epochs, Results: []string{filepath.Join(dir, checkpoint.MetricsFile)}, run: fn})
	}
	evalClassifier := func(dir string) {
		out := l.evalFile(dir, corruptionsFile)
		p.add(&Job{Name: "evaluate " + shortDir(root, dir) + " on clean and corrupted test images",
			Inputs: []string{filepath.Join(dir, checkpoint.ModelFile)}, Output: out, Results: []string{out}, run: func(r *runner) error { return r.evalCorruptions(dir, out) }})
	}
	evalV1 := func(dir string) {
		out := l.evalFile(dir, v1File)
		p.add(&Job{Name: "evaluate " + shortDir(root, dir) + " on the V1 test recordings",
			Inputs: []string{filepath.Join(dir, checkpoint.ModelFile), recPath}, Output: out, Results: []string{out}, run: func(r *runner) error { return r.evalV1(dir, recPath, out) }})
	}

	for _, kind := range []roles.Role{roles.Baseline, roles.Oracle, roles.MonkeyPredictor} {
		if !has(kind) {
			continue
		}
		for _, seed := range c.Seeds {
			dir := l.model(kind, seed)
			switch kind {
			case roles.Baseline:
				train(string(kind), seed, dir, c.Classifier.Stopping.MaxEpochs, nil, func(r *runner) error { return r.trainBaseline(dir, seed) })
				evalClassifier(dir)
				p.addAdversarial(l, dir, seed)
			case roles.Oracle:
				train(string(kind), seed, dir, c.Classifier.Stopping.MaxEpochs, nil, func(r *runner) error { return r.trainOracle(dir, seed) })
				evalClassifier(dir)
				p.addAdversarial(l, dir, seed)
			case roles.MonkeyPredictor:
				train(string(kind), seed, dir, c.Predictor.Stopping.MaxEpochs, []string{recPath}, func(r *runner) error { return r.trainPredictor(dir, seed, recPath, "") })
				evalV1(dir)
			}
		}
	}

	// The co-training targets.
	targets := map[roles.Role]string{}
	if has(roles.MTLMonkey) || has(roles.MTLShuffled) {
		pred := l.model(roles.MonkeyPredictor, respSeed)
		monkey := l.responses("monkey")
		targets[roles.MTLMonkey] = monkey
		p.add(&Job{Name: "predict the Monkey Predictor's responses to the training images", Inputs: []string{filepath.Join(pred, checkpoint.ModelFile)},
			Output: monkey, run: func(r *runner) error { return r.predictResponses(pred, monkey) }})
		if has(roles.MTLShuffled) {
			shuffled := l.responses("shuffled")
			targets[roles.MTLShuffled] = shuffled
			p.add(&Job{Name: "shuffle the responses across images", Inputs: []string{monkey}, Output: shuffled,
				run: func(r *runner) error { return r.shuffleResponses(monkey, shuffled) }})
		}
	}
	if has(roles.MTLOracle) {
		oracle := filepath.Join(l.model(roles.Oracle, respSeed), checkpoint.ModelFile)
		dir := l.oracleReadout()
		epochs := c.Predictor.Stopping.MaxEpochs
		if c.Oracle.ReadoutEpochs > 0 {
			epochs = c.Oracle.ReadoutEpochs // as trainPredictor trains it
		}
		train("oracle readout", respSeed, dir, epochs, []string{oracle, recPath}, func(r *runner) error { return r.trainPredictor(dir, respSeed, recPath, oracle) })
		evalV1(dir)
		out := l.responses("oracle")
		targets[roles.MTLOracle] = out
		p.add(&Job{Name: "predict the Oracle readout's responses to the training images", Inputs: []string{filepath.Join(dir, checkpoint.ModelFile)},
			Output: out, run: func(r *runner) error { return r.predictResponses(dir, out) }})
	}

	for _, kind := range []roles.Role{roles.MTLOracle, roles.MTLMonkey, roles.MTLShuffled} {
		if !has(kind) {
			continue
		}
		resp := targets[kind]
		for _, seed := range c.Seeds {
			dir := l.model(kind, seed)
			train(string(kind), seed, dir, c.MTL.Stopping.MaxEpochs, []string{resp}, func(r *runner) error { return r.trainMTL(dir, seed, resp, c.MTL.Ratio) })
			evalClassifier(dir)
			evalV1(dir)
			p.addAdversarial(l, dir, seed)
		}
	}

	for _, ratio := range c.Sweep.Ratios {
		for _, seed := range c.sweepSeeds(ratio) {
			if c.sweepReuses(ratio, seed) {
				continue // the MTL-Monkey run of this seed
			}
			dir := l.sweepModel(ratio, seed)
			resp := targets[roles.MTLMonkey]
			train(fmt.Sprintf("%s ratio %s", roles.MTLMonkey, ratio), seed, dir, c.MTL.Stopping.MaxEpochs, []string{resp}, func(r *runner) error { return r.trainMTL(dir, seed, resp, ratio) })
			evalClassifier(dir)
			evalV1(dir)
		}
	}

	liReport := p.addLi(c, l)
	var evals []string
	for _, j := range p.Jobs {
		if strings.HasPrefix(j.Name, "evaluate ") {
			evals = append(evals, j.Output)
		}
	}
	p.addAnalyses(l)
	evals = append(evals, p.analysisOutputs()...)
	if len(c.Models) > 0 {
		p.add(&Job{Name: "write the results table and report.html", Inputs: evals, Output: filepath.Join(l.report(), report.ReportHTML),
			Results: []string{l.path(ResultsFile), filepath.Join(l.report(), report.TableTXT)}, run: func(r *runner) error { return r.writeReport(l) }})
	}
	if liReport != nil {
		p.add(liReport)
	}
	if len(p.Jobs) == 0 {
		return nil, fmt.Errorf("experiment %q has no models and no [[li.task]]: nothing to run", c.Name)
	}
	return p, nil
}

func (p *Plan) add(j *Job) { p.Jobs = append(p.Jobs, j) }

// TableFile is the results table the report job writes (report/table.txt).
func (p *Plan) TableFile() string { return filepath.Join(layout{p.Root}.report(), report.TableTXT) }

// Training returns the job that trains the model of role with seed.
func (p *Plan) Training(role roles.Role, seed int64) (*Job, error) {
	for _, j := range p.Jobs {
		if j.Role == role && j.Seed == seed && j.Dir != "" {
			return j, nil
		}
	}
	var have []string
	for _, j := range p.Jobs {
		if j.Role != "" && !slices.Contains(have, string(j.Role)) {
			have = append(have, string(j.Role))
		}
	}
	return nil, fmt.Errorf("experiment %q trains no %s with seed %d (its models: %s; seeds %v)",
		p.Config.Name, role, seed, strings.Join(have, ", "), p.Config.Seeds)
}

// Part returns the jobs of one paper (PaperLi2019, or "" for Safarani et
// al. 2021) with the jobs that make their inputs (WithInputs): what runs
// one paper's experiment alone.
func (p *Plan) Part(paper string) []*Job {
	var jobs []*Job
	for _, j := range p.Jobs {
		if j.Paper == paper {
			jobs = append(jobs, j)
		}
	}
	return p.WithInputs(jobs...)
}

// WithInputs returns the jobs that make the inputs of jobs, transitively,
// followed by jobs themselves, in plan order: what must run, at most once
// each, for jobs to run.
func (p *Plan) WithInputs(jobs ...*Job) []*Job {
	maker := map[string]*Job{}
	for _, j := range p.Jobs {
		maker[j.Output] = j
	}
	need := map[*Job]bool{}
	var visit func(j *Job)
	visit = func(j *Job) {
		if need[j] {
			return
		}
		need[j] = true
		for _, in := range j.Inputs {
			if m, ok := maker[in]; ok {
				visit(m)
			}
		}
	}
	for _, j := range jobs {
		visit(j)
	}
	var out []*Job
	for _, j := range p.Jobs {
		if need[j] {
			out = append(out, j)
		}
	}
	return out
}

// Deps returns, for every job of the plan (by index into p.Jobs), the
// indices of the jobs that make its inputs: the jobs it waits for.
func (p *Plan) Deps() [][]int {
	maker := map[string]int{}
	for i, j := range p.Jobs {
		maker[j.Output] = i
	}
	deps := make([][]int, len(p.Jobs))
	for i, j := range p.Jobs {
		seen := map[int]bool{}
		for _, in := range j.Inputs {
			if m, ok := maker[in]; ok && !seen[m] {
				seen[m] = true
				deps[i] = append(deps[i], m)
			}
		}
	}
	return deps
}

func shortDir(root, dir string) string {
	if rel, err := filepath.Rel(root, dir); err == nil {
		return rel
	}
	return dir
}

// roles lists the models to train, in roles.Table1 order: those asked
// for and those they need (the Monkey Predictor for MTL-Monkey and
// MTL-Shuffled, the Oracle for MTL-Oracle, the Baseline for every
// robustness score).
func (c Config) roles() []roles.Role {
	need := map[roles.Role]bool{}
	for _, m := range c.Models {
		need[m] = true
		for _, n := range m.Needs() {
			need[n] = true
		}
		if m.Classifies() {
			need[roles.Baseline] = true
		}
	}
	var out []roles.Role
	for _, k := range roles.Table1() {
		if need[k] {
			out = append(out, k)
		}
	}
	return out
}

// sweepSeeds lists the seeds of one sweep ratio: the sweep's seeds, and
// at the co-training ratio every seed of MTL-Monkey (those runs exist
// anyway).
func (c Config) sweepSeeds(ratio recipes.Ratio) []int64 {
	seeds := c.Sweep.Seeds
	if len(seeds) == 0 {
		seeds = c.Seeds
	}
	if ratio == c.MTL.Ratio {
		for _, s := range c.Seeds {
			if !slices.Contains(seeds, s) {
				seeds = append(slices.Clip(seeds), s)
			}
		}
	}
	return seeds
}

// sweepReuses reports whether the sweep point (ratio, seed) is a run of
// MTL-Monkey itself.
func (c Config) sweepReuses(ratio recipes.Ratio, seed int64) bool {
	return ratio == c.MTL.Ratio && slices.Contains(c.Seeds, seed)
}

// Print writes the plan: every job with its status, output and inputs.
func (p *Plan) Print(w io.Writer) {
	done := 0
	for _, j := range p.Jobs {
		if j.Status() == "done" {
			done++
		}
	}
	fmt.Fprintf(w, "experiment %q into %s: %d jobs, %d done\n", p.Config.Name, p.Root, len(p.Jobs), done)
	for i, j := range p.Jobs {
		fmt.Fprintf(w, "%3d. [%-7s] %s\n", i+1, j.Status(), j.Name)
		fmt.Fprintf(w, "       → %s\n", j.Output)
		for _, in := range j.Inputs {
			fmt.Fprintf(w, "       ← %s\n", in)
		}
	}
}
