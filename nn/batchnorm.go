package nn

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Batch-norm constants of PyTorch's BatchNorm2d.
const (
	BNMomentum = 0.1
	BNEpsilon  = 1e-5
)

// frozenBNParam marks a scope whose batch norms use their running statistics
// even in training and no longer update them.
const frozenBNParam = "batchnorm_frozen"

// FreezeBatchNorm makes every BatchNorm in ctx's scope (and below) behave as
// in evaluation mode during training: normalize with the running statistics
// and leave them unchanged (PyTorch's module.eval() on those layers).
func FreezeBatchNorm(ctx *context.Context) { ctx.SetParam(frozenBNParam, true) }

// BatchNorm normalizes x [..., C] per channel (the last axis) with PyTorch's
// BatchNorm semantics. In training the batch mean and biased variance
// normalize x, the gradient flows through them, and the running statistics
// move by momentum 0.1 toward the batch mean and the unbiased batch variance.
// In evaluation (or when frozen) the running statistics normalize x.
// Variables: "scale" (init 1), "offset" (init 0), and the non-trainable
// "mean" (0) and "variance" (1).
func BatchNorm(ctx *context.Context, x *Node) *Node {
	g := x.Graph()
	dt := x.DType()
	c := x.Shape().Dimensions[x.Rank()-1]
	scale := Param(ctx, "scale", dt, []int{c}, Constant(1)).ValueGraph(g)
	offset := Param(ctx, "offset", dt, []int{c}, Constant(0)).ValueGraph(g)
	meanVar := Param(ctx, "mean", dt, []int{c}, Constant(0)).SetTrainable(false)
	varVar := Param(ctx, "variance", dt, []int{c}, Constant(1)).SetTrainable(false)

	bshape := make([]int, x.Rank())
	for i := range bshape {
		bshape[i] = 1
	}
	bshape[len(bshape)-1] = c

	if ctx.IsTraining(g) && !context.GetParamOr(ctx, frozenBNParam, false) {
		// The backend op normalizes with the batch statistics; its gradient
		// (BatchNormGradient) flows through them, as PyTorch's does.
		y, mean, variance := graph.InternalBatchNormForTraining(x, scale, offset, BNEpsilon, -1)
		n := x.Shape().Size() / c
		unbiased := variance
		if n > 1 {
			unbiased = graph.MulScalar(variance, float64(n)/float64(n-1))
		}
		m := BNMomentum
		meanVar.SetValueGraph(graph.StopGradient(graph.Add(graph.MulScalar(meanVar.ValueGraph(g), 1-m), graph.MulScalar(mean, m))))
		varVar.SetValueGraph(graph.StopGradient(graph.Add(graph.MulScalar(varVar.ValueGraph(g), 1-m), graph.MulScalar(unbiased, m))))
		return y
	}
	mean := meanVar.ValueGraph(g)
	variance := varVar.ValueGraph(g)
	// Fold into one multiply-add: y = x·a + b with a = scale/√(var+ε), b = offset − mean·a.
	a := graph.Mul(scale, graph.Rsqrt(graph.AddScalar(variance, BNEpsilon)))
	b := graph.Sub(offset, graph.Mul(mean, a))
	return graph.Add(graph.Mul(x, graph.Reshape(a, bshape...)), graph.Reshape(b, bshape...))
}
