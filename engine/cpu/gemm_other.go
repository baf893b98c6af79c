//go:build !amd64

package cpu

import "runtime"

// CPUModel names the processor as far as this build knows it: off amd64,
// the architecture.
func CPUModel() string { return runtime.GOARCH }

// micro runs the portable micro-kernel: off amd64 there is no other.
func (kk kernelKind) micro(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc, nr int, accumulate bool) {
	microKernelGo(k, a, astride, b, c, ldc, nr, accumulate)
}

// narrow reports false: the portable kernel has no narrow variant.
func (kk kernelKind) narrow(k int, a *rowPtrs, astride int, b *float32, c *float32, ldc, nr, cols int, accumulate bool) bool {
	return false
}

// pair reports false: the portable kernel has no paired variant.
func (kk kernelKind) pair(k int, a *pairPtrs, astride int, b *float32, c *float32, ldc, nr, cols int, accumulate bool) bool {
	return false
}

// pairs reports false, as pair.
func (kk kernelKind) pairs(nr, cols int) bool { return false }

// hasAVX2, hasAVX512 and isIntel are false off amd64: the assembly kernels do not
// exist there.
const (
	hasAVX2   = false
	hasAVX512 = false
	isIntel   = false
)
