//go:build !amd64

package cpu

func microKernel(k int, a *[6]*float32, astride int, b *float32, c *float32, ldc int, accumulate bool) {
	sgemm6x16Go(k, a, astride, b, c, ldc, accumulate)
}

func gemmKernelName() string { return "portable Go" }
