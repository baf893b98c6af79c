package cpu

// The row loops of taps_amd64.s (strides in elements).

//go:noescape
func tapsRow16AVX512(out, in *float32, offs *int, w *float32, taps, pixels, inStep, wStride, outStride int)

//go:noescape
func tapsRow8AVX2(out, in *float32, offs *int, w *float32, taps, pixels, inStep, wStride, outStride int)

//go:noescape
func tapsGradRow16AVX512(dw, in *float32, offs *int, dy *float32, taps, pixels, inStep, dyStride, wStride int)

//go:noescape
func tapsGradRow8AVX2(dw, in *float32, offs *int, dy *float32, taps, pixels, inStep, dyStride, wStride int)

// tapsRow runs convTaps' row loop over c output channels: blocks of 16 in
// AVX-512 and of 8 in AVX2 as far as the kernel allows, the rest in Go.
func tapsRow(kern kernelKind, out, in []float32, offs []int, w []float32, pixels, inStep, c int) {
	c0 := 0
	if kern == kernelAVX512 {
		for ; c0+16 <= c; c0 += 16 {
			tapsRow16AVX512(&out[c0], &in[0], &offs[0], &w[c0], len(offs), pixels, inStep, c, c)
		}
	}
	if kern >= kernelAVX2 {
		for ; c0+8 <= c; c0 += 8 {
			tapsRow8AVX2(&out[c0], &in[0], &offs[0], &w[c0], len(offs), pixels, inStep, c, c)
		}
	}
	if c0 < c {
		tapsRowGo(out, in, offs, w, pixels, inStep, c, c0)
	}
}

// tapsGradRow runs convGradTaps' row loop the same way.
func tapsGradRow(kern kernelKind, dw, in []float32, offs []int, dy []float32, pixels, inStep, c int) {
	c0 := 0
	if kern == kernelAVX512 {
		for ; c0+16 <= c; c0 += 16 {
			tapsGradRow16AVX512(&dw[c0], &in[0], &offs[0], &dy[c0], len(offs), pixels, inStep, c, c)
		}
	}
	if kern >= kernelAVX2 {
		for ; c0+8 <= c; c0 += 8 {
			tapsGradRow8AVX2(&dw[c0], &in[0], &offs[0], &dy[c0], len(offs), pixels, inStep, c, c)
		}
	}
	if c0 < c {
		tapsGradRowGo(dw, in, offs, dy, pixels, inStep, c, c0)
	}
}
