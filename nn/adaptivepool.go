package nn

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// AdaptiveAvgPool2D is PyTorch's AdaptiveAvgPool2d((out, out)) on
// [N, H, W, C]: output cell i of an axis of side s averages the inputs
// floor(i·s/out) … ceil((i+1)·s/out)−1, so the windows overlap when s is
// not a multiple of out and repeat inputs when s < out.
func AdaptiveAvgPool2D(x *Node, out int) *Node {
	return adaptiveAvgPoolAxis(adaptiveAvgPoolAxis(x, 1, out), 2, out)
}

func adaptiveAvgPoolAxis(x *Node, axis, out int) *Node {
	s := x.Shape().Dimensions[axis]
	if s == out {
		return x
	}
	parts := make([]*Node, out)
	for i := range out {
		start, end := i*s/out, ((i+1)*s+out-1)/out
		spec := make([]graph.SliceAxisSpec, x.Rank())
		for a := range spec {
			spec[a] = graph.AxisRange()
		}
		spec[axis] = graph.AxisRange(start, end)
		parts[i] = graph.ReduceAndKeep(graph.Slice(x, spec...), graph.ReduceMean, axis)
	}
	return graph.Concatenate(parts, axis)
}
