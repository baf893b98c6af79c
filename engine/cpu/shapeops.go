package cpu

import (
	"fmt"

	"github.com/gomlx/gomlx/backends"
)

func identityKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	return []*Buffer{in[0].view(n.outs[0].shape)}, nil
}

// reshapeKernel shares the input's memory.
func reshapeKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	return []*Buffer{in[0].view(n.outs[0].shape)}, nil
}

// copyStrided copies out[i] = in[offset(i)] where the output is walked in
// row-major order over dims and the input offset moves by inStrides. The
// axes are merged first (see mergeAxes); threads take ranges of the output,
// which may start and end inside a row.
func copyStrided[T any](threads *team, out, in []T, dims, inStrides []int, base int) {
	dims, inStrides = mergeAxes(dims, inStrides)
	rank := len(dims)
	if rank == 0 {
		out[0] = in[base]
		return
	}
	inner, innerStride := dims[rank-1], inStrides[rank-1]
	parallelFor(threads, product(dims), elementGrain, func(from, to int) {
		idx := make([]int, rank)
		decode(from, dims, idx)
		off := base // input offset of the current row
		for i := range rank - 1 {
			off += idx[i] * inStrides[i]
		}
		j := idx[rank-1]
		for k := from; k < to; {
			run := min(inner-j, to-k)
			o := out[k : k+run]
			switch innerStride {
			case 1:
				copy(o, in[off+j:off+j+run])
			case 0:
				fill(o, in[off])
			default:
				p := off + j*innerStride
				for t := range o {
					o[t] = in[p]
					p += innerStride
				}
			}
			k += run
			j += run
			if j < inner {
				break
			}
			j = 0
			for i := rank - 2; i >= 0; i-- {
				idx[i]++
				off += inStrides[i]
				if idx[i] < dims[i] {
					break
				}
				off -= inStrides[i] * dims[i]
				idx[i] = 0
			}
		}
	})
}

// mergeAxes drops the size-1 axes of a row-major walk over dims and merges
// neighbours that the strides traverse as one axis, so the innermost run is
// as long as possible (e.g. a slice keeping one element of the last axis
// walks the axis before it with a stride instead of rows of one element).
func mergeAxes(dims, strides []int) ([]int, []int) {
	var md, ms []int
	for a, d := range dims {
		if d == 1 {
			continue
		}
		if k := len(md) - 1; k >= 0 && ms[k] == strides[a]*d {
			md[k] *= d
			ms[k] = strides[a]
			continue
		}
		md = append(md, d)
		ms = append(ms, strides[a])
	}
	if len(md) == 0 && len(dims) > 0 {
		return []int{1}, []int{0}
	}
	return md, ms
}

// stridedCopy dispatches copyStrided on the element type.
func stridedCopy(threads *team, out, in any, dims, inStrides []int, base int) error {
	switch o := out.(type) {
	case []float32:
		copyStrided(threads, o, in.([]float32), dims, inStrides, base)
	case []float64:
		copyStrided(threads, o, in.([]float64), dims, inStrides, base)
	case []int32:
		copyStrided(threads, o, in.([]int32), dims, inStrides, base)
	case []int64:
		copyStrided(threads, o, in.([]int64), dims, inStrides, base)
	case []uint32:
		copyStrided(threads, o, in.([]uint32), dims, inStrides, base)
	case []uint64:
		copyStrided(threads, o, in.([]uint64), dims, inStrides, base)
	case []uint8:
		copyStrided(threads, o, in.([]uint8), dims, inStrides, base)
	case []int8:
		copyStrided(threads, o, in.([]int8), dims, inStrides, base)
	case []int16:
		copyStrided(threads, o, in.([]int16), dims, inStrides, base)
	case []uint16:
		copyStrided(threads, o, in.([]uint16), dims, inStrides, base)
	case []bool:
		copyStrided(threads, o, in.([]bool), dims, inStrides, base)
	default:
		return fmt.Errorf("unsupported element type %T", out)
	}
	return nil
}

func transposeKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	perm := n.attr.([]int)
	out := x.alloc(n.outs[0].shape)
	src := strides(in[0].shape.Dimensions)
	st := make([]int, len(perm))
	for i, p := range perm {
		st[i] = src[p]
	}
	return []*Buffer{out}, stridedCopy(x.b.team, out.flat, in[0].flat, out.shape.Dimensions, st, 0)
}

func broadcastInDimKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	axes := n.attr.([]int)
	out := x.alloc(n.outs[0].shape)
	src := strides(in[0].shape.Dimensions)
	st := make([]int, out.shape.Rank())
	for i, a := range axes {
		if in[0].shape.Dimensions[i] != 1 {
			st[a] = src[i]
		}
	}
	return []*Buffer{out}, stridedCopy(x.b.team, out.flat, in[0].flat, out.shape.Dimensions, st, 0)
}

func sliceKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(sliceAttr)
	out := x.alloc(n.outs[0].shape)
	src := strides(in[0].shape.Dimensions)
	st := make([]int, len(src))
	base := 0
	for i := range src {
		st[i] = src[i] * a.strides[i]
		base += a.starts[i] * src[i]
	}
	if out.shape.Size() == 0 {
		return []*Buffer{out}, nil
	}
	return []*Buffer{out}, stridedCopy(x.b.team, out.flat, in[0].flat, out.shape.Dimensions, st, base)
}

func reverseKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	axes := n.attr.([]int)
	out := x.alloc(n.outs[0].shape)
	dims := in[0].shape.Dimensions
	st := strides(dims)
	base := 0
	for _, a := range axes {
		base += (dims[a] - 1) * st[a]
		st[a] = -st[a]
	}
	if out.shape.Size() == 0 {
		return []*Buffer{out}, nil
	}
	return []*Buffer{out}, stridedCopy(x.b.team, out.flat, in[0].flat, dims, st, base)
}

// writeStrided copies in (row-major over dims) into out at base with
// outStrides, after merging axes (see mergeAxes), a run of the innermost
// axis at a time.
func writeStrided[T any](out, in []T, dims, outStrides []int, base int) {
	dims, outStrides = mergeAxes(dims, outStrides)
	rank := len(dims)
	if rank == 0 {
		out[base] = in[0]
		return
	}
	inner, innerStride := dims[rank-1], outStrides[rank-1]
	idx := make([]int, rank-1)
	off := base
	for r := 0; r < len(in); r += inner {
		row := in[r : r+inner]
		if innerStride == 1 {
			copy(out[off:off+inner], row)
		} else {
			for j, v := range row {
				out[off+j*innerStride] = v
			}
		}
		off = nextIndex(idx[:rank-1], dims, outStrides, off)
	}
}

func concatenateKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	axis := n.attr.(int)
	out := x.alloc(n.outs[0].shape)
	od := out.shape.Dimensions
	outer := product(od[:axis])
	inner := product(od[axis+1:])
	rowOut := od[axis] * inner
	start := 0
	for _, b := range in {
		w := b.shape.Dimensions[axis] * inner
		if err := copyRows(out.flat, b.flat, outer, w, rowOut, start); err != nil {
			return nil, err
		}
		start += w
	}
	return []*Buffer{out}, nil
}

// copyRows copies rows of width w from in (packed) into out at column start
// of rows of width rowOut.
func copyRows(out, in any, rows, w, rowOut, start int) error {
	switch o := out.(type) {
	case []float32:
		rowsCopy(o, in.([]float32), rows, w, rowOut, start)
	case []float64:
		rowsCopy(o, in.([]float64), rows, w, rowOut, start)
	case []int32:
		rowsCopy(o, in.([]int32), rows, w, rowOut, start)
	case []int64:
		rowsCopy(o, in.([]int64), rows, w, rowOut, start)
	case []uint32:
		rowsCopy(o, in.([]uint32), rows, w, rowOut, start)
	case []uint64:
		rowsCopy(o, in.([]uint64), rows, w, rowOut, start)
	case []uint8:
		rowsCopy(o, in.([]uint8), rows, w, rowOut, start)
	case []bool:
		rowsCopy(o, in.([]bool), rows, w, rowOut, start)
	default:
		return fmt.Errorf("unsupported element type %T", out)
	}
	return nil
}

func rowsCopy[T any](o, in []T, rows, w, rowOut, start int) {
	if w == 1 {
		for r, v := range in[:rows] {
			o[r*rowOut+start] = v
		}
		return
	}
	if w < 16 {
		// Narrow rows: a loop beats a copy call per row.
		for r := range rows {
			dst, src := o[r*rowOut+start:r*rowOut+start+w], in[r*w:(r+1)*w]
			for j, v := range src {
				dst[j] = v
			}
		}
		return
	}
	for r := range rows {
		copy(o[r*rowOut+start:r*rowOut+start+w], in[r*w:(r+1)*w])
	}
}

func padKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	cfg := n.attr.([]backends.PadAxis)
	out := x.alloc(n.outs[0].shape)
	switch o := out.flat.(type) {
	case []float32:
		pad(o, in[0].flat.([]float32), in[1].flat.([]float32)[0], in[0].shape.Dimensions, out.shape.Dimensions, cfg)
	case []float64:
		pad(o, in[0].flat.([]float64), in[1].flat.([]float64)[0], in[0].shape.Dimensions, out.shape.Dimensions, cfg)
	case []int32:
		pad(o, in[0].flat.([]int32), in[1].flat.([]int32)[0], in[0].shape.Dimensions, out.shape.Dimensions, cfg)
	case []int64:
		pad(o, in[0].flat.([]int64), in[1].flat.([]int64)[0], in[0].shape.Dimensions, out.shape.Dimensions, cfg)
	case []bool:
		pad(o, in[0].flat.([]bool), in[1].flat.([]bool)[0], in[0].shape.Dimensions, out.shape.Dimensions, cfg)
	default:
		return nil, fmt.Errorf("Pad is not implemented for %s", out.shape.DType)
	}
	return []*Buffer{out}, nil
}

// pad fills out with fill and writes each input element at its padded
// position, skipping those cropped away by negative padding. Without
// interior or negative padding the input is one block of the output,
// written row by row.
func pad[T any](out, in []T, fillValue T, inDims, outDims []int, cfg []backends.PadAxis) {
	fill(out, fillValue)
	rank := len(inDims)
	if len(in) == 0 {
		return
	}
	if edgesOnly(cfg) {
		ost := strides(outDims)
		base := 0
		for a, c := range cfg {
			base += c.Start * ost[a]
		}
		writeStrided(out, in, inDims, ost, base)
		return
	}
	ost := strides(outDims)
	idx := make([]int, rank)
	for i := range in {
		off, ok := 0, true
		for a := range rank {
			p := cfg[a].Start + idx[a]*(cfg[a].Interior+1)
			if p < 0 || p >= outDims[a] {
				ok = false
				break
			}
			off += p * ost[a]
		}
		if ok {
			out[off] = in[i]
		}
		for a := rank - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < inDims[a] {
				break
			}
			idx[a] = 0
		}
	}
}

// edgesOnly reports whether a padding adds only non-negative edges.
func edgesOnly(cfg []backends.PadAxis) bool {
	for _, c := range cfg {
		if c.Interior != 0 || c.Start < 0 || c.End < 0 {
			return false
		}
	}
	return true
}

func iotaKernel(x *execution, n *node, _ []*Buffer) ([]*Buffer, error) {
	axis := n.attr.(int)
	out := x.alloc(n.outs[0].shape)
	dims := out.shape.Dimensions
	inner := product(dims[axis+1:])
	d := dims[axis]
	idx := func(i int) int { return (i / inner) % d }
	switch o := out.flat.(type) {
	case []float32:
		for i := range o {
			o[i] = float32(idx(i))
		}
	case []float64:
		for i := range o {
			o[i] = float64(idx(i))
		}
	case []int32:
		for i := range o {
			o[i] = int32(idx(i))
		}
	case []int64:
		for i := range o {
			o[i] = int64(idx(i))
		}
	case []uint32:
		for i := range o {
			o[i] = uint32(idx(i))
		}
	case []uint64:
		for i := range o {
			o[i] = uint64(idx(i))
		}
	default:
		return nil, fmt.Errorf("Iota is not implemented for %s", out.shape.DType)
	}
	return []*Buffer{out}, nil
}

// nextIndex advances the multi-index idx over dims[:len(idx)], last axis
// fastest, and returns the offset off moved along by strides to match.
func nextIndex(idx, dims, strides []int, off int) int {
	for a := len(idx) - 1; a >= 0; a-- {
		idx[a]++
		off += strides[a]
		if idx[a] < dims[a] {
			return off
		}
		off -= strides[a] * dims[a]
		idx[a] = 0
	}
	return off
}
