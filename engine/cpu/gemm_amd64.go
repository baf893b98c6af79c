package cpu

import "golang.org/x/sys/cpu"

// sgemm4x24AVX2 is the AVX2/FMA micro-kernel in gemm_amd64.s.
//
//go:noescape
func sgemm4x24AVX2(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

// hasAVX2 reports whether the AVX2/FMA micro-kernel can run on this CPU.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// The same for the first 16 or 8 columns of a packed panel (k ≥ 1).
//
//go:noescape
func sgemm4x16AVX2(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

//go:noescape
func sgemm4x8AVX2(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool)

func microKernel(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool) {
	if hasAVX2 {
		sgemm4x24AVX2(k, a, astride, b, c, ldc, accumulate)
		return
	}
	microKernelGo(k, a, astride, b, c, ldc, accumulate)
}

// narrowKernel computes only the first cols ≤ 16 columns of a tile, writing
// exactly 16 (or 8) columns of C; it reports false if it cannot.
func narrowKernel(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc, cols int, accumulate bool) bool {
	if !hasAVX2 || k == 0 {
		return false
	}
	switch cols {
	case 16:
		sgemm4x16AVX2(k, a, astride, b, c, ldc, accumulate)
	case 8:
		sgemm4x8AVX2(k, a, astride, b, c, ldc, accumulate)
	default:
		return false
	}
	return true
}

func gemmKernelName() string {
	if hasAVX2 {
		return "AVX2/FMA"
	}
	return "portable Go"
}
