package cpu

// bcast describes how an operand of a broadcasting element-wise op maps onto
// the output: the output is walked in chunks of chunk contiguous elements;
// for chunk k the operand either supplies chunk contiguous elements starting
// at offset(k) (contiguous) or one element at offset(k) repeated (splat).
type bcast struct {
	chunk  int
	splat  bool
	outer  []int // output dims above the chunk
	ostrid []int // operand strides (0 where broadcast) for the outer dims
}

// newBcast plans operand dims (same rank as out, or a scalar with rank 0)
// against output dims, for a given chunk split point.
func newBcast(in, out []int, split int) bcast {
	b := bcast{chunk: product(out[split:])}
	if len(in) == 0 {
		b.splat = true
		b.outer = out[:split]
		b.ostrid = make([]int, split)
		return b
	}
	st := strides(in)
	b.splat = product(in[split:]) == 1 && b.chunk > 1
	b.outer = out[:split]
	b.ostrid = make([]int, split)
	for i := range split {
		if in[i] != 1 {
			b.ostrid[i] = st[i]
		}
	}
	return b
}

// splitPoint picks the chunk split for an op whose operands have dims ins
// (scalars are empty) and output dims out: the longest suffix of axes on
// which every operand is either equal to the output or all ones.
func splitPoint(out []int, ins ...[]int) int {
	split := len(out)
	for split > 0 {
		a := split - 1
		ok := true
		for _, in := range ins {
			if len(in) == 0 {
				continue
			}
			// Operand must be uniformly "full" or uniformly "ones" over out[a:].
			full := equalInts(in[a:], out[a:])
			ones := product(in[a:]) == 1
			if !full && !ones {
				ok = false
				break
			}
		}
		if !ok {
			break
		}
		split = a
	}
	return split
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// forChunks calls fn(k, offsets...) for each output chunk k in [from, to),
// with each operand's offset for that chunk.
func forChunks(from, to int, plans []bcast, fn func(k int, offs []int)) {
	if len(plans) == 0 {
		return
	}
	outer := plans[0].outer
	rank := len(outer)
	idx := make([]int, rank)
	// Position the odometer at chunk from.
	rem := from
	for i := rank - 1; i >= 0; i-- {
		idx[i] = rem % outer[i]
		rem /= outer[i]
	}
	offs := make([]int, len(plans))
	for p, pl := range plans {
		for i := range rank {
			offs[p] += idx[i] * pl.ostrid[i]
		}
	}
	for k := from; k < to; k++ {
		fn(k, offs)
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			for p, pl := range plans {
				offs[p] += pl.ostrid[i]
			}
			if idx[i] < outer[i] {
				break
			}
			for p, pl := range plans {
				offs[p] -= pl.ostrid[i] * outer[i]
			}
			idx[i] = 0
		}
	}
}
