package cpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// pointIndices returns [n, m, len(dims)] int32 indices into the leading
// axes of an array of dims, drawn from rng, including repeats of earlier
// points and, with outOfRange, values past either end of an axis.
func pointIndices(rng *rand.Rand, n, m int, dims []int, outOfRange bool) [][][]int32 {
	idx := make([][][]int32, n)
	var all [][]int32
	for i := range idx {
		idx[i] = make([][]int32, m)
		for j := range idx[i] {
			if len(all) > 0 && rng.IntN(4) == 0 {
				idx[i][j] = all[rng.IntN(len(all))] // a duplicate
				continue
			}
			p := make([]int32, len(dims))
			for k, d := range dims {
				p[k] = int32(rng.IntN(d))
				if outOfRange && rng.IntN(10) == 0 {
					p[k] = []int32{-1, int32(d), int32(d + 3)}[rng.IntN(3)]
				}
			}
			idx[i][j] = p
			all = append(all, p)
		}
	}
	return idx
}

// TestRowGatherScatter checks the row paths of Gather and the Scatter ops
// (whole contiguous slices per index) against SimpleGo: the readout's
// pattern and its gradient, odd row lengths, duplicate and out-of-range
// indices, partial leading axes, other index layouts and dtypes, sizes that
// split the scatter across threads, and layouts that must take the general
// path.
func TestRowGatherScatter(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := func(xs []*graph.Node, v any) *graph.Node { return graph.Const(xs[0].Graph(), v) }
	small := pointIndices(rng, 2, 9, []int{3, 4, 5}, false)
	wild := pointIndices(rng, 2, 9, []int{3, 4, 5}, true) // SimpleGo can gather (clamping) but not scatter these
	big := pointIndices(rng, 8, 700, []int{8, 16, 16}, false)
	same := make([][][]int32, 4) // every update to one row: one partition
	for i := range same {
		same[i] = make([][]int32, 300)
		for j := range same[i] {
			same[i][j] = []int32{1, 2, 3}
		}
	}
	scatter := func(kind string, idx any, opShape []int) func(xs []*graph.Node) []*graph.Node {
		return func(xs []*graph.Node) []*graph.Node {
			i := c(xs, idx)
			var out *graph.Node
			switch kind {
			case "sum into zeros":
				out = graph.Scatter(i, xs[0], shapes.Make(xs[0].DType(), opShape...), false, false)
			case "sum":
				out = graph.ScatterSum(xs[1], i, xs[0], false, false)
			case "max":
				out = graph.ScatterMax(xs[1], i, xs[0], false, false)
			default:
				out = graph.ScatterMin(xs[1], i, xs[0], false, false)
			}
			return []*graph.Node{out}
		}
	}
	cases := []diffCase{
		{name: "gather rows and gradient", fn: func(xs []*graph.Node) []*graph.Node {
			return gradOf(graph.Gather(xs[0], c(xs, small)), xs)
		}, inputs: []input{f32(3, 4, 5, 7)}},
		{name: "gather clamps out-of-range rows", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Gather(xs[0], c(xs, wild))
		}), inputs: []input{f32(3, 4, 5, 7)}},
		{name: "gather single elements", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Gather(xs[0], c(xs, small))
		}), inputs: []input{f64(3, 4, 5)}},
		{name: "gather rows int64 indices", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Gather(xs[0], graph.ConvertDType(c(xs, small), dtypes.Int64))
		}), inputs: []input{f32(3, 4, 5, 3)}},
		{name: "gather partial axis (clamped) then full axes", fn: one(func(xs []*graph.Node) *graph.Node {
			idx := c(xs, [][]int32{{0, 1}, {2, 3}, {1, -4}, {2, 9}, {0, 1}})
			return graph.BackendGather(xs[0], idx, 1, []int{1, 2, 3}, []int{0}, []int{0, 1}, []int{1, 2, 5, 7}, false)
		}), inputs: []input{f32(3, 4, 5, 7)}},
		{name: "gather index vector first", fn: one(func(xs []*graph.Node) *graph.Node {
			idx := c(xs, [][]int32{{0, 2, 1, 2, 0}, {3, 0, 3, 1, 3}})
			return graph.BackendGather(xs[0], idx, 0, []int{1, 2}, []int{0, 1}, []int{0, 1}, []int{1, 1, 5, 7}, false)
		}), inputs: []input{f32(3, 4, 5, 7)}},
		{name: "gather index vector in the middle", fn: one(func(xs []*graph.Node) *graph.Node {
			idx := c(xs, [][][]int32{{{0, 2, 1}, {3, 0, 3}}, {{2, 2, 0}, {1, 1, 0}}})
			return graph.BackendGather(xs[0], idx, 1, []int{2, 3}, []int{0, 1}, []int{0, 1}, []int{1, 1, 5, 7}, false)
		}), inputs: []input{f32(3, 4, 5, 7)}},
		{name: "gather one row", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Gather(xs[0], c(xs, []int32{2, 1}))
		}), inputs: []input{f32(3, 4, 5, 7)}},
		{name: "gather offset axis first (general path)", fn: one(func(xs []*graph.Node) *graph.Node {
			idx := c(xs, [][]int32{{0, 2}, {2, 1}, {1, 3}})
			return graph.BackendGather(xs[0], idx, 1, []int{0}, []int{0, 1}, []int{0, 1}, []int{1, 1, 5}, false)
		}), inputs: []input{f32(3, 4, 5)}},
		{name: "gather strided window (general path)", fn: one(func(xs []*graph.Node) *graph.Node {
			idx := c(xs, [][]int32{{0, 2}, {2, 1}, {1, 3}})
			return graph.BackendGather(xs[0], idx, 1, []int{1, 2, 3, 4}, nil, []int{1, 2}, []int{3, 1, 2, 7}, false)
		}), inputs: []input{f32(3, 4, 5, 7)}},
		{name: "scatter sum into zeros", fn: scatter("sum into zeros", small, []int{3, 4, 5, 7}), inputs: []input{f32(2, 9, 7)}},
		{name: "scatter max", fn: scatter("max", small, nil), inputs: []input{f32(2, 9, 7), f32(3, 4, 5, 7)}},
		{name: "scatter min", fn: scatter("min", small, nil), inputs: []input{f32(2, 9, 7), f32(3, 4, 5, 7)}},
		{name: "scatter sum float64 single elements", fn: scatter("sum", small, nil), inputs: []input{f64(2, 9), f64(3, 4, 5)}},
		{name: "scatter sum across threads", fn: scatter("sum into zeros", big, []int{8, 16, 16, 13}), inputs: []input{f32(8, 700, 13)}, tol: 1e-4},
		{name: "scatter max across threads", fn: scatter("max", big, nil), inputs: []input{f32(8, 700, 13), f32(8, 16, 16, 13)}},
		{name: "scatter sum to one row across threads", fn: scatter("sum", same, nil), inputs: []input{f32(4, 300, 64), f32(2, 3, 4, 64)}, tol: 1e-4},
		{name: "scatter into zeros added to a tensor", fn: func(xs []*graph.Node) []*graph.Node {
			return []*graph.Node{graph.Add(xs[1], graph.Scatter(c(xs, small), xs[0], xs[1].Shape(), false, false))}
		}, inputs: []input{f32(2, 9, 7), f32(3, 4, 5, 7)}},
		{name: "sum of scatters into zeros", fn: func(xs []*graph.Node) []*graph.Node {
			shape := shapes.Make(dtypes.Float32, 8, 16, 16, 13)
			s1 := graph.Scatter(c(xs, big), xs[0], shape, false, false)
			s2 := graph.Scatter(c(xs, big[:4]), xs[1], shape, false, false)
			s3 := graph.Scatter(c(xs, same[:1]), xs[2], shape, false, false)
			return []*graph.Node{graph.Add(graph.Add(s1, s2), s3), s2}
		}, inputs: []input{f32(8, 700, 13), f32(4, 700, 13), f32(1, 300, 13)}, tol: 1e-4},
		{name: "scatter window axis first (general path)", fn: one(func(xs []*graph.Node) *graph.Node {
			idx := c(xs, [][]int32{{1}, {3}, {1}, {0}, {2}})
			return graph.BackendScatterSum(xs[1], idx, xs[0], 1, []int{0}, []int{0}, []int{0}, false, false)
		}), inputs: []input{f32(7, 5), f32(4, 7)}},
		{name: "scatter overlapping windows", fn: one(func(xs []*graph.Node) *graph.Node {
			idx := c(xs, [][]int32{{0, 1}, {0, 2}, {2, 0}, {1, 2}, {0, 1}})
			return graph.BackendScatterSum(xs[1], idx, xs[0], 1, []int{1, 2, 3}, []int{0}, []int{0, 1}, false, false)
		}), inputs: []input{f32(5, 2, 5, 7), f32(3, 4, 5, 7)}},
	}
	runDiff(t, cases)
}

// TestBroadcastOperands checks element-wise chains whose operands are
// broadcast along trailing, middle or several axes (read in runs by fused
// steps, or by the binary kernels after a size-1 BroadcastInDim is
// dropped), across fused-block boundaries, and their gradients.
func TestBroadcastOperands(t *testing.T) {
	runDiff(t, []diffCase{
		{name: "trailing repeat", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Add(graph.Mul(xs[0], xs[1]), graph.Mul(xs[2], xs[3]))
		}), inputs: []input{f32(6, 50, 7), f32(6, 50, 1), f32(6, 50, 7), f32(6, 50, 1)}},
		{name: "trailing, middle and outer broadcasts", fn: one(func(xs []*graph.Node) *graph.Node {
			a := graph.Mul(xs[0], xs[1])
			b := graph.Sub(a, xs[2])
			return graph.Tanh(graph.Div(b, graph.Add(graph.Abs(xs[3]), graph.Scalar(a.Graph(), dtypes.Float32, 1))))
		}), inputs: []input{f32(3, 400, 9), f32(3, 400, 1), f32(3, 1, 9), f32(1, 400, 1)}},
		{name: "two axes repeated", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Exp(graph.Neg(graph.Mul(xs[0], xs[1])))
		}), inputs: []input{f32(5, 3, 30, 17), f32(5, 3, 1, 1)}},
		{name: "compare and select with a repeated operand", fn: one(func(xs []*graph.Node) *graph.Node {
			m := graph.GreaterThan(xs[0], xs[1])
			return graph.Mul(graph.Where(m, xs[0], graph.ZerosLike(xs[0])), xs[0])
		}), inputs: []input{f32(4, 300, 3), f32(4, 300, 1)}},
		{name: "boolean repeated operand", fn: one(func(xs []*graph.Node) *graph.Node {
			m := graph.LogicalAnd(graph.GreaterThan(xs[0], xs[1]), xs[2])
			return graph.Where(m, xs[0], xs[1])
		}), inputs: []input{f32(4, 300, 3), f32(4, 300, 3), {dtypes.Bool, []int{4, 300, 1}}}},
		{name: "bilinear-like gradients", fn: func(xs []*graph.Node) []*graph.Node {
			y := graph.Add(graph.Mul(xs[0], xs[1]), graph.Mul(xs[2], xs[3]))
			return gradOf(graph.ReduceSum(graph.Mul(y, xs[4]), 2), xs)
		}, inputs: []input{f32(6, 50, 7), f32(6, 50, 1), f32(6, 50, 7), f32(6, 50, 1), f32(1, 50, 7)}, tol: 1e-4},
		{name: "binary op with a repeated operand", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Mul(xs[0], graph.BroadcastToDims(xs[1], 4, 9, 6))
		}), inputs: []input{f32(4, 9, 6), f32(4, 9, 1)}},
		{name: "float64 binary op with a repeated operand", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Mul(xs[0], graph.BroadcastToDims(xs[1], 4, 9, 6))
		}), inputs: []input{f64(4, 9, 6), f64(4, 9, 1)}},
		{name: "scalar broadcast feeding a reduction", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Add(graph.ReduceSum(graph.BroadcastToDims(graph.ReduceAllSum(xs[0]), 3, 50, 40), 1), xs[1])
		}), inputs: []input{f32(5), f32(3, 40)}, tol: 1e-4},
		{name: "narrow concatenation", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Concatenate([]*graph.Node{xs[0], xs[1], xs[0], xs[2]}, 2)
		}), inputs: []input{f32(4, 30, 1), f32(4, 30, 15), f32(4, 30, 16)}},
	})
}

// TestSumAxes checks float32 ReduceSum over trailing, middle, leading and
// mixed axes — the vector loops, the per-thread row split, the column
// blocks for wide kept rows and the blocked column sums of narrow ones —
// against SimpleGo.
func TestSumAxes(t *testing.T) {
	var cases []diffCase
	for _, tc := range []struct {
		dims, axes []int
	}{
		{[]int{50, 37}, []int{1}},
		{[]int{3, 300, 5}, []int{1}},
		{[]int{3, 7, 300}, []int{1}},
		{[]int{40, 2, 700}, []int{0}},
		{[]int{2, 3, 4099}, []int{1}},
		{[]int{5, 6, 300}, []int{0, 2}},
		{[]int{300, 1000}, []int{1}},
		{[]int{300, 1000}, []int{0}},
		{[]int{130, 1001}, []int{0, 1}},
		{[]int{7, 1, 9}, []int{1}},
		{[]int{4099, 16}, []int{0}},
		{[]int{3, 7, 9, 24}, []int{0, 1, 2}},
		{[]int{5, 64}, []int{0}},
	} {
		cases = append(cases, diffCase{name: fmt.Sprintf("%v over %v", tc.dims, tc.axes),
			fn:     one(func(xs []*graph.Node) *graph.Node { return graph.ReduceSum(xs[0], tc.axes...) }),
			inputs: []input{f32(tc.dims...)}, tol: 1e-5})
	}
	runDiff(t, cases)
}

// TestSumEpilogue checks element-wise chains whose result only a ReduceSum
// reads — the cpu backend sums it block by block inside the fused step —
// over trailing, leading, middle, mixed and all axes, with rows that cross
// block boundaries, another value of the chain exported, and sizes that
// split the blocks between threads.
func TestSumEpilogue(t *testing.T) {
	var cases []diffCase
	for _, tc := range []struct {
		dims, axes []int
	}{
		{[]int{6, 50, 37}, []int{2}},
		{[]int{40, 30, 3}, []int{0}},
		{[]int{5, 40, 6}, []int{0, 2}},
		{[]int{3, 50, 30}, []int{1}},
		{[]int{7, 11, 13}, []int{0, 1, 2}},
		{[]int{64, 40, 37}, []int{2}},
		{[]int{300, 7, 40}, []int{0}},
	} {
		w := slicesWithOne(tc.dims, len(tc.dims)-1)
		cases = append(cases, diffCase{name: fmt.Sprintf("%v over %v", tc.dims, tc.axes),
			fn: func(xs []*graph.Node) []*graph.Node {
				a := graph.Mul(xs[0], xs[1])
				s := graph.ReduceSum(graph.Mul(graph.Add(a, xs[2]), xs[0]), tc.axes...)
				return []*graph.Node{s, a}
			},
			inputs: []input{f32(tc.dims...), f32(w...), f32(tc.dims...)}, tol: 1e-5})
	}
	cases = append(cases, diffCase{name: "single product over channels", fn: one(func(xs []*graph.Node) *graph.Node {
		return graph.ReduceSum(graph.Mul(xs[0], xs[1]), 2)
	}), inputs: []input{f32(20, 30, 16), f32(20, 30, 16)}})
	runDiff(t, cases)
}

// slicesWithOne returns dims with axis set to 1.
func slicesWithOne(dims []int, axis int) []int {
	w := append([]int(nil), dims...)
	w[axis] = 1
	return w
}

// TestGatherInFusedSteps checks Gathers whose readers are all fused steps,
// which read the gathered rows straight from the map: the bilinear readout
// (four corners, weights repeated over the channels, a fused ReduceSum) with
// its gradients, a Gather also returned (kept), and a map whose buffer the
// fused step must not overwrite while it still reads rows from it.
func TestGatherInFusedSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	corners := make([][][][]int32, 4)
	for k := range corners {
		corners[k] = pointIndices(rng, 3, 9, []int{3, 6, 5}, false)
		for i := range corners[k] {
			for j := range corners[k][i] {
				corners[k][i][j] = []int32{int32(i), corners[k][i][j][1], corners[k][i][j][2]}
			}
		}
	}
	reversed := make([][]int32, 100)
	for i := range reversed {
		reversed[i] = []int32{int32(99 - i)}
	}
	readout := func(xs []*graph.Node) *graph.Node {
		var sampled *graph.Node
		for k, idx := range corners {
			v := graph.Mul(graph.Gather(xs[0], graph.Const(xs[0].Graph(), idx)), xs[1+k])
			if sampled == nil {
				sampled = v
			} else {
				sampled = graph.Add(sampled, v)
			}
		}
		return graph.ReduceSum(graph.Mul(sampled, xs[5]), 2)
	}
	w := f32(3, 9, 1)
	runDiff(t, []diffCase{
		{name: "bilinear readout and gradients", fn: func(xs []*graph.Node) []*graph.Node { return gradOf(readout(xs), xs) },
			inputs: []input{f32(3, 6, 5, 20), w, w, w, w, f32(1, 9, 20)}, tol: 1e-4},
		{name: "gather also returned", fn: func(xs []*graph.Node) []*graph.Node {
			g := graph.Gather(xs[0], graph.Const(xs[0].Graph(), corners[0]))
			return []*graph.Node{graph.Mul(g, xs[1]), g}
		}, inputs: []input{f32(3, 6, 5, 20), w}},
		{name: "map not overwritten", fn: one(func(xs []*graph.Node) *graph.Node {
			m := graph.Exp(xs[0])
			g := graph.Gather(m, graph.Const(m.Graph(), reversed))
			return graph.Mul(graph.Add(g, xs[1]), xs[1])
		}), inputs: []input{f32(100, 32), f32(100, 32)}},
	})
}

// TestStridedShapes checks the strided copies after size-1 and contiguous
// axes are merged (slices keeping one element of an axis, transposes with
// size-1 axes) and edge-only padding written row by row.
func TestStridedShapes(t *testing.T) {
	zero := func(x *graph.Node) *graph.Node { return graph.Scalar(x.Graph(), dtypes.Float32, 0.25) }
	runDiff(t, []diffCase{
		{name: "slice one element of the last axis", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Slice(xs[0], graph.AxisRange(), graph.AxisRange(), graph.AxisElem(1))
		}), inputs: []input{f32(5, 70, 2)}},
		{name: "slice one element of a middle axis", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Slice(xs[0], graph.AxisRange(1, 4), graph.AxisElem(2), graph.AxisRange())
		}), inputs: []input{f32(5, 3, 9)}},
		{name: "transpose with size-1 axes", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.TransposeAllDims(xs[0], 2, 0, 3, 1)
		}), inputs: []input{f32(4, 1, 6, 1)}},
		{name: "pad the last axis", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Pad(xs[0], zero(xs[0]), backends.PadAxis{}, backends.PadAxis{}, backends.PadAxis{Start: 1})
		}), inputs: []input{f32(5, 70, 1)}},
		{name: "pad edges of every axis", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Pad(xs[0], zero(xs[0]), backends.PadAxis{Start: 2, End: 1}, backends.PadAxis{End: 3}, backends.PadAxis{Start: 1, End: 1})
		}), inputs: []input{f32(3, 4, 5)}},
	})
}
