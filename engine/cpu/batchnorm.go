package cpu

import (
	"fmt"
	"math"
)

// bnLayout views a tensor as [outer, C, inner] around the feature axis.
func bnLayout(dims []int, axis int) (outer, c, inner int) {
	return product(dims[:axis]), dims[axis], product(dims[axis+1:])
}

// channelSums accumulates, per channel, Σ f(i, x) over all elements, in
// float64, with one private accumulator per thread.
func channelSums(threads, outer, c, inner int, acc func(sums [][2]float64, row int)) [][2]float64 {
	rows := outer
	parts := min(threads, max(1, outer*c*inner/elementGrain), rows)
	partial := make([][][2]float64, max(parts, 1))
	parallelFor(parts, parts, 1, func(from, to int) {
		for t := from; t < to; t++ {
			sums := make([][2]float64, c)
			per := (rows + parts - 1) / parts
			for o := t * per; o < min((t+1)*per, rows); o++ {
				acc(sums, o)
			}
			partial[t] = sums
		}
	})
	total := make([][2]float64, c)
	for _, p := range partial {
		for ch := range p {
			total[ch][0] += p[ch][0]
			total[ch][1] += p[ch][1]
		}
	}
	return total
}

func bnTrainingKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(bnAttr)
	switch xs := in[0].flat.(type) {
	case []float32:
		return bnTraining(x, n, a, xs, in[1].flat.([]float32), in[2].flat.([]float32))
	case []float64:
		return bnTraining(x, n, a, xs, in[1].flat.([]float64), in[2].flat.([]float64))
	}
	return nil, fmt.Errorf("BatchNormForTraining is not implemented for %s", in[0].shape.DType)
}

// bnTraining: pass 1 sums x and x² per channel (float64), pass 2 writes
// (x − mean)·scale/√(var + ε) + offset.
func bnTraining[T floating](x *execution, n *node, a bnAttr, xs, scale, offset []T) ([]*Buffer, error) {
	outer, c, inner := bnLayout(n.inputs[0].shape.Dimensions, a.axis)
	count := float64(outer * inner)
	sums := channelSums(x.b.threads, outer, c, inner, func(s [][2]float64, o int) {
		row := xs[o*c*inner : (o+1)*c*inner]
		if inner == 1 {
			for ch, v := range row {
				f := float64(v)
				s[ch][0] += f
				s[ch][1] += f * f
			}
			return
		}
		for ch := range c {
			var s0, s1 float64
			for _, v := range row[ch*inner : (ch+1)*inner] {
				f := float64(v)
				s0 += f
				s1 += f * f
			}
			s[ch][0] += s0
			s[ch][1] += s1
		}
	})
	out := x.alloc(n.outs[0].shape)
	mean, variance := x.alloc(n.outs[1].shape), x.alloc(n.outs[2].shape)
	mf, vf := mean.flat.([]T), variance.flat.([]T)
	mul := make([]T, c)
	add := make([]T, c)
	for ch := range c {
		m := sums[ch][0] / count
		v := max(sums[ch][1]/count-m*m, 0)
		mf[ch], vf[ch] = T(m), T(v)
		k := float64(scale[ch]) / math.Sqrt(v+float64(a.epsilon))
		mul[ch] = T(k)
		add[ch] = T(float64(offset[ch]) - m*k)
	}
	o := out.flat.([]T)
	affine(x.b.threads, o, xs, mul, add, outer, c, inner)
	return []*Buffer{out, mean, variance}, nil
}

// affine writes o = x·mul[ch] + add[ch] per channel.
func affine[T floating](threads int, o, xs, mul, add []T, outer, c, inner int) {
	parallelFor(threads, outer, max(1, elementGrain/(c*inner)), func(from, to int) {
		for r := from; r < to; r++ {
			base := r * c * inner
			if inner == 1 {
				oo, xx := o[base:base+c], xs[base:base+c]
				for ch := range oo {
					oo[ch] = xx[ch]*mul[ch] + add[ch]
				}
				continue
			}
			for ch := range c {
				m, ad := mul[ch], add[ch]
				oo, xx := o[base+ch*inner:base+(ch+1)*inner], xs[base+ch*inner:base+(ch+1)*inner]
				for i := range oo {
					oo[i] = xx[i]*m + ad
				}
			}
		}
	})
}

func bnGradientKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(bnAttr)
	switch xs := in[0].flat.(type) {
	case []float32:
		return bnGradient(x, n, a, xs, in[1].flat.([]float32), in[2].flat.([]float32), in[3].flat.([]float32), in[4].flat.([]float32))
	case []float64:
		return bnGradient(x, n, a, xs, in[1].flat.([]float64), in[2].flat.([]float64), in[3].flat.([]float64), in[4].flat.([]float64))
	}
	return nil, fmt.Errorf("BatchNormGradient is not implemented for %s", in[0].shape.DType)
}

// bnGradient: pass 1 sums dy and dy·x̂ per channel; pass 2 writes
// dx = scale/σ · (dy − mean(dy) − x̂·mean(dy·x̂)).
func bnGradient[T floating](x *execution, n *node, a bnAttr, xs, scale, mean, variance, dy []T) ([]*Buffer, error) {
	outer, c, inner := bnLayout(n.inputs[0].shape.Dimensions, a.axis)
	count := float64(outer * inner)
	inv := make([]float64, c)
	for ch := range c {
		inv[ch] = 1 / math.Sqrt(float64(variance[ch])+float64(a.epsilon))
	}
	sums := channelSums(x.b.threads, outer, c, inner, func(s [][2]float64, o int) {
		base := o * c * inner
		for ch := range c {
			m, iv := float64(mean[ch]), inv[ch]
			var s0, s1 float64
			for i := range inner {
				g := float64(dy[base+ch*inner+i])
				s0 += g
				s1 += g * (float64(xs[base+ch*inner+i]) - m) * iv
			}
			s[ch][0] += s0
			s[ch][1] += s1
		}
	})
	dx := x.alloc(n.outs[0].shape)
	dScale, dOffset := x.alloc(n.outs[1].shape), x.alloc(n.outs[2].shape)
	ds, do := dScale.flat.([]T), dOffset.flat.([]T)
	// dx = k·dy + a·x + b with k = scale·inv, a = −k·inv·mean(dy·x̂), b = −k·mean(dy) − a·mean.
	kf, af, bf := make([]T, c), make([]T, c), make([]T, c)
	for ch := range c {
		ds[ch], do[ch] = T(sums[ch][1]), T(sums[ch][0])
		k := float64(scale[ch]) * inv[ch]
		aa := -k * inv[ch] * sums[ch][1] / count
		kf[ch] = T(k)
		af[ch] = T(aa)
		bf[ch] = T(-k*sums[ch][0]/count - aa*float64(mean[ch]))
	}
	o := dx.flat.([]T)
	parallelFor(x.b.threads, outer, max(1, elementGrain/(c*inner)), func(from, to int) {
		for r := from; r < to; r++ {
			base := r * c * inner
			if inner == 1 {
				oo, g, xx := o[base:base+c], dy[base:base+c], xs[base:base+c]
				for ch := range oo {
					oo[ch] = kf[ch]*g[ch] + af[ch]*xx[ch] + bf[ch]
				}
				continue
			}
			for ch := range c {
				for i := base + ch*inner; i < base+(ch+1)*inner; i++ {
					o[i] = kf[ch]*dy[i] + af[ch]*xs[i] + bf[ch]
				}
			}
		}
	})
	return []*Buffer{dx, dScale, dOffset}, nil
}
