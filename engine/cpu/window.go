package cpu

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
)

// windowGeom walks the windows of ReduceWindow and SelectAndScatter.
type windowGeom struct {
	in, out, win, st []int
	pad              [][2]int
	inSt             []int
}

func newWindowGeom(a windowAttr, in, out []int) windowGeom {
	return windowGeom{in: in, out: out, win: a.window, st: a.strides, pad: a.paddings, inSt: strides(in)}
}

// each calls fn with the flat input index of every in-bounds element of the
// window of output position opos (a multi-index).
func (g *windowGeom) each(opos []int, wpos []int, fn func(off int)) {
	rank := len(g.in)
	for i := range wpos {
		wpos[i] = 0
	}
	total := product(g.win)
	for range total {
		off, ok := 0, true
		for d := range rank {
			p := opos[d]*g.st[d] - g.pad[d][0] + wpos[d]
			if p < 0 || p >= g.in[d] {
				ok = false
				break
			}
			off += p * g.inSt[d]
		}
		if ok {
			fn(off)
		}
		for d := rank - 1; d >= 0; d-- {
			wpos[d]++
			if wpos[d] < g.win[d] {
				break
			}
			wpos[d] = 0
		}
	}
}

func reduceWindowKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(windowAttr)
	out := x.alloc(n.outs[0].shape)
	g := newWindowGeom(a, in[0].shape.Dimensions, out.shape.Dimensions)
	switch o := out.flat.(type) {
	case []float32:
		reduceWindow(x.b.team, &g, a.reduce, in[0].flat.([]float32), o)
	case []float64:
		reduceWindow(x.b.team, &g, a.reduce, in[0].flat.([]float64), o)
	default:
		x.b.release(out)
		return nil, fmt.Errorf("ReduceWindow is not implemented for %s", out.shape.DType)
	}
	return []*Buffer{out}, nil
}

func reduceWindow[T floating](threads *team, g *windowGeom, op backends.ReduceOpType, in, out []T) {
	if pool2x2NHWC(threads, g, op, in, out) {
		return
	}
	parallelFor(threads, len(out), 1024, func(from, to int) {
		opos := make([]int, len(g.out))
		wpos := make([]int, len(g.out))
		for i := from; i < to; i++ {
			decode(i, g.out, opos)
			var acc float64
			switch op {
			case backends.ReduceOpMax:
				acc = math.Inf(-1)
			case backends.ReduceOpMin:
				acc = math.Inf(1)
			case backends.ReduceOpProduct:
				acc = 1
			}
			g.each(opos, wpos, func(off int) {
				v := float64(in[off])
				switch op {
				case backends.ReduceOpMax:
					acc = maxOf(acc, v)
				case backends.ReduceOpMin:
					acc = minOf(acc, v)
				case backends.ReduceOpSum:
					acc += v
				case backends.ReduceOpProduct:
					acc *= v
				}
			})
			out[i] = T(acc)
		}
	})
}

// pool2x2 reports whether the windows are 2×2 with stride 2 over the
// middle two axes of a rank-4 tensor, unpadded there: non-overlapping
// pooling windows in NHWC.
func (g *windowGeom) pool2x2() bool {
	return len(g.in) == 4 && equalInts(g.win, []int{1, 2, 2, 1}) && equalInts(g.st, []int{1, 2, 2, 1}) &&
		g.pad[1] == [2]int{} && g.pad[2] == [2]int{}
}

// pool2x2NHWC is the fast path for 2×2, stride-2, unpadded max pooling over
// the middle two axes of a rank-4 tensor.
func pool2x2NHWC[T floating](threads *team, g *windowGeom, op backends.ReduceOpType, in, out []T) bool {
	if op != backends.ReduceOpMax || !g.pool2x2() {
		return false
	}
	n, h, w, c := g.in[0], g.in[1], g.in[2], g.in[3]
	oh, ow := g.out[1], g.out[2]
	o32, vec := any(out).([]float32)
	in32, _ := any(in).([]float32) // set when out is []float32
	vec = vec && hasAVX2 && c%8 == 0 && ow > 0
	parallelFor(threads, n*oh, 8, func(from, to int) {
		for r := from; r < to; r++ {
			b, y := r/oh, r%oh
			if vec {
				a := ((b*h + 2*y) * w) * c
				maxPoolRow32(&o32[(b*oh+y)*ow*c], &in32[a], &in32[a+w*c], c, ow)
				continue
			}
			for xo := range ow {
				i00 := ((b*h+2*y)*w + 2*xo) * c
				i01, i10, i11 := i00+c, i00+w*c, i00+w*c+c
				o := out[((b*oh+y)*ow+xo)*c : ((b*oh+y)*ow+xo+1)*c]
				for k := range o {
					o[k] = maxOf(maxOf(in[i00+k], in[i01+k]), maxOf(in[i10+k], in[i11+k]))
				}
			}
		}
	})
	return true
}

// maxPool2x2Grad is the fast path of selectAndScatter for the gradient of
// 2×2, stride-2, unpadded max pooling over the middle two axes of a rank-4
// tensor: the windows do not overlap, so each one writes its four outputs
// (the gradient at its first maximum, 0 elsewhere) without a cleared
// buffer to add into.
func maxPool2x2Grad[T floating](threads *team, g *windowGeom, operand, source, out []T) bool {
	if !g.pool2x2() {
		return false
	}
	n, h, w, c := g.in[0], g.in[1], g.in[2], g.in[3]
	oh, ow := g.out[1], g.out[2]
	if h%2 != 0 || w%2 != 0 {
		clear(out) // the last row or column is in no window
	}
	o32, vec := any(out).([]float32)
	in32, _ := any(operand).([]float32) // set when out is []float32
	g32, _ := any(source).([]float32)
	vec = vec && hasAVX2 && c%8 == 0 && ow > 0
	parallelFor(threads, n*oh, 8, func(from, to int) {
		for r := from; r < to; r++ {
			b, y := r/oh, r%oh
			top := ((b*h + 2*y) * w) * c
			bottom := top + w*c
			src := (b*oh + y) * ow * c
			if vec {
				maxPoolGradRow32(&o32[top], &o32[bottom], &in32[top], &in32[bottom], &g32[src], c, ow)
				continue
			}
			for xo := range ow {
				i := [4]int{top + 2*xo*c, top + (2*xo+1)*c, bottom + 2*xo*c, bottom + (2*xo+1)*c}
				for k, gk := range source[src+xo*c : src+(xo+1)*c] {
					best := 0
					for j := 1; j < 4; j++ {
						if operand[i[j]+k] > operand[i[best]+k] {
							best = j
						}
					}
					for j := range i {
						out[i[j]+k] = 0
					}
					out[i[best]+k] = gk
				}
			}
		}
	})
	return true
}

// selectAndScatterKernel sends each source value to the position its
// window selected: the first maximum (or minimum), XLA's rule for ties.
func selectAndScatterKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	a := n.attr.(windowAttr)
	out := x.alloc(n.outs[0].shape)
	g := newWindowGeom(a, in[0].shape.Dimensions, in[1].shape.Dimensions)
	isMax := a.reduce == backends.ReduceOpMax
	switch o := out.flat.(type) {
	case []float32:
		selectAndScatter(x.b.team, &g, isMax, in[0].flat.([]float32), in[1].flat.([]float32), o)
	case []float64:
		selectAndScatter(x.b.team, &g, isMax, in[0].flat.([]float64), in[1].flat.([]float64), o)
	default:
		x.b.release(out)
		return nil, fmt.Errorf("%s is not implemented for %s", n.op, out.shape.DType)
	}
	return []*Buffer{out}, nil
}

func selectAndScatter[T floating](threads *team, g *windowGeom, isMax bool, operand, source, out []T) {
	if !isMax || !maxPool2x2Grad(threads, g, operand, source, out) {
		scatterToSelected(g, isMax, operand, source, out)
	}
}

// scatterToSelected is selectAndScatter for any window geometry.
func scatterToSelected[T floating](g *windowGeom, isMax bool, operand, source, out []T) {
	clear(out)
	opos := make([]int, len(g.out))
	wpos := make([]int, len(g.out))
	for i, s := range source {
		decode(i, g.out, opos)
		best := -1
		g.each(opos, wpos, func(off int) {
			if best < 0 {
				best = off
				return
			}
			v, b := operand[off], operand[best]
			if (isMax && v > b) || (!isMax && v < b) {
				best = off
			}
		})
		if best >= 0 {
			out[best] += s
		}
	}
}
