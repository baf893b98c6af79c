package cpu

import (
	"fmt"
	"math"
)

// bnLayout views a tensor as [outer, C, inner] around the feature axis.
func bnLayout(dims []int, axis int) (outer, c, inner int) {
	return product(dims[:axis]), dims[axis], product(dims[axis+1:])
}

// channelSums accumulates two per-channel sums over rows of a [rows, C,
// inner] tensor in parallel: acc folds rows [from, to) into float32 partial
// sums of the tensor's own precision, added into float64 totals every
// block of rows; the parts' totals are added in order (reduceSplit).
func channelSums[A floating](threads, rows, c int, acc func(s0, s1 []A, from, to int)) [][2]float64 {
	const rowBlock = 64
	parts, per := reduceSplit(rows, rowBlock)
	partial := make([][][2]float64, parts)
	parallelParts(threads, rows, parts, per, func(t, from, to int) {
		sums := make([][2]float64, c)
		s0, s1 := make([]A, c), make([]A, c)
		for r := from; r < to; r += rowBlock {
			clear(s0)
			clear(s1)
			acc(s0, s1, r, min(r+rowBlock, to))
			for ch := range c {
				sums[ch][0] += float64(s0[ch])
				sums[ch][1] += float64(s1[ch])
			}
		}
		partial[t] = sums
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
	// Shift by the first row's values so the partial sums of x and x² do not
	// lose precision to a large mean.
	shift := make([]T, c)
	for ch := range c {
		shift[ch] = xs[ch*inner]
	}
	sums := channelSums(x.b.threads, outer, c, func(s0, s1 []T, from, to int) {
		if s32, ok := any(s0).([]float32); ok && inner == 1 && hasAVX2 && c%8 == 0 {
			bnSums32(&s32[0], &any(s1).([]float32)[0], &any(xs).([]float32)[from*c], &any(shift).([]float32)[0], c, to-from)
			return
		}
		for o := from; o < to; o++ {
			row := xs[o*c*inner : (o+1)*c*inner]
			if inner == 1 {
				row = row[:c]
				for ch, v := range row {
					d := v - shift[ch]
					s0[ch] += d
					s1[ch] += d * d
				}
				continue
			}
			for ch := range c {
				sh := shift[ch]
				var a, b T
				for _, v := range row[ch*inner : (ch+1)*inner] {
					d := v - sh
					a += d
					b += d * d
				}
				s0[ch] += a
				s1[ch] += b
			}
		}
	})
	out := x.alloc(n.outs[0].shape)
	mean, variance := x.alloc(n.outs[1].shape), x.alloc(n.outs[2].shape)
	mf, vf := mean.flat.([]T), variance.flat.([]T)
	mul := make([]T, c)
	add := make([]T, c)
	for ch := range c {
		ms := sums[ch][0] / count // mean of the shifted values
		v := max(sums[ch][1]/count-ms*ms, 0)
		m := ms + float64(shift[ch])
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
		if o32, ok := any(o).([]float32); ok && inner == 1 && hasAVX2 && c%8 == 0 {
			affine32(&o32[from*c], &any(xs).([]float32)[from*c], &any(mul).([]float32)[0], &any(add).([]float32)[0], c, to-from)
			return
		}
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
	meanT, invT := make([]T, c), make([]T, c)
	for ch := range c {
		meanT[ch], invT[ch] = mean[ch], T(inv[ch])
	}
	sums := channelSums(x.b.threads, outer, c, func(s0, s1 []T, from, to int) {
		if s32, ok := any(s0).([]float32); ok && inner == 1 && hasAVX2 && c%8 == 0 {
			bnGradSums32(&s32[0], &any(s1).([]float32)[0], &any(dy).([]float32)[from*c], &any(xs).([]float32)[from*c],
				&any(meanT).([]float32)[0], &any(invT).([]float32)[0], c, to-from)
			return
		}
		for o := from; o < to; o++ {
			base := o * c * inner
			if inner == 1 {
				g, xx := dy[base:base+c], xs[base:base+c]
				for ch := range g {
					s0[ch] += g[ch]
					s1[ch] += g[ch] * (xx[ch] - meanT[ch]) * invT[ch]
				}
				continue
			}
			for ch := range c {
				m, iv := meanT[ch], invT[ch]
				var a, b T
				for i := base + ch*inner; i < base+(ch+1)*inner; i++ {
					a += dy[i]
					b += dy[i] * (xs[i] - m) * iv
				}
				s0[ch] += a
				s1[ch] += b
			}
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
		if o32, ok := any(o).([]float32); ok && inner == 1 && hasAVX2 && c%8 == 0 {
			bnGradOut32(&o32[from*c], &any(dy).([]float32)[from*c], &any(xs).([]float32)[from*c], &any(kf).([]float32)[0],
				&any(af).([]float32)[0], &any(bf).([]float32)[0], c, to-from)
			return
		}
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
