package cpu

import "fmt"

// convGeom is a ConvGeneral resolved against concrete shapes.
type convGeom struct {
	a                          convAttr
	in, ker, out               []int // dims
	inSt, kerSt, outSt         []int // strides
	spatial                    int
	cin, cout, batch           int
	inSp, kerSp, outSp         []int // spatial dims
	inSpSt, kerSpSt, outSpSt   []int // spatial strides
	inB, inC, kerI, kerO, outB int   // strides of batch/channel axes
	outC                       int
}

func newConvGeom(a convAttr, in, ker, out []int) convGeom {
	g := convGeom{a: a, in: in, ker: ker, out: out, inSt: strides(in), kerSt: strides(ker), outSt: strides(out)}
	ax := a.axes
	g.spatial = len(ax.InputSpatial)
	g.cin, g.cout, g.batch = in[ax.InputChannels], out[ax.OutputChannels], in[ax.InputBatch]
	for d := range g.spatial {
		g.inSp = append(g.inSp, in[ax.InputSpatial[d]])
		g.kerSp = append(g.kerSp, ker[ax.KernelSpatial[d]])
		g.outSp = append(g.outSp, out[ax.OutputSpatial[d]])
		g.inSpSt = append(g.inSpSt, g.inSt[ax.InputSpatial[d]])
		g.kerSpSt = append(g.kerSpSt, g.kerSt[ax.KernelSpatial[d]])
		g.outSpSt = append(g.outSpSt, g.outSt[ax.OutputSpatial[d]])
	}
	g.inB, g.inC = g.inSt[ax.InputBatch], g.inSt[ax.InputChannels]
	g.kerI, g.kerO = g.kerSt[ax.KernelInputChannels], g.kerSt[ax.KernelOutputChannels]
	g.outB, g.outC = g.outSt[ax.OutputBatch], g.outSt[ax.OutputChannels]
	return g
}

// inputPos maps output position o and kernel position k on spatial axis d
// to an input index, or −1 where it falls in padding or between dilated
// input elements.
func (g *convGeom) inputPos(d, o, k int) int {
	p := o*g.a.strides[d] - g.a.paddings[d][0] + k*g.a.kernelDilations[d]
	if idil := g.a.inputDilations[d]; idil > 1 {
		if p < 0 || p%idil != 0 {
			return -1
		}
		p /= idil
	}
	if p < 0 || p >= g.inSp[d] {
		return -1
	}
	return p
}

func convKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	g := newConvGeom(n.attr.(convAttr), in[0].shape.Dimensions, in[1].shape.Dimensions, n.outs[0].shape.Dimensions)
	out := x.alloc(n.outs[0].shape)
	switch o := out.flat.(type) {
	case []float32:
		a, k := in[0].flat.([]float32), in[1].flat.([]float32)
		switch {
		case g.inC == 1 && g.outC == 1:
			convIndirect(x, &g, a, k, o)
		case g.inB == 1 && g.kerO == 1 && g.outC == 1:
			convReduceBatch(x, &g, a, k, o)
		default:
			convDirect(x.b.threads, &g, a, k, o)
		}
	case []float64:
		convDirect(x.b.threads, &g, in[0].flat.([]float64), in[1].flat.([]float64), o)
	default:
		x.b.release(out)
		return nil, fmt.Errorf("ConvGeneral is not implemented for %s", out.shape.DType)
	}
	return []*Buffer{out}, nil
}

// spatialIter walks the positions of dims in row-major order.
func spatialIter(dims []int, fn func(pos []int)) {
	pos := make([]int, len(dims))
	total := product(dims)
	for range total {
		fn(pos)
		for d := len(dims) - 1; d >= 0; d-- {
			pos[d]++
			if pos[d] < dims[d] {
				break
			}
			pos[d] = 0
		}
	}
}

// convDirect is the reference loop for any layout and dtype.
func convDirect[T floating](threads int, g *convGeom, in, ker, out []T) {
	outPos := product(g.outSp)
	parallelFor(threads, g.batch*g.cout, 1, func(from, to int) {
		opos := make([]int, g.spatial)
		for bc := from; bc < to; bc++ {
			b, co := bc/g.cout, bc%g.cout
			for op := range outPos {
				rem := op
				for d := g.spatial - 1; d >= 0; d-- {
					opos[d] = rem % g.outSp[d]
					rem /= g.outSp[d]
				}
				var sum T
				spatialIter(g.kerSp, func(kp []int) {
					inOff, kOff := b*g.inB, co*g.kerO
					for d := range g.spatial {
						p := g.inputPos(d, opos[d], kp[d])
						if p < 0 {
							return
						}
						inOff += p * g.inSpSt[d]
						kOff += kp[d] * g.kerSpSt[d]
					}
					for ci := range g.cin {
						sum += in[inOff+ci*g.inC] * ker[kOff+ci*g.kerI]
					}
				})
				off := b*g.outB + co*g.outC
				for d := range g.spatial {
					off += opos[d] * g.outSpSt[d]
				}
				out[off] = sum
			}
		}
	})
}

// convIndirect computes a convolution whose input channels and output
// channels are both innermost (e.g. NHWC forward, and the gradient with
// respect to the input) as a GEMM without im2col: each output position is a
// row of A whose segments (one per kernel position) point straight into the
// input, or at zeros in the padding.
func convIndirect(x *execution, g *convGeom, in, ker, out []float32) {
	nSeg := product(g.kerSp)
	cin, cout := g.cin, g.cout
	// B: (segment, ci) × co, packed per 16 output channels.
	k := nSeg * cin
	np := (cout + nr - 1) / nr
	packBuf := x.b.pool.get(dtypeFloat32, np*nr*k).([]float32)
	defer x.b.pool.put(dtypeFloat32, packBuf)
	np = packKernel(packBuf, g, ker, nSeg)
	zero := x.b.pool.get(dtypeFloat32, cin).([]float32)
	clear(zero)
	defer x.b.pool.put(dtypeFloat32, zero)

	// Rows: output positions in the output's memory order; channels are innermost so row r starts at r*cout.
	rows := len(out) / cout
	rowAxes, rowDims := outputRowAxes(g)
	tiles := (rows + mr - 1) / mr
	parallelFor(x.b.threads, tiles, 4, func(from, to int) {
		var t tile
		ptrs := make([][6]*float32, nSeg)
		pos := make([]int, len(rowDims))
		kp := make([]int, g.spatial)
		for ti := from; ti < to; ti++ {
			r0 := ti * mr
			nrows := min(mr, rows-r0)
			for i := range mr {
				if i >= nrows {
					for s := range nSeg {
						ptrs[s][i] = &zero[0]
					}
					continue
				}
				decode(r0+i, rowDims, pos)
				b, opos := rowPosition(g, rowAxes, pos)
				for s := range nSeg {
					decode(s, g.kerSp, kp)
					off, ok := b*g.inB, true
					for d := range g.spatial {
						p := g.inputPos(d, opos[d], kp[d])
						if p < 0 {
							ok = false
							break
						}
						off += p * g.inSpSt[d]
					}
					if ok {
						ptrs[s][i] = &in[off]
					} else {
						ptrs[s][i] = &zero[0]
					}
				}
			}
			for j := range np {
				c0 := j * nr
				cols := min(nr, cout-c0)
				pan := packBuf[j*k*nr : (j+1)*k*nr]
				c := out[r0*cout+c0:]
				for s := range nSeg {
					t.run(cin, &ptrs[s], 4, pan[s*cin*nr:], c, cout, nrows, cols, s > 0)
				}
			}
		}
	})
}

// packKernel packs the kernel as B[(segment, ci), co] panels of 16 output
// channels and returns the number of panels.
func packKernel(dst []float32, g *convGeom, ker []float32, nSeg int) int {
	cin, cout := g.cin, g.cout
	k := nSeg * cin
	np := (cout + nr - 1) / nr
	kp := make([]int, g.spatial)
	for s := range nSeg {
		decode(s, g.kerSp, kp)
		base := 0
		for d := range g.spatial {
			base += kp[d] * g.kerSpSt[d]
		}
		for j := range np {
			pan := dst[j*k*nr : (j+1)*k*nr]
			c0 := j * nr
			w := min(nr, cout-c0)
			for ci := range cin {
				row := pan[(s*cin+ci)*nr : (s*cin+ci+1)*nr]
				off := base + ci*g.kerI + c0*g.kerO
				if g.kerO == 1 {
					copy(row[:w], ker[off:off+w])
				} else {
					for c := range w {
						row[c] = ker[off+c*g.kerO]
					}
				}
				clear(row[w:])
			}
		}
	}
	return np
}

// outputRowAxes lists the output's non-channel axes in memory order and their dims.
func outputRowAxes(g *convGeom) (axes, dims []int) {
	ch := g.a.axes.OutputChannels
	for a, d := range g.out {
		if a != ch {
			axes = append(axes, a)
			dims = append(dims, d)
		}
	}
	return axes, dims
}

// rowPosition turns a row index vector (over outputRowAxes) into the batch
// index and the output spatial position.
func rowPosition(g *convGeom, axes, pos []int) (int, []int) {
	var b int
	opos := make([]int, g.spatial)
	for i, a := range axes {
		if a == g.a.axes.OutputBatch {
			b = pos[i]
			continue
		}
		for d, sa := range g.a.axes.OutputSpatial {
			if sa == a {
				opos[d] = pos[i]
			}
		}
	}
	return b, opos
}

// decode writes the row-major multi-index of i over dims into pos.
func decode(i int, dims, pos []int) {
	for d := len(dims) - 1; d >= 0; d-- {
		pos[d] = i % dims[d]
		i /= dims[d]
	}
}

// kcBlock is the number of (input-channel, kernel-position) pairs packed at
// once by convReduceBatch.
const kcBlock = 256

// convReduceBatch computes a convolution whose input *batch* axis is
// innermost — the gradient with respect to the kernel, where GoMLX swaps
// batch and channels: out[ob, os, oc] = Σ_{ks, ic} in[ob, pos(os, ks), ic] ·
// ker[ks, ic, oc]. It is a GEMM per output spatial position with rows ob,
// columns oc and a long reduction over (ic, ks), blocked so that each
// packed block of the kernel operand serves every output position.
func convReduceBatch(x *execution, g *convGeom, in, ker, out []float32) {
	rowsOB := g.in[g.a.axes.InputBatch] // output batch = input batch axis size
	cout := g.cout
	nKs := product(g.kerSp)
	nIC := g.cin
	K := nIC * nKs
	nOS := product(g.outSp)
	np := (cout + nr - 1) / nr
	groups := (rowsOB + mr - 1) / mr

	// Each thread owns a range of row groups for every output position; it
	// packs the shared kernel block itself (cheap next to the work it feeds).
	parallelFor(x.b.threads, groups, 1, func(gFrom, gTo int) {
		var t tile
		bpack := make([]float32, np*kcBlock*nr)
		apack := make([]float32, (gTo-gFrom)*mr*kcBlock)
		kpos := make([]int, g.spatial)
		opos := make([]int, g.spatial)
		var ptrs [6]*float32
		for k0 := 0; k0 < K; k0 += kcBlock {
			kc := min(kcBlock, K-k0)
			// Pack B: rows (ic, ks) of the block, 16 output channels per panel.
			for j := range np {
				c0 := j * nr
				w := min(nr, cout-c0)
				pan := bpack[j*kc*nr : (j+1)*kc*nr]
				for r := range kc {
					ic, ks := (k0+r)/nKs, (k0+r)%nKs
					decode(ks, g.kerSp, kpos)
					off := ic*g.kerI + c0
					for d := range g.spatial {
						off += kpos[d] * g.kerSpSt[d]
					}
					row := pan[r*nr : r*nr+nr]
					copy(row[:w], ker[off:off+w])
					clear(row[w:])
				}
			}
			for os := range nOS {
				decode(os, g.outSp, opos)
				// Pack A for this output position: per row group, kc × 6 contiguous ob values.
				for gi := gFrom; gi < gTo; gi++ {
					ob0 := gi * mr
					w := min(mr, rowsOB-ob0)
					pan := apack[(gi-gFrom)*mr*kc : (gi-gFrom+1)*mr*kc]
					for r := range kc {
						ic, ks := (k0+r)/nKs, (k0+r)%nKs
						decode(ks, g.kerSp, kpos)
						dst := pan[r*mr : r*mr+mr]
						off, ok := ic*g.inC+ob0, true
						for d := range g.spatial {
							p := g.inputPos(d, opos[d], kpos[d])
							if p < 0 {
								ok = false
								break
							}
							off += p * g.inSpSt[d]
						}
						if ok {
							copy(dst[:w], in[off:off+w])
							clear(dst[w:])
						} else {
							clear(dst)
						}
					}
				}
				cbase := 0
				for d := range g.spatial {
					cbase += opos[d] * g.outSpSt[d]
				}
				for j := range np {
					c0 := j * nr
					cols := min(nr, cout-c0)
					pan := bpack[j*kc*nr : (j+1)*kc*nr]
					for gi := gFrom; gi < gTo; gi++ {
						ob0 := gi * mr
						a := apack[(gi-gFrom)*mr*kc:]
						for i := range mr {
							ptrs[i] = &a[i]
						}
						t.run(kc, &ptrs, mr*4, pan, out[cbase+ob0*g.outB+c0:], g.outB, min(mr, rowsOB-ob0), cols, k0 > 0)
					}
				}
			}
		}
	})
}
