//go:build !amd64

package cpu

// Off amd64 every Winograd transform runs in Go: the vector helpers do
// nothing and report no channels done.

func winogradInputVec(vec bool, n int, src []float32, pix, row int, dst []float32, ds int) int {
	return 0
}

func winogradOutputVec(vec bool, n int, src []float32, ds int, dst []float32, pix, row int) int {
	return 0
}

func winogradKernelVec(vec bool, n int, src []float32, sy, sx int, dst []float32, ds int) int {
	return 0
}
