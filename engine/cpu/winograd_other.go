//go:build !amd64

package cpu

// winogradVector reports 0: off amd64 every transform runs in Go.
func winogradVector(vec bool, n int, f func(n int)) int { return 0 }

func winogradInputAVX2(n int, src *float32, pix, row int, dst *float32, ds int) {
	panic("unreachable")
}

func winogradOutputAVX2(n int, src *float32, ds int, dst *float32, pix, row int) {
	panic("unreachable")
}

func winogradKernelAVX2(n int, src *float32, sy, sx int, dst *float32, ds int) {
	panic("unreachable")
}
