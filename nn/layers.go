package nn

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Node is a GoMLX graph node.
type Node = graph.Node

// ConvOptions configure Conv2D. The zero value is a stride-1 "same"
// convolution with bias and the VGG initialization.
type ConvOptions struct {
	Stride     int  // default 1
	Valid      bool // no padding; otherwise pad (k−1)/2 on each side
	NoBias     bool
	WeightInit Init // default KaimingNormalFanOut
	BiasInit   Init // default Constant(0)
}

// Conv2D convolves x [N, H, W, Cin] with a k×k kernel to out channels:
// PyTorch's Conv2d(Cin, out, k, padding=(k−1)/2) with bias. Variables:
// "weights" [k, k, Cin, out] and "bias" [out].
func Conv2D(ctx *context.Context, x *Node, out, k int, opts ConvOptions) *Node {
	cin := x.Shape().Dimensions[3]
	wShape := []int{k, k, cin, out}
	wInit := opts.WeightInit
	if wInit == nil {
		wInit = KaimingNormalFanOut
	}
	w := Param(ctx, "weights", x.DType(), wShape, wInit).ValueGraph(x.Graph())
	conv := graph.Convolve(x, w)
	if opts.Stride > 1 {
		conv = conv.StridePerAxis(opts.Stride, opts.Stride)
	}
	if opts.Valid {
		conv = conv.NoPadding()
	} else {
		p := (k - 1) / 2
		conv = conv.PaddingPerDim([][2]int{{p, k - 1 - p}, {p, k - 1 - p}})
	}
	y := conv.Done()
	if opts.NoBias {
		return y
	}
	bInit := opts.BiasInit
	if bInit == nil {
		bInit = Constant(0)
	}
	b := Param(ctx, "bias", x.DType(), []int{out}, bInit).ValueGraph(x.Graph())
	return graph.Add(y, graph.Reshape(b, 1, 1, 1, out))
}

// Dense is a fully connected layer on the last axis of x: PyTorch's Linear.
// Variables "weights" [in, out] (default N(0, 0.01²), VGG's linear init) and
// "bias" [out] (default 0).
func Dense(ctx *context.Context, x *Node, out int, weightInit, biasInit Init) *Node {
	in := x.Shape().Dimensions[x.Rank()-1]
	if weightInit == nil {
		weightInit = Normal(0.01)
	}
	if biasInit == nil {
		biasInit = Constant(0)
	}
	w := Param(ctx, "weights", x.DType(), []int{in, out}, weightInit).ValueGraph(x.Graph())
	b := Param(ctx, "bias", x.DType(), []int{out}, biasInit).ValueGraph(x.Graph())
	y := graph.DotGeneral(x, []int{x.Rank() - 1}, nil, w, []int{0}, nil)
	bShape := make([]int, y.Rank())
	for i := range bShape {
		bShape[i] = 1
	}
	bShape[len(bShape)-1] = out
	return graph.Add(y, graph.Reshape(b, bShape...))
}

// ReLU is max(x, 0), with PyTorch's gradient: 1 where x > 0, else 0.
// Written as a select, its gradient is a single select too.
func ReLU(x *Node) *Node {
	zero := graph.ZerosLike(x)
	return graph.Where(graph.GreaterThan(x, zero), x, zero)
}

// MaxPool2 is PyTorch's MaxPool2d(2): 2×2 windows, stride 2, on [N, H, W, C];
// an odd last row or column is dropped, as PyTorch does.
func MaxPool2(x *Node) *Node {
	return graph.MaxPool(x).Window(2).Strides(2).NoPadding().Done()
}

// GlobalMaxPool takes the maximum over the spatial axes of [N, H, W, C],
// giving [N, C]: PyTorch's AdaptiveMaxPool2d(1) followed by flatten.
func GlobalMaxPool(x *Node) *Node { return graph.ReduceMax(x, 1, 2) }

// ELUPlusOne is ELU(x − 1) + 1, the output nonlinearity of the neural
// readout: x for x > 1 and exp(x − 1) otherwise, always positive.
func ELUPlusOne(x *Node) *Node {
	one := graph.OnesLike(x)
	// exp of min(x−1, 0) keeps the unused branch finite, so its gradient is too.
	return graph.Where(graph.GreaterThan(x, one), x, graph.Exp(graph.Min(graph.Sub(x, one), graph.ZerosLike(x))))
}

// Dropout zeroes each element with probability p during training and scales
// the rest by 1/(1−p) (PyTorch's inverted dropout). Outside training it is
// the identity.
func Dropout(ctx *context.Context, x *Node, p float64) *Node {
	g := x.Graph()
	if !ctx.IsTraining(g) || p <= 0 {
		return x
	}
	u := ctx.RandomUniform(g, x.Shape())
	keep := graph.GreaterOrEqual(u, graph.Scalar(g, x.DType(), p))
	return graph.Where(keep, graph.MulScalar(x, 1/(1-p)), graph.ZerosLike(x))
}

// ELU is PyTorch's ELU with α = 1: x for x > 0 and exp(x) − 1 otherwise.
func ELU(x *Node) *Node {
	zero := graph.ZerosLike(x)
	// exp of min(x, 0) keeps the unused branch finite, so its gradient is too.
	return graph.Where(graph.GreaterThan(x, zero), x, graph.Sub(graph.Exp(graph.Min(x, zero)), graph.OnesLike(x)))
}
