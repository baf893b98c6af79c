package recipes

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/responses"
	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/v1sim"
)

func TestParseRatio(t *testing.T) {
	for _, tc := range []struct {
		in   string
		p, q int
		ok   bool
	}{
		{"1:1", 1, 1, true}, {"2:1", 2, 1, true}, {"1:15", 1, 15, true}, {"4:6", 2, 3, true}, {" 3 : 2 ", 3, 2, true},
		{"1", 0, 0, false}, {"0:1", 0, 0, false}, {"1:0", 0, 0, false}, {"a:b", 0, 0, false}, {"1:-2", 0, 0, false},
	} {
		r, err := ParseRatio(tc.in)
		p, q := r.Neural, r.Classification
		if (err == nil) != tc.ok || p != tc.p || q != tc.q {
			t.Errorf("ParseRatio(%q) = %d, %d, %v; want %d, %d, ok %v", tc.in, p, q, err, tc.p, tc.q, tc.ok)
		}
	}
}

// TestNeuralBatches checks the step rule: p neural batches per q
// classification batches, spread evenly, and the original's schedules
// for the ratios it supported (k:1, and 1:k with the neural batch before
// every k-th classification batch).
func TestNeuralBatches(t *testing.T) {
	for _, r := range [][2]int{{1, 1}, {2, 1}, {5, 1}, {1, 3}, {1, 15}, {2, 3}, {3, 7}, {7, 3}} {
		p, q := r[0], r[1]
		for start := 0; start < 3*q; start += q {
			sum, lo, hi := 0, math.MaxInt, 0
			for i := start; i < start+q; i++ {
				k := NeuralBatches(i, p, q)
				sum += k
				lo, hi = min(lo, k), max(hi, k)
			}
			if sum != p || hi-lo > 1 {
				t.Errorf("ratio %d:%d, batches %d..%d: %d neural batches (per batch %d..%d), want %d spread evenly", p, q, start, start+q-1, sum, lo, hi, p)
			}
		}
	}
	for i := 0; i < 30; i++ {
		if got := NeuralBatches(i, 3, 1); got != 3 {
			t.Errorf("3:1 batch %d: %d neural batches, want 3", i, got)
		}
		want := 0
		if (i+1)%4 == 0 {
			want = 1
		}
		if got := NeuralBatches(i, 1, 4); got != want {
			t.Errorf("1:4 batch %d: %d neural batches, want %d (the original's rule)", i, got, want)
		}
	}
}

// stripes is a synthetic 3-class task: 32×32 gray images of stripes whose
// orientation is the class, with random phase and noise.
func stripes(t testing.TB, n int, seed uint64) data.Set {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	imgs := make([]data.Image, n)
	labels := make([]int, n)
	for i := range imgs {
		c := i % 3
		phase := rng.Float64() * 2 * math.Pi
		img := data.NewImage(32, 32, 1)
		for y := 0; y < 32; y++ {
			for x := 0; x < 32; x++ {
				var u float64
				switch c {
				case 0:
					u = float64(x)
				case 1:
					u = float64(y)
				default:
					u = float64(x+y) / math.Sqrt2
				}
				v := 128 + 90*math.Sin(u*0.8+phase) + 20*rng.NormFloat64()
				img.Pix[y*32+x] = uint8(min(max(v, 0), 255))
			}
		}
		imgs[i], labels[i] = img, c
	}
	set, err := data.NewMemorySet("stripes", []string{"h", "v", "d"}, imgs, labels)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func tinyModel() models.VGG {
	return models.VGG{Stages: [][]int{{4}, {8}, {8}}, Head: []int{16}, Classes: 3, InputChannels: 1, Dropout: 0.25, Tap: "conv2_1"}
}

func tinyRecipe(epochs int) ClassifierConfig {
	c := PaperClassifier()
	c.Batch = 32
	c.Optimizer.LR = 0.05
	c.Stopping = StoppingConfig{Patience: epochs, DecaySteps: 1, MaxEpochs: epochs, Tolerance: 1e-4}
	return c
}

func testEnv(t testing.TB) Env {
	t.Helper()
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	return Env{Backend: b, Workers: 2}
}

func classifierData(t testing.TB) ClassifierData {
	norm := data.Normalize{Mean: 0.5, Std: 0.25}
	return ClassifierData{Train: stripes(t, 192, 1), Validation: stripes(t, 48, 2), TrainPipeline: data.EvalPipeline(norm), Normalize: norm}
}

// cancelOn cancels a context when a progress line contains a marker.
type cancelOn struct {
	mu     sync.Mutex
	marker string
	cancel context.CancelFunc
	buf    bytes.Buffer
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if strings.Contains(c.buf.String(), c.marker) {
		c.cancel()
	}
	return len(p), nil
}

// TestClassifierResume interrupts a run after its first epoch and resumes
// it: it must finish with the same epochs, history and final weights as an
// uninterrupted run.
func TestClassifierResume(t *testing.T) {
	env := testEnv(t)
	d := classifierData(t)
	job := ClassifierJob{Model: tinyModel(), Recipe: tinyRecipe(3), Data: d, Seed: 5}

	straightDir := filepath.Join(t.TempDir(), "straight")
	job.Dir = straightDir
	straight, err := TrainClassifier(context.Background(), env, job)
	if err != nil {
		t.Fatal(err)
	}

	job.Dir = filepath.Join(t.TempDir(), "resumed")
	ctx, cancel := context.WithCancel(context.Background())
	stopEnv := env
	stopEnv.Progress = &cancelOn{marker: "epoch 1 ", cancel: cancel}
	if _, err := TrainClassifier(ctx, stopEnv, job); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v, want ErrInterrupted", err)
	}
	if _, err := os.Stat(filepath.Join(job.Dir, checkpoint.ModelFile)); err == nil {
		t.Fatal("an interrupted run wrote its final model")
	}
	resumed, err := TrainClassifier(context.Background(), env, job)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.Epochs != 3 || resumed.Epochs != straight.Epochs || resumed.BestEpoch != straight.BestEpoch {
		t.Errorf("resumed run: %d epochs (best %d), uninterrupted %d (best %d); want 3 epochs",
			resumed.Epochs, resumed.BestEpoch, straight.Epochs, straight.BestEpoch)
	}
	for i := range straight.History {
		a, b := straight.History[i], resumed.History[i]
		if a.Objective != b.Objective || a.Metrics["train_loss"] != b.Metrics["train_loss"] {
			t.Errorf("epoch %d: uninterrupted objective %v loss %v, resumed %v %v",
				a.Epoch, a.Objective, a.Metrics["train_loss"], b.Objective, b.Metrics["train_loss"])
		}
	}
	want := loadVars(t, filepath.Join(straightDir, checkpoint.ModelFile))
	got := loadVars(t, filepath.Join(job.Dir, checkpoint.ModelFile))
	if len(got) != len(want) {
		t.Errorf("resumed model has %d variables, uninterrupted %d", len(got), len(want))
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || !slices.Equal(g, w) {
			t.Errorf("variable %s differs between the resumed and the uninterrupted run", name)
		}
	}
	// Running a finished job again returns it as it is.
	again, err := TrainClassifier(context.Background(), env, job)
	if err != nil || again.Epochs != 3 {
		t.Errorf("re-running a finished run: %+v, %v", again, err)
	}
}

// loadVars reads a model file's variables as float32 slices by name.
func loadVars(t testing.TB, path string) map[string][]float32 {
	t.Helper()
	g := gctx.New()
	if err := checkpoint.Load(path, g); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for v := range g.IterVariables() {
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		if val.DType() == dtypes.Float32 {
			out[v.ScopeAndName()] = tensors.MustCopyFlatData[float32](val)
		}
	}
	return out
}

// grayImages returns the [0, 1] pixels of a set's images.
func grayImages(t testing.TB, set data.Set) [][]float32 {
	t.Helper()
	out := make([][]float32, set.Len())
	for i := range out {
		img, _, err := set.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = make([]float32, img.H*img.W)
		data.Gray(img, out[i])
	}
	return out
}

func population(t testing.TB, neurons int) *v1sim.Population {
	t.Helper()
	cfg := v1sim.DefaultConfig()
	cfg.Neurons = neurons
	pop, err := v1sim.NewPopulation(cfg, 32, 32, 3)
	if err != nil {
		t.Fatal(err)
	}
	return pop
}

// TestPredictorLearns fits a predictor to a simulated two-session
// recording: the validation correlation must rise well above the
// untrained model's.
func TestPredictorLearns(t *testing.T) {
	images := grayImages(t, stripes(t, 300, 3))
	rec, err := v1sim.Record(population(t, 24), images, v1sim.Protocol{TestImages: 10, TestRepeats: 8, TrainRepeats: 1, Sessions: 2}, 4)
	if err != nil {
		t.Fatal(err)
	}
	cfg := PaperPredictor()
	cfg.Batch = 32
	cfg.Optimizer.LR = 5e-3
	cfg.Stopping = StoppingConfig{Patience: 4, DecaySteps: 1, MaxEpochs: 4, Tolerance: 1e-6}
	res, err := TrainPredictor(context.Background(), testEnv(t), PredictorJob{Dir: t.TempDir(), Core: tinyModel(), Tap: tinyModel().Tap, Recipe: cfg, Recordings: rec, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	before := res.History[0].Objective
	if res.Epochs != 4 || res.ValidationCorrelation < 0.2 {
		t.Errorf("after %d epochs the validation correlation is %.3f (first epoch %.3f); want 4 epochs and at least 0.2",
			res.Epochs, res.ValidationCorrelation, before)
	}
}

// TestMTLTrains co-trains on a response set of simulated rates at two
// ratios: the loss weights move away from 0, the step rule feeds p neural
// batches per q classification batches, and both tasks learn.
func TestMTLTrains(t *testing.T) {
	d := classifierData(t)
	rates, err := population(t, 20).Rates(grayImages(t, d.Train))
	if err != nil {
		t.Fatal(err)
	}
	rs := &responses.Set{Source: d.Train.Name(), Images: len(rates), Neurons: 20}
	for _, r := range rates {
		rs.Responses = append(rs.Responses, r...)
	}
	for _, ratio := range []string{"2:1", "1:3"} {
		cfg := PaperMTL()
		cfg.Batch = 32
		cfg.Optimizer.LR = 0.05
		if cfg.Ratio, err = ParseRatio(ratio); err != nil {
			t.Fatal(err)
		}
		cfg.Stopping = StoppingConfig{Patience: 3, DecaySteps: 1, MaxEpochs: 3, Tolerance: 1e-4}
		res, err := TrainMTL(context.Background(), testEnv(t), MTLJob{Dir: t.TempDir(), Model: tinyModel(), Tap: tinyModel().Tap, Recipe: cfg, Data: d, Responses: rs, Seed: 2})
		if err != nil {
			t.Fatal(err)
		}
		last := res.History[len(res.History)-1].Metrics
		p, q := cfg.Ratio.Neural, cfg.Ratio.Classification
		if want := float64(d.Train.Len() / cfg.Batch * p / q); last["neural_batches"] != want {
			t.Errorf("ratio %s: %v neural batches per epoch, want %v", ratio, last["neural_batches"], want)
		}
		if last["s_classification"] == 0 || last["s_neural"] == 0 {
			t.Errorf("ratio %s: loss weights s_c %v, s_n %v did not move", ratio, last["s_classification"], last["s_neural"])
		}
		first := res.History[0].Metrics["val_neural_correlation"]
		if res.ValidationAccuracy < 50 || last["val_neural_correlation"] < first+0.05 {
			t.Errorf("ratio %s: validation accuracy %.1f%%, neural correlation %.3f after epoch 1 and %.3f at the end; want > 50%% and a rise of 0.05",
				ratio, res.ValidationAccuracy, first, last["val_neural_correlation"])
		}
	}
}

// TestOracleFreezesCore trains a small Oracle: its second stage keeps the
// noise-trained layers up to the tap exactly (batch-norm statistics too)
// and retrains the layers above.
func TestOracleFreezesCore(t *testing.T) {
	d := classifierData(t)
	dir := t.TempDir()
	recipe := PaperOracle()
	recipe.Corruptions = []string{"gaussian_noise", "contrast", "pixelate"}
	if _, err := TrainOracle(context.Background(), testEnv(t), OracleJob{Dir: dir, Model: tinyModel(), Tap: tinyModel().Tap, Classifier: tinyRecipe(2),
		Recipe: recipe, Data: d, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	noise := loadVars(t, filepath.Join(dir, NoiseStage, checkpoint.ModelFile))
	final := loadVars(t, filepath.Join(dir, checkpoint.ModelFile))
	frozen, changed := 0, 0
	for name, v := range final {
		inCore := strings.HasPrefix(name, "/features/conv1_1/") || strings.HasPrefix(name, "/features/conv2_1/")
		same := slices.Equal(v, noise[name])
		switch {
		case inCore && !same:
			t.Errorf("%s changed in the second stage", name)
		case inCore:
			frozen++
		case !same:
			changed++
		}
	}
	if frozen != 12 || changed == 0 {
		t.Errorf("%d frozen core variables (want 12: conv and batch norm of two layers), %d retrained", frozen, changed)
	}
}
