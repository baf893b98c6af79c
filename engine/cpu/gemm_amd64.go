package cpu

import "golang.org/x/sys/cpu"

// sgemm4x24AVX2 is the AVX2/FMA micro-kernel in gemm_amd64.s.
//
//go:noescape
func sgemm4x24AVX2(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

// hasAVX2 reports whether the AVX2/FMA micro-kernel can run on this CPU.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// hasAVX512 reports whether the AVX-512 micro-kernels (F and VL: zmm
// registers, EVEX-encoded ymm FMAs with embedded broadcast) can run.
var hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL

// The same for the first 16 or 8 columns of a packed panel (k ≥ 1).
//
//go:noescape
func sgemm4x16AVX2(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

//go:noescape
func sgemm4x8AVX2(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

// sgemm8x8AVX2 computes two 4-row tiles of an 8-column panel at once
// (k ≥ 1): C[0:8, 0:8] (+)= Σ_p A[i](p)·B[p, 0:8].
//
//go:noescape
func sgemm8x8AVX2(k int, a *pairPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

// sgemm4x24AVX512 and sgemm4x16AVX512 (gemm512_amd64.s) have the contract
// of their AVX2 counterparts.
//
//go:noescape
func sgemm4x24AVX512(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

//go:noescape
func sgemm4x16AVX512(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

// micro computes C[0:mr, 0:nr] (+)= Σ_p A[i](p)·B[p, 0:nr] with kernel kk.
func (kk kernelKind) micro(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool) {
	switch kk {
	case kernelAVX512:
		sgemm4x24AVX512(k, a, astride, b, c, ldc, accumulate)
	case kernelAVX2:
		sgemm4x24AVX2(k, a, astride, b, c, ldc, accumulate)
	default:
		microKernelGo(k, a, astride, b, c, ldc, accumulate)
	}
}

// pair computes C[0:2·mr, 0:8] (+)= Σ_p A[i](p)·B[p, 0:8] for an 8-column
// panel in one call; it reports false if this kernel cannot.
func (kk kernelKind) pair(k int, a *pairPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool) bool {
	if kk == kernelGeneric || k == 0 {
		return false
	}
	sgemm8x8AVX2(k, a, astride, b, c, ldc, accumulate)
	return true
}

// narrow computes only the first cols ≤ 16 columns of a tile, writing
// exactly 16 (or 8) columns of C; it reports false if it cannot.
func (kk kernelKind) narrow(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc, cols int, accumulate bool) bool {
	if kk == kernelGeneric || k == 0 {
		return false
	}
	switch cols {
	case 16:
		if kk == kernelAVX512 {
			sgemm4x16AVX512(k, a, astride, b, c, ldc, accumulate)
		} else {
			sgemm4x16AVX2(k, a, astride, b, c, ldc, accumulate)
		}
	case 8:
		sgemm4x8AVX2(k, a, astride, b, c, ldc, accumulate)
	default:
		return false
	}
	return true
}
