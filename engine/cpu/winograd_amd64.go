package cpu

// The AVX2 transforms of winograd_amd64.s (n a positive multiple of 8).

//go:noescape
func winogradInputAVX2(n int, src *float32, pix, row int, dst *float32, ds int)

//go:noescape
func winogradOutputAVX2(n int, src *float32, ds int, dst *float32, pix, row int)

//go:noescape
func winogradKernelAVX2(n int, src *float32, sy, sx int, dst *float32, ds int)

// winogradVector runs the first n&^7 channels of a transform in AVX2 when
// vec is set and the CPU has it, and reports how many it did.
func winogradVector(vec bool, n int, f func(n int)) int {
	if !vec || !hasAVX2 || n < 8 {
		return 0
	}
	f(n &^ 7)
	return n &^ 7
}
