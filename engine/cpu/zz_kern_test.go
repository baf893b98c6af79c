package cpu

import (
	"testing"
	"time"
)

func TestKernelPeak(t *testing.T) {
	const k = 256
	a := make([]float32, 6*k)
	b := make([]float32, k*16)
	c := make([]float32, 6*16)
	for i := range a {
		a[i] = 1
	}
	var p [6]*float32
	for i := range p {
		p[i] = &a[i*k]
	}
	n := 200000
	start := time.Now()
	for range n {
		sgemm6x16AVX2(k, &p, 4, &b[0], &c[0], 16, true)
	}
	el := time.Since(start)
	gf := float64(n) * k * 6 * 16 * 2 / el.Seconds() / 1e9
	t.Logf("kernel in L1: %.1f GFLOP/s single core", gf)
}
