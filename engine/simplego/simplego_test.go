package simplego_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/simplego"
	"github.com/cotrain/cotrain/internal/gradcheck"
)

func newBackend(t *testing.T) backends.Backend {
	t.Helper()
	b, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestPadAndReverse(t *testing.T) {
	b := newBackend(t)
	x := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6}, 2, 3)
	tests := []struct {
		name string
		fn   func(x *graph.Node) *graph.Node
		want []float32
		dims []int
	}{
		{"reverse axis 1", func(x *graph.Node) *graph.Node { return graph.Reverse(x, 1) },
			[]float32{3, 2, 1, 6, 5, 4}, []int{2, 3}},
		{"reverse both", func(x *graph.Node) *graph.Node { return graph.Reverse(x, 0, 1) },
			[]float32{6, 5, 4, 3, 2, 1}, []int{2, 3}},
		{"edge pad", func(x *graph.Node) *graph.Node {
			return graph.Pad(x, graph.Scalar(x.Graph(), x.DType(), 9), backends.PadAxis{Start: 1}, backends.PadAxis{End: 1})
		}, []float32{9, 9, 9, 9, 1, 2, 3, 9, 4, 5, 6, 9}, []int{3, 4}},
		{"negative pad", func(x *graph.Node) *graph.Node {
			return graph.Pad(x, graph.Scalar(x.Graph(), x.DType(), 0), backends.PadAxis{}, backends.PadAxis{Start: -1, End: -1})
		}, []float32{2, 5}, []int{2, 1}},
		{"interior pad", func(x *graph.Node) *graph.Node {
			return graph.Pad(x, graph.Scalar(x.Graph(), x.DType(), 0), backends.PadAxis{}, backends.PadAxis{Interior: 2})
		}, []float32{1, 0, 0, 2, 0, 0, 3, 4, 0, 0, 5, 0, 0, 6}, []int{2, 7}},
		{"interior and negative", func(x *graph.Node) *graph.Node {
			return graph.Pad(x, graph.Scalar(x.Graph(), x.DType(), 7), backends.PadAxis{Interior: 1, Start: -1}, backends.PadAxis{})
		}, []float32{7, 7, 7, 4, 5, 6}, []int{2, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := graph.ExecOnce(b, tc.fn, x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape().Dimensions, tc.dims) {
				t.Fatalf("shape %v, want %v", got.Shape().Dimensions, tc.dims)
			}
			if flat := tensors.MustCopyFlatData[float32](got); !slices.Equal(flat, tc.want) {
				t.Errorf("got %v, want %v", flat, tc.want)
			}
		})
	}
}

// TestGradients checks, in float64 against finite differences, the
// gradients that plain SimpleGo cannot compute: convolutions (Reverse, the
// nil-stride and nil-dilation bugs) and slicing (Pad).
func TestGradients(t *testing.T) {
	b := newBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	weights := func(g *graph.Graph, shape []int) *graph.Node {
		return graph.Const(g, gradcheck.Random(rand.New(rand.NewPCG(7, 7)), shape...))
	}
	tests := []struct {
		name   string
		fn     gradcheck.Func
		inputs [][]int
	}{
		{"conv same", func(_ *context.Context, xs []*graph.Node) *graph.Node {
			y := graph.Convolve(xs[0], xs[1]).PadSame().Done()
			return graph.ReduceAllSum(graph.Mul(y, weights(y.Graph(), y.Shape().Dimensions)))
		}, [][]int{{2, 5, 5, 3}, {3, 3, 3, 4}}},
		{"conv stride 2 valid", func(_ *context.Context, xs []*graph.Node) *graph.Node {
			y := graph.Convolve(xs[0], xs[1]).StridePerAxis(2, 2).NoPadding().Done()
			return graph.ReduceAllSum(graph.Mul(y, weights(y.Graph(), y.Shape().Dimensions)))
		}, [][]int{{2, 7, 6, 2}, {3, 3, 2, 3}}},
		{"strided slice", func(_ *context.Context, xs []*graph.Node) *graph.Node {
			y := graph.Slice(xs[0], graph.AxisRange(), graph.AxisRange(1, 6).Stride(2))
			return graph.ReduceAllSum(graph.Mul(y, weights(y.Graph(), y.Shape().Dimensions)))
		}, [][]int{{3, 7}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var inputs []*tensors.Tensor
			for _, dims := range tc.inputs {
				inputs = append(inputs, gradcheck.Random(rng, dims...))
			}
			results, err := gradcheck.Check(b, context.New(), tc.fn, inputs, gradcheck.Options{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.RelErr > 1e-6 {
					t.Errorf("%s: relative error %.3g > 1e-6", r.Name, r.RelErr)
				}
			}
		})
	}
}
