package corrupt

import (
	"context"
	"fmt"
	"testing"
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

// BenchmarkThroughput measures, per corruption, 64×64 RGB images per
// second over all five severities with all cores (ApplyBatch through
// Measure), and for the paper's 14 the projected minutes for 10,000 images
// × 14 corruptions × 5 severities:
// go test ./corrupt -run '^$' -bench Throughput -benchtime 1x -v.
func BenchmarkThroughput(b *testing.B) {
	for _, tb := range []Table{TableImageNet, TableTinyImageNet} {
		b.Run(tb.String(), func(b *testing.B) {
			c := mustNew(b, Options{Table: tb})
			imgs := make([]Image, 200)
			for i := range imgs {
				imgs[i] = testImage(64, 64, 3, uint64(i))
			}
			total := 0.0 // seconds per image summed over the 14 × 5 cells
			for i := 0; i < b.N; i++ {
				rates, err := c.Measure(context.Background(), Names(), imgs, 0)
				if err != nil {
					b.Fatal(err)
				}
				total = 0
				for _, r := range rates {
					if r.Name != "glass_blur" {
						total += r.Seconds / float64(len(imgs))
					}
					b.Logf("%-18s %8.0f images/s", r.Name, r.PerSecond)
				}
			}
			b.ReportMetric(14*5/total, "images/s(paper14)")
			b.ReportMetric(10000*total/60, "min/10k×14×5")
		})
	}
}
