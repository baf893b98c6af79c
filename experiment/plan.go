package experiment

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/report"
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
	run func(r *runner) error
}

// Status is "done", "started" (a training job with checkpoints) or
// "pending".
func (j *Job) Status() string {
	if exists(j.Output) {
		return "done"
	}
	if j.Dir != "" && exists(filepath.Join(j.Dir, recipes.StateFile)) {
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
	Jobs []*Job
}

// Model names and kinds of the paper's Table 1, in the order tables show
// them.
var modelNames = map[string]string{
	"baseline":         "Baseline",
	"monkey-predictor": "Monkey Predictor",
	"oracle":           "Oracle",
	"mtl-oracle":       "MTL-Oracle",
	"mtl-monkey":       "MTL-Monkey",
	"mtl-shuffled":     "MTL-Shuffled",
}

// layout names the files of a run.
type layout struct{ root string }

func (l layout) path(parts ...string) string {
	return filepath.Join(append([]string{l.root}, parts...)...)
}
func (l layout) recordings() string { return l.path("v1", "recordings.npz") }
func (l layout) model(kind string, seed int64) string {
	return l.path(kind, fmt.Sprintf("seed-%d", seed))
}
func (l layout) sweepModel(ratio string, seed int64) string {
	return l.path("sweep", "ratio-"+strings.ReplaceAll(ratio, ":", "-"), fmt.Sprintf("seed-%d", seed))
}
func (l layout) responses(name string) string { return l.path("responses", name+".npz") }
func (l layout) oracleReadout() string        { return l.path("oracle-readout") }
func (l layout) evalFile(modelDir, name string) string {
	rel, _ := filepath.Rel(l.root, modelDir)
	return l.path("eval", rel, name)
}
func (l layout) report() string { return l.path("report") }

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
	kinds := c.kinds()
	has := func(k string) bool { return slices.Contains(kinds, k) }
	respSeed := c.Responses.PredictorSeed
	if respSeed == 0 {
		respSeed = c.Seeds[0]
	}

	recPath := c.V1.Recordings
	if c.needsV1() && recPath == "" {
		recPath = l.recordings()
		p.add(&Job{Name: "simulate V1 recordings", Output: recPath, run: func(r *runner) error { return r.simulate(recPath) }})
	}
	train := func(kind string, seed int64, dir string, inputs []string, fn func(r *runner) error) {
		p.add(&Job{Name: fmt.Sprintf("train %s seed %d", kind, seed), Inputs: inputs, Output: filepath.Join(dir, recipes.ModelFile),
			Dir: dir, run: fn})
	}
	evalClassifier := func(dir string) {
		out := l.evalFile(dir, corruptionsFile)
		p.add(&Job{Name: "evaluate " + shortDir(root, dir) + " on clean and corrupted test images",
			Inputs: []string{filepath.Join(dir, recipes.ModelFile)}, Output: out, run: func(r *runner) error { return r.evalCorruptions(dir, out) }})
	}
	evalV1 := func(dir string) {
		out := l.evalFile(dir, v1File)
		p.add(&Job{Name: "evaluate " + shortDir(root, dir) + " on the V1 test recordings",
			Inputs: []string{filepath.Join(dir, recipes.ModelFile), recPath}, Output: out, run: func(r *runner) error { return r.evalV1(dir, recPath, out) }})
	}

	for _, kind := range []string{"baseline", "oracle", "monkey-predictor"} {
		if !has(kind) {
			continue
		}
		for _, seed := range c.Seeds {
			dir := l.model(kind, seed)
			switch kind {
			case "baseline":
				train(kind, seed, dir, nil, func(r *runner) error { return r.trainBaseline(dir, seed) })
				evalClassifier(dir)
			case "oracle":
				train(kind, seed, dir, nil, func(r *runner) error { return r.trainOracle(dir, seed) })
				evalClassifier(dir)
			case "monkey-predictor":
				train(kind, seed, dir, []string{recPath}, func(r *runner) error { return r.trainPredictor(dir, seed, recPath, "") })
				evalV1(dir)
			}
		}
	}

	// The co-training targets.
	targets := map[string]string{}
	if has("mtl-monkey") || has("mtl-shuffled") {
		pred := l.model("monkey-predictor", respSeed)
		monkey := l.responses("monkey")
		targets["mtl-monkey"] = monkey
		p.add(&Job{Name: "predict the Monkey Predictor's responses to the training images", Inputs: []string{filepath.Join(pred, recipes.ModelFile)},
			Output: monkey, run: func(r *runner) error { return r.predictResponses(pred, monkey) }})
		if has("mtl-shuffled") {
			shuffled := l.responses("shuffled")
			targets["mtl-shuffled"] = shuffled
			p.add(&Job{Name: "shuffle the responses across images", Inputs: []string{monkey}, Output: shuffled,
				run: func(r *runner) error { return r.shuffleResponses(monkey, shuffled) }})
		}
	}
	if has("mtl-oracle") {
		oracle := filepath.Join(l.model("oracle", respSeed), recipes.ModelFile)
		dir := l.oracleReadout()
		train("oracle readout", respSeed, dir, []string{oracle, recPath}, func(r *runner) error { return r.trainPredictor(dir, respSeed, recPath, oracle) })
		evalV1(dir)
		out := l.responses("oracle")
		targets["mtl-oracle"] = out
		p.add(&Job{Name: "predict the Oracle readout's responses to the training images", Inputs: []string{filepath.Join(dir, recipes.ModelFile)},
			Output: out, run: func(r *runner) error { return r.predictResponses(dir, out) }})
	}

	for _, kind := range []string{"mtl-oracle", "mtl-monkey", "mtl-shuffled"} {
		if !has(kind) {
			continue
		}
		resp := targets[kind]
		for _, seed := range c.Seeds {
			dir := l.model(kind, seed)
			train(kind, seed, dir, []string{resp}, func(r *runner) error { return r.trainMTL(dir, seed, resp, c.MTL.Ratio) })
			evalClassifier(dir)
			evalV1(dir)
		}
	}

	for _, ratio := range c.Sweep.Ratios {
		for _, seed := range c.sweepSeeds(ratio) {
			if c.sweepReuses(ratio, seed) {
				continue // the MTL-Monkey run of this seed
			}
			dir := l.sweepModel(ratio, seed)
			resp := targets["mtl-monkey"]
			train("mtl-monkey ratio "+ratio, seed, dir, []string{resp}, func(r *runner) error { return r.trainMTL(dir, seed, resp, ratio) })
			evalClassifier(dir)
			evalV1(dir)
		}
	}

	var evals []string
	for _, j := range p.Jobs {
		if strings.HasPrefix(j.Name, "evaluate ") {
			evals = append(evals, j.Output)
		}
	}
	p.add(&Job{Name: "write the results table and report.html", Inputs: evals, Output: filepath.Join(l.report(), report.ReportHTML),
		run: func(r *runner) error { return r.writeReport(l) }})
	return p, nil
}

func (p *Plan) add(j *Job) { p.Jobs = append(p.Jobs, j) }

func shortDir(root, dir string) string {
	if rel, err := filepath.Rel(root, dir); err == nil {
		return rel
	}
	return dir
}

// kinds lists the model kinds to train: those asked for and those they
// need (the Monkey Predictor for MTL-Monkey and MTL-Shuffled, the Oracle
// for MTL-Oracle, the Baseline for every robustness score).
func (c Config) kinds() []string {
	need := map[string]bool{}
	for _, m := range c.Models {
		need[m] = true
		switch m {
		case "mtl-monkey", "mtl-shuffled":
			need["monkey-predictor"] = true
		case "mtl-oracle":
			need["oracle"] = true
		}
		if m != "monkey-predictor" {
			need["baseline"] = true
		}
	}
	var out []string
	for _, k := range Kinds() {
		if need[k] {
			out = append(out, k)
		}
	}
	return out
}

// sweepSeeds lists the seeds of one sweep ratio: the sweep's seeds, and
// at the co-training ratio every seed of MTL-Monkey (those runs exist
// anyway).
func (c Config) sweepSeeds(ratio string) []int64 {
	seeds := c.Sweep.Seeds
	if len(seeds) == 0 {
		seeds = c.Seeds
	}
	if c.isMTLRatio(ratio) {
		for _, s := range c.Seeds {
			if !slices.Contains(seeds, s) {
				seeds = append(slices.Clip(seeds), s)
			}
		}
	}
	return seeds
}

// isMTLRatio reports whether ratio is the co-training ratio of [mtl].
func (c Config) isMTLRatio(ratio string) bool {
	p, q, _ := recipes.ParseRatio(ratio)
	mp, mq, _ := recipes.ParseRatio(c.MTL.Ratio)
	return p == mp && q == mq
}

// sweepReuses reports whether the sweep point (ratio, seed) is a run of
// MTL-Monkey itself.
func (c Config) sweepReuses(ratio string, seed int64) bool {
	return c.isMTLRatio(ratio) && slices.Contains(c.Seeds, seed)
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
