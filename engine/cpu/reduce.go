package cpu

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/backends"
)

// reducePlan merges adjacent input axes of the same kind (kept or reduced)
// into groups.
type reducePlan struct {
	dims    []int  // group sizes, outermost first
	reduced []bool // whether each group is reduced
	ostride []int  // output stride of each kept group (0 for reduced)
	outSize int
}

func planReduce(inDims, axes []int) reducePlan {
	var p reducePlan
	for a, d := range inDims {
		r := slices.Contains(axes, a)
		if d == 1 {
			continue // size-1 axes change nothing
		}
		if k := len(p.dims); k > 0 && p.reduced[k-1] == r {
			p.dims[k-1] *= d
			continue
		}
		p.dims = append(p.dims, d)
		p.reduced = append(p.reduced, r)
	}
	if len(p.dims) == 0 {
		p.dims, p.reduced = []int{1}, []bool{false}
	}
	p.ostride = make([]int, len(p.dims))
	s := 1
	for g := len(p.dims) - 1; g >= 0; g-- {
		if !p.reduced[g] {
			p.ostride[g] = s
			s *= p.dims[g]
		}
	}
	p.outSize = s
	return p
}

// reduceOps combine values into accumulators of type A.
type reduceOps[T, A any] struct {
	init    A
	combine func(acc A, v T) A
	merge   func(a, b A) A
	finish  func(a A) T
}

func floatReduce[T floating](op backends.OpType) (reduceOps[T, float64], bool) {
	switch op {
	case backends.OpTypeReduceSum:
		return reduceOps[T, float64]{0, func(a float64, v T) float64 { return a + float64(v) },
			func(a, b float64) float64 { return a + b }, func(a float64) T { return T(a) }}, true
	case backends.OpTypeReduceProduct:
		return reduceOps[T, float64]{1, func(a float64, v T) float64 { return a * float64(v) },
			func(a, b float64) float64 { return a * b }, func(a float64) T { return T(a) }}, true
	case backends.OpTypeReduceMax:
		return reduceOps[T, float64]{math.Inf(-1), func(a float64, v T) float64 { return maxOf(a, float64(v)) },
			maxOf[float64], func(a float64) T { return T(a) }}, true
	case backends.OpTypeReduceMin:
		return reduceOps[T, float64]{math.Inf(1), func(a float64, v T) float64 { return minOf(a, float64(v)) },
			minOf[float64], func(a float64) T { return T(a) }}, true
	}
	return reduceOps[T, float64]{}, false
}

func intReduce[T integer](op backends.OpType) (reduceOps[T, T], bool) {
	var lo, hi T
	hi = ^lo
	if hi < lo { // signed: ^0 is −1
		hi = T(uint64(1)<<(8*sizeOf[T]()-1) - 1)
		lo = ^hi
	}
	switch op {
	case backends.OpTypeReduceSum:
		return reduceOps[T, T]{0, func(a, v T) T { return a + v }, func(a, b T) T { return a + b }, func(a T) T { return a }}, true
	case backends.OpTypeReduceProduct:
		return reduceOps[T, T]{1, func(a, v T) T { return a * v }, func(a, b T) T { return a * b }, func(a T) T { return a }}, true
	case backends.OpTypeReduceMax:
		return reduceOps[T, T]{lo, maxOf[T], maxOf[T], func(a T) T { return a }}, true
	case backends.OpTypeReduceMin:
		return reduceOps[T, T]{hi, minOf[T], minOf[T], func(a T) T { return a }}, true
	}
	return reduceOps[T, T]{}, false
}

func boolReduce(op backends.OpType) (reduceOps[bool, bool], bool) {
	switch op {
	case backends.OpTypeReduceLogicalAnd, backends.OpTypeReduceMin, backends.OpTypeReduceProduct:
		and := func(a, b bool) bool { return a && b }
		return reduceOps[bool, bool]{true, and, and, func(a bool) bool { return a }}, true
	case backends.OpTypeReduceLogicalOr, backends.OpTypeReduceMax, backends.OpTypeReduceSum:
		or := func(a, b bool) bool { return a || b }
		return reduceOps[bool, bool]{false, or, or, func(a bool) bool { return a }}, true
	}
	return reduceOps[bool, bool]{}, false
}

// runReduce reduces in (row-major over plan's groups) into out.
func runReduce[T, A any](threads *team, p reducePlan, ops reduceOps[T, A], in, out []T) {
	g := len(p.dims)
	inner := p.dims[g-1]
	innerReduced := p.reduced[g-1]
	rows := len(in) / max(inner, 1)
	outer := p.dims[:g-1]

	work := func(acc []A, from, to int) {
		idx := make([]int, len(outer))
		rem := from
		for i := len(outer) - 1; i >= 0; i-- {
			idx[i] = rem % outer[i]
			rem /= outer[i]
		}
		off := 0
		for i := range outer {
			off += idx[i] * p.ostride[i]
		}
		for r := from; r < to; r++ {
			row := in[r*inner : (r+1)*inner]
			if innerReduced {
				a := acc[off]
				for _, v := range row {
					a = ops.combine(a, v)
				}
				acc[off] = a
			} else {
				dst := acc[off : off+inner]
				for j, v := range row {
					dst[j] = ops.combine(dst[j], v)
				}
			}
			for i := len(outer) - 1; i >= 0; i-- {
				idx[i]++
				off += p.ostride[i]
				if idx[i] < outer[i] {
					break
				}
				off -= p.ostride[i] * outer[i]
				idx[i] = 0
			}
		}
	}
	newAcc := func() []A {
		a := make([]A, p.outSize)
		for i := range a {
			a[i] = ops.init
		}
		return a
	}
	parts, per := reduceSplit(rows, max(1, elementGrain/max(inner, 1)))
	if parts <= 1 {
		acc := newAcc()
		work(acc, 0, rows)
		for i, a := range acc {
			out[i] = ops.finish(a)
		}
		return
	}
	accs := make([][]A, parts)
	parallelParts(threads, rows, parts, per, func(t, from, to int) {
		accs[t] = newAcc()
		work(accs[t], from, to)
	})
	for i := range out {
		a := accs[0][i]
		for t := 1; t < parts; t++ {
			a = ops.merge(a, accs[t][i])
		}
		out[i] = ops.finish(a)
	}
}

func reduceKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	p := planReduce(in[0].shape.Dimensions, n.attr.([]int))
	out := x.alloc(n.outs[0].shape)
	th := x.b.team
	ok := false
	switch o := out.flat.(type) {
	case []float32:
		ok = reduceFloat(th, n.op, p, in[0].flat.([]float32), o)
	case []float64:
		ok = reduceFloat(th, n.op, p, in[0].flat.([]float64), o)
	case []int32:
		ok = reduceInt(th, n.op, p, in[0].flat.([]int32), o)
	case []int64:
		ok = reduceInt(th, n.op, p, in[0].flat.([]int64), o)
	case []uint32:
		ok = reduceInt(th, n.op, p, in[0].flat.([]uint32), o)
	case []uint64:
		ok = reduceInt(th, n.op, p, in[0].flat.([]uint64), o)
	case []bool:
		var ops reduceOps[bool, bool]
		if ops, ok = boolReduce(n.op); ok {
			runReduce(th, p, ops, in[0].flat.([]bool), o)
		}
	}
	if !ok {
		x.b.release(out)
		return nil, fmt.Errorf("%s is not implemented for %s", n.op, out.shape.DType)
	}
	return []*Buffer{out}, nil
}

// reduceFloat runs float reductions with inlined loops (sum, max, min) or
// the generic reducer (product).
func reduceFloat[T floating](th *team, op backends.OpType, p reducePlan, in, out []T) bool {
	kind := -1
	switch op {
	case backends.OpTypeReduceSum:
		kind = 0
	case backends.OpTypeReduceMax:
		kind = 1
	case backends.OpTypeReduceMin:
		kind = 2
	}
	if kind < 0 {
		ops, ok := floatReduce[T](op)
		if ok {
			runReduce(th, p, ops, in, out)
		}
		return ok
	}
	if in32, ok := any(in).([]float32); ok && kind == 0 {
		sum32(th, p, in32, any(out).([]float32))
		return true
	}
	ops, _ := floatReduce[T](op)
	rowFn := func(acc []float64, off int, row []T, innerReduced bool) {
		if innerReduced {
			a := acc[off]
			switch kind {
			case 0:
				for _, v := range row {
					a += float64(v)
				}
			case 1:
				for _, v := range row {
					a = maxOf(a, float64(v))
				}
			default:
				for _, v := range row {
					a = minOf(a, float64(v))
				}
			}
			acc[off] = a
			return
		}
		dst := acc[off : off+len(row)]
		switch kind {
		case 0:
			for j, v := range row {
				dst[j] += float64(v)
			}
		case 1:
			for j, v := range row {
				dst[j] = maxOf(dst[j], float64(v))
			}
		default:
			for j, v := range row {
				dst[j] = minOf(dst[j], float64(v))
			}
		}
	}
	reduceRows(th, p, ops.init, in, out, rowFn, ops.merge)
	return true
}

// sum32 is ReduceSum of float32, accumulated in float64 with vector loops
// (column sums of narrow rows in float32 blocks of rows first).
// Rows (the innermost axes reduced, the others kept) are summed one per
// output element. When the innermost axes are kept and wide, threads own
// disjoint column blocks of the output and add every input row's slice of
// their block, so the accumulators stay in cache and need no merging;
// otherwise reduceRows splits the rows. A row's elements are added in 16
// float64 lanes, so results can differ from a sequential float64 sum in the
// last bits of float64, far below float32 precision.
func sum32(threads *team, p reducePlan, in, out []float32) {
	g := len(p.dims)
	inner := p.dims[g-1]
	if g == 2 && !p.reduced[0] && p.reduced[1] {
		// Rows summed into one output each: no accumulators to merge.
		parallelFor(threads, len(out), max(1, elementGrain/max(inner, 1)), func(from, to int) {
			var sums [256]float64
			for r := from; r < to; r += len(sums) {
				s := sums[:min(len(sums), to-r)]
				clear(s)
				addRowSums(s, in[r*inner:(r+len(s))*inner], inner)
				for j, v := range s {
					out[r+j] = float32(v)
				}
			}
		})
		return
	}
	if g == 2 && p.reduced[0] && !p.reduced[1] && inner < sumColumnsMin && inner%8 == 0 && hasAVX2 {
		// Column sums of narrow rows (the bias gradient of an NHWC layer):
		// blocks of rows summed in float32 vector registers, the blocks'
		// sums added in float64, as batch norm's statistics are.
		sums := channelSums(threads, nil, len(in)/inner, inner, 0, func(s, _, _ []float32, from, to int) {
			colSums(s, in[from*inner:to*inner], inner)
		})
		for i, s := range sums {
			out[i] = float32(s[0])
		}
		return
	}
	if p.reduced[g-1] || inner < sumColumnsMin {
		rowFn := func(acc []float64, off int, row []float32, innerReduced bool) {
			if innerReduced {
				acc[off] += sumToF64(row)
				return
			}
			accToF64(acc[off:off+len(row)], row)
		}
		reduceRows(threads, p, 0, in, out, rowFn, func(a, b float64) float64 { return a + b })
		return
	}
	rows := len(in) / inner
	outer := p.dims[:g-1]
	acc := make([]float64, p.outSize)
	width := min(sumColumnsBlock, (inner+threads.size-1)/threads.size+7) &^ 7
	blocks := (inner + width - 1) / width
	parallelFor(threads, blocks, 1, func(from, to int) {
		idx := make([]int, len(outer))
		for blk := from; blk < to; blk++ {
			c0, c1 := blk*width, min(inner, (blk+1)*width)
			clear(idx)
			off := 0
			for r := range rows {
				accToF64(acc[off+c0:off+c1], in[r*inner+c0:r*inner+c1])
				for i := len(outer) - 1; i >= 0; i-- {
					idx[i]++
					off += p.ostride[i]
					if idx[i] < outer[i] {
						break
					}
					off -= p.ostride[i] * outer[i]
					idx[i] = 0
				}
			}
		}
	})
	for i, a := range acc {
		out[i] = float32(a)
	}
}

// Column blocking of sum32: rows at least sumColumnsMin wide are split into
// blocks of at most sumColumnsBlock columns.
const (
	sumColumnsMin   = 256
	sumColumnsBlock = 2048
)

// reduceRows walks the input row by row (a row is the innermost group),
// calling rowFn to fold each into the accumulators, in parallel with
// private accumulators merged at the end.
func reduceRows[T floating](threads *team, p reducePlan, init float64, in, out []T,
	rowFn func(acc []float64, off int, row []T, innerReduced bool), merge func(a, b float64) float64) {
	g := len(p.dims)
	inner := p.dims[g-1]
	innerReduced := p.reduced[g-1]
	rows := len(in) / max(inner, 1)
	outer := p.dims[:g-1]
	work := func(acc []float64, from, to int) {
		idx := make([]int, len(outer))
		rem := from
		for i := len(outer) - 1; i >= 0; i-- {
			idx[i] = rem % outer[i]
			rem /= outer[i]
		}
		off := 0
		for i := range outer {
			off += idx[i] * p.ostride[i]
		}
		for r := from; r < to; r++ {
			rowFn(acc, off, in[r*inner:(r+1)*inner], innerReduced)
			for i := len(outer) - 1; i >= 0; i-- {
				idx[i]++
				off += p.ostride[i]
				if idx[i] < outer[i] {
					break
				}
				off -= p.ostride[i] * outer[i]
				idx[i] = 0
			}
		}
	}
	newAcc := func() []float64 {
		a := make([]float64, p.outSize)
		for i := range a {
			a[i] = init
		}
		return a
	}
	parts, per := reduceSplit(rows, max(1, elementGrain/max(inner, 1)))
	accs := make([][]float64, parts)
	parallelParts(threads, rows, parts, per, func(t, from, to int) {
		accs[t] = newAcc()
		work(accs[t], from, to)
	})
	for i := range out {
		a := accs[0][i]
		for t := 1; t < parts; t++ {
			a = merge(a, accs[t][i])
		}
		out[i] = T(a)
	}
}

func reduceInt[T integer](th *team, op backends.OpType, p reducePlan, in, out []T) bool {
	ops, ok := intReduce[T](op)
	if ok {
		runReduce(th, p, ops, in, out)
	}
	return ok
}

// argMinMaxKernel returns the index of the first minimum or maximum along
// an axis; a NaN wins, as in XLA.
func argMinMaxKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(argMinMaxAttr)
	dims := in[0].shape.Dimensions
	outer, d, inner := product(dims[:a.axis]), dims[a.axis], product(dims[a.axis+1:])
	out := x.alloc(n.outs[0].shape)
	idx := make([]int, outer*inner)
	switch v := in[0].flat.(type) {
	case []float32:
		argBest(v, outer, d, inner, a.isMin, idx)
	case []float64:
		argBest(v, outer, d, inner, a.isMin, idx)
	case []int32:
		argBest(v, outer, d, inner, a.isMin, idx)
	case []int64:
		argBest(v, outer, d, inner, a.isMin, idx)
	default:
		return nil, fmt.Errorf("ArgMinMax is not implemented for %s", in[0].shape.DType)
	}
	switch o := out.flat.(type) {
	case []int32:
		for i, j := range idx {
			o[i] = int32(j)
		}
	case []int64:
		for i, j := range idx {
			o[i] = int64(j)
		}
	default:
		return nil, fmt.Errorf("ArgMinMax output %s is not implemented", out.shape.DType)
	}
	return []*Buffer{out}, nil
}

func argBest[T number](v []T, outer, d, inner int, isMin bool, idx []int) {
	for o := range outer {
		for i := range inner {
			best, bi := v[o*d*inner+i], 0
			for k := 1; k < d; k++ {
				c := v[(o*d+k)*inner+i]
				if best != best {
					break
				}
				if c != c || (isMin && c < best) || (!isMin && c > best) {
					best, bi = c, k
				}
			}
			idx[o*inner+i] = bi
		}
	}
}
