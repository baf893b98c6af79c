package cpu

import (
	"fmt"
	"slices"
)

// dotLayout describes one DotGeneral operand as [batch, free, contract]
// index groups with the strides to walk it.
type dotLayout struct {
	batch, free, contract []int // axes
	dims                  []int
	st                    []int
}

func (l dotLayout) size(axes []int) int {
	n := 1
	for _, a := range axes {
		n *= l.dims[a]
	}
	return n
}

// gather copies the operand into a dense [batch][free][contract] (or
// [batch][contract][free] when contractFirst) row-major array.
func (l dotLayout) gather(threads *team, src, dst any, contractFirst bool) error {
	order := slices.Concat(l.batch, l.free, l.contract)
	if contractFirst {
		order = slices.Concat(l.batch, l.contract, l.free)
	}
	dims := make([]int, len(order))
	st := make([]int, len(order))
	for i, a := range order {
		dims[i], st[i] = l.dims[a], l.st[a]
	}
	return stridedCopy(threads, dst, src, dims, st, 0)
}

// isIdentity reports whether order is 0, 1, ..., n−1.
func isIdentity(order []int) bool {
	for i, a := range order {
		if a != i {
			return false
		}
	}
	return true
}

func freeAxes(rank int, used ...[]int) []int {
	var free []int
	for a := range rank {
		if !slices.Contains(used[0], a) && !slices.Contains(used[1], a) {
			free = append(free, a)
		}
	}
	return free
}

func dotKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	at := n.attr.(dotAttr)
	ls, rs := in[0].shape, in[1].shape
	L := dotLayout{batch: at.lhsBatch, contract: at.lhsContract, dims: ls.Dimensions, st: strides(ls.Dimensions)}
	L.free = freeAxes(ls.Rank(), at.lhsBatch, at.lhsContract)
	R := dotLayout{batch: at.rhsBatch, contract: at.rhsContract, dims: rs.Dimensions, st: strides(rs.Dimensions)}
	R.free = freeAxes(rs.Rank(), at.rhsBatch, at.rhsContract)
	batch, m, k := L.size(L.batch), L.size(L.free), L.size(L.contract)
	nn := R.size(R.free)
	out := x.alloc(n.outs[0].shape)
	switch o := out.flat.(type) {
	case []float32:
		return []*Buffer{out}, dotF32(x, L, R, in[0].flat.([]float32), in[1].flat.([]float32), o, batch, m, k, nn)
	case []float64:
		return []*Buffer{out}, dotNaive(x.b.team, L, R, in[0].flat.([]float64), in[1].flat.([]float64), o, batch, m, k, nn)
	case []int32:
		return []*Buffer{out}, dotNaive(x.b.team, L, R, in[0].flat.([]int32), in[1].flat.([]int32), o, batch, m, k, nn)
	case []int64:
		return []*Buffer{out}, dotNaive(x.b.team, L, R, in[0].flat.([]int64), in[1].flat.([]int64), o, batch, m, k, nn)
	}
	x.b.release(out)
	return nil, fmt.Errorf("DotGeneral is not implemented for %s", ls.DType)
}

// dotF32 runs the packed GEMM per batch element. The left operand is made
// row-major [m][k] (copied if its axes are not in that order); the right
// operand is packed straight from its strides.
func dotF32(x *execution, L, R dotLayout, a, b, o []float32, batch, m, k, nn int) error {
	th := x.b.team
	lhs := a
	if !isIdentity(slices.Concat(L.batch, L.free, L.contract)) {
		tmp := x.b.pool.get(dtypeFloat32, batch*m*k).([]float32)
		defer x.b.pool.put(dtypeFloat32, tmp)
		if err := L.gather(th, a, tmp, false); err != nil {
			return err
		}
		lhs = tmp
	}
	rhs := b
	rk, rn := 0, 0 // strides of contract and free in a dense [batch][k][n] or original layout
	if len(R.contract) == 1 && len(R.free) <= 1 && len(R.batch) == 0 {
		rk = R.st[R.contract[0]]
		rn = 1
		if len(R.free) == 1 {
			rn = R.st[R.free[0]]
		}
	} else {
		tmp := x.b.pool.get(dtypeFloat32, batch*k*nn).([]float32)
		defer x.b.pool.put(dtypeFloat32, tmp)
		if err := R.gather(th, b, tmp, true); err != nil {
			return err
		}
		rhs, rk, rn = tmp, nn, 1
	}
	nr := x.b.kernel.panelWidth(nn)
	packBuf := x.b.pool.get(dtypeFloat32, panelsLen(max(k, 1), nn, nr)).([]float32)
	defer x.b.pool.put(dtypeFloat32, packBuf)
	for bi := range batch {
		rb := rhs
		if len(R.batch) > 0 || len(rhs) != len(b) {
			rb = rhs[bi*k*nn:]
		}
		pb := packB(packBuf, rb, k, nn, nr, rk, rn)
		gemmRowMajor(x.b.kernel, th, m, lhs[bi*m*k:], k, pb, o[bi*m*nn:], nn)
	}
	return nil
}

// dotNaive is the reference contraction for the other dtypes.
func dotNaive[T number](threads *team, L, R dotLayout, a, b, o []T, batch, m, k, nn int) error {
	la := make([]T, batch*m*k)
	if err := L.gather(threads, a, la, false); err != nil {
		return err
	}
	rb := make([]T, batch*k*nn)
	if err := R.gather(threads, b, rb, true); err != nil {
		return err
	}
	parallelFor(threads, batch*m, 1, func(from, to int) {
		for bm := from; bm < to; bm++ {
			bi := bm / max(m, 1)
			row := la[bm*k : (bm+1)*k]
			dst := o[bm*nn : (bm+1)*nn]
			clear(dst)
			for p, av := range row {
				brow := rb[(bi*k+p)*nn : (bi*k+p+1)*nn]
				for j := range dst {
					dst[j] += av * brow[j]
				}
			}
		}
	})
	return nil
}
