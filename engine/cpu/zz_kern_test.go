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

func TestKernelL2(t *testing.T) {
	const k = 512
	const sets = 16
	a := make([]float32, sets*6*k)
	b := make([]float32, k*16)
	c := make([]float32, sets*6*16)
	for _, astride := range []int{4, 24} {
		var p [sets][6]*float32
		for s := range sets {
			for i := range 6 {
				if astride == 4 {
					p[s][i] = &a[(s*6+i)*k]
				} else {
					p[s][i] = &a[s*6*k+i]
				}
			}
		}
		n := 3000
		start := time.Now()
		for range n {
			for s := range sets {
				sgemm6x16AVX2(k, &p[s], astride, &b[0], &c[s*96], 16, true)
			}
		}
		el := time.Since(start)
		gf := float64(n*sets) * k * 6 * 16 * 2 / el.Seconds() / 1e9
		t.Logf("kernel, A in L2 (astride %d): %.1f GFLOP/s single core", astride, gf)
	}
}

func TestKernelRowSpacing(t *testing.T) {
	for _, cin := range []int{64, 128, 256, 512, 520} {
		k := cin
		const sets = 32
		a := make([]float32, (sets*6+8)*cin)
		b := make([]float32, k*16)
		c := make([]float32, sets*6*16)
		var p [sets][6]*float32
		for s := range sets {
			for i := range 6 {
				p[s][i] = &a[(s*6+i)*cin]
			}
		}
		n := 200000 / k * 4
		start := time.Now()
		for range n {
			for s := range sets {
				sgemm6x16AVX2(k, &p[s], 4, &b[0], &c[s*96], 16, true)
			}
		}
		el := time.Since(start)
		gf := float64(n*sets) * float64(k) * 6 * 16 * 2 / el.Seconds() / 1e9
		t.Logf("rows %d floats apart (k=%d): %.1f GFLOP/s", cin, k, gf)
	}
}
