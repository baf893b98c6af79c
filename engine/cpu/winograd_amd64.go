package cpu

// The AVX2 transforms of winograd_amd64.s (n a positive multiple of 8).

//go:noescape
func winogradInputAVX2(n int, src *float32, pix, row int, dst *float32, ds int)

//go:noescape
func winogradOutputAVX2(n int, src *float32, ds int, dst *float32, pix, row int)

//go:noescape
func winogradKernelAVX2(n int, src *float32, sy, sx int, dst *float32, ds int)

// vecChannels is how many of n channels a transform runs in AVX2: the
// multiple of 8 below n when vec is set and the CPU has AVX2, else none.
func vecChannels(vec bool, n int) int {
	if !vec || !hasAVX2 {
		return 0
	}
	return n &^ 7
}

// winogradInputVec, winogradOutputVec and winogradKernelVec run the first
// vecChannels channels of a transform in AVX2 and report how many they did;
// the caller does the rest in Go.
func winogradInputVec(vec bool, n int, src []float32, pix, row int, dst []float32, ds int) int {
	m := vecChannels(vec, n)
	if m > 0 {
		winogradInputAVX2(m, &src[0], pix, row, &dst[0], ds)
	}
	return m
}

func winogradOutputVec(vec bool, n int, src []float32, ds int, dst []float32, pix, row int) int {
	m := vecChannels(vec, n)
	if m > 0 {
		winogradOutputAVX2(m, &src[0], ds, &dst[0], pix, row)
	}
	return m
}

func winogradKernelVec(vec bool, n int, src []float32, sy, sx int, dst []float32, ds int) int {
	m := vecChannels(vec, n)
	if m > 0 {
		winogradKernelAVX2(m, &src[0], sy, sx, &dst[0], ds)
	}
	return m
}
