package cpu

import (
	"unsafe"
)

// Micro-tile of the float32 GEMM: mr rows of A by nr columns of B. A 4×24
// tile keeps twelve AVX accumulators fed by three loads of B and four
// broadcasts of A per step, which measured faster than 6×16 on Zen 3.
const (
	mr = 4
	nr = 24
)

// rowPtrs points at the mr rows of A a micro-kernel call reads.
type rowPtrs [mr]*float32

// pairPtrs points at the rows of two consecutive tiles (tile.runPair).
type pairPtrs [2 * mr]*float32

// microKernelGo is the portable micro-kernel: the same contract as the
// assembly one, C[0:mr, 0:nr] (+)= Σ_p A[i](p)·B[p, 0:nr].
func microKernelGo(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool) {
	var acc [mr][nr]float32
	bs := unsafe.Slice(b, k*nr)
	for p := range k {
		bp := bs[p*nr : p*nr+nr]
		for i := range mr {
			av := *(*float32)(unsafe.Add(unsafe.Pointer(a[i]), p*astride))
			row := &acc[i]
			for j := range nr {
				row[j] += av * bp[j]
			}
		}
	}
	for i := range mr {
		cr := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(c), i*ldc*4)), nr)
		if accumulate {
			for j := range nr {
				cr[j] += acc[i][j]
			}
		} else {
			copy(cr, acc[i][:])
		}
	}
}

// colPanel is a block of w ≤ nr columns of B starting at column c0; each
// is packed nr wide.
type colPanel struct{ c0, w int }

// colPanels splits n columns into panels of nr, except that a last panel of
// 8 after a full one becomes two of 16 (32 = 16 + 16 rather than 24 + 8):
// the 4×8 micro-kernel's four accumulators wait on the FMA latency, so per
// column it runs at a fraction of the 4×16 one's speed.
func colPanels(n int) []colPanel {
	ps := make([]colPanel, 0, (n+nr-1)/nr+1)
	for c0 := 0; c0 < n; c0 += nr {
		ps = append(ps, colPanel{c0, min(nr, n-c0)})
	}
	if k := len(ps); k >= 2 && ps[k-1].w == 8 {
		c0 := ps[k-2].c0
		ps = append(ps[:k-2], colPanel{c0, 16}, colPanel{c0 + 16, 16})
	}
	return ps
}

// packedB holds B (k × n) as ⌈n/nr⌉ panels of k×nr floats, zero-padded.
type packedB struct {
	k, n   int
	panels []float32
}

func (p *packedB) panel(j int) []float32 { return p.panels[j*p.k*nr : (j+1)*p.k*nr] }

// packB packs B where element (r, c) is at src[r*rs + c*cs].
func packB(dst []float32, src []float32, k, n, rs, cs int) packedB {
	np := (n + nr - 1) / nr
	need := np * k * nr
	if cap(dst) < need {
		dst = make([]float32, need)
	}
	dst = dst[:need]
	for j := range np {
		c0 := j * nr
		w := min(nr, n-c0)
		pan := dst[j*k*nr : (j+1)*k*nr]
		for r := range k {
			row := pan[r*nr : r*nr+nr]
			base := r*rs + c0*cs
			if cs == 1 {
				copy(row[:w], src[base:base+w])
			} else {
				for c := range w {
					row[c] = src[base+c*cs]
				}
			}
			for c := w; c < nr; c++ {
				row[c] = 0
			}
		}
	}
	return packedB{k: k, n: n, panels: dst}
}

// tile runs the micro-kernel for one mr×nr block of C at (c, ldc) holding
// rows valid rows and cols valid columns, using scratch when partial.
type tile struct {
	kern    kernelKind
	scratch [mr * nr]float32
}

func (t *tile) run(k int, a *rowPtrs, astride int, b []float32, c []float32, ldc, rows, cols int, accumulate bool) {
	if rows == mr {
		if cols == nr {
			t.kern.micro(k, a, astride, &b[0], &c[0], ldc, accumulate)
			return
		}
		if t.kern.narrow(k, a, astride, &b[0], &c[0], ldc, cols, accumulate) {
			return
		}
	}
	t.kern.micro(k, a, astride, &b[0], &t.scratch[0], nr, false)
	for i := range rows {
		dst := c[i*ldc : i*ldc+cols]
		src := t.scratch[i*nr : i*nr+cols]
		if accumulate {
			for j := range dst {
				dst[j] += src[j]
			}
		} else {
			copy(dst, src)
		}
	}
}

// runPair runs two consecutive tiles of rows ≤ 2·mr valid rows, the second
// ldc·mr floats after the first in C: in one call of the paired kernel for
// a full 8-column panel (whose single tiles leave half of the FMA units
// waiting), else tile by tile.
func (t *tile) runPair(k int, a *pairPtrs, astride int, b []float32, c []float32, ldc, rows, cols int, accumulate bool) {
	if rows == 2*mr && cols == 8 && t.kern.pair(k, a, astride, &b[0], &c[0], ldc, accumulate) {
		return
	}
	lo, hi := (*rowPtrs)(a[:mr]), (*rowPtrs)(a[mr:])
	t.run(k, lo, astride, b, c, ldc, min(rows, mr), cols, accumulate)
	if rows > mr {
		t.run(k, hi, astride, b, c[mr*ldc:], ldc, rows-mr, cols, accumulate)
	}
}

// gemmRowMajor computes C (m×n, row stride ldc) = A·B for row-major A
// (m×k, row stride lda) and a packed B, in parallel over row tiles, with
// micro-kernel kern.
func gemmRowMajor(kern kernelKind, threads, m int, a []float32, lda int, b packedB, c []float32, ldc int) {
	k := b.k
	zero := make([]float32, max(k, 1))
	tiles := (m + mr - 1) / mr
	np := (b.n + nr - 1) / nr
	grain := max(1, 8192/max(1, k*np))
	parallelFor(threads, tiles, grain, func(from, to int) {
		t := tile{kern: kern}
		var ptrs rowPtrs
		for ti := from; ti < to; ti++ {
			r0 := ti * mr
			rows := min(mr, m-r0)
			for i := range mr {
				if i < rows && k > 0 {
					ptrs[i] = &a[(r0+i)*lda]
				} else {
					ptrs[i] = &zero[0]
				}
			}
			for j := range np {
				c0 := j * nr
				if k == 0 {
					for i := range rows {
						clear(c[(r0+i)*ldc+c0 : (r0+i)*ldc+c0+min(nr, b.n-c0)])
					}
					continue
				}
				t.run(k, &ptrs, 4, b.panel(j), c[r0*ldc+c0:], ldc, rows, min(nr, b.n-c0), false)
			}
		}
	})
}
