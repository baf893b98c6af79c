package predict

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

const side = 8

var testModel = models.VGG{Stages: [][]int{{4}, {6}}, Head: []int{8}, Classes: 3, InputChannels: 1, Dropout: 0.5, Tap: "conv2_1"}

func backend(t *testing.T) backends.Backend {
	t.Helper()
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// writeRun initializes testModel and a two-readout Gaussian head with
// random weights, writes them as a run folder of the given kind, and
// returns the folder and the context holding the weights.
func writeRun(t *testing.T, b backends.Backend, kind checkpoint.Kind) (string, *gctx.Context, models.GaussianHead) {
	t.Helper()
	g := gctx.New()
	if err := nn.SetSeed(g, 4); err != nil {
		t.Fatal(err)
	}
	head := models.GaussianHead{Readouts: []models.Readout{{Name: "a", Neurons: 3}, {Name: "b", Neurons: 2}}}
	exec, err := nn.Compile(b, g, func(ctx *gctx.Context, x *graph.Node) (*graph.Node, *graph.Node) {
		logits, taps := testModel.Forward(ctx, x, testModel.Tap)
		return logits, head.All(ctx, taps[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Call(exec, tensors.FromFlatDataAndDimensions(make([]float32, side*side), 1, side, side, 1)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := checkpoint.Save(filepath.Join(dir, checkpoint.ModelFile), g, checkpoint.Model); err != nil {
		t.Fatal(err)
	}
	spec, _ := models.SpecOf(testModel)
	info := checkpoint.RunInfo{Kind: kind, Model: spec, Normalize: data.Normalize{Mean: 0.5, Std: 0.25}, Classes: []string{"x", "y", "z"},
		Readouts: head.Readouts, Seed: 4, Input: [2]int{side, side}}
	if err := checkpoint.WriteRunInfo(dir, info); err != nil {
		t.Fatal(err)
	}
	return dir, g.Reuse(), head
}

func randomImages(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*side*side)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// direct evaluates the network and head in eval mode on the context the
// run folder was written from: what the loaded predictors must reproduce.
func direct(t *testing.T, b backends.Backend, g *gctx.Context, head models.GaussianHead, x []float32, n int) ([][]float32, [][]float32) {
	t.Helper()
	exec, err := nn.Compile(b, g, func(ctx *gctx.Context, x *graph.Node) (*graph.Node, *graph.Node) {
		logits, taps := testModel.Forward(ctx, x, testModel.Tap)
		return logits, head.All(ctx, taps[0])
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := nn.Call(exec, tensors.FromFlatDataAndDimensions(x, n, side, side, 1))
	if err != nil {
		t.Fatal(err)
	}
	return out[0].Value().([][]float32), out[1].Value().([][]float32)
}

func TestClassifierPredicts(t *testing.T) {
	b := backend(t)
	dir, g, head := writeRun(t, b, checkpoint.KindMTL)
	const n = 7
	x := randomImages(n, 1)
	logits, _ := direct(t, b, g, head, x, n)
	c, err := LoadClassifier(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	pred, err := c.Predict(x, n, side, side)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range logits {
		best := 0
		for k, v := range row {
			if v > row[best] {
				best = k
			}
		}
		if pred[i] != best {
			t.Errorf("image %d: predicted %d, logits %v", i, pred[i], row)
		}
	}
	if c.Info.Kind != checkpoint.KindMTL || c.Info.Model.VGG.Tap != testModel.Tap {
		t.Errorf("run info %+v", c.Info)
	}
}

func TestNeuralPredicts(t *testing.T) {
	b := backend(t)
	dir, g, head := writeRun(t, b, checkpoint.KindPredictor)
	const n = 5
	x := randomImages(n, 2)
	_, want := direct(t, b, g, head, x, n)
	m, err := LoadNeural(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Neurons() != 5 {
		t.Fatalf("%d neurons, want 5 (3 + 2)", m.Neurons())
	}
	got, err := m.Predict(x, n, side, side)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range want {
		for k, v := range row {
			if d := got[i*5+k] - v; d > 1e-6 || d < -1e-6 || v <= 0 {
				t.Errorf("image %d neuron %d: %v, want %v (a positive rate)", i, k, got[i*5+k], v)
			}
		}
	}
}

func TestResponseSetOrder(t *testing.T) {
	b := backend(t)
	dir, _, _ := writeRun(t, b, checkpoint.KindPredictor)
	m, err := LoadNeural(b, dir)
	if err != nil {
		t.Fatal(err)
	}
	var imgs []data.Image
	var labels []int
	for i := range 11 {
		img := data.Image{H: side, W: side, C: 1, Pix: make([]uint8, side*side)}
		for p := range img.Pix {
			img.Pix[p] = uint8((p*7 + i*31) % 256)
		}
		imgs, labels = append(imgs, img), append(labels, i%3)
	}
	set, err := data.NewMemorySet("s", []string{"x", "y", "z"}, imgs, labels)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := m.ResponseSet(context.Background(), set, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rs.Images != 11 || rs.Neurons != 5 {
		t.Fatalf("response set %d×%d, want 11×5", rs.Images, rs.Neurons)
	}
	// Image 6 alone must give row 6 of the batched set.
	one, err := data.Images(set, []int{6}, m.Info.Normalize)
	if err != nil {
		t.Fatal(err)
	}
	row, err := m.Predict(one.X, 1, side, side)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range row {
		if d := rs.Row(6)[k] - v; d > 1e-5 || d < -1e-5 {
			t.Errorf("neuron %d of image 6: %v in the set, %v alone", k, rs.Row(6)[k], v)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	b := backend(t)
	pred, _, _ := writeRun(t, b, checkpoint.KindPredictor)
	clf, _, _ := writeRun(t, b, checkpoint.KindClassifier)
	unfinished, _, _ := writeRun(t, b, checkpoint.KindClassifier)
	if err := os.Remove(filepath.Join(unfinished, checkpoint.ModelFile)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		load func() error
		want string
	}{
		{"no run folder", func() error { _, err := LoadClassifier(b, t.TempDir()); return err }, "is not a trained model directory"},
		{"predictor as classifier", func() error { _, err := LoadClassifier(b, pred); return err }, "holds a predictor model"},
		{"classifier as predictor", func() error { _, err := LoadNeural(b, clf); return err }, "holds a classifier model"},
		{"unfinished", func() error { _, err := LoadClassifier(b, unfinished); return err }, "is training in"},
	} {
		if err := tc.load(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}
