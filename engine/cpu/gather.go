package cpu

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/backends"
)

// indexAt reads element i of an integer index buffer.
func indexAt(flat any, i int) (int, error) {
	switch f := flat.(type) {
	case []int32:
		return int(f[i]), nil
	case []int64:
		return int(f[i]), nil
	case []uint32:
		return int(f[i]), nil
	case []uint64:
		return int(f[i]), nil
	case []int16:
		return int(f[i]), nil
	case []uint16:
		return int(f[i]), nil
	case []int8:
		return int(f[i]), nil
	case []uint8:
		return int(f[i]), nil
	}
	return 0, fmt.Errorf("indices of type %T", flat)
}

// indexBatch describes the batch positions of an index array: every axis
// but the index-vector axis.
type indexBatch struct {
	dims, st []int // batch dims and their strides in the index array
	vecSt    int   // stride of the index-vector axis (0 if implicit)
	vecLen   int
}

func newIndexBatch(dims []int, vecAxis int) indexBatch {
	st := strides(dims)
	ib := indexBatch{vecLen: 1}
	for a, d := range dims {
		if a == vecAxis {
			ib.vecSt, ib.vecLen = st[a], d
			continue
		}
		ib.dims = append(ib.dims, d)
		ib.st = append(ib.st, st[a])
	}
	return ib
}

func gatherKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(gatherAttr)
	out := x.alloc(n.outs[0].shape)
	opd := in[0].shape.Dimensions
	ib := newIndexBatch(in[1].shape.Dimensions, a.indexVectorAxis)
	if l := gatherRowLen(a, opd, out.shape.Rank()); l > 0 {
		offs, err := windowStarts(x.b.team, in[1].flat, ib, a.startIndexMap, opd, a.sliceSizes, true)
		if err == nil {
			err = gatherRowsAny(x.b.team, out.flat, in[0].flat, offs, l)
		}
		if err != nil {
			x.b.release(out)
			return nil, fmt.Errorf("Gather: %w", err)
		}
		return []*Buffer{out}, nil
	}
	ost := strides(out.shape.Dimensions)
	// Output axes: offset axes get the non-collapsed slice dims, the rest the batch dims.
	var batchOutSt, sliceDims, sliceOpSt, sliceOutSt []int
	opSt := strides(opd)
	k := 0
	for ax := range out.shape.Rank() {
		if !slices.Contains(a.offsetOutputAxes, ax) {
			batchOutSt = append(batchOutSt, ost[ax])
		}
	}
	for oa := range opd {
		if slices.Contains(a.collapsedSliceAxes, oa) {
			continue
		}
		sliceDims = append(sliceDims, a.sliceSizes[oa])
		sliceOpSt = append(sliceOpSt, opSt[oa])
		sliceOutSt = append(sliceOutSt, ost[a.offsetOutputAxes[k]])
		k++
	}
	var err error
	forEachND(ib.dims, func(pos []int) {
		if err != nil {
			return
		}
		idxOff, outOff := 0, 0
		for i, p := range pos {
			idxOff += p * ib.st[i]
			outOff += p * batchOutSt[i]
		}
		opOff := 0
		for j, oa := range a.startIndexMap {
			v, e := indexAt(in[1].flat, idxOff+j*ib.vecSt)
			if e != nil {
				err = e
				return
			}
			v = max(0, min(v, opd[oa]-a.sliceSizes[oa]))
			opOff += v * opSt[oa]
		}
		err = copyBlock(out.flat, in[0].flat, sliceDims, sliceOutSt, sliceOpSt, outOff, opOff, false)
	})
	if err != nil {
		x.b.release(out)
		return nil, fmt.Errorf("Gather: %w", err)
	}
	return []*Buffer{out}, nil
}

// forEachND calls fn for every multi-index over dims in row-major order.
func forEachND(dims []int, fn func(pos []int)) {
	pos := make([]int, len(dims))
	for range product(dims) {
		fn(pos)
		for d := len(dims) - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < dims[d] {
				break
			}
			pos[d] = 0
		}
	}
}

// copyBlock copies (or adds, if add) a block of dims from src (strides
// srcSt, base srcOff) to dst (strides dstSt, base dstOff).
func copyBlock(dst, src any, dims, dstSt, srcSt []int, dstOff, srcOff int, add bool) error {
	switch d := dst.(type) {
	case []float32:
		block(d, src.([]float32), dims, dstSt, srcSt, dstOff, srcOff, add)
	case []float64:
		block(d, src.([]float64), dims, dstSt, srcSt, dstOff, srcOff, add)
	case []int32:
		block(d, src.([]int32), dims, dstSt, srcSt, dstOff, srcOff, add)
	case []int64:
		block(d, src.([]int64), dims, dstSt, srcSt, dstOff, srcOff, add)
	default:
		return fmt.Errorf("unsupported element type %T", dst)
	}
	return nil
}

func block[T number](dst, src []T, dims, dstSt, srcSt []int, dstOff, srcOff int, add bool) {
	r := len(dims)
	if r == 0 {
		if add {
			dst[dstOff] += src[srcOff]
		} else {
			dst[dstOff] = src[srcOff]
		}
		return
	}
	inner := dims[r-1]
	outer := dims[:r-1]
	forEachND(outer, func(pos []int) {
		do, so := dstOff, srcOff
		for i, p := range pos {
			do += p * dstSt[i]
			so += p * srcSt[i]
		}
		ds, ss := dstSt[r-1], srcSt[r-1]
		if ds == 1 && ss == 1 && !add {
			copy(dst[do:do+inner], src[so:so+inner])
			return
		}
		for j := range inner {
			if add {
				dst[do+j*ds] += src[so+j*ss]
			} else {
				dst[do+j*ds] = src[so+j*ss]
			}
		}
	})
}

func scatterKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(scatterAttr)
	out := x.reusable(in, 0, n.outs[0].shape)
	if out == nil {
		out = x.alloc(n.outs[0].shape)
		if in[0].shape.Size() == out.shape.Size() {
			copyFlat(out.flat, in[0].flat)
		} else {
			// A scalar operand (see scalarOperands) fills the output.
			zeroStrides := make([]int, out.shape.Rank())
			if err := stridedCopy(x.b.team, out.flat, in[0].flat, out.shape.Dimensions, zeroStrides, 0); err != nil {
				x.b.release(out)
				return nil, fmt.Errorf("%s: %w", n.op, err)
			}
		}
	}
	opd := out.shape.Dimensions
	ud := in[2].shape.Dimensions
	ib := newIndexBatch(in[1].shape.Dimensions, a.indexVectorAxis)
	if win, l := scatterRowLen(a, opd, ud); l > 0 {
		kind := combineSum
		switch n.op {
		case opScatterMax:
			kind = combineMax
		case backends.OpTypeScatterMin:
			kind = combineMin
		}
		offs, err := windowStarts(x.b.team, in[1].flat, ib, a.scatterAxesToOperandAxes, opd, win, false)
		if err == nil {
			err = scatterRowsAny(x.b.team, kind, out.flat, in[2].flat, offs, l)
		}
		if err != nil {
			x.b.release(out)
			return nil, fmt.Errorf("%s: %w", n.op, err)
		}
		return []*Buffer{out}, nil
	}
	opSt, uSt := strides(opd), strides(ud)
	var scatterUSt, winDims, winUSt, winOpSt []int
	for ax := range ud {
		if !slices.Contains(a.updateWindowAxes, ax) {
			scatterUSt = append(scatterUSt, uSt[ax])
		}
	}
	k := 0
	for oa := range opd {
		if slices.Contains(a.insertedWindowAxes, oa) {
			continue
		}
		ua := a.updateWindowAxes[k]
		winDims = append(winDims, ud[ua])
		winUSt = append(winUSt, uSt[ua])
		winOpSt = append(winOpSt, opSt[oa])
		k++
	}
	winOpAxes := make([]int, 0, len(winDims))
	for oa := range opd {
		if !slices.Contains(a.insertedWindowAxes, oa) {
			winOpAxes = append(winOpAxes, oa)
		}
	}
	var err error
	start := make([]int, len(opd))
	forEachND(ib.dims, func(pos []int) {
		if err != nil {
			return
		}
		idxOff, uOff := 0, 0
		for i, p := range pos {
			idxOff += p * ib.st[i]
			uOff += p * scatterUSt[i]
		}
		clear(start)
		for j, oa := range a.scatterAxesToOperandAxes {
			v, e := indexAt(in[1].flat, idxOff+j*ib.vecSt)
			if e != nil {
				err = e
				return
			}
			start[oa] = v
		}
		opOff := 0
		for oa, s := range start {
			limit := 1
			if i := slices.Index(winOpAxes, oa); i >= 0 {
				limit = winDims[i]
			}
			if s < 0 || s+limit > opd[oa] {
				return // out of bounds: XLA skips the whole window
			}
			opOff += s * opSt[oa]
		}
		err = scatterBlock(n.op == opScatterSum, n.op == opScatterMax, out.flat, in[2].flat, winDims, winOpSt, winUSt, opOff, uOff)
	})
	if err != nil {
		x.b.release(out)
		return nil, fmt.Errorf("%s: %w", n.op, err)
	}
	return []*Buffer{out}, nil
}

func scatterBlock(sum, isMax bool, dst, src any, dims, dstSt, srcSt []int, dstOff, srcOff int) error {
	if sum {
		return copyBlock(dst, src, dims, dstSt, srcSt, dstOff, srcOff, true)
	}
	switch d := dst.(type) {
	case []float32:
		minMaxBlock(d, src.([]float32), dims, dstSt, srcSt, dstOff, srcOff, isMax)
	case []float64:
		minMaxBlock(d, src.([]float64), dims, dstSt, srcSt, dstOff, srcOff, isMax)
	case []int32:
		minMaxBlock(d, src.([]int32), dims, dstSt, srcSt, dstOff, srcOff, isMax)
	case []int64:
		minMaxBlock(d, src.([]int64), dims, dstSt, srcSt, dstOff, srcOff, isMax)
	default:
		return fmt.Errorf("unsupported element type %T", dst)
	}
	return nil
}

func minMaxBlock[T number](dst, src []T, dims, dstSt, srcSt []int, dstOff, srcOff int, isMax bool) {
	forEachND(dims, func(pos []int) {
		do, so := dstOff, srcOff
		for i, p := range pos {
			do += p * dstSt[i]
			so += p * srcSt[i]
		}
		if isMax {
			dst[do] = maxOf(dst[do], src[so])
		} else {
			dst[do] = minOf(dst[do], src[so])
		}
	})
}

// rngKernel fills the output with bits from math/rand/v2's PCG seeded by
// the state, and returns the next state, bit for bit as SimpleGo does.
func rngKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	state := in[0].flat.([]uint64)
	rng := rand.NewPCG(state[0], state[1])
	values := x.alloc(n.outs[1].shape)
	var err error
	switch f := values.flat.(type) {
	case []uint32:
		fillWords(rng, f)
	case []int32:
		fillWords(rng, f)
	default:
		raw := make([]byte, values.shape.Size()*int(values.shape.DType.Size()))
		for i := 0; i < len(raw); i += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], rng.Uint64())
			copy(raw[i:], w[:])
		}
		err = fromBytes(values.flat, raw)
	}
	if err != nil {
		x.b.release(values)
		return nil, err
	}
	next := x.alloc(n.outs[0].shape)
	st, err := rng.MarshalBinary() // "pcg:" + hi (big-endian) + lo (big-endian)
	if err != nil || len(st) != 20 {
		return nil, fmt.Errorf("RNGBitGenerator: unexpected PCG state encoding")
	}
	ns := next.flat.([]uint64)
	// SimpleGo reads the big-endian words as little-endian; keep its quirk so
	// both backends produce the same stream.
	ns[0] = bits.ReverseBytes64(binary.BigEndian.Uint64(st[4:12]))
	ns[1] = bits.ReverseBytes64(binary.BigEndian.Uint64(st[12:20]))
	ns[2] = state[2]
	return []*Buffer{next, values}, nil
}

// fillWords fills 32-bit values with the stream's 64-bit words, low half
// first: the little-endian byte stream that fromBytes would decode.
func fillWords[T uint32 | int32](rng *rand.PCG, f []T) {
	i := 0
	for ; i+1 < len(f); i += 2 {
		w := rng.Uint64()
		f[i], f[i+1] = T(uint32(w)), T(uint32(w>>32))
	}
	if i < len(f) {
		f[i] = T(uint32(rng.Uint64()))
	}
}

func fromBytes(flat any, raw []byte) error {
	switch f := flat.(type) {
	case []uint32:
		for i := range f {
			f[i] = binary.LittleEndian.Uint32(raw[4*i:])
		}
	case []uint64:
		for i := range f {
			f[i] = binary.LittleEndian.Uint64(raw[8*i:])
		}
	case []int32:
		for i := range f {
			f[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case []int64:
		for i := range f {
			f[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
	case []uint8:
		copy(f, raw)
	default:
		return fmt.Errorf("RNGBitGenerator cannot fill %T", flat)
	}
	return nil
}
