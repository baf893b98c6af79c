package robustness

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
)

// stripes returns an image of class label: horizontal (0) or vertical (1)
// stripes of period 4 with a random phase, tint and noise, c channels.
func stripes(label, c, size int, rng *rand.Rand) data.Image {
	img := data.NewImage(size, size, c)
	phase := rng.IntN(4)
	var tint [3]float64
	for ch := range tint {
		tint[ch] = 0.6 + 0.4*rng.Float64()
	}
	for y := range size {
		for x := range size {
			t := y
			if label == 1 {
				t = x
			}
			v := 50.0
			if (t+phase)%4 < 2 {
				v = 200
			}
			for ch := range c {
				p := v*tint[ch] + 20*rng.NormFloat64()
				img.Pix[(y*size+x)*c+ch] = uint8(min(255, max(0, p)))
			}
		}
	}
	return img
}

// stripeSet returns n stripe images of two classes with random labels.
func stripeSet(t testing.TB, name string, n, c, size int, seed uint64) *data.MemorySet {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	imgs := make([]data.Image, n)
	labels := make([]int, n)
	for i := range imgs {
		labels[i] = rng.IntN(2)
		imgs[i] = stripes(labels[i], c, size, rng)
	}
	set, err := data.NewMemorySet(name, []string{"horizontal", "vertical"}, imgs, labels)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// recorder is a fake model: it predicts with rule and keeps every input
// value it was given, in call order.
type recorder struct {
	rule func(plane []float32) int
	mu   sync.Mutex
	x    []float32
}

func (r *recorder) Predict(x []float32, n, h, w int) ([]int, error) {
	r.mu.Lock()
	r.x = append(r.x, x...)
	r.mu.Unlock()
	pred := make([]int, n)
	for i := range pred {
		pred[i] = r.rule(x[i*h*w : (i+1)*h*w])
	}
	return pred, nil
}

// meanRule predicts class 1 when the mean value is above thr.
func meanRule(thr float32) func([]float32) int {
	return func(p []float32) int {
		var s float32
		for _, v := range p {
			s += v
		}
		if s/float32(len(p)) > thr {
			return 1
		}
		return 0
	}
}

// orientationRule tells horizontal from vertical stripes by comparing the
// variation along rows with the variation along columns.
func orientationRule(side int) func([]float32) int {
	return func(p []float32) int {
		var dx, dy float32
		for y := range side - 1 {
			for x := range side - 1 {
				v := p[y*side+x]
				dx += abs(p[y*side+x+1] - v)
				dy += abs(p[(y+1)*side+x] - v)
			}
		}
		if dx > dy {
			return 1 // values change along a row: vertical stripes
		}
		return 0
	}
}

func abs(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// tinyClassifier trains a one-stage VGG for one epoch on stripe images of
// size side and returns it loaded from its run directory.
func tinyClassifier(t testing.TB, side int) (*predict.Classifier, string) {
	t.Helper()
	b, err := engine.Open(engine.CPU)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	norm := data.Normalize{Mean: 0.45, Std: 0.25}
	job := recipes.ClassifierJob{
		Dir:   dir,
		Model: models.VGG{Stages: [][]int{{8}}, Head: []int{8}, Classes: 2, InputChannels: 1, Tap: "conv1_1"},
		Recipe: recipes.ClassifierConfig{Batch: 32,
			Optimizer: recipes.SGDConfig{LR: 0.05, Momentum: 0.75},
			Plateau:   recipes.PlateauConfig{Factor: 0.5, Patience: 1, Threshold: 1e-4, ThresholdMode: "rel", MinLR: 1e-4},
			Stopping:  recipes.StoppingConfig{Patience: 1, DecaySteps: 1, MaxEpochs: 2}},
		Data: recipes.ClassifierData{
			Train:         stripeSet(t, "stripes:train", 1024, 3, side, 11),
			Validation:    stripeSet(t, "stripes:validation", 64, 3, side, 12),
			TrainPipeline: data.Pipeline{Normalize: norm},
			Normalize:     norm,
		},
		Seed: 7,
	}
	if _, err := recipes.TrainClassifier(context.Background(), recipes.Env{Backend: b}, job); err != nil {
		t.Fatal(err)
	}
	clf, err := predict.LoadClassifier(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	return clf, dir
}
