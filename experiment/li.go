package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/report"
	"github.com/cotrain/cotrain/robustness"
	"github.com/cotrain/cotrain/roles"
	"github.com/cotrain/cotrain/similarity"
)

// LiConfig is the machine side of Li et al. 2019 (docs/li.md): classifiers
// regularized toward a similarity target (Fig. 4), their controls, the
// noise evaluation and the α sweep. The neural side (the recordings, the
// denoising predictor, S_model and S_data) comes from [mouse].
type LiConfig struct {
	// Tasks lists the dataset and network pairs (Li: grayscale CIFAR-10 with
	// ResNet-18, CIFAR-100 with ResNet-34); none: no Li jobs.
	Tasks []LiTask `toml:"task"`
	// Seeds are the seeds of every regularizer (default: the experiment's).
	Seeds []int64 `toml:"seeds"`
	// Recipe is the training recipe (recipes.PaperSimilarity), α included.
	Recipe recipes.SimilarityConfig `toml:"recipe"`
	// Noise lists the standard deviations σ of the additive Gaussian noise
	// of the evaluation (0: clean), NoiseSeed seeds the noise.
	Noise     []float64 `toml:"noise"`
	NoiseSeed uint64    `toml:"noise_seed"`
	// ShuffleSeed seeds the Shuffle control's permutation.
	ShuffleSeed uint32 `toml:"shuffle_seed"`
	// VGG is the run folder of the VGG classifier whose VGGLayer features
	// give the VGG control's target (any cotrain VGG, e.g. a Baseline of
	// the first paper); empty: this experiment's Baseline of its first seed.
	VGG      string `toml:"vgg"`
	VGGLayer string `toml:"vgg_layer"`
}

// LiTask is one dataset and network of Li et al.'s experiment and the
// regularizers trained on it.
type LiTask struct {
	// Name names the task in folders and tables (e.g. "cifar10-resnet18").
	Name string `toml:"name"`
	// Data is the classification data; nil takes the experiment's [data]
	// (a task's own [data] table is complete: no paper defaults).
	Data *DataConfig `toml:"data"`
	// TrainLimit, if positive, keeps only the first N training images
	// (overriding the data's train_limit).
	TrainLimit int `toml:"train_limit"`
	// ValidationLimit, if positive, keeps only the first N validation
	// images (the validation accuracy is only logged: the model kept is
	// the last epoch's).
	ValidationLimit int `toml:"validation_limit"`
	// ResNet is the network (Li: ResNet-18 or ResNet-34), unless VGG is
	// given.
	ResNet models.ResNet `toml:"resnet"`
	VGG    *models.VGG   `toml:"vgg"`
	// Layers are the layers the similarity head compares (default: every
	// layer the network names: for a ResNet the stem and the four stages,
	// Li's conv layers 1, 5, 9, 13, 17 of ResNet-18).
	Layers []string `toml:"layers"`
	// Controls lists the regularizers (roles.Li; default all five).
	Controls []roles.Role `toml:"controls"`
	// Alphas is the α sweep of the supplement: Neural (model) trained at
	// each α (besides the recipe's) with AlphaSeeds (default: the Li seeds).
	Alphas     []float64 `toml:"alphas"`
	AlphaSeeds []int64   `toml:"alpha_seeds"`
}

// PaperLi is Li et al.'s setting without tasks: the recipe of §4.1, the
// noise levels of the evaluation and the VGG control's conv3_1.
func PaperLi() LiConfig {
	return LiConfig{Recipe: recipes.PaperSimilarity(), Noise: LiNoiseLevels(), NoiseSeed: 2019, ShuffleSeed: 1000, VGGLayer: "conv3_1"}
}

// LiNoiseLevels are the standard deviations of the evaluation's additive
// Gaussian noise on images in [0, 1]: the clean test and eight levels up
// to 0.3 (docs/li.md: the levels of Fig. 4 could not be read off the
// figure here).
func LiNoiseLevels() []float64 { return []float64{0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3} }

// Used reports whether the experiment trains Li et al.'s models.
func (c LiConfig) Used() bool { return len(c.Tasks) > 0 }

// Network is the task's network.
func (t LiTask) Network() models.Network {
	if t.VGG != nil {
		return *t.VGG
	}
	return t.ResNet
}

// Head is the task's similarity head.
func (t LiTask) Head() models.SimilarityHead {
	layers := t.Layers
	if len(layers) == 0 {
		layers = t.Network().Layers()
	}
	return models.SimilarityHead{Layers: layers}
}

// controls are the task's regularizers, default all.
func (t LiTask) controls() []roles.Role {
	if len(t.Controls) == 0 {
		return roles.Li()
	}
	return t.Controls
}

// liSeeds are the regularizers' seeds.
func (c Config) liSeeds() []int64 {
	if len(c.Li.Seeds) > 0 {
		return c.Li.Seeds
	}
	return c.Seeds
}

// liAlphaSeeds are the seeds of a task's α sweep.
func (c Config) liAlphaSeeds(t LiTask) []int64 {
	if len(t.AlphaSeeds) > 0 {
		return t.AlphaSeeds
	}
	return c.liSeeds()
}

// needs reports whether any task trains the control.
func (c LiConfig) needs(r roles.Role) bool {
	for _, t := range c.Tasks {
		if slices.Contains(t.controls(), r) {
			return true
		}
	}
	return false
}

// sweeps reports whether any task has an α sweep.
func (c LiConfig) sweeps() bool {
	for _, t := range c.Tasks {
		if len(t.Alphas) > 0 {
			return true
		}
	}
	return false
}

// validate checks the [li] section.
func (c Config) validateLi() error {
	li := c.Li
	if !li.Used() {
		return nil
	}
	if err := li.Recipe.Validate(); err != nil {
		return fmt.Errorf("[li.recipe]: %w", err)
	}
	if len(li.Noise) == 0 {
		return fmt.Errorf("[li]: noise lists no levels")
	}
	for _, s := range li.Noise {
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("[li]: noise level %v must be finite and not negative", s)
		}
	}
	names := map[string]bool{}
	for i, t := range li.Tasks {
		if t.Name == "" || strings.ContainsAny(t.Name, `/\ `) || names[t.Name] {
			return fmt.Errorf("[[li.task]] %d: name %q must be a unique folder name", i+1, t.Name)
		}
		names[t.Name] = true
		if err := t.Network().Validate(); err != nil {
			return fmt.Errorf("[[li.task]] %s: %w", t.Name, err)
		}
		if err := t.Head().Validate(t.Network()); err != nil {
			return fmt.Errorf("[[li.task]] %s: %w", t.Name, err)
		}
		for _, r := range t.controls() {
			if _, err := roles.ParseLi(string(r)); err != nil {
				return fmt.Errorf("[[li.task]] %s: %w", t.Name, err)
			}
		}
		if t.Data != nil {
			switch t.Data.Dataset {
			case data.DatasetFashionMNIST:
			case data.DatasetTinyImageNet, data.DatasetCIFAR10, data.DatasetCIFAR100:
				if t.Data.Root == "" {
					return fmt.Errorf("[[li.task]] %s: [data]: root must name the %s folder", t.Name, t.Data.Dataset)
				}
			default:
				return fmt.Errorf("[[li.task]] %s: [data]: unknown dataset %q (known: %s, %s, %s, %s)", t.Name, t.Data.Dataset,
					data.DatasetFashionMNIST, data.DatasetTinyImageNet, data.DatasetCIFAR10, data.DatasetCIFAR100)
			}
		}
		for _, a := range t.Alphas {
			if !(a > 0) || math.IsInf(a, 0) {
				return fmt.Errorf("[[li.task]] %s: alpha %v of the sweep must be positive and finite", t.Name, a)
			}
		}
		if t.TrainLimit < 0 || t.ValidationLimit < 0 {
			return fmt.Errorf("[[li.task]] %s: train_limit %d and validation_limit %d must not be negative", t.Name, t.TrainLimit, t.ValidationLimit)
		}
	}
	neural := li.needs(roles.LiNeuralModel) || li.needs(roles.LiNeuralData) || li.needs(roles.LiShuffle) || li.needs(roles.LiVGG) || li.sweeps()
	if neural && !c.Mouse.Used() {
		return fmt.Errorf("[li]: the neural regularizers need mouse recordings: give [mouse] recordings or [mouse.simulate] images")
	}
	if li.needs(roles.LiVGG) && li.VGG == "" && !slices.Contains(c.roles(), roles.Baseline) {
		return fmt.Errorf("[li]: the VGG control needs a VGG: set [li] vgg to a trained VGG's run folder, or add \"baseline\" to models")
	}
	return nil
}

// taskData is the task's data configuration.
func (c Config) taskData(t LiTask) DataConfig {
	d := c.Data
	if t.Data != nil {
		d = *t.Data
	}
	if t.TrainLimit > 0 {
		d.TrainLimit = t.TrainLimit
	}
	if t.ValidationLimit > 0 {
		d.ValidationLimit = t.ValidationLimit
	}
	return d
}

// Li et al.'s files under the run's root.
func (l layout) mouseRecordings() string     { return l.path("mouse", "recordings.npz") }
func (l layout) mousePredictor() string      { return l.path("mouse", "predictor") }
func (l layout) liTarget(name string) string { return l.path("mouse", "targets", name+".npz") }
func (l layout) liModel(task string, r roles.Role, seed int64) string {
	return l.path("li", task, string(r), fmt.Sprintf("seed-%d", seed))
}
func (l layout) liSweepModel(task string, alpha float64, seed int64) string {
	return l.path("li", task, fmt.Sprintf("alpha-%g", alpha), fmt.Sprintf("seed-%d", seed))
}
func (l layout) liReport() string { return l.path("report", "li") }

// liNoiseFile is a Li model's evaluation file.
const liNoiseFile = "noise.json"

// liTargetName is the target file's name of a control.
func liTargetName(r roles.Role) string {
	switch r {
	case roles.LiNeuralModel:
		return "model"
	case roles.LiNeuralData:
		return "data"
	case roles.LiShuffle:
		return "shuffle"
	case roles.LiVGG:
		return "vgg"
	}
	return ""
}

// PaperLi2019 marks the jobs of Li et al. 2019 (Job.Paper).
const PaperLi2019 = "li2019"

// addLi adds Li et al.'s jobs, marked with PaperLi2019: the mouse
// recordings (when simulated), the denoising predictor, the targets the
// controls need, every task's regularized models and their noise
// evaluations and the α sweep. It returns the Li report job, which the
// plan adds last (nil without tasks).
func (p *Plan) addLi(c Config, l layout) *Job {
	li := c.Li
	if !li.Used() {
		return nil
	}
	first := len(p.Jobs)
	defer func() {
		for _, j := range p.Jobs[first:] {
			j.Paper = PaperLi2019
		}
	}()
	targets := map[roles.Role]string{}
	if c.Mouse.Used() {
		rec := c.Mouse.Recordings
		var recInputs []string
		if rec == "" {
			rec = l.mouseRecordings()
			recInputs = []string{rec}
			p.add(&Job{Name: "simulate the mouse V1 recordings", Output: rec, run: func(r *runner) error { return r.simulateMouse(rec) }})
		}
		pred := l.mousePredictor()
		needModel := li.needs(roles.LiNeuralModel) || li.needs(roles.LiShuffle) || li.needs(roles.LiVGG) || li.sweeps()
		if needModel {
			p.add(&Job{Name: "train the mouse denoising predictor", Inputs: recInputs, Output: filepath.Join(pred, checkpoint.ModelFile), Dir: pred,
				Seed: c.Mouse.Predictor.Seed, Epochs: c.Mouse.Predictor.Recipe.Stopping.MaxEpochs,
				Results: []string{filepath.Join(pred, checkpoint.MetricsFile)}, run: func(r *runner) error { return r.trainMousePredictor(pred, rec) }})
			model := l.liTarget("model")
			targets[roles.LiNeuralModel] = model
			p.add(&Job{Name: "build the S_model similarity target", Inputs: append(slices.Clip(recInputs), filepath.Join(pred, checkpoint.ModelFile)), Output: model,
				run: func(r *runner) error { return r.modelTarget(rec, pred, model) }})
			if li.needs(roles.LiShuffle) {
				out := l.liTarget("shuffle")
				targets[roles.LiShuffle] = out
				p.add(&Job{Name: "shuffle the S_model target", Inputs: []string{model}, Output: out,
					run: func(r *runner) error { return r.shuffleTarget(model, out) }})
			}
			if li.needs(roles.LiVGG) {
				vgg := li.VGG
				if vgg == "" {
					vgg = l.model(roles.Baseline, c.Seeds[0])
				}
				out := l.liTarget("vgg")
				targets[roles.LiVGG] = out
				p.add(&Job{Name: "build the VGG feature similarity target", Inputs: []string{model, filepath.Join(vgg, checkpoint.ModelFile)}, Output: out,
					run: func(r *runner) error { return r.featureTarget(model, vgg, out) }})
			}
		}
		if li.needs(roles.LiNeuralData) {
			out := l.liTarget("data")
			targets[roles.LiNeuralData] = out
			p.add(&Job{Name: "build the S_data similarity target", Inputs: recInputs, Output: out, run: func(r *runner) error { return r.dataTarget(rec, out) }})
		}
	}
	var evals []string
	addModel := func(task LiTask, role roles.Role, alpha float64, seed int64, dir, label string, sweep bool) {
		target := targets[role]
		if role == roles.LiNone {
			alpha = 0
		}
		var inputs []string
		if target != "" {
			inputs = []string{target}
		}
		p.add(&Job{Name: fmt.Sprintf("train li %s %s seed %d", task.Name, label, seed), Inputs: inputs, Output: filepath.Join(dir, checkpoint.ModelFile),
			Dir: dir, Role: role, Seed: seed, Epochs: li.Recipe.Epochs, Results: []string{filepath.Join(dir, checkpoint.MetricsFile)},
			run: func(r *runner) error { return r.trainLi(task, alpha, target, seed, dir) }})
		out := l.evalFile(dir, liNoiseFile)
		evals = append(evals, out)
		p.add(&Job{Name: "li: evaluate " + shortDir(l.root, dir) + " under Gaussian noise", Inputs: []string{filepath.Join(dir, checkpoint.ModelFile)},
			Output: out, Results: []string{out}, run: func(r *runner) error { return r.evalLiNoise(task, dir, out) }})
		if !sweep { // Fig. 5: the regularizers at the recipe's α
			n := len(p.Jobs)
			p.addAdversarialOn(l, dir, seed, c.liSeeds(), "li: attack ", func(r *runner) (data.Set, error) {
				s, err := r.liData(task)
				if err != nil {
					return nil, err
				}
				return s.Test, nil
			})
			for _, j := range p.Jobs[n:] {
				evals = append(evals, j.Output)
			}
		}
	}
	for _, task := range li.Tasks {
		for _, role := range task.controls() {
			for _, seed := range c.liSeeds() {
				addModel(task, role, li.Recipe.Alpha, seed, l.liModel(task.Name, role, seed), string(role), false)
			}
		}
		for _, alpha := range task.Alphas {
			for _, seed := range c.liAlphaSeeds(task) {
				if c.liSweepReuses(task, alpha, seed) {
					continue
				}
				addModel(task, roles.LiNeuralModel, alpha, seed, l.liSweepModel(task.Name, alpha, seed), fmt.Sprintf("%s alpha %g", roles.LiNeuralModel, alpha), true)
			}
		}
	}
	return &Job{Name: "write the Li et al. results table and report", Inputs: evals, Output: filepath.Join(l.liReport(), report.LiReportHTM),
		Results: []string{filepath.Join(l.liReport(), report.LiTableTXT)}, Paper: PaperLi2019, run: func(r *runner) error { return r.writeLiReport(l) }}
}

// liSweepReuses reports whether the sweep point (α, seed) of a task is the
// Neural (model) run itself.
func (c Config) liSweepReuses(task LiTask, alpha float64, seed int64) bool {
	return alpha == c.Li.Recipe.Alpha && slices.Contains(task.controls(), roles.LiNeuralModel) && slices.Contains(c.liSeeds(), seed)
}

// mouseRec opens the mouse recordings: the simulated file, or the
// configured recordings.
func (r *runner) mouseRec(path string) (*recordings.Recordings, error) {
	if r.cfg.Mouse.Recordings == "" {
		return r.recordings(path)
	}
	return r.cachedRecordings(path, func() (*recordings.Recordings, error) { return r.cfg.Mouse.Open(r.ctx) })
}

func (r *runner) simulateMouse(path string) error {
	rec, err := r.cfg.Mouse.Simulate.Record(r.ctx)
	if err != nil {
		return err
	}
	if err := recordings.Save(path, rec); err != nil {
		return err
	}
	fmt.Fprintf(r.log, "simulated %d mouse scans on %d images\n", len(rec.Sessions), rec.Images.N)
	return nil
}

func (r *runner) trainMousePredictor(dir, recPath string) error {
	rec, err := r.mouseRec(recPath)
	if err != nil {
		return err
	}
	_, err = recipes.TrainMousePredictor(r.ctx, r.env, r.cfg.Mouse.PredictorJob(dir, rec))
	return err
}

func (r *runner) modelTarget(recPath, predDir, out string) error {
	rec, err := r.mouseRec(recPath)
	if err != nil {
		return err
	}
	pred, err := predict.LoadMouse(r.env.Backend, predDir)
	if err != nil {
		return err
	}
	t, err := similarity.ModelTarget(r.ctx, rec, pred, similarity.Options{Source: recPath, PredictorDir: predDir, Progress: r.log})
	if err != nil {
		return err
	}
	return saveTarget(out, t)
}

func (r *runner) dataTarget(recPath, out string) error {
	rec, err := r.mouseRec(recPath)
	if err != nil {
		return err
	}
	t, err := similarity.DataTarget(rec, similarity.Options{Source: recPath, Progress: r.log})
	if err != nil {
		return err
	}
	return saveTarget(out, t)
}

func (r *runner) shuffleTarget(in, out string) error {
	t, err := similarity.Load(in)
	if err != nil {
		return err
	}
	return saveTarget(out, t.Shuffled(r.cfg.Li.ShuffleSeed))
}

func (r *runner) featureTarget(in, vggDir, out string) error {
	base, err := similarity.Load(in)
	if err != nil {
		return err
	}
	layer := r.cfg.Li.VGGLayer
	f, m, err := predict.LayerFeatures(r.ctx, r.env.Backend, vggDir, layer, base.Pixels, base.N, base.H, base.W, 64)
	if err != nil {
		return err
	}
	t, err := similarity.FeatureTarget(base, f, m, vggDir+" "+layer)
	if err != nil {
		return err
	}
	return saveTarget(out, t)
}

func saveTarget(path string, t *similarity.Target) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return similarity.Save(path, t)
}

// liData opens a task's classification data (once per task).
func (r *runner) liData(task LiTask) (*Splits, error) {
	if s, ok := r.liSplits[task.Name]; ok {
		return s, nil
	}
	s, err := r.cfg.taskData(task).Open()
	if err != nil {
		return nil, err
	}
	if r.liSplits == nil {
		r.liSplits = map[string]*Splits{}
	}
	r.liSplits[task.Name] = s
	return s, nil
}

func (r *runner) trainLi(task LiTask, alpha float64, targetPath string, seed int64, dir string) error {
	s, err := r.liData(task)
	if err != nil {
		return err
	}
	recipe := r.cfg.Li.Recipe
	recipe.Alpha = alpha
	job := recipes.SimilarityJob{Dir: dir, Model: task.Network(), Head: task.Head(), Recipe: recipe, Seed: seed,
		Data: recipes.ClassifierData{Train: s.Train, Validation: s.Validation, TrainPipeline: s.TrainPipeline, Normalize: s.Normalize}}
	if targetPath != "" && alpha > 0 {
		t, err := similarity.Load(targetPath)
		if err != nil {
			return err
		}
		job.Target = &recipes.SimilarityTarget{Name: targetPath, N: t.N, H: t.H, W: t.W, Pixels: t.Pixels, S: t.S}
	}
	_, err = recipes.TrainSimilarity(r.ctx, r.env, job)
	return err
}

func (r *runner) evalLiNoise(task LiTask, dir, out string) error {
	s, err := r.liData(task)
	if err != nil {
		return err
	}
	clf, err := predict.LoadClassifier(r.env.Backend, dir)
	if err != nil {
		return err
	}
	acc, err := robustness.GaussianNoise(r.ctx, clf, s.Test, r.cfg.Li.Noise, r.cfg.Li.NoiseSeed, 256, r.env.Workers)
	if err != nil {
		return err
	}
	e := report.LiEvaluation{Noise: r.cfg.Li.Noise, Accuracy: acc}
	if head := clf.Info.Similarity; head != nil {
		_, g, err := checkpoint.LoadRun(dir, checkpoint.KindSimilarity)
		if err != nil {
			return err
		}
		gamma, ok := head.GammaValues(g)
		if !ok {
			return fmt.Errorf("%s: the model file has no similarity head weights", dir)
		}
		e.Layers, e.Gamma = head.Layers, gamma
	}
	fmt.Fprintf(r.log, "clean %.2f%%, at σ=%g %.2f%%\n", acc[0], r.cfg.Li.Noise[len(acc)-1], acc[len(acc)-1])
	return writeJSON(out, e)
}

// LiResultsFile, in a run's root, holds the Li report's input.
const LiResultsFile = "li-results.json"

func (r *runner) writeLiReport(l layout) error {
	c := r.cfg
	res := report.LiResults{Experiment: c.Name, Backend: r.env.Backend.Name()}
	read := func(task LiTask, role roles.Role, alpha float64, sweep bool, seeds []int64, dir func(int64) string) error {
		m := report.LiModel{Task: task.Name, Role: role, Alpha: alpha, Sweep: sweep}
		if role == roles.LiNone {
			m.Alpha = 0
		}
		for _, seed := range seeds {
			path := l.evalFile(dir(seed), liNoiseFile)
			raw, err := r.read(path)
			if err != nil {
				return fmt.Errorf("reading the noise evaluation: %w", err)
			}
			var e report.LiEvaluation
			if err := json.Unmarshal(raw, &e); err != nil {
				return fmt.Errorf("%s: %w (delete it to evaluate again)", path, err)
			}
			m.Seeds, m.Evals = append(m.Seeds, seed), append(m.Evals, e)
		}
		if !sweep {
			adv, err := r.adversarialOf(l, seeds, dir)
			if err != nil {
				return err
			}
			m.Adversarial = adv
		}
		res.Models = append(res.Models, m)
		return nil
	}
	for _, task := range c.Li.Tasks {
		for _, role := range task.controls() {
			if err := read(task, role, c.Li.Recipe.Alpha, false, c.liSeeds(), func(s int64) string { return l.liModel(task.Name, role, s) }); err != nil {
				return err
			}
		}
		for _, alpha := range task.Alphas {
			if err := read(task, roles.LiNeuralModel, alpha, true, c.liAlphaSeeds(task), func(s int64) string {
				if c.liSweepReuses(task, alpha, s) {
					return l.liModel(task.Name, roles.LiNeuralModel, s)
				}
				return l.liSweepModel(task.Name, alpha, s)
			}); err != nil {
				return err
			}
		}
	}
	if err := writeJSON(l.path(LiResultsFile), res); err != nil {
		return err
	}
	table, err := report.WriteLiReport(l.liReport(), res)
	if err != nil {
		return err
	}
	fmt.Fprint(r.out, table)
	fmt.Fprintf(r.out, "report: %s\n", filepath.Join(l.liReport(), report.LiReportHTM))
	return nil
}
