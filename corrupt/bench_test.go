package corrupt

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkApply measures one corruption of a 64×64 RGB image per
// iteration, for every corruption and severity, with the ImageNet table:
// BenchmarkApply/<name>/s<severity>. Run with a short -benchtime, e.g.
// go test ./corrupt -run '^$' -bench Apply -benchtime 50x.
func BenchmarkApply(b *testing.B) {
	c := mustNew(b, Options{})
	img := testImage(64, 64, 3, 1)
	dst := make([]uint8, len(img.Pix))
	for _, name := range Names() {
		for s := 1; s <= Severities; s++ {
			b.Run(fmt.Sprintf("%s/s%d", name, s), func(b *testing.B) {
				rng := ImageRNG(1, 0)
				if err := c.ApplyInto(dst, name, s, img, rng); err != nil { // warm caches
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := c.ApplyInto(dst, name, s, img, rng); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkApplyBatchPaper14 measures the acceptance workload on a reduced
// scale: every one of the paper's 14 corruptions at every severity on a
// batch of 64×64 RGB images with all cores, and reports images/s and the
// projected time for 10,000 images × 14 × 5.
func BenchmarkApplyBatchPaper14(b *testing.B) {
	c := mustNew(b, Options{})
	imgs := make([]Image, 64)
	for i := range imgs {
		imgs[i] = testImage(64, 64, 3, uint64(i))
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, name := range Paper14() {
			for s := 1; s <= Severities; s++ {
				if _, err := c.ApplyBatch(ctx, name, s, imgs, StreamSeed(uint64(i), name, s), 0); err != nil {
					b.Fatal(err)
				}
				n += len(imgs)
			}
		}
	}
	el := time.Since(start).Seconds()
	b.ReportMetric(float64(n)/el, "images/s")
	b.ReportMetric(10000*14*5/(float64(n)/el)/60, "min/10k×14×5")
}
