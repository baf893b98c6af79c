package corrupt

import "math"

// frostStats summarises a texture: per-channel mean and standard
// deviation, the share of the gray-level variance above a 9×9 box blur
// (high-frequency fraction), and the mean absolute horizontal gradient.
func frostStats(t *rgbImage) (mean, std [3]float64, hf, grad float64) {
	n := float64(t.w * t.h)
	g := make([]float64, t.w*t.h)
	for i := 0; i < t.w*t.h; i++ {
		for ch := 0; ch < 3; ch++ {
			v := float64(t.pix[3*i+ch])
			mean[ch] += v / n
			g[i] += v / 3
		}
	}
	for i := 0; i < t.w*t.h; i++ {
		for ch := 0; ch < 3; ch++ {
			d := float64(t.pix[3*i+ch]) - mean[ch]
			std[ch] += d * d / n
		}
	}
	for ch := range std {
		std[ch] = math.Sqrt(std[ch])
	}
	gm, gv := 0.0, 0.0
	for _, v := range g {
		gm += v / n
	}
	for _, v := range g {
		gv += (v - gm) * (v - gm) / n
	}
	hfv, cnt := 0.0, 0.0
	for y := 4; y < t.h-4; y++ {
		for x := 4; x < t.w-4; x++ {
			s := 0.0
			for dy := -4; dy <= 4; dy++ {
				for dx := -4; dx <= 4; dx++ {
					s += g[(y+dy)*t.w+x+dx]
				}
			}
			d := g[y*t.w+x] - s/81
			hfv += d * d
			cnt++
		}
	}
	for y := 0; y < t.h; y++ {
		for x := 1; x < t.w; x++ {
			grad += math.Abs(g[y*t.w+x]-g[y*t.w+x-1]) / float64(t.h*(t.w-1))
		}
	}
	return mean, std, hfv / cnt / gv, grad
}
