package models

import (
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/nn"
)

// TestParameterCount checks the paper's architecture checksum (spec §8):
// 39,737,352 trainable parameters for VGG-19-BN with the convolutional
// readout and 200 classes, 556,608 of them in the shared block up to conv3_1.
func TestParameterCount(t *testing.T) {
	v := VGG19BN(200)
	layers, total, err := v.Summary(64)
	if err != nil {
		t.Fatal(err)
	}
	if total != 39_737_352 {
		t.Errorf("total parameters %d, want 39,737,352", total)
	}
	shared := 0
	for _, l := range layers {
		shared += l.Params
		if l.Name == "conv3_1 (conv3×3+bn+relu)" {
			if l.Output != [3]int{16, 16, 256} {
				t.Errorf("conv3_1 output %v, want 16×16×256", l.Output)
			}
			break
		}
	}
	if shared != 556_608 {
		t.Errorf("shared block parameters %d, want 556,608", shared)
	}
	if last := layers[len(layers)-3]; last.Output != [3]int{2, 2, 4096} {
		t.Errorf("%s output %v, want 2×2×4096", last.Name, last.Output)
	}
}

// TestGraphMatchesSummary builds the real graph and counts its variables.
func TestGraphMatchesSummary(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	v := VGG{Stages: [][]int{{4}, {8, 8}, {8}}, Head: []int{16}, Classes: 5, InputChannels: 3, Dropout: 0.5, Tap: "conv2_1"}
	ctx := context.New()
	nn.SetSeed(ctx, 1)
	var tapShape, logitShape shapes.Shape
	_, err = context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) []*graph.Node {
		x := graph.Zeros(g, shapes.Make(dtypes.Float32, 2, 16, 16, 1))
		logits, taps := v.Forward(ctx, x, v.Tap)
		tap := taps[0]
		tapShape, logitShape = tap.Shape(), logits.Shape()
		return []*graph.Node{logits}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tapShape.Equal(shapes.Make(dtypes.Float32, 2, 8, 8, 8)) || !logitShape.Equal(shapes.Make(dtypes.Float32, 2, 5)) {
		t.Errorf("tap %s, logits %s", tapShape, logitShape)
	}
	_, total, err := v.Summary(16)
	if err != nil {
		t.Fatal(err)
	}
	params := 0
	for vr := range ctx.IterVariables() {
		if vr.Trainable {
			params += vr.Shape().Size()
		}
	}
	if params != total {
		t.Errorf("graph has %d trainable parameters, summary says %d", params, total)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		v    VGG
	}{
		{"no stages", VGG{Classes: 10, InputChannels: 1}},
		{"bad tap", VGG{Stages: [][]int{{4}}, Classes: 10, InputChannels: 1, Tap: "conv3_1"}},
		{"one class", VGG{Stages: [][]int{{4}}, Classes: 1, InputChannels: 1}},
		{"dropout 1", VGG{Stages: [][]int{{4}}, Classes: 3, InputChannels: 1, Dropout: 1}},
	}
	for _, tc := range tests {
		if err := tc.v.Validate(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	if err := VGG19BN(200).Validate(); err != nil {
		t.Errorf("VGG19BN: %v", err)
	}
}

// TestTapClosingStage checks a tap on a stage's last convolution: the core
// ends before that stage's pool and the classifier applies it once.
func TestTapClosingStage(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	v := VGG{Stages: [][]int{{4}, {8}, {8}, {8}}, Head: []int{8}, Classes: 3, InputChannels: 1, Dropout: 0, Tap: "conv2_1"}
	ctx := context.New()
	nn.SetSeed(ctx, 1)
	var tap, direct, split shapes.Shape
	out, err := context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) []*graph.Node {
		x := graph.Ones(g, shapes.Make(dtypes.Float32, 2, 16, 16, 1))
		core := v.Features(ctx, x, v.Tap)[0]
		whole, _ := v.Forward(ctx, x, v.Tap)
		noTap := v
		noTap.Tap = ""
		plain := noTap.Logits(ctx, x)
		tap, direct, split = core.Shape(), plain.Shape(), whole.Shape()
		return []*graph.Node{graph.ReduceAllMax(graph.Abs(graph.Sub(whole, plain)))}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tap.Equal(shapes.Make(dtypes.Float32, 2, 8, 8, 8)) {
		t.Errorf("core output %s, want the unpooled conv2_1 map 2×8×8×8", tap)
	}
	if !direct.Equal(split) {
		t.Errorf("logits through the tap %s, without %s", split, direct)
	}
	if d := out[0].Value().(float32); d > 1e-6 {
		t.Errorf("logits through the tap differ from the plain network's by %g", d)
	}
}
