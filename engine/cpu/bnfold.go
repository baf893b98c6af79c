package cpu

import (
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
)

// foldIntoBatchNorm folds the memory-bound neighbours of a channels-last
// float32 batch norm (a convolution's bias, the ReLU after it, the ReLU
// mask of the output gradient, the bias gradient) into the batch-norm ops,
// so that the tensors between them are never written and read again:
//
//   - BatchNormForTraining(Add(x, b)) with b a per-feature bias becomes
//     BatchNormForTraining(x) reporting mean(x) + b as the mean: the
//     normalized output does not depend on a per-feature shift, and the
//     variance is the same. Every BatchNormGradient of the same operand and
//     mean then takes x and subtracts b from the mean. The Add is left to
//     whatever else reads it (nothing, in a network).
//   - BatchNormGradient(…, Where(mask, g, 0)), where only the gradient op
//     reads the Where, takes g and the mask and applies it as it reads g.
//   - A ReLU of the normalized output, Where(y > 0, y, 0), with nothing
//     else reading y, is computed as the output is written: the op then
//     outputs the ReLU and, as a fourth output, its mask y > 0.
//   - ReduceSum(dx) over every axis but the feature axis, of a
//     BatchNormGradient's operand gradient (the bias gradient of the layer
//     before), becomes a fourth output of the gradient op, summed while dx
//     is written.
//
// Results agree with the unfolded ops up to float32 rounding (the ReLU
// exactly). It runs after scalarOperands, which leaves the bias a
// [1, …, C] operand and the Where's zero a scalar.
func foldIntoBatchNorm(nodes []*node, outs []*value) {
	// Only the nodes the outputs need count as readers (autodiff leaves
	// dead branches, such as the gradient of a Where's zero operand).
	nodes = liveNodes(nodes, outs)
	reads := readCounts(nodes, outs)
	for _, n := range nodes {
		if n.op == backends.OpTypeBatchNormForTraining && foldable(n) {
			foldBias(n, nodes)
			foldReLU(n, nodes, outs)
		}
	}
	for _, n := range nodes {
		if n.op != backends.OpTypeBatchNormGradient || !foldable(n) {
			continue
		}
		foldMask(n, reads)
		foldBiasGradient(n, nodes, outs)
	}
}

// foldable reports a float32 batch-norm op over its last axis, the layout
// the folded loops handle.
func foldable(n *node) bool {
	a := n.attr.(bnAttr)
	s := n.inputs[0].shape
	return s.DType == dtypes.Float32 && a.axis == s.Rank()-1
}

// featureBias returns the operand of Add node add that is a per-feature
// bias of the other operand x for feature axis axis (same rank, size 1
// on every other axis), and x; or nil, nil.
func featureBias(add *node, axis int) (x, bias *value) {
	if add.op != backends.OpTypeAdd {
		return nil, nil
	}
	out := add.outs[0].shape
	for i, in := range add.inputs {
		b, other := in, add.inputs[1-i]
		if !other.shape.Equal(out) || b.shape.Rank() != out.Rank() || b.shape.DType != out.DType {
			continue
		}
		ok := true
		for d, dim := range b.shape.Dimensions {
			ok = ok && (dim == 1 || d == axis && dim == out.Dimensions[d])
		}
		if ok && b.shape.Dimensions[axis] == out.Dimensions[axis] {
			return other, b
		}
	}
	return nil, nil
}

// foldBias folds a per-feature bias added to the operand of
// BatchNormForTraining bn, and into every BatchNormGradient of that operand
// and bn's mean.
func foldBias(bn *node, nodes []*node) {
	a := bn.attr.(bnAttr)
	v := bn.inputs[0]
	x, bias := featureBias(v.node, a.axis)
	if x == nil {
		return
	}
	bn.inputs = []*value{x, bn.inputs[1], bn.inputs[2], bias}
	a.bias = 3
	bn.attr = a
	for _, g := range nodes {
		if g.op != backends.OpTypeBatchNormGradient || g.inputs[0] != v || g.inputs[2] != bn.outs[1] {
			continue
		}
		ga := g.attr.(bnAttr)
		g.inputs = append(slices.Clone(g.inputs), bias)
		g.inputs[0] = x
		ga.bias = len(g.inputs) - 1
		g.attr = ga
	}
}

// foldMask lets BatchNormGradient g read its output gradient through a
// Where(mask, grad, 0) that nothing else reads.
func foldMask(g *node, reads map[*value]int) {
	dy := g.inputs[4]
	w := dy.node
	if w.op != backends.OpTypeWhere || reads[dy] != 1 || !isZeroConstant(w.inputs[2]) {
		return
	}
	mask, grad := w.inputs[0], w.inputs[1]
	if mask.shape.DType != dtypes.Bool || !slices.Equal(mask.shape.Dimensions, dy.shape.Dimensions) || !grad.shape.Equal(dy.shape) {
		return
	}
	a := g.attr.(bnAttr)
	g.inputs = append(slices.Clone(g.inputs), mask)
	g.inputs[4] = grad
	a.mask = len(g.inputs) - 1
	g.attr = a
}

// foldBiasGradient turns the first ReduceSum of BatchNormGradient g's
// operand gradient over every axis but the feature axis into a fourth
// output of g, and points its readers there.
func foldBiasGradient(g *node, nodes []*node, outs []*value) {
	a := g.attr.(bnAttr)
	dx := g.outs[0]
	rank := dx.shape.Rank()
	for _, r := range nodes {
		if r.op != backends.OpTypeReduceSum || r.inputs[0] != dx {
			continue
		}
		axes := slices.Sorted(slices.Values(r.attr.([]int)))
		if len(axes) != rank-1 || slices.Contains(axes, a.axis) {
			continue
		}
		sum := &value{node: g, idx: len(g.outs), shape: r.outs[0].shape}
		g.outs = append(g.outs, sum)
		a.sumDx = true
		g.attr = a
		redirect(nodes, outs, r.outs[0], sum)
		return
	}
}

// foldReLU lets BatchNormForTraining bn output ReLU(y) and the mask y > 0
// in place of y when y's only readers are a GreaterThan(y, 0) and a
// Where(that, y, 0) (nn.ReLU), and points their readers at bn's outputs.
func foldReLU(bn *node, nodes []*node, outs []*value) {
	y := bn.outs[0]
	if slices.Contains(outs, y) {
		return
	}
	var gt, where *node
	for _, n := range nodes {
		for _, in := range n.inputs {
			if in != y {
				continue
			}
			switch {
			case n.op == backends.OpTypeGreaterThan && gt == nil && n.inputs[0] == y && isZeroConstant(n.inputs[1]):
				gt = n
			case n.op == backends.OpTypeWhere && where == nil && n.inputs[1] == y && isZeroConstant(n.inputs[2]):
				where = n
			default:
				return
			}
			break
		}
	}
	if gt == nil || where == nil || where.inputs[0] != gt.outs[0] {
		return
	}
	mask := &value{node: bn, idx: len(bn.outs), shape: gt.outs[0].shape}
	bn.outs = append(bn.outs, mask)
	a := bn.attr.(bnAttr)
	a.relu = true
	bn.attr = a
	redirect(nodes, outs, where.outs[0], y)
	redirect(nodes, outs, gt.outs[0], mask)
}

// redirect points every reader of value old (nodes' inputs and graph
// outputs) at value v.
func redirect(nodes []*node, outs []*value, old, v *value) {
	for _, n := range nodes {
		for i, in := range n.inputs {
			if in == old {
				n.inputs[i] = v
			}
		}
	}
	for i, o := range outs {
		if o == old {
			outs[i] = v
		}
	}
}

// liveNodes returns the nodes that outs depend on, in order.
func liveNodes(nodes []*node, outs []*value) []*node {
	live := map[*node]bool{}
	var mark func(n *node)
	mark = func(n *node) {
		if live[n] {
			return
		}
		live[n] = true
		for _, in := range n.inputs {
			mark(in.node)
		}
	}
	for _, o := range outs {
		mark(o.node)
	}
	return slices.DeleteFunc(slices.Clone(nodes), func(n *node) bool { return !live[n] })
}
