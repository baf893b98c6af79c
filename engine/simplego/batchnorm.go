package simplego

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// opChain builds a sequence of ops, keeping the first error.
type opChain struct {
	b   *Builder
	err error
}

func (c *opChain) do(f func() (backends.Op, error)) backends.Op {
	if c.err != nil {
		return nil
	}
	op, err := f()
	c.err = err
	return op
}

// bnPieces are the shared pieces of the batch-norm ops.
type bnPieces struct {
	shape  shapes.Shape
	axes   []int // all but the feature axis
	count  float64
	bcast  func(perFeature backends.Op) backends.Op
	scalar func(v float64) backends.Op
}

func (b *Builder) bnSetup(c *opChain, operand backends.Op, axis int) bnPieces {
	var p bnPieces
	p.shape, c.err = b.OpShape(operand)
	if c.err != nil {
		return p
	}
	p.count = 1
	for a, d := range p.shape.Dimensions {
		if a != axis {
			p.axes = append(p.axes, a)
			p.count *= float64(d)
		}
	}
	p.bcast = func(v backends.Op) backends.Op {
		return c.do(func() (backends.Op, error) { return b.BroadcastInDim(v, p.shape, []int{axis}) })
	}
	p.scalar = func(v float64) backends.Op {
		feat := shapes.Make(p.shape.DType, p.shape.Dimensions[axis])
		k := c.do(func() (backends.Op, error) { return b.constant([]float64{v}, p.shape) })
		return c.do(func() (backends.Op, error) { return b.BroadcastInDim(k, feat, nil) })
	}
	return p
}

// BatchNormForTraining implements backends.Builder from primitive ops:
// normalize with the batch mean and biased variance of each feature.
func (b *Builder) BatchNormForTraining(operand, scale, offset backends.Op, epsilon float32, axis int) (backends.Op, backends.Op, backends.Op, error) {
	c := &opChain{b: b}
	p := b.bnSetup(c, operand, axis)
	sum := c.do(func() (backends.Op, error) { return b.ReduceSum(operand, p.axes...) })
	mean := c.do(func() (backends.Op, error) { return b.Div(sum, p.scalar(p.count)) })
	centered := c.do(func() (backends.Op, error) { return b.Sub(operand, p.bcast(mean)) })
	sq := c.do(func() (backends.Op, error) { return b.Mul(centered, centered) })
	ssum := c.do(func() (backends.Op, error) { return b.ReduceSum(sq, p.axes...) })
	variance := c.do(func() (backends.Op, error) { return b.Div(ssum, p.scalar(p.count)) })
	veps := c.do(func() (backends.Op, error) { return b.Add(variance, p.scalar(float64(epsilon))) })
	inv := c.do(func() (backends.Op, error) { return b.Rsqrt(veps) })
	k := c.do(func() (backends.Op, error) { return b.Mul(inv, scale) })
	scaled := c.do(func() (backends.Op, error) { return b.Mul(centered, p.bcast(k)) })
	out := c.do(func() (backends.Op, error) { return b.Add(scaled, p.bcast(offset)) })
	return out, mean, variance, c.err
}

// BatchNormGradient implements backends.Builder from primitive ops:
// dx = scale/σ·(dy − mean(dy) − x̂·mean(dy·x̂)), dscale = Σ dy·x̂, doffset = Σ dy.
func (b *Builder) BatchNormGradient(operand, scale, mean, variance, grad backends.Op, epsilon float32, axis int) (backends.Op, backends.Op, backends.Op, error) {
	c := &opChain{b: b}
	p := b.bnSetup(c, operand, axis)
	veps := c.do(func() (backends.Op, error) { return b.Add(variance, p.scalar(float64(epsilon))) })
	inv := c.do(func() (backends.Op, error) { return b.Rsqrt(veps) })
	centered := c.do(func() (backends.Op, error) { return b.Sub(operand, p.bcast(mean)) })
	xhat := c.do(func() (backends.Op, error) { return b.Mul(centered, p.bcast(inv)) })
	dOffset := c.do(func() (backends.Op, error) { return b.ReduceSum(grad, p.axes...) })
	gx := c.do(func() (backends.Op, error) { return b.Mul(grad, xhat) })
	dScale := c.do(func() (backends.Op, error) { return b.ReduceSum(gx, p.axes...) })
	meanG := c.do(func() (backends.Op, error) { return b.Div(dOffset, p.scalar(p.count)) })
	meanGX := c.do(func() (backends.Op, error) { return b.Div(dScale, p.scalar(p.count)) })
	t := c.do(func() (backends.Op, error) { return b.Mul(xhat, p.bcast(meanGX)) })
	d := c.do(func() (backends.Op, error) { return b.Sub(grad, p.bcast(meanG)) })
	d = c.do(func() (backends.Op, error) { return b.Sub(d, t) })
	k := c.do(func() (backends.Op, error) { return b.Mul(scale, inv) })
	dx := c.do(func() (backends.Op, error) { return b.Mul(d, p.bcast(k)) })
	return dx, dScale, dOffset, c.err
}
