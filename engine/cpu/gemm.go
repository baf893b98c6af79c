package cpu

import (
	"unsafe"
)

// Micro-tile of the float32 GEMM: mr rows of A by a panel of B, nr24 or
// nr48 columns wide (kernelKind.panelWidth). A 4×24 tile keeps twelve AVX2
// accumulators fed by three loads of B and four broadcasts of A per step,
// which measured faster than 6×16 on Zen 3; the AVX-512 4×48 tile keeps
// twelve zmm accumulators.
const (
	mr    = 4
	nr24  = 24
	nr48  = 48
	maxNR = nr48
)

// rowPtrs points at the mr rows of A a micro-kernel call reads.
type rowPtrs [mr]*float32

// pairPtrs points at the rows of two consecutive tiles (tile.runPair).
type pairPtrs [2 * mr]*float32

// microKernelGo is the portable micro-kernel: the same contract as the
// assembly ones, C[0:mr, 0:nr] (+)= Σ_p A[i](p)·B[p, 0:nr] for a panel nr
// wide.
func microKernelGo(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc, nr int, accumulate bool) {
	var acc [mr][maxNR]float32
	bs := unsafe.Slice(b, k*nr)
	for p := range k {
		bp := bs[p*nr : p*nr+nr]
		for i := range mr {
			av := *(*float32)(unsafe.Add(unsafe.Pointer(a[i]), p*astride))
			row := acc[i][:nr]
			for j := range row {
				row[j] += av * bp[j]
			}
		}
	}
	for i := range mr {
		cr := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(c), i*ldc*4)), nr)
		if accumulate {
			for j := range cr {
				cr[j] += acc[i][j]
			}
		} else {
			copy(cr, acc[i][:nr])
		}
	}
}

// colPanel is a block of w ≤ nr columns of B starting at column c0; each
// is packed nr wide.
type colPanel struct{ c0, w int }

// colPanels splits n columns into panels of nr, except that a last panel of
// 8 or 16 after a full one is evened out with it: with nr = 24, 32 = 16 +
// 16 rather than 24 + 8 (the 4×8 micro-kernel's four accumulators wait on
// the FMA latency, so per column it runs at a fraction of the 4×16 one's
// speed); with nr = 48, 64 = 32 + 32 and 56 = 32 + 24.
func colPanels(n, nr int) []colPanel {
	ps := make([]colPanel, 0, (n+nr-1)/nr+1)
	for c0 := 0; c0 < n; c0 += nr {
		ps = append(ps, colPanel{c0, min(nr, n-c0)})
	}
	k := len(ps)
	if k < 2 {
		return ps
	}
	last, c0 := ps[k-1].w, ps[k-2].c0
	switch {
	case nr == nr24 && last == 8:
		ps = append(ps[:k-2], colPanel{c0, 16}, colPanel{c0 + 16, 16})
	case nr == nr48 && (last == 8 || last == 16):
		ps = append(ps[:k-2], colPanel{c0, 32}, colPanel{c0 + 32, last + 16})
	}
	return ps
}

// panelsLen is the number of floats of n columns packed over k rows in
// panels nr wide.
func panelsLen(k, n, nr int) int { return (n + nr - 1) / nr * nr * k }

// packedB holds B (k × n) as ⌈n/nr⌉ panels of k×nr floats, zero-padded.
type packedB struct {
	k, n, nr int
	panels   []float32
}

func (p *packedB) panel(j int) []float32 { return p.panels[j*p.k*p.nr : (j+1)*p.k*p.nr] }

// packB packs B where element (r, c) is at src[r*rs + c*cs] in panels nr
// wide.
func packB(dst []float32, src []float32, k, n, nr, rs, cs int) packedB {
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
	return packedB{k: k, n: n, nr: nr, panels: dst}
}

// tile runs the micro-kernel for one mr×nr block of C at (c, ldc) holding
// rows valid rows and cols valid columns, using scratch when partial; B's
// panels are nr wide.
type tile struct {
	kern    kernelKind
	nr      int
	scratch [mr * maxNR]float32
}

// newTile is a tile of kernel kern for panels nr wide.
func newTile(kern kernelKind, nr int) tile { return tile{kern: kern, nr: nr} }

func (t *tile) run(k int, a *rowPtrs, astride int, b []float32, c []float32, ldc, rows, cols int, accumulate bool) {
	nr := t.nr
	if rows == mr {
		if cols == nr {
			t.kern.micro(k, a, astride, &b[0], &c[0], ldc, nr, accumulate)
			return
		}
		if t.kern.narrow(k, a, astride, &b[0], &c[0], ldc, nr, cols, accumulate) {
			return
		}
	}
	t.kern.micro(k, a, astride, &b[0], &t.scratch[0], nr, nr, false)
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
// ldc·mr floats after the first in C: in one call of the paired kernel
// where the kernel has one for cols (kernelKind.pairKernel), else tile by
// tile.
func (t *tile) runPair(k int, a *pairPtrs, astride int, b []float32, c []float32, ldc, rows, cols int, accumulate bool) {
	if rows == 2*mr && t.kern.pair(k, a, astride, &b[0], &c[0], ldc, t.nr, cols, accumulate) {
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
func gemmRowMajor(kern kernelKind, threads *team, m int, a []float32, lda int, b packedB, c []float32, ldc int) {
	k, nr := b.k, b.nr
	zero := make([]float32, max(k, 1))
	tiles := (m + mr - 1) / mr
	np := (b.n + nr - 1) / nr
	grain := max(1, 8192/max(1, k*np))
	parallelFor(threads, tiles, grain, func(from, to int) {
		t := newTile(kern, nr)
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
