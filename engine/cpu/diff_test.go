package cpu_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/engine/simplego"
)

// backendsUnderTest returns the cpu backend (with the options in config)
// and the reference.
func backendsUnderTest(t testing.TB, config string) (backends.Backend, backends.Backend) {
	t.Helper()
	c, err := cpu.New(config)
	if err != nil {
		t.Fatal(err)
	}
	r, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	return c, r
}

// random returns a tensor of shape with values in [-2, 2) (floats), [0, 7)
// (integers) or coin flips (bool).
func random(rng *rand.Rand, dt dtypes.DType, dims ...int) *tensors.Tensor {
	n := product(dims)
	switch dt {
	case dtypes.Float32:
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(4*rng.Float64() - 2)
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	case dtypes.Float64:
		v := make([]float64, n)
		for i := range v {
			v[i] = 4*rng.Float64() - 2
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	case dtypes.Int32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(rng.IntN(7))
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	case dtypes.Int64:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(rng.IntN(7))
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	case dtypes.Bool:
		v := make([]bool, n)
		for i := range v {
			v[i] = rng.IntN(2) == 1
		}
		return tensors.FromFlatDataAndDimensions(v, dims...)
	}
	panic(dt)
}

func product(d []int) int {
	p := 1
	for _, x := range d {
		p *= x
	}
	return p
}

type input struct {
	dt   dtypes.DType
	dims []int
}

func f32(dims ...int) input { return input{dtypes.Float32, dims} }
func f64(dims ...int) input { return input{dtypes.Float64, dims} }

type diffCase struct {
	name   string
	fn     func(xs []*graph.Node) []*graph.Node
	inputs []input
	tol    float64 // relative tolerance for floats; default 1e-5
}

// asFloat64 returns a tensor's values as float64 (bools and ints converted).
func asFloat64(t *tensors.Tensor) []float64 {
	var out []float64
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []float64:
			out = append(out, f...)
		case []int32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []int64:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []uint32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []uint64:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []bool:
			for _, v := range f {
				if v {
					out = append(out, 1)
				} else {
					out = append(out, 0)
				}
			}
		default:
			panic(fmt.Sprintf("%T", flat))
		}
	})
	return out
}

// runDiff compares the default cpu backend with the reference on cases.
func runDiff(t *testing.T, cases []diffCase) {
	t.Helper()
	runDiffWith(t, "", cases)
}

// runDiffKernels runs cases once per GEMM micro-kernel this CPU supports
// (the "kernel=" option), for the ops that reach the GEMM.
func runDiffKernels(t *testing.T, cases []diffCase) {
	t.Helper()
	for _, k := range cpu.SupportedKernels() {
		t.Run(k, func(t *testing.T) { runDiffWith(t, "kernel="+k, cases) })
	}
}

func runDiffWith(t *testing.T, config string, cases []diffCase) {
	t.Helper()
	cb, rb := backendsUnderTest(t, config)
	for ci, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, want := execCase(t, cb, tc, uint64(ci)), execCase(t, rb, tc, uint64(ci))
			tol := tc.tol
			if tol == 0 {
				tol = 1e-5
			}
			for i := range want {
				if !got[i].Shape().Equal(want[i].Shape()) {
					t.Fatalf("output %d: shape %s, reference %s", i, got[i].Shape(), want[i].Shape())
				}
				g, w := asFloat64(got[i]), asFloat64(want[i])
				scale := 0.0
				for _, v := range w {
					scale = math.Max(scale, math.Abs(v))
				}
				for j := range w {
					d := math.Abs(g[j] - w[j])
					if (math.IsNaN(g[j]) != math.IsNaN(w[j])) || d > tol*math.Max(1, scale) {
						t.Fatalf("output %d element %d: %v, reference %v (max |ref| %v)", i, j, g[j], w[j], scale)
					}
				}
			}
		})
	}
}

// execCase runs tc on b with inputs drawn from seed: the same seed gives
// identical inputs, one copy per backend.
func execCase(t *testing.T, b backends.Backend, tc diffCase, seed uint64) []*tensors.Tensor {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 17))
	args := make([]any, len(tc.inputs))
	for i, in := range tc.inputs {
		args[i] = random(rng, in.dt, in.dims...)
	}
	e, err := graph.NewExec(b, func(xs []*graph.Node) []*graph.Node { return tc.fn(xs) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Exec(args...)
	if err != nil {
		t.Fatalf("%s: %v", b.Name(), err)
	}
	return out
}

func one(fn func(xs []*graph.Node) *graph.Node) func(xs []*graph.Node) []*graph.Node {
	return func(xs []*graph.Node) []*graph.Node { return []*graph.Node{fn(xs)} }
}

func TestElementwise(t *testing.T) {
	unary := []struct {
		name string
		f    func(*graph.Node) *graph.Node
	}{
		{"neg", graph.Neg}, {"abs", graph.Abs}, {"exp", graph.Exp}, {"log", func(x *graph.Node) *graph.Node { return graph.Log(graph.Abs(x)) }},
		{"sqrt", func(x *graph.Node) *graph.Node { return graph.Sqrt(graph.Abs(x)) }}, {"floor", graph.Floor},
		{"ceil", graph.Ceil}, {"round", graph.Round}, {"sign", graph.Sign}, {"logistic", graph.Logistic},
		{"tanh", graph.Tanh}, {"cos", graph.Cos}, {"sin", graph.Sin}, {"erf", graph.Erf}, {"log1p", func(x *graph.Node) *graph.Node { return graph.Log1p(graph.Abs(x)) }},
		{"isfinite", func(x *graph.Node) *graph.Node { return graph.IsFinite(graph.Log(x)) }},
	}
	var cases []diffCase
	for _, u := range unary {
		for _, in := range []input{f32(3, 5), f64(7)} {
			cases = append(cases, diffCase{name: u.name + "/" + in.dt.String(), fn: one(func(xs []*graph.Node) *graph.Node { return u.f(xs[0]) }), inputs: []input{in}})
		}
	}
	binary := []struct {
		name string
		f    func(a, b *graph.Node) *graph.Node
	}{
		{"add", graph.Add}, {"sub", graph.Sub}, {"mul", graph.Mul}, {"div", graph.Div}, {"max", graph.Max}, {"min", graph.Min},
		{"pow", func(a, b *graph.Node) *graph.Node { return graph.Pow(graph.Abs(a), b) }},
		{"rem", graph.Mod}, {"greater", graph.GreaterThan}, {"lesseq", graph.LessOrEqual}, {"equal", graph.Equal},
	}
	shapesPairs := [][2]input{
		{f32(2, 3, 4, 5), f32(2, 3, 4, 5)},
		{f32(2, 3, 4, 5), f32(1, 1, 1, 5)},
		{f32(4, 1), f32(1, 6)},
		{f32(2, 3, 4), f32(2, 1, 4)},
		{f32(5, 7), f32()},
		{f32(), f32(3, 2)},
		{f64(3, 4), f64(3, 1)},
	}
	for _, b := range binary {
		for _, p := range shapesPairs {
			cases = append(cases, diffCase{name: fmt.Sprintf("%s/%v×%v", b.name, p[0].dims, p[1].dims),
				fn: one(func(xs []*graph.Node) *graph.Node { return b.f(xs[0], xs[1]) }), inputs: p[:]})
		}
	}
	ints := []input{{dtypes.Int32, []int{4, 5}}, {dtypes.Int64, []int{4, 5}}}
	for _, in := range ints {
		cases = append(cases,
			diffCase{name: "int add/" + in.dt.String(), fn: one(func(xs []*graph.Node) *graph.Node { return graph.Add(xs[0], xs[1]) }), inputs: []input{in, in}},
			diffCase{name: "int max/" + in.dt.String(), fn: one(func(xs []*graph.Node) *graph.Node { return graph.Max(xs[0], xs[1]) }), inputs: []input{in, in}},
			diffCase{name: "int to float/" + in.dt.String(), fn: one(func(xs []*graph.Node) *graph.Node { return graph.ConvertDType(xs[0], dtypes.Float32) }), inputs: []input{in}},
		)
	}
	cases = append(cases,
		diffCase{name: "where broadcast", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Where(graph.GreaterThan(xs[0], xs[1]), xs[0], graph.ZerosLike(xs[0]))
		}), inputs: []input{f32(3, 4, 5), f32(3, 4, 5)}},
		diffCase{name: "where scalar branch", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Where(graph.GreaterThan(xs[0], graph.ScalarZero(xs[0].Graph(), dtypes.Float32)), xs[0], graph.ScalarOne(xs[0].Graph(), dtypes.Float32))
		}), inputs: []input{f32(6, 2)}},
		diffCase{name: "clip", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ClipScalar(xs[0], -0.5, 0.7) }), inputs: []input{f32(9)}},
		diffCase{name: "float to int", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ConvertDType(graph.MulScalar(xs[0], 3), dtypes.Int32) }), inputs: []input{f32(11)}},
		diffCase{name: "bool to float", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.ConvertDType(graph.GreaterThan(xs[0], xs[1]), dtypes.Float32)
		}), inputs: []input{f32(8), f32(8)}},
		diffCase{name: "logical", fn: one(func(xs []*graph.Node) *graph.Node {
			a, b := graph.GreaterThan(xs[0], xs[1]), graph.LessThan(xs[0], graph.ScalarZero(xs[0].Graph(), dtypes.Float32))
			return graph.LogicalOr(graph.LogicalAnd(a, b), graph.LogicalNot(a))
		}), inputs: []input{f32(10), f32(10)}},
	)
	runDiff(t, cases)
}

func TestShapeOps(t *testing.T) {
	runDiff(t, []diffCase{
		{name: "reshape", fn: one(func(xs []*graph.Node) *graph.Node { return graph.Reshape(xs[0], 6, 20) }), inputs: []input{f32(2, 3, 4, 5)}},
		{name: "transpose 0231", fn: one(func(xs []*graph.Node) *graph.Node { return graph.TransposeAllDims(xs[0], 0, 2, 3, 1) }), inputs: []input{f32(2, 3, 4, 5)}},
		{name: "transpose 2d", fn: one(func(xs []*graph.Node) *graph.Node { return graph.Transpose(xs[0], 0, 1) }), inputs: []input{f64(7, 3)}},
		{name: "broadcast in dim", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.BroadcastToDims(graph.Reshape(xs[0], 1, 3, 1), 4, 3, 5)
		}), inputs: []input{f32(3)}},
		{name: "broadcast prefix", fn: one(func(xs []*graph.Node) *graph.Node { return graph.BroadcastPrefix(xs[0], 2, 3) }), inputs: []input{f32(4, 2)}},
		{name: "slice strided", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Slice(xs[0], graph.AxisRange(1, 3), graph.AxisRange(0, 7).Stride(3), graph.AxisRange())
		}), inputs: []input{f32(4, 7, 3)}},
		{name: "concatenate", fn: one(func(xs []*graph.Node) *graph.Node { return graph.Concatenate([]*graph.Node{xs[0], xs[1]}, 1) }), inputs: []input{f32(2, 3, 4), f32(2, 5, 4)}},
		{name: "pad", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Pad(xs[0], graph.Scalar(xs[0].Graph(), dtypes.Float32, 0.5),
				backends.PadAxis{Start: 1, End: -1, Interior: 2}, backends.PadAxis{Start: -1, End: 2})
		}), inputs: []input{f32(4, 5)}},
		{name: "reverse", fn: one(func(xs []*graph.Node) *graph.Node { return graph.Reverse(xs[0], 0, 2) }), inputs: []input{f32(3, 4, 5)}},
		{name: "iota", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Add(xs[0], graph.Iota(xs[0].Graph(), shapes.Make(dtypes.Float32, 3, 4), 1))
		}), inputs: []input{f32(3, 4)}},
	})
}

func TestReductions(t *testing.T) {
	var cases []diffCase
	for _, axes := range [][]int{{0, 1, 2}, {1, 2}, {3}, {0}, {0, 3}, nil} {
		for _, r := range []struct {
			name string
			f    func(*graph.Node, ...int) *graph.Node
		}{{"sum", graph.ReduceSum}, {"max", graph.ReduceMax}, {"min", graph.ReduceMin}} {
			cases = append(cases, diffCase{name: fmt.Sprintf("%s%v", r.name, axes),
				fn: one(func(xs []*graph.Node) *graph.Node {
					if axes == nil {
						return r.f(xs[0])
					}
					return r.f(xs[0], axes...)
				}), inputs: []input{f32(3, 4, 5, 6)}})
		}
	}
	cases = append(cases,
		diffCase{name: "big column sum", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ReduceSum(xs[0], 0) }), inputs: []input{f32(40000, 7)}},
		diffCase{name: "product", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ReduceMultiply(xs[0], 1) }), inputs: []input{f64(3, 4)}},
		diffCase{name: "argmax", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ArgMax(xs[0], 1) }), inputs: []input{f32(5, 9)}},
		diffCase{name: "argmin axis 0", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ArgMin(xs[0], 0) }), inputs: []input{f32(5, 9)}},
		diffCase{name: "int sum", fn: one(func(xs []*graph.Node) *graph.Node { return graph.ReduceSum(xs[0], 1) }), inputs: []input{{dtypes.Int32, []int{4, 6}}}},
	)
	runDiff(t, cases)
}

// TestFusedChains compares element-wise chains — which the cpu backend
// runs as fused steps — with SimpleGo.
func TestFusedChains(t *testing.T) {
	g32 := func(x *graph.Node, v float64) *graph.Node { return graph.Scalar(x.Graph(), dtypes.Float32, v) }
	runDiff(t, []diffCase{
		{name: "sgd-like update", fn: func(xs []*graph.Node) []*graph.Node {
			w, grad, buf := xs[0], xs[1], xs[2]
			step := graph.Add(grad, graph.MulScalar(w, 5e-4))
			nb := graph.Add(graph.MulScalar(buf, 0.75), step)
			return []*graph.Node{graph.Sub(w, graph.Mul(g32(w, 0.1), nb)), nb}
		}, inputs: []input{f32(3, 3, 8, 16), f32(3, 3, 8, 16), f32(3, 3, 8, 16)}},
		{name: "relu and mask", fn: func(xs []*graph.Node) []*graph.Node {
			x := graph.Add(xs[0], xs[1]) // per-channel broadcast operand
			m := graph.GreaterThan(x, g32(x, 0))
			y := graph.Where(m, x, g32(x, 0))
			return []*graph.Node{graph.Mul(y, y), m}
		}, inputs: []input{f32(4, 5, 6, 7), f32(1, 1, 1, 7)}},
		{name: "broadcast middle axis", fn: one(func(xs []*graph.Node) *graph.Node {
			return graph.Exp(graph.Neg(graph.Mul(graph.Sub(xs[0], xs[1]), xs[1])))
		}), inputs: []input{f32(3, 4, 2050), f32(3, 1, 2050)}},
		{name: "chain around a reduction", fn: one(func(xs []*graph.Node) *graph.Node {
			a := graph.Mul(xs[0], xs[0])
			s := graph.ReduceSum(a, 1)                // consumer outside the chain
			b := graph.Add(a, graph.ExpandAxes(s, 1)) // needs the reduction, so it cannot fuse with a's chain start
			return graph.Tanh(graph.Sub(b, a))
		}), inputs: []input{f32(5, 6)}},
		{name: "bool chain", fn: one(func(xs []*graph.Node) *graph.Node {
			a := graph.GreaterThan(xs[0], xs[1])
			b := graph.LessThan(xs[0], g32(xs[0], 0.5))
			return graph.ConvertDType(graph.LogicalAnd(a, graph.LogicalNot(b)), dtypes.Float32)
		}), inputs: []input{f32(3000), f32(3000)}},
	})
}
