package cpu

import (
	"fmt"
	"math"
)

// bnLayout views a tensor as [outer, C, inner] around the feature axis.
func bnLayout(dims []int, axis int) (outer, c, inner int) {
	return product(dims[:axis]), dims[axis], product(dims[axis+1:])
}

// bnRowBlock is the number of rows whose float32 partial sums channelSums
// (and the folded bias gradient) add into float64 totals at a time.
const bnRowBlock = 64

// channelSums accumulates two per-channel sums over rows of a [rows, C,
// inner] tensor in parallel: acc folds rows [from, to) into float32 partial
// sums of the tensor's own precision, added into float64 totals every
// bnRowBlock rows; the parts' totals are added in order (reduceSplit). acc
// gets a scratch slice of tmp elements of its part's own.
func channelSums[A floating](threads *team, p *pool, rows, c, tmp int, acc func(s0, s1, scratch []A, from, to int)) [][2]float64 {
	parts, per := reduceSplit(rows, bnRowBlock)
	partial := make([][][2]float64, parts)
	parallelParts(threads, rows, parts, per, func(t, from, to int) {
		sums := make([][2]float64, c)
		s0, s1 := make([]A, c), make([]A, c)
		var tmpRows []A
		if tmp > 0 {
			tmpRows = scratch[A](p, tmp)
			defer putScratch(p, tmpRows)
		}
		for r := from; r < to; r += bnRowBlock {
			clear(s0)
			clear(s1)
			acc(s0, s1, tmpRows, r, min(r+bnRowBlock, to))
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
		var bias []float32
		if a.bias > 0 {
			bias = in[a.bias].flat.([]float32)
		}
		return bnTraining(x, n, a, xs, in[1].flat.([]float32), in[2].flat.([]float32), bias)
	case []float64:
		return bnTraining(x, n, a, xs, in[1].flat.([]float64), in[2].flat.([]float64), nil)
	}
	return nil, fmt.Errorf("BatchNormForTraining is not implemented for %s", in[0].shape.DType)
}

// bnTraining: pass 1 sums x and x² per channel (float64), pass 2 writes
// (x − mean)·scale/√(var + ε) + offset. A folded bias (non-nil) is added to
// the mean it reports, the mean of x + bias.
func bnTraining[T floating](x *execution, n *node, a bnAttr, xs, scale, offset, bias []T) ([]*Buffer, error) {
	outer, c, inner := bnLayout(n.inputs[0].shape.Dimensions, a.axis)
	count := float64(outer * inner)
	// Shift by the first row's values so the partial sums of x and x² do not
	// lose precision to a large mean.
	shift := make([]T, c)
	for ch := range c {
		shift[ch] = xs[ch*inner]
	}
	sums := channelSums(x.b.team, x.b.pool, outer, c, 0, func(s0, s1, _ []T, from, to int) {
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
		reported := m // the mean of the operand before the folded bias was taken out
		if bias != nil {
			reported += float64(bias[ch])
		}
		mf[ch], vf[ch] = T(reported), T(v)
		k := float64(scale[ch]) / math.Sqrt(v+float64(a.epsilon))
		mul[ch] = T(k)
		add[ch] = T(float64(offset[ch]) - m*k)
	}
	o := out.flat.([]T)
	if a.relu {
		// Folded ReLU (channels last): o = max(y, 0), m = y > 0.
		maskBuf := x.alloc(n.outs[3].shape)
		m := maskBuf.flat.([]bool)
		parallelFor(x.b.team, outer, max(1, elementGrain/c), func(from, to int) {
			affineReLU(o[from*c:to*c], m[from*c:to*c], xs[from*c:to*c], mul, add, c)
		})
		return []*Buffer{out, mean, variance, maskBuf}, nil
	}
	affine(x.b.team, o, xs, mul, add, outer, c, inner)
	return []*Buffer{out, mean, variance}, nil
}

// affineReLU writes y = x·mul[ch] + add[ch] over whole rows of c channels
// as o = y where y > 0, else 0 (also for NaN), and m = y > 0.
func affineReLU[T floating](o []T, m []bool, xs, mul, add []T, c int) {
	if o32, ok := any(o).([]float32); ok && hasAVX2 && c%8 == 0 && len(o) > 0 {
		affineReLU32(&o32[0], &m[0], &any(xs).([]float32)[0], &any(mul).([]float32)[0], &any(add).([]float32)[0], c, len(o)/c)
		return
	}
	for i := range o {
		ch := i % c
		y := xs[i]*mul[ch] + add[ch]
		m[i] = y > 0
		o[i] = 0
		if m[i] {
			o[i] = y
		}
	}
}

// affine writes o = x·mul[ch] + add[ch] per channel.
func affine[T floating](threads *team, o, xs, mul, add []T, outer, c, inner int) {
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
		var bias []float32
		var mask []bool
		if a.bias > 0 {
			bias = in[a.bias].flat.([]float32)
		}
		if a.mask > 0 {
			mask = in[a.mask].flat.([]bool)
		}
		return bnGradient(x, n, a, xs, in[1].flat.([]float32), in[2].flat.([]float32), in[3].flat.([]float32), in[4].flat.([]float32), bias, mask)
	case []float64:
		return bnGradient(x, n, a, xs, in[1].flat.([]float64), in[2].flat.([]float64), in[3].flat.([]float64), in[4].flat.([]float64), nil, nil)
	}
	return nil, fmt.Errorf("BatchNormGradient is not implemented for %s", in[0].shape.DType)
}

// bnGradient: pass 1 sums dy and dy·x̂ per channel; pass 2 writes
// dx = scale/σ · (dy − mean(dy) − x̂·mean(dy·x̂)). With folds
// (foldIntoBatchNorm, channels last): the mean is taken less bias; dy is g
// where mask and 0 elsewhere, formed block by block in scratch; and with
// a.sumDx the fourth output is Σ dx per channel.
func bnGradient[T floating](x *execution, n *node, a bnAttr, xs, scale, mean, variance, dy, bias []T, mask []bool) ([]*Buffer, error) {
	outer, c, inner := bnLayout(n.inputs[0].shape.Dimensions, a.axis)
	count := float64(outer * inner)
	inv := make([]float64, c)
	for ch := range c {
		inv[ch] = 1 / math.Sqrt(float64(variance[ch])+float64(a.epsilon))
	}
	meanF := make([]float64, c)
	meanT, invT := make([]T, c), make([]T, c)
	for ch := range c {
		meanF[ch] = float64(mean[ch])
		if bias != nil {
			meanF[ch] -= float64(bias[ch])
		}
		meanT[ch], invT[ch] = T(meanF[ch]), T(inv[ch])
	}
	// dyRows returns dy for rows [from, to) of a channels-last tensor:
	// dy itself, or with a mask g masked into scratch.
	dyRows := func(scratch []T, from, to int) []T {
		if mask == nil {
			return dy[from*c : to*c]
		}
		d := scratch[:(to-from)*c]
		maskInto(d, mask[from*c:to*c], dy[from*c:to*c])
		return d
	}
	tmp := 0
	if mask != nil {
		tmp = bnRowBlock * c
	}
	sums := channelSums(x.b.team, x.b.pool, outer, c, tmp, func(s0, s1, scratch []T, from, to int) {
		if inner == 1 {
			g, xx := dyRows(scratch, from, to), xs[from*c:to*c]
			if s32, ok := any(s0).([]float32); ok && hasAVX2 && c%8 == 0 {
				bnGradSums32(&s32[0], &any(s1).([]float32)[0], &any(g).([]float32)[0], &any(xx).([]float32)[0],
					&any(meanT).([]float32)[0], &any(invT).([]float32)[0], c, to-from)
				return
			}
			for i, v := range g {
				ch := i % c
				s0[ch] += v
				s1[ch] += v * (xx[i] - meanT[ch]) * invT[ch]
			}
			return
		}
		for o := from; o < to; o++ {
			base := o * c * inner
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
		bf[ch] = T(-k*sums[ch][0]/count - aa*meanF[ch])
	}
	o := dx.flat.([]T)
	res := []*Buffer{dx, dScale, dOffset}
	if inner == 1 && (mask != nil || a.sumDx) {
		// Blocks of rows: dy formed in scratch, dx written and, for the
		// fourth output, summed while in cache as channelSums sums.
		sdx := channelSums(x.b.team, x.b.pool, outer, c, tmp, func(s0, _, scratch []T, from, to int) {
			d := o[from*c : to*c]
			bnGradRows(d, dyRows(scratch, from, to), xs[from*c:to*c], kf, af, bf, c)
			if a.sumDx {
				colSums(s0, d, c)
			}
		})
		if a.sumDx {
			sum := x.alloc(n.outs[3].shape)
			sf := sum.flat.([]T)
			for ch := range sf {
				sf[ch] = T(sdx[ch][0])
			}
			res = append(res, sum)
		}
		return res, nil
	}
	parallelFor(x.b.team, outer, max(1, elementGrain/(c*inner)), func(from, to int) {
		if inner == 1 {
			bnGradRows(o[from*c:to*c], dy[from*c:to*c], xs[from*c:to*c], kf, af, bf, c)
			return
		}
		for r := from; r < to; r++ {
			base := r * c * inner
			for ch := range c {
				for i := base + ch*inner; i < base+(ch+1)*inner; i++ {
					o[i] = kf[ch]*dy[i] + af[ch]*xs[i] + bf[ch]
				}
			}
		}
	})
	return res, nil
}

// bnGradRows writes o = k·dy + a·x + b over whole rows of c channels.
func bnGradRows[T floating](o, dy, xs, kf, af, bf []T, c int) {
	if o32, ok := any(o).([]float32); ok && hasAVX2 && c%8 == 0 && len(o) > 0 {
		bnGradOut32(&o32[0], &any(dy).([]float32)[0], &any(xs).([]float32)[0], &any(kf).([]float32)[0],
			&any(af).([]float32)[0], &any(bf).([]float32)[0], c, len(o)/c)
		return
	}
	for i := range o {
		ch := i % c
		o[i] = kf[ch]*dy[i] + af[ch]*xs[i] + bf[ch]
	}
}

// colSums adds the column sums of rows of c values to s.
func colSums[T floating](s, rows []T, c int) {
	if s32, ok := any(s).([]float32); ok && hasAVX2 && c%8 == 0 && len(rows) > 0 {
		colSums32(&s32[0], &any(rows).([]float32)[0], c, len(rows)/c)
		return
	}
	for i, v := range rows {
		s[i%c] += v
	}
}

// maskInto writes d = g where mask, else 0.
func maskInto[T floating](d []T, mask []bool, g []T) {
	if d32, ok := any(d).([]float32); ok {
		whereZero(d32, mask, any(g).([]float32))
		return
	}
	for i := range d {
		d[i] = 0
		if mask[i] {
			d[i] = g[i]
		}
	}
}
