package cpu_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/cotrain/cotrain/engine/cpu"
)

// TestThreadCountInvariance runs every op that splits a reduction between
// threads — batch-norm statistics, the kernel gradients of convolutions
// (private outputs over images and over the long reduction), row and
// column reductions, the fused ReduceSum epilogue — on inputs large enough
// to be split, with 1, 2, 3 and 8 threads, and demands bit-identical
// results: a job's numbers must not depend on the machine's core count.
func TestThreadCountInvariance(t *testing.T) {
	conv := func(xs []*graph.Node) []*graph.Node {
		return gradOf(graph.Convolve(xs[0], xs[1]).PadSame().Done(), xs)
	}
	strided := func(xs []*graph.Node) []*graph.Node {
		return gradOf(graph.Convolve(xs[0], xs[1]).StridePerAxis(2, 2).PadSame().Done(), xs)
	}
	bn := func(xs []*graph.Node) []*graph.Node {
		y, mean, variance := graph.InternalBatchNormForTraining(xs[0], xs[1], xs[2], 1e-5, -1)
		return append([]*graph.Node{y, mean, variance}, gradOf(y, xs)[1:]...)
	}
	cases := []diffCase{
		{name: "batch norm", fn: bn, inputs: []input{f32(32, 8, 8, 16), f32(16), f32(16)}},
		{name: "conv 8 channels", fn: conv, inputs: []input{f32(16, 8, 8, 8), f32(3, 3, 8, 16)}},
		{name: "conv 40 channels", fn: conv, inputs: []input{f32(8, 16, 16, 40), f32(3, 3, 40, 24)}},
		{name: "conv 64 channels (Winograd)", fn: conv, inputs: []input{f32(8, 12, 12, 64), f32(3, 3, 64, 64)}},
		{name: "conv strided", fn: strided, inputs: []input{f32(8, 16, 16, 16), f32(3, 3, 16, 32)}},
		{name: "sum rows", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ReduceSum(xs[0], 0) }), inputs: []input{f32(4096, 100)}},
		{name: "sum columns", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ReduceSum(xs[0], 0) }), inputs: []input{f32(512, 700)}},
		{name: "sum middle axis", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ReduceSum(xs[0], 1) }), inputs: []input{f32(16, 512, 40)}},
		{name: "sum float64", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ReduceSum(xs[0], 0) }), inputs: []input{f64(4096, 30)}},
		{name: "fused sum", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.ReduceAllSum(graph.Mul(graph.Tanh(xs[0]), xs[1]))
		}), inputs: []input{f32(300000), f32(300000)}},
		{name: "fused sum of rows", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.ReduceSum(graph.Square(graph.Sub(xs[0], xs[1])), 0)
		}), inputs: []input{f32(2048, 160), f32(2048, 160)}},
	}
	threads := []int{1, 2, 3, 8}
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want [][]float64
			for _, n := range threads {
				b, err := cpu.New(fmt.Sprintf("threads=%d", n))
				if err != nil {
					t.Fatal(err)
				}
				out := execCase(t, b, tc, uint64(ci))
				got := make([][]float64, len(out))
				for i, o := range out {
					got[i] = asFloat64(o)
				}
				if want == nil {
					want = got
					continue
				}
				compareBits(t, n, got, want)
			}
		})
	}
}

// compareBits fails unless got (from n threads) and want (from one thread)
// hold the same bits.
func compareBits(t *testing.T, n int, got, want [][]float64) {
	t.Helper()
	for i := range want {
		for j := range want[i] {
			if math.Float64bits(got[i][j]) != math.Float64bits(want[i][j]) {
				t.Fatalf("output %d element %d: %v on %d threads, %v on 1 thread", i, j, got[i][j], n, want[i][j])
			}
		}
	}
}
