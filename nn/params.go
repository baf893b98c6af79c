// Package nn holds cotrain's neural-network building blocks with PyTorch
// semantics: convolution, batch norm, pooling, dropout, the Gaussian readout,
// losses, the SGD and Adam optimizers, and the plateau schedule and early
// stopping of the original training code.
//
// Layers are GoMLX graph functions that keep their variables in a
// *context.Context. Tensors are channels-last (NHWC). Variables are
// initialized on the Go side from a seed (see SetSeed), so a model starts
// from the same weights on every backend.
package nn

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// seedParam is the context parameter holding the model seed.
const seedParam = "cotrain_seed"

// SetSeed sets the seed from which every variable's initial value and the
// in-graph random number generator (dropout, readout sampling) derive.
func SetSeed(ctx *context.Context, seed int64) error {
	ctx.InAbsPath(context.RootScope).SetParam(seedParam, seed)
	return ctx.SetRNGStateFromSeed(seed)
}

// Init computes the initial values of a variable with n elements.
type Init func(rng *rand.Rand, shape []int) []float64

// KaimingNormalFanOut draws from N(0, 2/fan_out), fan_out = out channels ×
// kernel area: PyTorch's kaiming_normal_(mode="fan_out", nonlinearity="relu"),
// the VGG initialization of convolution weights. shape is [kh, kw, cin, cout].
func KaimingNormalFanOut(rng *rand.Rand, shape []int) []float64 {
	fanOut := shape[len(shape)-1]
	for _, d := range shape[:len(shape)-2] {
		fanOut *= d
	}
	return Normal(math.Sqrt(2/float64(fanOut)))(rng, shape)
}

// Normal returns an initializer drawing from N(0, std²).
func Normal(std float64) Init {
	return func(rng *rand.Rand, shape []int) []float64 {
		v := make([]float64, size(shape))
		for i := range v {
			v[i] = std * rng.NormFloat64()
		}
		return v
	}
}

// Uniform returns an initializer drawing from U(lo, hi).
func Uniform(lo, hi float64) Init {
	return func(rng *rand.Rand, shape []int) []float64 {
		v := make([]float64, size(shape))
		for i := range v {
			v[i] = lo + (hi-lo)*rng.Float64()
		}
		return v
	}
}

// Constant returns an initializer filling with c.
func Constant(c float64) Init {
	return func(_ *rand.Rand, shape []int) []float64 {
		v := make([]float64, size(shape))
		for i := range v {
			v[i] = c
		}
		return v
	}
}

// PyTorchDefaultWeights is PyTorch's default for conv and linear weights,
// kaiming_uniform_(a=√5): U(−b, b) with b = 1/√fan_in. shape is
// [kh, kw, cin, cout] or [in, out]. Used where the original re-initialized
// layers with PyTorch's defaults rather than the VGG scheme.
func PyTorchDefaultWeights(rng *rand.Rand, shape []int) []float64 {
	b := 1 / math.Sqrt(float64(fanIn(shape)))
	return Uniform(-b, b)(rng, shape)
}

// PyTorchDefaultBias returns PyTorch's default bias initializer for a layer
// whose weights have shape weightShape: U(−b, b), b = 1/√fan_in.
func PyTorchDefaultBias(weightShape []int) Init {
	b := 1 / math.Sqrt(float64(fanIn(weightShape)))
	return Uniform(-b, b)
}

func fanIn(shape []int) int {
	n := 1
	for _, d := range shape[:len(shape)-1] {
		n *= d
	}
	return n
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Param returns the variable name in ctx's scope, creating it with values
// from init if it does not exist yet. Its random stream depends only on the
// model seed and the variable's full name, so it is the same whatever order
// variables are created in and on every backend.
func Param(ctx *context.Context, name string, dtype dtypes.DType, shape []int, init Init) *context.Variable {
	if v := ctx.GetVariableByScopeAndName(ctx.Scope(), name); v != nil {
		if !equalDims(v.Shape().Dimensions, shape) {
			panic(fmt.Errorf("variable %s has shape %v, the model asks for %v", v.ScopeAndName(), v.Shape().Dimensions, shape))
		}
		return v
	}
	seed := context.GetParamOr(ctx, seedParam, int64(0))
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s", ctx.Scope(), name)
	rng := rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	values := init(rng, shape)
	var t *tensors.Tensor
	switch dtype {
	case dtypes.Float64:
		t = tensors.FromFlatDataAndDimensions(values, shape...)
	case dtypes.Float32:
		f := make([]float32, len(values))
		for i, x := range values {
			f[i] = float32(x)
		}
		t = tensors.FromFlatDataAndDimensions(f, shape...)
	default:
		panic(fmt.Errorf("variable %s/%s: unsupported dtype %s", ctx.Scope(), name, dtype))
	}
	return ctx.Checked(false).VariableWithValue(name, t)
}

func equalDims(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// XavierNormal draws from N(0, 2/(fan_in + fan_out)): PyTorch's
// xavier_normal_ for a Dense weight [in, out].
func XavierNormal(rng *rand.Rand, shape []int) []float64 {
	return Normal(math.Sqrt(2/float64(shape[0]+shape[len(shape)-1])))(rng, shape)
}
