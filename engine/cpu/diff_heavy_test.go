package cpu_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/core/tensors/images"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/internal/gradcheck"
)

// gradOf returns the value of y and the gradients of Σ y·w (w fixed
// pseudo-random weights) with respect to each input.
func gradOf(y *graph.Node, xs []*graph.Node) []*graph.Node {
	g := y.Graph()
	w := graph.Sin(graph.MulScalar(graph.Iota(g, shapes.Make(y.DType(), y.Shape().Size()), 0), 0.37))
	loss := graph.ReduceAllSum(graph.Mul(y, graph.Reshape(w, y.Shape().Dimensions...)))
	return append([]*graph.Node{y}, graph.Gradient(loss, xs...)...)
}

func TestDot(t *testing.T) {
	runDiffKernels(t, []diffCase{
		{name: "matmul odd", fn: one(func(xs []*graph.Node) *graph.Node { return graph.Dot(xs[0], xs[1]) }), inputs: []input{f32(7, 13), f32(13, 19)}},
		{name: "matmul big", fn: one(func(xs []*graph.Node) *graph.Node { return graph.Dot(xs[0], xs[1]) }), inputs: []input{f32(33, 130), f32(130, 70)}, tol: 1e-4},
		{name: "contract lhs axis 0", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.DotGeneral(xs[0], []int{0}, nil, xs[1], []int{0}, nil)
		}), inputs: []input{f32(9, 5), f32(9, 17)}},
		{name: "contract rhs axis 1", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.DotGeneral(xs[0], []int{1}, nil, xs[1], []int{1}, nil)
		}), inputs: []input{f32(4, 6), f32(20, 6)}},
		{name: "batched", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.DotGeneral(xs[0], []int{2}, []int{0}, xs[1], []int{1}, []int{0})
		}), inputs: []input{f32(3, 5, 4), f32(3, 4, 18)}},
		{name: "rank 3 free", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.DotGeneral(xs[0], []int{3}, nil, xs[1], []int{0}, nil)
		}), inputs: []input{f32(2, 3, 3, 8), f32(8, 21)}},
		{name: "float64", fn: one(func(xs []*graph.Node) *graph.Node { return graph.Dot(xs[0], xs[1]) }), inputs: []input{f64(5, 6), f64(6, 3)}},
		{name: "dense gradients", fn: func(xs []*graph.Node) []*graph.Node {
			return gradOf(graph.DotGeneral(xs[0], []int{1}, nil, xs[1], []int{0}, nil), xs)
		}, inputs: []input{f32(10, 12), f32(12, 23)}},
	})
}

func TestConv(t *testing.T) {
	conv := func(stride int, pad bool) func(xs []*graph.Node) *graph.Node {
		return func(xs []*graph.Node) *graph.Node {
			c := graph.Convolve(xs[0], xs[1]).StridePerAxis(stride, stride)
			if pad {
				c = c.PadSame()
			} else {
				c = c.NoPadding()
			}
			return c.Done()
		}
	}
	withGrads := func(f func(xs []*graph.Node) *graph.Node) func(xs []*graph.Node) []*graph.Node {
		return func(xs []*graph.Node) []*graph.Node { return gradOf(f(xs), xs) }
	}
	runDiffKernels(t, []diffCase{
		{name: "3x3 same", fn: one(conv(1, true)), inputs: []input{f32(2, 9, 7, 5), f32(3, 3, 5, 17)}, tol: 1e-4},
		{name: "3x3 same gradients", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 9, 7, 5), f32(3, 3, 5, 17)}, tol: 1e-4},
		{name: "3x3 stride 2", fn: one(conv(2, true)), inputs: []input{f32(3, 8, 9, 4), f32(3, 3, 4, 6)}, tol: 1e-4},
		{name: "3x3 stride 2 gradients", fn: withGrads(conv(2, true)), inputs: []input{f32(3, 8, 9, 4), f32(3, 3, 4, 6)}, tol: 1e-4},
		{name: "valid 5x3", fn: withGrads(conv(1, false)), inputs: []input{f32(2, 8, 6, 3), f32(5, 3, 3, 8)}, tol: 1e-4},
		{name: "1x1", fn: withGrads(conv(1, false)), inputs: []input{f32(4, 2, 2, 33), f32(1, 1, 33, 40)}, tol: 1e-4},
		{name: "wide channels", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 6, 6, 64), f32(3, 3, 64, 32)}, tol: 1e-4},
		{name: "Winograd 64 → 80 channels, odd size, gradients", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 7, 9, 64), f32(3, 3, 64, 80)}, tol: 1e-4},
		{name: "Winograd 72 → 64 channels valid, gradients", fn: withGrads(conv(1, false)), inputs: []input{f32(1, 8, 6, 72), f32(3, 3, 72, 64)}, tol: 1e-4},
		{name: "packed rows (256 channels)", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 4, 5, 256), f32(3, 3, 256, 20)}, tol: 1e-4},
		{name: "packed rows (300 channels) stride 2", fn: withGrads(conv(2, true)), inputs: []input{f32(2, 5, 5, 300), f32(3, 3, 300, 17)}, tol: 1e-4},
		{name: "1x1, 300 → 200 channels on few rows (threads split the panels)", fn: withGrads(conv(1, false)), inputs: []input{f32(2, 2, 2, 300), f32(1, 1, 300, 200)}, tol: 1e-4},
		{name: "1x1 with 520 channels", fn: withGrads(conv(1, false)), inputs: []input{f32(3, 2, 2, 520), f32(1, 1, 520, 33)}, tol: 1e-4},
		{name: "3x3 stride 2 gradients, 16 → 24 channels (input-dilated input gradient)", fn: withGrads(conv(2, true)), inputs: []input{f32(2, 9, 8, 16), f32(3, 3, 16, 24)}, tol: 1e-4},
		{name: "1x1 stride 2 gradients (shortcut)", fn: withGrads(conv(2, false)), inputs: []input{f32(2, 8, 7, 8), f32(1, 1, 8, 16)}, tol: 1e-4},
		{name: "long reduction (per-thread private kernel gradient)", fn: withGrads(conv(1, true)), inputs: []input{f32(4, 16, 16, 8), f32(3, 3, 8, 10)}, tol: 1e-4},
		{name: "kernel gradient in paired tiles, 6 → 32 channels", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 9, 10, 6), f32(3, 3, 6, 32)}, tol: 1e-4},
		{name: "kernel gradient in paired tiles, 12 → 64 channels", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 8, 9, 12), f32(3, 3, 12, 64)}, tol: 1e-4},
		{name: "kernel gradient in paired tiles, 7 → 8 channels", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 8, 9, 7), f32(3, 3, 7, 8)}, tol: 1e-4},
		{name: "one input channel", fn: withGrads(conv(1, true)), inputs: []input{f32(3, 6, 9, 1), f32(3, 3, 1, 7)}, tol: 1e-4},
		{name: "two input channels valid", fn: withGrads(conv(1, false)), inputs: []input{f32(2, 7, 6, 2), f32(3, 3, 2, 30)}, tol: 1e-4},
		{name: "one input channel, 16 outputs, rows of 19 (direct taps)", fn: withGrads(conv(1, true)), inputs: []input{f32(3, 5, 19, 1), f32(3, 3, 1, 16)}, tol: 1e-4},
		{name: "RGB, 40 outputs (direct taps)", fn: withGrads(conv(1, true)), inputs: []input{f32(2, 6, 13, 3), f32(3, 3, 3, 40)}, tol: 1e-4},
		{name: "RGB stride 2, 24 outputs (direct taps)", fn: withGrads(conv(2, true)), inputs: []input{f32(2, 9, 20, 3), f32(3, 3, 3, 24)}, tol: 1e-4},
		{name: "float64 gradients", fn: withGrads(conv(1, true)), inputs: []input{f64(2, 5, 5, 3), f64(3, 3, 3, 4)}, tol: 1e-9},
		{name: "channels first", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Convolve(xs[0], xs[1]).ChannelsAxis(images.ChannelsFirst).PadSame().Done()
		}), inputs: []input{f32(2, 3, 6, 5), f32(3, 3, 3, 4)}, tol: 1e-4},
	})
}

// TestBatchNormFolds compares a convolution block's batch norm with the
// neighbours foldIntoBatchNorm folds into it (the bias added before it, the
// ReLU after it and the ReLU mask of its output gradient, the bias
// gradient), with and without a max pool after it, with SimpleGo, for
// channel counts on and off the vector loops, row counts over several
// blocks, and ties in the pool windows.
func TestBatchNormFolds(t *testing.T) {
	block := func(xs []*graph.Node) []*graph.Node {
		c := xs[0].Shape().Dimensions[xs[0].Rank()-1]
		v := graph.Add(xs[0], graph.Reshape(xs[1], 1, 1, 1, c))
		y, mean, variance := graph.InternalBatchNormForTraining(v, xs[2], xs[3], 1e-5, -1)
		zero := graph.ZerosLike(y)
		r := graph.Where(graph.GreaterThan(y, zero), y, zero)
		return append([]*graph.Node{mean, variance}, gradOf(r, xs)...)
	}
	pooled := func(xs []*graph.Node) []*graph.Node {
		c := xs[0].Shape().Dimensions[xs[0].Rank()-1]
		v := graph.Add(xs[0], graph.Reshape(xs[1], 1, 1, 1, c))
		y, _, _ := graph.InternalBatchNormForTraining(v, xs[2], xs[3], 1e-5, -1)
		zero := graph.ZerosLike(y)
		r := graph.Where(graph.GreaterThan(y, zero), y, zero)
		return gradOf(graph.MaxPool(r).Window(2).Strides(2).NoPadding().Done(), xs)
	}
	// Ties in the pool windows (equal maxima, and ReLU zeros) from inputs
	// rounded to a few values.
	ties := func(xs []*graph.Node) []*graph.Node {
		ys := append([]*graph.Node{graph.Round(xs[0])}, xs[1:]...)
		return pooled(ys)
	}
	runDiff(t, []diffCase{
		{name: "pooled, 16 channels", fn: pooled, inputs: []input{f32(4, 4, 6, 16), f32(16), f32(16), f32(16)}, tol: 1e-4},
		{name: "pooled, 5 channels", fn: pooled, inputs: []input{f32(2, 4, 6, 5), f32(5), f32(5), f32(5)}, tol: 1e-4},
		{name: "pooled, 24 channels, rows 8 wide", fn: pooled, inputs: []input{f32(3, 6, 8, 24), f32(24), f32(24), f32(24)}, tol: 1e-4},
		{name: "pooled, rows 40 wide", fn: pooled, inputs: []input{f32(2, 2, 40, 8), f32(8), f32(8), f32(8)}, tol: 1e-4},
		{name: "pooled, odd height", fn: pooled, inputs: []input{f32(2, 5, 6, 8), f32(8), f32(8), f32(8)}, tol: 1e-4},
		{name: "pooled, ties", fn: ties, inputs: []input{f32(2, 4, 4, 8), f32(8), f32(8), f32(8)}, tol: 1e-4},
		{name: "16 channels", fn: block, inputs: []input{f32(4, 3, 5, 16), f32(16), f32(16), f32(16)}, tol: 1e-4},
		{name: "5 channels", fn: block, inputs: []input{f32(3, 4, 2, 5), f32(5), f32(5), f32(5)}, tol: 1e-4},
		{name: "24 channels, 189 rows", fn: block, inputs: []input{f32(3, 7, 9, 24), f32(24), f32(24), f32(24)}, tol: 1e-4},
	})
}

func TestPoolingGatherRandom(t *testing.T) {
	maxPool := func(xs []*graph.Node) *graph.Node {
		return graph.MaxPool(xs[0]).Window(2).Strides(2).NoPadding().Done()
	}
	runDiff(t, []diffCase{
		{name: "maxpool 2x2", fn: one(maxPool), inputs: []input{f32(2, 6, 7, 3)}},
		{name: "maxpool 2x2 gradient", fn: func(xs []*graph.Node) []*graph.Node { return gradOf(maxPool(xs), xs) }, inputs: []input{f32(2, 6, 8, 3)}},
		{name: "maxpool 2x2 16 channels", fn: func(xs []*graph.Node) []*graph.Node { return gradOf(maxPool(xs), xs) }, inputs: []input{f32(2, 6, 7, 16)}},
		{name: "maxpool 3x3 stride 2 padded", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.MaxPool(xs[0]).Window(3).Strides(2).PadSame().Done()
		}), inputs: []input{f32(2, 7, 7, 2)}},
		{name: "meanpool", fn: one(func(xs []*graph.Node) *graph.Node { return graph.MeanPool(xs[0]).Window(2).Done() }), inputs: []input{f32(1, 4, 6, 2)}},
		{name: "gather rows", fn: func(xs []*graph.Node) []*graph.Node {
			idx := graph.Const(xs[0].Graph(), [][]int32{{2}, {0}, {2}, {4}})
			return gradOf(graph.Gather(xs[0], idx), xs)
		}, inputs: []input{f32(5, 3)}},
		{name: "gather points", fn: func(xs []*graph.Node) []*graph.Node {
			idx := graph.Const(xs[0].Graph(), [][][]int32{{{0, 1, 2}, {1, 0, 0}}, {{1, 2, 1}, {0, 2, 2}}})
			return gradOf(graph.Gather(xs[0], idx), xs)
		}, inputs: []input{f32(2, 3, 3, 4)}},
		{name: "random uniform", fn: one(func(xs []*graph.Node) *graph.Node {
			state := graph.Const(xs[0].Graph(), []uint64{42, 7, 0})
			_, v := graph.RandomUniform(state, shapes.Make(dtypes.Float32, 5, 7))
			return graph.Add(v, xs[0])
		}), inputs: []input{f32(5, 7)}},
		{name: "random normal float64", fn: func(xs []*graph.Node) []*graph.Node {
			state := graph.Const(xs[0].Graph(), []uint64{1, 2, 3})
			s, v := graph.RandomNormal(state, shapes.Make(dtypes.Float64, 3, 3))
			return []*graph.Node{graph.Add(v, xs[0]), s}
		}, inputs: []input{f64(3, 3)}},
	})
}

// TestOverlappingPoolGradient checks the general SelectAndScatter path
// (overlapping, padded windows), which SimpleGo cannot run, against finite
// differences in float64.
func TestOverlappingPoolGradient(t *testing.T) {
	b, _ := backendsUnderTest(t, "")
	loss := func(_ *context.Context, xs []*graph.Node) *graph.Node {
		y := graph.MaxPool(xs[0]).Window(3).Strides(2).PadSame().Done()
		w := graph.Sin(graph.MulScalar(graph.Iota(y.Graph(), shapes.Make(y.DType(), y.Shape().Size()), 0), 0.37))
		return graph.ReduceAllSum(graph.Mul(y, graph.Reshape(w, y.Shape().Dimensions...)))
	}
	rng := rand.New(rand.NewPCG(3, 3))
	results, err := gradcheck.Check(b, context.New(), loss, []*tensors.Tensor{gradcheck.Random(rng, 2, 7, 7, 2)}, gradcheck.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if r.RelErr > 1e-6 {
			t.Errorf("%s: relative error %.3g", r.Name, r.RelErr)
		}
	}
}

// TestBatchNorm compares the batch-norm training op and its gradient with
// SimpleGo's composition of primitives, for channel counts on and off the
// vector path.
func TestBatchNorm(t *testing.T) {
	bn := func(xs []*graph.Node) []*graph.Node {
		y, mean, variance := graph.InternalBatchNormForTraining(xs[0], xs[1], xs[2], 1e-5, -1)
		return append([]*graph.Node{y, mean, variance}, gradOf(y, xs)[1:]...)
	}
	runDiff(t, []diffCase{
		{name: "16 channels", fn: bn, inputs: []input{f32(4, 3, 5, 16), f32(16), f32(16)}, tol: 1e-4},
		{name: "5 channels", fn: bn, inputs: []input{f32(3, 4, 2, 5), f32(5), f32(5)}, tol: 1e-4},
		{name: "24 channels rank 2", fn: bn, inputs: []input{f32(70, 24), f32(24), f32(24)}, tol: 1e-4},
		{name: "32 channels, odd rows over blocks", fn: bn, inputs: []input{f32(3, 7, 9, 32), f32(32), f32(32)}, tol: 1e-4},
		{name: "8 channels, 129 rows", fn: bn, inputs: []input{f32(129, 8), f32(8), f32(8)}, tol: 1e-4},
	})
}
