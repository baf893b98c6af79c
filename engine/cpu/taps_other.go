//go:build !amd64

package cpu

// Off amd64 the row loops of convTaps and convGradTaps run in Go.

func tapsRow(kern kernelKind, out, in []float32, offs []int, w []float32, pixels, inStep, c int) {
	tapsRowGo(out, in, offs, w, pixels, inStep, c, 0)
}

func tapsGradRow(kern kernelKind, dw, in []float32, offs []int, dy []float32, pixels, inStep, c int) {
	tapsGradRowGo(dw, in, offs, dy, pixels, inStep, c, 0)
}
