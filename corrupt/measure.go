package corrupt

import (
	"context"
	"time"
)

// Rate is the measured throughput of one corruption over all severities.
type Rate struct {
	Name      string
	Images    int     // corrupted images (batch size × severities)
	Seconds   float64 // wall-clock time
	PerSecond float64 // Images / Seconds
}

// Measure times ApplyBatch with the given workers for every named
// corruption (all of Names if names is empty) at every severity on imgs,
// and reports images per second per corruption. Frost textures are
// generated before timing starts. It is meant for `cotrain corrupt
// --bench`-style reports; the package's benchmarks use it too.
func (c *Corrupter) Measure(ctx context.Context, names []string, imgs []Image, workers int) ([]Rate, error) {
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		if _, err := lookup(n); err != nil {
			return nil, err
		}
		if n == "frost" && len(imgs) > 0 {
			// Warm the texture cache: every texture, every table rule.
			for i := 0; i < c.frost.n; i++ {
				c.frost.scaledTexture(i, imgs[0].H, imgs[0].W, c.tiny)
			}
		}
	}
	out := make([]Rate, 0, len(names))
	for _, n := range names {
		start := time.Now()
		for s := 1; s <= Severities; s++ {
			if _, err := c.ApplyBatch(ctx, n, s, imgs, StreamSeed(0, n, s), workers); err != nil {
				return nil, err
			}
		}
		sec := time.Since(start).Seconds()
		r := Rate{Name: n, Images: Severities * len(imgs), Seconds: sec}
		if sec > 0 {
			r.PerSecond = float64(r.Images) / sec
		}
		out = append(out, r)
	}
	return out, nil
}
