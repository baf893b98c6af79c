package nn

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// fixtures holds testdata/torch_fixtures.json, written by
// testdata/torch_fixtures.py with PyTorch 1.13 in float64.
type fixtures map[string]json.RawMessage

type array struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func loadFixtures(t *testing.T) fixtures {
	t.Helper()
	raw, err := os.ReadFile("testdata/torch_fixtures.json")
	if err != nil {
		t.Fatal(err)
	}
	var f fixtures
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixtures) array(t *testing.T, name string) array {
	t.Helper()
	var a array
	if err := json.Unmarshal(f[name], &a); err != nil {
		t.Fatalf("fixture %s: %v", name, err)
	}
	return a
}

// tensor32 converts a fixture to float32, permuting axes by perm (nil keeps them).
func (a array) tensor32(perm ...int) *tensors.Tensor {
	dims, data := a.Shape, a.Data
	if perm != nil {
		dims, data = permute(a.Shape, a.Data, perm)
	}
	f := make([]float32, len(data))
	for i, v := range data {
		f[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(f, dims...)
}

// permute transposes a row-major array: output axis i is input axis perm[i].
func permute(dims []int, data []float64, perm []int) ([]int, []float64) {
	rank := len(dims)
	outDims := make([]int, rank)
	for i, p := range perm {
		outDims[i] = dims[p]
	}
	inStrides := make([]int, rank)
	s := 1
	for i := rank - 1; i >= 0; i-- {
		inStrides[i] = s
		s *= dims[i]
	}
	out := make([]float64, len(data))
	idx := make([]int, rank)
	for o := range out {
		in := 0
		for i, p := range perm {
			in += idx[i] * inStrides[p]
		}
		out[o] = data[in]
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < outDims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return outDims, out
}

var nchwToNHWC = []int{0, 2, 3, 1}

// assertClose checks |got − want| ≤ 1e-5·max(1, |want|) elementwise.
func assertClose(t *testing.T, name string, got *tensors.Tensor, want []int, wantData []float64) {
	t.Helper()
	if got.Shape().Size() != len(wantData) {
		t.Fatalf("%s: %d values (shape %s), want %d (shape %v)", name, got.Shape().Size(), got.Shape(), len(wantData), want)
	}
	var vals []float64
	switch got.DType() {
	case dtypes.Float32:
		for _, v := range tensors.MustCopyFlatData[float32](got) {
			vals = append(vals, float64(v))
		}
	default:
		vals = tensors.MustCopyFlatData[float64](got)
	}
	worst := 0.0
	for i, v := range vals {
		d := math.Abs(v-wantData[i]) / math.Max(1, math.Abs(wantData[i]))
		worst = math.Max(worst, d)
	}
	if worst > 1e-5 {
		t.Errorf("%s: max error %.3g > 1e-5", name, worst)
	}
}

func run(t *testing.T, b backends.Backend, ctx *context.Context, training bool, fn func(ctx *context.Context, xs []*Node) []*Node, inputs ...*tensors.Tensor) []*tensors.Tensor {
	t.Helper()
	e, err := context.NewExec(b, ctx, func(ctx *context.Context, xs []*Node) []*Node {
		ctx.SetTraining(xs[0].Graph(), training)
		return fn(ctx, xs)
	})
	if err != nil {
		t.Fatal(err)
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	out, err := e.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMatchesPyTorch compares layer outputs, losses, optimizer steps and the
// plateau schedule with PyTorch on fixed inputs, in float32, within 1e-5.
func TestMatchesPyTorch(t *testing.T) {
	for _, b := range testBackends(t) {
		t.Run(b.Name(), func(t *testing.T) { matchesPyTorch(t, b) })
	}
}

func matchesPyTorch(t *testing.T, b backends.Backend) {
	f := loadFixtures(t)

	t.Run("conv", func(t *testing.T) {
		ctx := context.New()
		ctx.In("c").VariableWithValue("weights", f.array(t, "conv.w").tensor32(2, 3, 1, 0))
		ctx.In("c").VariableWithValue("bias", f.array(t, "conv.b").tensor32())
		y := run(t, b, ctx, true, func(ctx *context.Context, xs []*Node) []*Node {
			return []*Node{Conv2D(ctx.In("c"), xs[0], 4, 3, ConvOptions{})}
		}, f.array(t, "conv.x").tensor32(nchwToNHWC...))[0]
		want := f.array(t, "conv.y")
		dims, data := permute(want.Shape, want.Data, nchwToNHWC)
		assertClose(t, "conv", y, dims, data)
	})

	t.Run("batchnorm", func(t *testing.T) {
		ctx := context.New()
		ctx.In("bn").VariableWithValue("scale", f.array(t, "bn.scale").tensor32())
		ctx.In("bn").VariableWithValue("offset", f.array(t, "bn.offset").tensor32())
		x := f.array(t, "bn.x").tensor32(nchwToNHWC...)
		bn := func(ctx *context.Context, xs []*Node) []*Node { return []*Node{BatchNorm(ctx.In("bn"), xs[0])} }
		y := run(t, b, ctx, true, bn, x)[0]
		want := f.array(t, "bn.y_train")
		dims, data := permute(want.Shape, want.Data, nchwToNHWC)
		assertClose(t, "train output", y, dims, data)
		rm := f.array(t, "bn.running_mean")
		assertClose(t, "running mean", ctx.GetVariableByScopeAndName("/bn", "mean").MustValue(), rm.Shape, rm.Data)
		rv := f.array(t, "bn.running_var")
		assertClose(t, "running var", ctx.GetVariableByScopeAndName("/bn", "variance").MustValue(), rv.Shape, rv.Data)
		y = run(t, b, ctx, false, bn, x)[0]
		want = f.array(t, "bn.y_eval")
		dims, data = permute(want.Shape, want.Data, nchwToNHWC)
		assertClose(t, "eval output", y, dims, data)
	})

	t.Run("pooling", func(t *testing.T) {
		out := run(t, b, context.New(), true, func(ctx *context.Context, xs []*Node) []*Node {
			return []*Node{MaxPool2(xs[0]), GlobalMaxPool(xs[0])}
		}, f.array(t, "pool.x").tensor32(nchwToNHWC...))
		want := f.array(t, "pool.max2")
		dims, data := permute(want.Shape, want.Data, nchwToNHWC)
		assertClose(t, "max pool", out[0], dims, data)
		g := f.array(t, "pool.global")
		assertClose(t, "global max pool", out[1], g.Shape, g.Data)
	})

	t.Run("elu+1", func(t *testing.T) {
		y := run(t, b, context.New(), true, func(ctx *context.Context, xs []*Node) []*Node {
			return []*Node{ELUPlusOne(xs[0])}
		}, f.array(t, "elu.x").tensor32())[0]
		want := f.array(t, "elu.y")
		assertClose(t, "elu+1", y, want.Shape, want.Data)
	})

	t.Run("readout", func(t *testing.T) {
		feat := f.array(t, "readout.feat").tensor32(nchwToNHWC...)
		grid := f.array(t, "readout.grid").tensor32()
		w := f.array(t, "readout.w").tensor32()
		bias := f.array(t, "readout.b").tensor32()
		y := run(t, b, context.New(), true, func(ctx *context.Context, xs []*Node) []*Node {
			dims := xs[0].Shape().Dimensions
			s := bilinear(xs[0], xs[1], dims[1], dims[2])
			y := graph.ReduceSum(graph.Mul(s, graph.ExpandAxes(graph.Transpose(xs[2], 0, 1), 0)), 2)
			return []*Node{graph.Add(y, graph.ExpandAxes(xs[3], 0))}
		}, feat, grid, w, bias)[0]
		want := f.array(t, "readout.y")
		assertClose(t, "grid sample readout", y, want.Shape, want.Data)

		// The layer in evaluation mode reads at μ: give it image 0's grid.
		g := f.array(t, "readout.grid")
		ctx := context.New()
		ctx.In("r").VariableWithValue("mu", array{Shape: g.Shape[1:], Data: g.Data[:g.Shape[1]*2]}.tensor32())
		ctx.In("r").VariableWithValue("features", w)
		ctx.In("r").VariableWithValue("bias", bias)
		y = run(t, b, ctx, false, func(ctx *context.Context, xs []*Node) []*Node {
			return []*Node{GaussianReadout(ctx.In("r"), xs[0], 6, ReadoutOptions{})}
		}, feat)[0]
		row := tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](y)[:6], 6)
		assertClose(t, "readout layer (eval)", row, []int{6}, want.Data[:6])
	})

	t.Run("losses", func(t *testing.T) {
		var labels []int32
		if err := json.Unmarshal(f["ce.labels"], &labels); err != nil {
			t.Fatal(err)
		}
		out := run(t, b, context.New(), true, func(ctx *context.Context, xs []*Node) []*Node {
			return []*Node{CrossEntropy(xs[0], xs[1]), PoissonLoss(xs[2], xs[3]), MSE(xs[2], xs[3])}
		}, f.array(t, "ce.logits").tensor32(), tensors.FromValue(labels),
			f.array(t, "poisson.pred").tensor32(), f.array(t, "poisson.target").tensor32())
		for i, name := range []string{"ce.loss", "poisson.loss", "mse.loss"} {
			want := f.array(t, name)
			assertClose(t, name, out[i], want.Shape, want.Data)
		}
	})

	for _, tc := range []struct {
		name string
		opt  Optimizer
	}{
		{"sgd", &SGD{LR: 0.1, Momentum: 0.75, WeightDecay: 5e-4}},
		{"adam", &Adam{LR: 0.05, WeightDecay: 5e-4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.New()
			p := ctx.VariableWithValue("p", f.array(t, tc.name+".p0").tensor32())
			q := ctx.VariableWithValue("q", f.array(t, tc.name+".q0").tensor32())
			e, err := context.NewExec(b, ctx, func(ctx *context.Context, a, target, c *Node) *Node {
				g := a.Graph()
				pv, qv := p.ValueGraph(g), q.ValueGraph(g)
				r := graph.Sub(graph.DotGeneral(a, []int{1}, nil, pv, []int{0}, nil), target)
				loss := graph.Add(graph.ReduceAllSum(graph.Square(r)), graph.ReduceAllSum(graph.Mul(graph.Square(qv), c)))
				tc.opt.UpdateGraph(ctx, g, loss)
				return loss
			})
			if err != nil {
				t.Fatal(err)
			}
			for step := 1; step <= 3; step++ {
				if _, err := e.Exec(f.array(t, tc.name+".a").tensor32(), f.array(t, tc.name+".t").tensor32(), f.array(t, tc.name+".c").tensor32()); err != nil {
					t.Fatal(err)
				}
				for _, v := range []*context.Variable{p, q} {
					want := f.array(t, tc.name+"."+v.Name()+string(rune('0'+step)))
					assertClose(t, v.Name()+" after step "+string(rune('0'+step)), v.MustValue(), want.Shape, want.Data)
				}
			}
		})
	}

	t.Run("plateau", func(t *testing.T) {
		var metrics, lrs []float64
		json.Unmarshal(f["plateau.metrics"], &metrics)
		json.Unmarshal(f["plateau.lrs"], &lrs)
		p, err := NewPlateau(0.1, Max, 0.4, 2, 1e-2, Rel, 1, 0.005)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range metrics {
			if lr, _ := p.Step(m); math.Abs(lr-lrs[i]) > 1e-12 {
				t.Errorf("epoch %d: lr %v, PyTorch %v", i+1, lr, lrs[i])
			}
		}
	})
}

// TestCosineDistance checks CosineDistance against a direct float64
// computation of mean(1 − a·b/√((|a|²+1e-12)(|b|²+1e-12))) over positions.
func TestCosineDistance(t *testing.T) {
	b := testBackends(t)[0]
	rng := rand.New(rand.NewPCG(3, 4))
	const n, c = 6, 5
	a := make([]float64, n*c)
	bb := make([]float64, n*c)
	for i := range a {
		a[i], bb[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	bb[c] = 0 // a zero vector at one position: the guard keeps it finite
	for k := 1; k < c; k++ {
		bb[c+k] = 0
	}
	var want float64
	for p := 0; p < n; p++ {
		var dot, na, nb float64
		for k := 0; k < c; k++ {
			x, y := a[p*c+k], bb[p*c+k]
			dot, na, nb = dot+x*y, na+x*x, nb+y*y
		}
		want += (1 - dot/math.Sqrt((na+1e-12)*(nb+1e-12))) / n
	}
	out := run(t, b, context.New(), true, func(ctx *context.Context, xs []*Node) []*Node {
		return []*Node{CosineDistance(xs[0], xs[1])}
	}, tensors.FromFlatDataAndDimensions(a, 2, 3, c), tensors.FromFlatDataAndDimensions(bb, 2, 3, c))
	if got := out[0].Value().(float64); math.Abs(got-want) > 1e-12 {
		t.Errorf("CosineDistance = %v, want %v", got, want)
	}
}

// TestEuclideanDistance checks EuclideanDistance against a direct float64
// computation of mean(√(|a − b|² + 1e-12)) over positions, with one
// position where a and b agree.
func TestEuclideanDistance(t *testing.T) {
	b := testBackends(t)[0]
	rng := rand.New(rand.NewPCG(5, 6))
	const n, c = 6, 5
	a := make([]float64, n*c)
	bb := make([]float64, n*c)
	for i := range a {
		a[i], bb[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	copy(bb[2*c:3*c], a[2*c:3*c])
	var want float64
	for p := 0; p < n; p++ {
		var d float64
		for k := 0; k < c; k++ {
			x := a[p*c+k] - bb[p*c+k]
			d += x * x
		}
		want += math.Sqrt(d+1e-12) / n
	}
	out := run(t, b, context.New(), true, func(ctx *context.Context, xs []*Node) []*Node {
		return []*Node{EuclideanDistance(xs[0], xs[1])}
	}, tensors.FromFlatDataAndDimensions(a, 2, 3, c), tensors.FromFlatDataAndDimensions(bb, 2, 3, c))
	if got := out[0].Value().(float64); math.Abs(got-want) > 1e-12 {
		t.Errorf("EuclideanDistance = %v, want %v", got, want)
	}
}
