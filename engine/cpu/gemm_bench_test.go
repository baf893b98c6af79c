package cpu

import (
	"fmt"
	"testing"
)

// BenchmarkMicroKernel measures the full-panel micro-kernel on one core:
// with A and B in L1, and with A rows cin floats apart (as a convolution
// reads them) or packed (interleaved), streaming from L2. Rows a multiple
// of 1 KiB apart alias in L1, which is why wide layers pack A. Every kernel
// this CPU supports runs, side by side, at the panel width it uses for
// wide layers.
func BenchmarkMicroKernel(b *testing.B) {
	for _, kern := range supportedKernels() {
		b.Run(kern.String(), func(b *testing.B) { benchMicroKernel(b, kern, kern.panelWidth(512)) })
	}
}

func benchMicroKernel(b *testing.B, kern kernelKind, nr int) {
	run := func(b *testing.B, k, sets, rowSpacing int, packed bool) {
		a := make([]float32, (sets*mr+8)*max(rowSpacing, k))
		bb := make([]float32, k*nr)
		c := make([]float32, sets*mr*nr)
		p := make([]rowPtrs, sets)
		astride := 4
		for s := range sets {
			for i := range mr {
				if packed {
					p[s][i] = &a[s*mr*k+i]
				} else {
					p[s][i] = &a[(s*mr+i)*rowSpacing]
				}
			}
		}
		if packed {
			astride = 4 * mr
		}
		b.ResetTimer()
		for range b.N {
			for s := range sets {
				kern.micro(k, &p[s], astride, &bb[0], &c[s*mr*nr], nr, nr, true)
			}
		}
		b.ReportMetric(float64(b.N*sets)*float64(k*mr*nr)*2/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	b.Run("L1", func(b *testing.B) { run(b, 256, 1, 256, false) })
	for _, spacing := range []int{128, 256, 512, 520} {
		b.Run(fmt.Sprintf("rows-%d-apart", spacing), func(b *testing.B) { run(b, spacing, 32, spacing, false) })
	}
	b.Run("packed", func(b *testing.B) { run(b, 512, 32, 512, true) })
}
