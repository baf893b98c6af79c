package models

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/nn"
)

// TestMouseCoreShapes builds the skip-connected core and checks every
// layer's input width and the parameter count against Stacked2dCore's
// arithmetic worked out by hand.
func TestMouseCoreShapes(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		core   MouseCore
		params int // by hand: k²·in·out + 2·out (batch-norm scale and offset) per layer
		inputs []int
	}{
		// skip 3: layer 1 reads layer 0 (4), layer 2 reads layers 0 and 1 (4 + 5).
		{MouseCore{Channels: []int{4, 5, 6}, Kernels: []int{5, 3, 3}, Skip: 3}, 25*1*4 + 8 + 9*4*5 + 10 + 9*9*6 + 12, []int{1, 4, 9}},
		// skip 2 on four layers: layer 3 reads layers 1 and 2.
		{MouseCore{Channels: []int{2, 3, 4, 5}, Kernels: []int{3, 3, 3, 1}, Skip: 2}, 9*2 + 4 + 9*2*3 + 6 + 9*5*4 + 8 + 1*7*5 + 10, []int{1, 2, 5, 7}},
		// no skip: a chain.
		{MouseCore{Channels: []int{3, 3}, Kernels: []int{3, 3}}, 9*3 + 6 + 9*3*3 + 6, []int{1, 3}},
	}
	for _, c := range cases {
		if err := c.core.Validate(); err != nil {
			t.Fatal(err)
		}
		ctx := context.New()
		nn.SetSeed(ctx, 1)
		var stack shapes.Shape
		_, err := context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) []*graph.Node {
			x := graph.Ones(g, shapes.Make(dtypes.Float32, 2, 9, 11, 1))
			out := c.core.Features(ctx, x, MouseStack)[0]
			stack = out.Shape()
			return []*graph.Node{out}
		})
		if err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, ch := range c.core.Channels {
			sum += ch
		}
		if !stack.Equal(shapes.Make(dtypes.Float32, 2, 9, 11, sum)) {
			t.Errorf("%+v: stack %s, want 2×9×11×%d", c.core, stack, sum)
		}
		params := 0
		for v := range ctx.IterVariables() {
			if v.Trainable {
				params += v.Shape().Size()
			}
			for l, in := range c.inputs {
				if v.Scope() == "/features/"+layerName(l)+"/conv" && v.Name() == "weights" && v.Shape().Dimensions[2] != in {
					t.Errorf("%+v: layer %d reads %d channels, want %d", c.core, l, v.Shape().Dimensions[2], in)
				}
			}
		}
		if params != c.params || c.core.Params() != c.params {
			t.Errorf("%+v: graph %d parameters, Params() %d, by hand %d", c.core, params, c.core.Params(), c.params)
		}
	}
	bad := []MouseCore{{}, {Channels: []int{3}, Kernels: []int{4}}, {Channels: []int{3, 2}, Kernels: []int{3}}, {Channels: []int{3}, Kernels: []int{3}, Skip: -1}}
	for _, m := range bad {
		if m.Validate() == nil {
			t.Errorf("%+v accepted", m)
		}
	}
}

func TestMouseSpecRoundTrip(t *testing.T) {
	spec, err := SpecOf(LiMouseCore())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var back Spec
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	c, err := back.Core()
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := c.(MouseCore); !ok || m.Skip != 3 || m.Kernels[0] != 9 {
		t.Fatalf("round trip of %s gave %+v", raw, c)
	}
	if _, err := back.Network(); err == nil {
		t.Error("a mouse core has no classification head, but Network succeeded")
	}
}

// TestMouseHead checks the head's wiring in evaluation mode: at
// initialization the modulator's gain is exactly 1, and the shifter moves
// every read position by the same grid offset.
func TestMouseHead(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	nn.SetSeed(ctx, 3)
	plain := MouseHead{Readouts: []Readout{{Name: "a", Neurons: 4}}}
	full := plain
	full.Shifter, full.Modulator = true, true
	out, err := context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) []*graph.Node {
		x := graph.Iota(g, shapes.Make(dtypes.Float32, 3, 6, 7, 2), 2)
		x = graph.Sin(graph.MulScalar(graph.Add(x, graph.Iota(g, shapes.Make(dtypes.Float32, 3, 6, 7, 2), 1)), 0.7))
		eye := graph.Iota(g, shapes.Make(dtypes.Float32, 3, 2), 0)
		mod := graph.Iota(g, shapes.Make(dtypes.Float32, 3, 2), 1)
		withMod := MouseHead{Readouts: plain.Readouts, Modulator: true}.Responses(ctx, x, nil, mod, 0)
		without := plain.Responses(ctx, x, nil, nil, 0)
		shifted := full.Responses(ctx, x, eye, mod, 0)
		return []*graph.Node{graph.ReduceAllMax(graph.Abs(graph.Sub(withMod, without))), graph.ReduceAllMax(graph.Abs(graph.Sub(shifted, without)))}
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := out[0].Value().(float32); d != 0 {
		t.Errorf("the initial modulator changes responses by %g", d)
	}
	if d := out[1].Value().(float32); !(d > 1e-4) || math.IsNaN(float64(d)) {
		t.Errorf("the shifter leaves responses unchanged (|Δ| = %g)", d)
	}
}
