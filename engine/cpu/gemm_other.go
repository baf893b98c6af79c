//go:build !amd64

package cpu

func microKernel(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc int, accumulate bool) {
	microKernelGo(k, a, astride, b, c, ldc, accumulate)
}

func gemmKernelName() string { return "portable Go" }

func narrowKernel(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc, cols int, accumulate bool) bool {
	return false
}

// hasAVX2 is false off amd64: the assembly kernels do not exist there.
const hasAVX2 = false
