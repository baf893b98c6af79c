package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/engine/simplego"
	"github.com/cotrain/cotrain/internal/gradcheck"
)

func simpleGo(t testing.TB) backends.Backend {
	t.Helper()
	b, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testBackends are the backends every layer test runs on: cotrain's cpu
// backend and the SimpleGo reference.
func testBackends(t testing.TB) []backends.Backend {
	t.Helper()
	c, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	return []backends.Backend{c, simpleGo(t)}
}

// scalarize reduces y to a scalar with fixed random weights, so that every
// element of y gets a different, non-trivial gradient.
func scalarize(y *Node) *Node {
	w := gradcheck.Random(rand.New(rand.NewPCG(11, 13)), y.Shape().Dimensions...)
	return graph.ReduceAllSum(graph.Mul(y, graph.Const(y.Graph(), w)))
}

// TestLayerGradients checks every layer's gradient with respect to its
// inputs and its variables against finite differences (float64, relative
// error ≤ 1e-6) on the cpu backend and the SimpleGo wrapper.
func TestLayerGradients(t *testing.T) {
	for _, b := range testBackends(t) {
		t.Run(b.Name(), func(t *testing.T) { layerGradients(t, b) })
	}
}

func layerGradients(t *testing.T, b backends.Backend) {
	tests := []struct {
		name   string
		fn     gradcheck.Func
		inputs [][]int
	}{
		{"conv3x3 same", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(Conv2D(ctx, xs[0], 4, 3, ConvOptions{}))
		}, [][]int{{2, 5, 6, 3}}},
		{"conv3x3 stride 2", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(Conv2D(ctx, xs[0], 3, 3, ConvOptions{Stride: 2}))
		}, [][]int{{2, 7, 7, 2}}},
		{"conv1x1", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(Conv2D(ctx, xs[0], 5, 1, ConvOptions{}))
		}, [][]int{{2, 2, 2, 4}}},
		{"dense", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(Dense(ctx, xs[0], 3, Normal(1), Normal(1)))
		}, [][]int{{4, 5}}},
		{"batchnorm train", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(BatchNorm(ctx, xs[0]))
		}, [][]int{{3, 2, 2, 4}}},
		{"maxpool 2x2", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(MaxPool2(xs[0]))
		}, [][]int{{2, 4, 5, 3}}},
		{"global max pool", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(GlobalMaxPool(xs[0]))
		}, [][]int{{2, 3, 3, 4}}},
		{"relu", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(ReLU(xs[0]))
		}, [][]int{{3, 7}}},
		{"dropout", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(Dropout(ctx, xs[0], 0.5))
		}, [][]int{{4, 6}}},
		{"elu+1", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(ELUPlusOne(graph.MulScalar(xs[0], 3)))
		}, [][]int{{4, 6}}},
		{"gaussian readout train", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(GaussianReadout(ctx, xs[0], 5, ReadoutOptions{}))
		}, [][]int{{3, 4, 5, 6}}},
		{"cross entropy", func(ctx *context.Context, xs []*Node) *Node {
			labels := graph.Const(xs[0].Graph(), []int32{0, 2, 1, 2})
			return CrossEntropy(xs[0], labels)
		}, [][]int{{4, 3}}},
		{"poisson loss", func(ctx *context.Context, xs []*Node) *Node {
			target := graph.Const(xs[0].Graph(), [][]float64{{0, 1, 3}, {2, 0, 1}})
			return PoissonLoss(ELUPlusOne(xs[0]), target)
		}, [][]int{{2, 3}}},
		{"mse", func(ctx *context.Context, xs []*Node) *Node {
			target := graph.Const(xs[0].Graph(), [][]float64{{0, 1, 3}, {2, 0, 1}})
			return MSE(xs[0], target)
		}, [][]int{{2, 3}}},
		{"cosine distance", func(ctx *context.Context, xs []*Node) *Node {
			return CosineDistance(xs[0], xs[1])
		}, [][]int{{2, 3, 2, 4}, {2, 3, 2, 4}}},
		{"euclidean distance", func(ctx *context.Context, xs []*Node) *Node {
			return EuclideanDistance(xs[0], xs[1])
		}, [][]int{{2, 3, 2, 4}, {2, 3, 2, 4}}},
		{"centred cosines", func(ctx *context.Context, xs []*Node) *Node {
			return scalarize(CenteredCosines(xs[0]))
		}, [][]int{{5, 2, 3}}},
		{"similarity loss", func(ctx *context.Context, xs []*Node) *Node {
			target := CenteredCosines(graph.Const(xs[0].Graph(), gradcheck.Random(rand.New(rand.NewPCG(3, 4)), 5, 7)))
			return SimilarityLoss(CenteredCosines(xs[0]), target, 0.01)
		}, [][]int{{5, 6}}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 5))
			var inputs []*tensors.Tensor
			for _, dims := range tc.inputs {
				inputs = append(inputs, gradcheck.Random(rng, dims...))
			}
			ctx := context.New()
			if err := SetSeed(ctx, int64(i)); err != nil {
				t.Fatal(err)
			}
			results, err := gradcheck.Check(b, ctx, tc.fn, inputs, gradcheck.Options{Seed: uint64(i)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.RelErr > 1e-6 {
					t.Errorf("%s: relative error %.3g > 1e-6", r.Name, r.RelErr)
				} else {
					t.Logf("%s: relative error %.2g", r.Name, r.RelErr)
				}
			}
		})
	}
}

// TestParamDeterministic checks that a variable's initial value depends only
// on the seed and its name.
func TestParamDeterministic(t *testing.T) {
	make := func(seed int64, extraFirst bool) []float32 {
		ctx := context.New()
		if err := SetSeed(ctx, seed); err != nil {
			t.Fatal(err)
		}
		if extraFirst {
			Param(ctx.In("other"), "w", dtypes.Float32, []int{3}, Normal(1))
		}
		v := Param(ctx.In("layer"), "w", dtypes.Float32, []int{2, 3}, Normal(1))
		return tensors.MustCopyFlatData[float32](v.MustValue())
	}
	a, b, c := make(7, false), make(7, true), make(8, false)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("creation order changed the initial value: %v vs %v", a, b)
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Errorf("seeds 7 and 8 gave the same initial value %v", a)
	}
}
