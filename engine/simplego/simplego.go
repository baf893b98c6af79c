// Package simplego wraps GoMLX's pure-Go "SimpleGo" backend so that it can
// train convolutional networks.
//
// GoMLX v0.26.0's SimpleGo lacks the ops that reverse-mode autodiff emits for
// convolutions (Reverse) and for slicing (Pad), and its ConvGeneral rejects the
// nil strides and kernel dilations that the convolution gradient passes. The
// Builder here supplies Reverse and Pad from existing ops and fills the nil
// parameters before delegating. Everything else is SimpleGo unchanged.
//
// For max-pooling gradients it also supplies SelectAndScatterMax for
// non-overlapping windows, the case 2×2/stride-2 pooling produces, and it
// composes the batch-norm training ops (BatchNormForTraining and its
// gradient) from primitive ops.
//
// The wrapper is slow (SimpleGo convolutions are a direct loop) and exists as
// an independent reference: cotrain's fast "cpu" backend is tested op by op
// against it, and gradient checks run on it in float64.
package simplego

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/backends"
	gsimplego "github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Name is the name cotrain uses for this backend.
const Name = "simplego"

// Backend is SimpleGo with the missing training ops supplied.
type Backend struct {
	backends.Backend
}

// New returns a wrapped SimpleGo backend. The config string is passed to
// SimpleGo (e.g. "parallelism=2"). Unless it chooses otherwise, ops run
// one at a time: SimpleGo v0.26.0's parallel op scheduler has data races
// (found with go test -race), and as a reference backend it need not be fast.
func New(config string) (*Backend, error) {
	if !strings.Contains(config, "ops_") {
		config = strings.TrimPrefix(config+",ops_sequential", ",")
	}
	b, err := gsimplego.New(config)
	if err != nil {
		return nil, fmt.Errorf("creating SimpleGo backend: %w", err)
	}
	return &Backend{Backend: b}, nil
}

// Name implements backends.Backend.
func (b *Backend) Name() string { return Name }

// String implements backends.Backend.
func (b *Backend) String() string { return Name }

// Description implements backends.Backend.
func (b *Backend) Description() string {
	return "GoMLX SimpleGo (pure Go) with Reverse, Pad and the ConvGeneral fixes supplied by cotrain"
}

// Capabilities implements backends.Backend: SimpleGo's plus the supplied ops.
func (b *Backend) Capabilities() backends.Capabilities {
	c := b.Backend.Capabilities().Clone()
	c.Operations[backends.OpTypeReverse] = true
	c.Operations[backends.OpTypePad] = true
	c.Operations[backends.OpTypeSelectAndScatterMax] = true
	c.Operations[backends.OpTypeBatchNormForTraining] = true
	c.Operations[backends.OpTypeBatchNormGradient] = true
	return c
}

// Builder implements backends.Backend.
func (b *Backend) Builder(name string) backends.Builder {
	return &Builder{Builder: b.Backend.Builder(name)}
}

// Builder is SimpleGo's builder with Reverse, Pad and a fixed ConvGeneral.
type Builder struct {
	backends.Builder
}

// ConvGeneral implements backends.Builder. It replaces nil strides, input
// dilations and kernel dilations with ones (SimpleGo treats a nil stride as 0
// and indexes a nil kernel dilation) and delegates to SimpleGo.
func (b *Builder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig,
	strides []int, paddings [][2]int, inputDilations, kernelDilations []int,
	channelGroupCount, batchGroupCount int) (backends.Op, error) {
	n := len(axes.InputSpatial)
	return b.Builder.ConvGeneral(input, kernel, axes, ones(strides, n), paddings,
		ones(inputDilations, n), ones(kernelDilations, n), channelGroupCount, batchGroupCount)
}

// ones returns s with zero entries set to 1, or n ones if s is empty.
func ones(s []int, n int) []int {
	if len(s) == 0 {
		s = make([]int, n)
	} else {
		s = slices.Clone(s)
	}
	for i, v := range s {
		if v <= 0 {
			s[i] = 1
		}
	}
	return s
}

// Reverse implements backends.Builder by slicing each reversed axis into
// unit slices and concatenating them in reverse order. It is meant for the
// small kernel axes the convolution gradient reverses.
func (b *Builder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	for _, axis := range axes {
		if axis < 0 || axis >= shape.Rank() {
			return nil, fmt.Errorf("Reverse: axis %d out of range for shape %s", axis, shape)
		}
		n := shape.Dimensions[axis]
		if n <= 1 {
			continue
		}
		parts := make([]backends.Op, n)
		for i := range n {
			starts, limits := fullRange(shape)
			starts[axis], limits[axis] = i, i+1
			if parts[n-1-i], err = b.Slice(x, starts, limits, unitStrides(len(starts))); err != nil {
				return nil, err
			}
		}
		if x, err = b.Concatenate(axis, parts...); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// Pad implements backends.Builder: per axis, interior padding by interleaving
// with the fill value, negative edge padding by slicing and positive edge
// padding by concatenating the fill value.
func (b *Builder) Pad(x, fill backends.Op, axesConfig ...backends.PadAxis) (backends.Op, error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if len(axesConfig) > shape.Rank() {
		return nil, fmt.Errorf("Pad: %d axis configurations for shape %s", len(axesConfig), shape)
	}
	for axis, cfg := range axesConfig {
		if cfg.Interior < 0 {
			return nil, fmt.Errorf("Pad: negative interior padding %d on axis %d", cfg.Interior, axis)
		}
		if cfg.Interior > 0 && shape.Dimensions[axis] > 1 {
			if x, err = b.padInterior(x, fill, axis, cfg.Interior); err != nil {
				return nil, err
			}
		}
		if x, err = b.padEdge(x, fill, axis, cfg.Start, true); err != nil {
			return nil, err
		}
		if x, err = b.padEdge(x, fill, axis, cfg.End, false); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// padInterior inserts k fill values between consecutive elements of axis.
func (b *Builder) padInterior(x, fill backends.Op, axis, k int) (backends.Op, error) {
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	n := shape.Dimensions[axis]
	// [.., n, ..] -> [.., n, 1, ..], concat fill [.., n, k, ..] -> [.., n*(1+k), ..] -> drop the last k.
	expanded := slices.Insert(slices.Clone(shape.Dimensions), axis+1, 1)
	if x, err = b.Reshape(x, expanded...); err != nil {
		return nil, err
	}
	fillDims := slices.Clone(expanded)
	fillDims[axis+1] = k
	f, err := b.BroadcastInDim(fill, shapes.Make(shape.DType, fillDims...), nil)
	if err != nil {
		return nil, err
	}
	if x, err = b.Concatenate(axis+1, x, f); err != nil {
		return nil, err
	}
	merged := slices.Clone(shape.Dimensions)
	merged[axis] = n * (1 + k)
	if x, err = b.Reshape(x, merged...); err != nil {
		return nil, err
	}
	starts, limits := fullRange(shapes.Make(shape.DType, merged...))
	limits[axis] -= k
	return b.Slice(x, starts, limits, unitStrides(len(starts)))
}

// padEdge pads (amount > 0) or crops (amount < 0) one end of axis.
func (b *Builder) padEdge(x, fill backends.Op, axis, amount int, atStart bool) (backends.Op, error) {
	if amount == 0 {
		return x, nil
	}
	shape, err := b.OpShape(x)
	if err != nil {
		return nil, err
	}
	if amount < 0 {
		starts, limits := fullRange(shape)
		if atStart {
			starts[axis] = -amount
		} else {
			limits[axis] += amount
		}
		if starts[axis] > limits[axis] {
			return nil, fmt.Errorf("Pad: cropping %d from axis %d of shape %s", -amount, axis, shape)
		}
		return b.Slice(x, starts, limits, unitStrides(len(starts)))
	}
	fillDims := slices.Clone(shape.Dimensions)
	fillDims[axis] = amount
	f, err := b.BroadcastInDim(fill, shapes.Make(shape.DType, fillDims...), nil)
	if err != nil {
		return nil, err
	}
	if atStart {
		return b.Concatenate(axis, f, x)
	}
	return b.Concatenate(axis, x, f)
}

func fullRange(shape shapes.Shape) (starts, limits []int) {
	return make([]int, shape.Rank()), slices.Clone(shape.Dimensions)
}

func unitStrides(n int) []int { return ones(nil, n) }

// SelectAndScatterMax implements backends.Builder for non-overlapping
// windows (strides equal to the window and no padding): each window's
// source value goes to the position of the window's first maximum, XLA's
// rule for ties. Positions outside every window receive zero.
func (b *Builder) SelectAndScatterMax(operand, source backends.Op, window, strides []int, paddings [][2]int) (backends.Op, error) {
	shape, err := b.OpShape(operand)
	if err != nil {
		return nil, err
	}
	rank := shape.Rank()
	for i := range rank {
		if strides[i] != window[i] || (len(paddings) > 0 && paddings[i] != [2]int{}) {
			return nil, fmt.Errorf("SelectAndScatterMax: the SimpleGo wrapper supports only non-overlapping windows "+
				"without padding, got window %v strides %v paddings %v", window, strides, paddings)
		}
	}
	// Crop to whole windows, then split each axis into (windows, offset) and
	// move the offsets last: [w0, .., wr, o0, .., or].
	starts, limits := fullRange(shape)
	var split, perm []int
	wins := 1
	for i, d := range shape.Dimensions {
		limits[i] = d / window[i] * window[i]
		split = append(split, d/window[i], window[i])
		perm = append(perm, 2*i)
		wins *= window[i]
	}
	for i := range rank {
		perm = append(perm, 2*i+1)
	}
	x, err := b.Slice(operand, starts, limits, unitStrides(rank))
	if err != nil {
		return nil, err
	}
	if x, err = b.Reshape(x, split...); err != nil {
		return nil, err
	}
	if x, err = b.Transpose(x, perm...); err != nil {
		return nil, err
	}
	counts := make([]int, rank)
	for i := range rank {
		counts[i] = split[2*i]
	}
	flat := append(slices.Clone(counts), wins)
	if x, err = b.Reshape(x, flat...); err != nil {
		return nil, err
	}
	mx, err := b.ReduceMax(x, rank)
	if err != nil {
		return nil, err
	}
	flatShape := shapes.Make(shape.DType, flat...)
	keep := make([]int, rank)
	for i := range keep {
		keep[i] = i
	}
	mxb, err := b.BroadcastInDim(mx, flatShape, keep)
	if err != nil {
		return nil, err
	}
	isMax, err := b.Equal(x, mxb)
	if err != nil {
		return nil, err
	}
	// first[k] = isMax[k] && no isMax[j] for j < k: count maxima up to k with
	// a lower-triangular matrix product and keep the positions where the count is 1.
	ones, err := b.ConvertDType(isMax, shape.DType)
	if err != nil {
		return nil, err
	}
	tri := make([]float64, wins*wins)
	for j := range wins {
		for k := j; k < wins; k++ {
			tri[j*wins+k] = 1
		}
	}
	triOp, err := b.constant(tri, shape, wins, wins)
	if err != nil {
		return nil, err
	}
	cum, err := b.DotGeneral(ones, []int{rank}, nil, triOp, []int{0}, nil)
	if err != nil {
		return nil, err
	}
	one, err := b.constant([]float64{1}, shape)
	if err != nil {
		return nil, err
	}
	oneB, err := b.BroadcastInDim(one, flatShape, nil)
	if err != nil {
		return nil, err
	}
	isFirstCount, err := b.Equal(cum, oneB)
	if err != nil {
		return nil, err
	}
	first, err := b.LogicalAnd(isMax, isFirstCount)
	if err != nil {
		return nil, err
	}
	src, err := b.BroadcastInDim(source, flatShape, keep)
	if err != nil {
		return nil, err
	}
	zero, err := b.constant([]float64{0}, shape)
	if err != nil {
		return nil, err
	}
	zeros, err := b.BroadcastInDim(zero, flatShape, nil)
	if err != nil {
		return nil, err
	}
	out, err := b.Where(first, src, zeros)
	if err != nil {
		return nil, err
	}
	// Undo the layout: [w.., o..] -> [w0, o0, w1, o1, ..] -> cropped shape.
	unflat := append(slices.Clone(counts), window...)
	if out, err = b.Reshape(out, unflat...); err != nil {
		return nil, err
	}
	inv := make([]int, 2*rank)
	for i, p := range perm {
		inv[p] = i
	}
	if out, err = b.Transpose(out, inv...); err != nil {
		return nil, err
	}
	if out, err = b.Reshape(out, limits...); err != nil {
		return nil, err
	}
	cfg := make([]backends.PadAxis, rank)
	for i, d := range shape.Dimensions {
		cfg[i].End = d - limits[i]
	}
	return b.Pad(out, zero, cfg...)
}

// constant adds a float constant of shape's dtype.
func (b *Builder) constant(values []float64, shape shapes.Shape, dims ...int) (backends.Op, error) {
	switch shape.DType {
	case dtypes.Float32:
		out := make([]float32, len(values))
		for i, v := range values {
			out[i] = float32(v)
		}
		return b.Constant(out, dims...)
	case dtypes.Float64:
		return b.Constant(values, dims...)
	}
	return nil, fmt.Errorf("SelectAndScatterMax: unsupported dtype %s", shape.DType)
}
