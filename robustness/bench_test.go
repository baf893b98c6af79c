package robustness

import (
	"context"
	"testing"
)

// benchImages is the number of test images per cell in the benchmarks:
// with the 71 cells of the paper's benchmark, 14,200 images per iteration.
const benchImages = 200

// BenchmarkStream measures the generation of the test batches alone (no
// model): reading, corrupting, gray conversion and normalization of the
// 71 cells, for Fashion-MNIST-sized gray images (padded to 32×32) and Tiny
// ImageNet-sized RGB images.
func BenchmarkStream(b *testing.B) {
	for _, tc := range []struct {
		name           string
		channels, side int
	}{
		{"gray32", 1, 32},
		{"rgb64", 3, 64},
	} {
		b.Run(tc.name, func(b *testing.B) {
			set := stripeSet(b, "stripes", benchImages, tc.channels, tc.side, 4)
			st, err := NewStream(set, testNorm, Options{})
			if err != nil {
				b.Fatal(err)
			}
			// Untimed first pass: the frost textures are made on first
			// use (once per Corrupter and image size).
			for _, err := range st.Batches(context.Background()) {
				if err != nil {
					b.Fatal(err)
				}
			}
			images := 0
			for b.Loop() {
				for cb, err := range st.Batches(context.Background()) {
					if err != nil {
						b.Fatal(err)
					}
					images += cb.Batch.N
				}
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
