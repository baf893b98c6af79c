package cpu

import (
	"fmt"
	"slices"
)

// Row paths of Gather and the Scatter ops: when every slice (window) is one
// contiguous run of the operand — size 1 on the leading axes, at most one
// partial axis, full on the axes after it — and lands contiguously in the
// output (updates) in index-batch order, the ops move whole rows: one copy,
// add, max or min per index instead of an element-wise walk.

// gatherRowLen returns the length of a Gather's slices if they take the row
// path (see above), else 0.
func gatherRowLen(a gatherAttr, opd []int, outRank int) int {
	m := len(a.offsetOutputAxes)
	for i, ax := range a.offsetOutputAxes {
		if ax != outRank-m+i {
			return 0
		}
	}
	win := a.sliceSizes
	if !contiguousWindow(win, opd) {
		return 0
	}
	return product(win)
}

// scatterRowLen returns the operand window sizes of a Scatter op and the
// window length if its windows take the row path, else a zero length.
func scatterRowLen(a scatterAttr, opd, ud []int) ([]int, int) {
	m := len(a.updateWindowAxes)
	for i, ax := range a.updateWindowAxes {
		if ax != len(ud)-m+i {
			return nil, 0
		}
	}
	win := make([]int, len(opd))
	k := 0
	for oa := range opd {
		win[oa] = 1
		if !slices.Contains(a.insertedWindowAxes, oa) {
			win[oa] = ud[a.updateWindowAxes[k]]
			k++
		}
	}
	if !contiguousWindow(win, opd) {
		return nil, 0
	}
	return win, product(win)
}

// contiguousWindow reports whether a window of sizes win is one contiguous
// run of a row-major array of dims.
func contiguousWindow(win, dims []int) bool {
	p := 0
	for p < len(win) && win[p] == 1 {
		p++
	}
	for a := p + 1; a < len(win); a++ {
		if win[a] != dims[a] {
			return false
		}
	}
	return true
}

// windowStarts returns the operand offset of the window of each index-batch
// position (row-major): Σ start·stride over the axes in axes. Gather clamps
// each start so the window fits (clampStarts); the Scatter ops mark a
// window that does not fit with −1, to be skipped.
func windowStarts(threads *team, indices any, ib indexBatch, axes, opd, win []int, clampStarts bool) ([]int, error) {
	w := startsPlan{ib: ib, clamp: clampStarts, lim: make([]int, len(axes)), ast: make([]int, len(axes))}
	st := strides(opd)
	for j, oa := range axes {
		w.lim[j], w.ast[j] = opd[oa]-win[oa], st[oa]
	}
	offs := make([]int, product(ib.dims))
	var err error
	parallelFor(threads, len(offs), elementGrain/4, func(from, to int) {
		switch idx := indices.(type) {
		case []int32:
			starts(w, idx, offs, from, to)
		case []int64:
			starts(w, idx, offs, from, to)
		case []uint32:
			starts(w, idx, offs, from, to)
		case []uint64:
			starts(w, idx, offs, from, to)
		case []int16:
			starts(w, idx, offs, from, to)
		case []uint16:
			starts(w, idx, offs, from, to)
		case []int8:
			starts(w, idx, offs, from, to)
		case []uint8:
			starts(w, idx, offs, from, to)
		default:
			if from == 0 {
				err = fmt.Errorf("indices of type %T", indices)
			}
		}
	})
	return offs, err
}

// startsPlan holds what starts needs besides the indices.
type startsPlan struct {
	ib       indexBatch
	clamp    bool
	lim, ast []int // per index component: the largest start that fits, the operand stride
}

// starts fills offs[from:to] (see windowStarts).
func starts[I integer](w startsPlan, idx []I, offs []int, from, to int) {
	ib := w.ib
	// step is the distance between consecutive index vectors when the batch
	// axes are laid out row-major (the index-vector axis last or implicit).
	step := 1
	if len(ib.st) > 0 {
		step = ib.st[len(ib.st)-1]
	}
	for d := len(ib.dims) - 1; d > 0; d-- {
		if ib.st[d-1] != ib.st[d]*ib.dims[d] {
			step = 0
		}
	}
	if step > 0 && ib.vecSt == 1 {
		// Index vectors stored contiguously, one after another.
		n := len(w.lim)
		for b := from; b < to; b++ {
			off := 0
			for j, v := range idx[b*step : b*step+n] {
				s := int(v)
				if w.clamp {
					s = max(0, min(s, w.lim[j]))
				} else if s < 0 || s > w.lim[j] {
					off = -1
					break
				}
				off += s * w.ast[j]
			}
			offs[b] = off
		}
		return
	}
	pos := make([]int, len(ib.dims))
	decode(from, ib.dims, pos)
	idxOff := 0
	for d, p := range pos {
		idxOff += p * ib.st[d]
	}
	for b := from; b < to; b++ {
		if step > 0 {
			idxOff = b * step
		}
		off := 0
		for j, lim := range w.lim {
			v := int(idx[idxOff+j*ib.vecSt])
			if w.clamp {
				v = max(0, min(v, lim))
			} else if v < 0 || v > lim {
				off = -1
				break
			}
			off += v * w.ast[j]
		}
		offs[b] = off
		if step > 0 {
			continue
		}
		for d := len(pos) - 1; d >= 0; d-- {
			pos[d]++
			idxOff += ib.st[d]
			if pos[d] < ib.dims[d] {
				break
			}
			idxOff -= ib.st[d] * ib.dims[d]
			pos[d] = 0
		}
	}
}

// gatherRows copies the slice at offs[b] (l elements of src) to row b of
// out, in parallel over rows.
func gatherRows[T any](threads *team, out, src []T, offs []int, l int) {
	parallelFor(threads, len(offs), max(1, elementGrain/max(l, 1)), func(from, to int) {
		if l < 8 {
			for b := from; b < to; b++ {
				o := offs[b]
				for j := range l {
					out[b*l+j] = src[o+j]
				}
			}
			return
		}
		for b := from; b < to; b++ {
			o := offs[b]
			copy(out[b*l:(b+1)*l], src[o:o+l])
		}
	})
}

// gatherRowsAny dispatches gatherRows on the element type.
func gatherRowsAny(threads *team, out, src any, offs []int, l int) error {
	switch o := out.(type) {
	case []float32:
		gatherRows(threads, o, src.([]float32), offs, l)
	case []float64:
		gatherRows(threads, o, src.([]float64), offs, l)
	case []int32:
		gatherRows(threads, o, src.([]int32), offs, l)
	case []int64:
		gatherRows(threads, o, src.([]int64), offs, l)
	case []uint32:
		gatherRows(threads, o, src.([]uint32), offs, l)
	case []uint64:
		gatherRows(threads, o, src.([]uint64), offs, l)
	case []int16:
		gatherRows(threads, o, src.([]int16), offs, l)
	case []uint16:
		gatherRows(threads, o, src.([]uint16), offs, l)
	case []int8:
		gatherRows(threads, o, src.([]int8), offs, l)
	case []uint8:
		gatherRows(threads, o, src.([]uint8), offs, l)
	case []bool:
		gatherRows(threads, o, src.([]bool), offs, l)
	default:
		return fmt.Errorf("unsupported element type %T", out)
	}
	return nil
}

// scatterRowsAny dispatches scatterRows on the element type.
func scatterRowsAny(threads *team, kind rowCombine, out, upd any, offs []int, l int) error {
	switch o := out.(type) {
	case []float32:
		scatterRows(threads, kind, o, upd.([]float32), offs, l)
	case []float64:
		scatterRows(threads, kind, o, upd.([]float64), offs, l)
	case []int32:
		scatterRows(threads, kind, o, upd.([]int32), offs, l)
	case []int64:
		scatterRows(threads, kind, o, upd.([]int64), offs, l)
	case []uint32:
		scatterRows(threads, kind, o, upd.([]uint32), offs, l)
	case []uint64:
		scatterRows(threads, kind, o, upd.([]uint64), offs, l)
	case []int16:
		scatterRows(threads, kind, o, upd.([]int16), offs, l)
	case []uint16:
		scatterRows(threads, kind, o, upd.([]uint16), offs, l)
	case []int8:
		scatterRows(threads, kind, o, upd.([]int8), offs, l)
	case []uint8:
		scatterRows(threads, kind, o, upd.([]uint8), offs, l)
	default:
		return fmt.Errorf("unsupported element type %T", out)
	}
	return nil
}

// rowCombine is how a Scatter op merges an update row into the operand.
type rowCombine int

const (
	combineSum rowCombine = iota
	combineMax
	combineMin
)

// combineRow merges src into dst.
func combineRow[T number](kind rowCombine, dst, src []T) {
	src = src[:len(dst)]
	switch kind {
	case combineSum:
		if d32, ok := any(dst).([]float32); ok && vecVV('+', d32, d32, any(src).([]float32)) {
			return
		}
		for j, v := range src {
			dst[j] += v
		}
	case combineMax:
		for j, v := range src {
			dst[j] = maxOf(dst[j], v)
		}
	default:
		for j, v := range src {
			dst[j] = minOf(dst[j], v)
		}
	}
}

// scatterRows merges update row b (l elements of upd) into out at offs[b]
// (skipped when −1), in update order for every destination, so duplicate
// indices give the serial result. Work is split by destination: each thread
// owns a range of rows, chosen so the updates are shared evenly, and applies
// only the updates that land there. Windows that may partly overlap (starts
// not multiples of l) run serially.
func scatterRows[T number](threads *team, kind rowCombine, out, upd []T, offs []int, l int) {
	if l == 0 {
		return
	}
	apply := func(lo, hi int) {
		for b, o := range offs {
			if o >= lo && o < hi {
				combineRow(kind, out[o:o+l], upd[b*l:(b+1)*l])
			}
		}
	}
	parts := min(threads.size, max(1, len(offs)*l/elementGrain))
	n := 0
	for _, o := range offs {
		if o < 0 {
			continue
		}
		if o%l != 0 {
			parts = 1
		}
		n++
	}
	if parts <= 1 {
		apply(0, len(out))
		return
	}
	rows := len(out) / l
	buckets := min(rows, 64*parts)
	counts := make([]int, buckets)
	for _, o := range offs {
		if o >= 0 {
			counts[o/l*buckets/rows]++
		}
	}
	cuts := []int{0} // row boundaries of the parts
	seen := 0
	for k := 0; k < buckets && len(cuts) < parts; k++ {
		seen += counts[k]
		if seen*parts >= len(cuts)*n {
			cuts = append(cuts, ((k+1)*rows+buckets-1)/buckets)
		}
	}
	cuts = append(cuts, rows)
	parallelFor(threads, len(cuts)-1, 1, func(from, to int) {
		for p := from; p < to; p++ {
			apply(cuts[p]*l, cuts[p+1]*l)
		}
	})
}
