package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/internal/gradcheck"
	"github.com/cotrain/cotrain/nn"
)

// TestSimilarityHeadGradients checks the gradient of the similarity loss
// of the head's mixture with respect to the features of its three layers
// and its layer logits against finite differences (float64, relative
// error ≤ 1e-6).
func TestSimilarityHeadGradients(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	head := SimilarityHead{Layers: []string{"a", "b", "c"}}
	rng := rand.New(rand.NewPCG(1, 2))
	target := gradcheck.Random(rng, 6, 9)
	fn := func(ctx *context.Context, xs []*graph.Node) *graph.Node {
		s := head.Mix(ctx, xs)
		return nn.SimilarityLoss(s, nn.CenteredCosines(graph.Const(s.Graph(), target)), 0.01)
	}
	inputs := []*tensors.Tensor{gradcheck.Random(rng, 6, 2, 2, 3), gradcheck.Random(rng, 6, 5), gradcheck.Random(rng, 6, 1, 1, 4)}
	ctx := context.New()
	// Logits away from 0, so that γ is not uniform.
	ctx.InAbsPath(SimilarityScope).VariableWithValue("logits", []float64{0.5, -0.3, 0.1})
	results, err := gradcheck.Check(b, ctx, fn, inputs, gradcheck.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Fatalf("%d gradients checked, want 3 feature maps and the logits", len(results))
	}
	for _, r := range results {
		if r.RelErr > 1e-6 {
			t.Errorf("%s: relative error %.3g > 1e-6", r.Name, r.RelErr)
		}
	}
}

// TestSimilarityHeadValidate checks the head's layer names against a core.
func TestSimilarityHeadValidate(t *testing.T) {
	vgg := VGG{Stages: [][]int{{4}, {8}}, Classes: 3, InputChannels: 1}
	for _, tc := range []struct {
		layers []string
		ok     bool
	}{{[]string{"conv1_1", "conv2_1"}, true}, {nil, false}, {[]string{"conv3_1"}, false}, {[]string{"conv1_1", "conv1_1"}, false}} {
		if err := (SimilarityHead{Layers: tc.layers}).Validate(vgg); (err == nil) != tc.ok {
			t.Errorf("layers %v: error %v, want ok %v", tc.layers, err, tc.ok)
		}
	}
	if g := softmax([]float64{0, math.Log(3)}); math.Abs(g[0]-0.25) > 1e-12 || math.Abs(g[1]-0.75) > 1e-12 {
		t.Errorf("softmax(0, log 3) = %v, want 0.25, 0.75", g)
	}
}
