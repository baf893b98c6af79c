package cpu

import "golang.org/x/sys/cpu"

// sgemm6x16AVX2 is the AVX2/FMA micro-kernel in gemm_amd64.s.
//
//go:noescape
func sgemm6x16AVX2(k int, a *[6]*float32, astride int, b *float32, c *float32, ldc int, accumulate bool)

// hasAVX2 reports whether the AVX2/FMA micro-kernel can run on this CPU.
var hasAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func microKernel(k int, a *[6]*float32, astride int, b *float32, c *float32, ldc int, accumulate bool) {
	if hasAVX2 {
		sgemm6x16AVX2(k, a, astride, b, c, ldc, accumulate)
		return
	}
	sgemm6x16Go(k, a, astride, b, c, ldc, accumulate)
}

func gemmKernelName() string {
	if hasAVX2 {
		return "AVX2/FMA"
	}
	return "portable Go"
}
