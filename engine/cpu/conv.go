package cpu

import (
	"fmt"
	"unsafe"
)

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

// Blocking of the indirect convolution: a k-block holds about kBlock
// reduction elements (whole kernel positions, or a slice of the channels of
// one), and a chunk of rowChunk output rows shares it.
const (
	kBlock   = 512
	rowChunk = 96
)

// kPiece is a run of input channels [c0, c1) at one kernel position.
type kPiece struct{ seg, c0, c1 int }

// kBlocks groups the reduction (segment, channel) into blocks of about kBlock.
func kBlocks(nSeg, cin int) [][]kPiece {
	var blocks [][]kPiece
	var cur []kPiece
	size := 0
	for s := range nSeg {
		for c0 := 0; c0 < cin; c0 += kBlock {
			c1 := min(cin, c0+kBlock)
			if size > 0 && size+c1-c0 > kBlock {
				blocks = append(blocks, cur)
				cur, size = nil, 0
			}
			cur = append(cur, kPiece{s, c0, c1})
			size += c1 - c0
		}
	}
	if len(cur) > 0 {
		blocks = append(blocks, cur)
	}
	return blocks
}

// convIndirect computes a convolution whose input channels and output
// channels are both innermost (e.g. NHWC forward, and the gradient with
// respect to the input) as a GEMM without im2col: each output position is a
// row of A whose segments (one per kernel position) point straight into the
// input, or at zeros in the padding. The reduction is blocked so that a
// block of the packed kernel stays in cache while a chunk of rows uses it.
func convIndirect(x *execution, g *convGeom, in, ker, out []float32) {
	nSeg := product(g.kerSp)
	cin, cout := g.cin, g.cout
	k := nSeg * cin
	np := (cout + nr - 1) / nr
	packBuf := x.b.pool.get(dtypeFloat32, np*nr*k).([]float32)
	defer x.b.pool.put(dtypeFloat32, packBuf)
	np = packKernel(x.b.threads, packBuf, g, ker, nSeg)
	zero := x.b.pool.get(dtypeFloat32, cin).([]float32)
	clear(zero)
	defer x.b.pool.put(dtypeFloat32, zero)
	blocks := kBlocks(nSeg, cin)
	// Long rows whose starts are multiples of 1 KiB apart alias in the L1
	// cache and halve the kernel's speed; interleaving them into packed
	// panels fixes that, and with many output panels it pays for itself.
	packA := cin >= 256

	// Rows: output positions in the output's memory order; channels are innermost so row r starts at r*cout.
	rows := len(out) / cout
	rowAxes, rowDims := outputRowAxes(g)
	tiles := (rows + mr - 1) / mr
	chunkTiles := max(1, rowChunk/mr)
	parallelFor(x.b.threads, tiles, 1, func(from, to int) {
		var t tile
		ptrs := make([]rowPtrs, chunkTiles*nSeg)
		var apack []float32
		if packA {
			apack = make([]float32, chunkTiles*mr*kBlock)
		}
		pos := make([]int, len(rowDims))
		kp := make([]int, g.spatial)
		for c0 := from; c0 < to; c0 += chunkTiles {
			c1 := min(to, c0+chunkTiles)
			// Row pointers of every tile of the chunk, for every kernel position.
			for ti := c0; ti < c1; ti++ {
				r0 := ti * mr
				nrows := min(mr, rows-r0)
				tp := ptrs[(ti-c0)*nSeg : (ti-c0+1)*nSeg]
				for i := range mr {
					if i >= nrows {
						for s := range nSeg {
							tp[s][i] = tp[s][0]
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
							tp[s][i] = &in[off]
						} else {
							tp[s][i] = &zero[0]
						}
					}
				}
			}
			for bi, blk := range blocks {
				kb := 0
				for _, p := range blk {
					kb += p.c1 - p.c0
				}
				brow := blk[0].seg*cin + blk[0].c0 // first packed-kernel row of the block
				if packA {
					for ti := c0; ti < c1; ti++ {
						packRows(apack[(ti-c0)*mr*kBlock:], &ptrs, (ti-c0)*nSeg, blk, &zero[0])
					}
				}
				for j := range np {
					col0 := j * nr
					cols := min(nr, cout-col0)
					pan := packBuf[j*k*nr : (j+1)*k*nr]
					for ti := c0; ti < c1; ti++ {
						r0 := ti * mr
						nrows := min(mr, rows-r0)
						c := out[r0*cout+col0:]
						acc := bi > 0
						if packA {
							var ap rowPtrs
							a := apack[(ti-c0)*mr*kBlock:]
							for i := range mr {
								ap[i] = &a[i]
							}
							t.run(kb, &ap, mr*4, pan[brow*nr:], c, cout, nrows, cols, acc)
							continue
						}
						// Direct rows: one call per run of pieces whose input vectors are contiguous.
						tp := ptrs[(ti-c0)*nSeg : (ti-c0+1)*nSeg]
						for pi := 0; pi < len(blk); {
							p := blk[pi]
							n := p.c1 - p.c0
							end := pi + 1
							for end < len(blk) && contiguous(tp, blk[end-1], blk[end], cin, &zero[0]) {
								n += blk[end].c1 - blk[end].c0
								end++
							}
							var ap rowPtrs
							for i := range mr {
								ap[i] = offsetPtr(tp[p.seg][i], p.c0, &zero[0])
							}
							t.run(n, &ap, 4, pan[(p.seg*cin+p.c0)*nr:], c, cout, nrows, cols, acc || pi > 0)
							pi = end
						}
					}
				}
			}
		}
	})
}

// offsetPtr advances a row pointer by c elements; the zero row stays put.
func offsetPtr(p *float32, c int, zero *float32) *float32 {
	if p == zero || c == 0 {
		return p
	}
	return (*float32)(unsafe.Add(unsafe.Pointer(p), 4*c))
}

// contiguous reports whether piece b directly follows piece a in memory for
// every row of a tile (whole channel runs at consecutive kernel positions
// over consecutive input pixels), so one kernel call can cover both.
func contiguous(tp []rowPtrs, a, b kPiece, cin int, zero *float32) bool {
	if a.c1 != cin || b.c0 != 0 || b.seg != a.seg+1 {
		return false
	}
	for i := range mr {
		pa, pb := tp[a.seg][i], tp[b.seg][i]
		if pa == zero || pb == zero || unsafe.Add(unsafe.Pointer(pa), 4*cin) != unsafe.Pointer(pb) {
			return false
		}
	}
	return true
}

// packRows interleaves the six rows of a tile over a k-block into dst
// (k-major, six floats per k), reading each piece from the row pointers.
func packRows(dst []float32, ptrs *[]rowPtrs, base int, blk []kPiece, zero *float32) {
	koff := 0
	for _, p := range blk {
		n := p.c1 - p.c0
		rp := &(*ptrs)[base+p.seg]
		for i := range mr {
			if rp[i] == zero {
				for c := range n {
					dst[(koff+c)*mr+i] = 0
				}
				continue
			}
			src := unsafe.Slice(offsetPtr(rp[i], p.c0, zero), n)
			for c, v := range src {
				dst[(koff+c)*mr+i] = v
			}
		}
		koff += n
	}
}

// packKernel packs the kernel as B[(segment, ci), co] panels of 16 output
// channels and returns the number of panels.
func packKernel(threads int, dst []float32, g *convGeom, ker []float32, nSeg int) int {
	cin, cout := g.cin, g.cout
	k := nSeg * cin
	np := (cout + nr - 1) / nr
	parallelFor(threads, np, 4, func(jFrom, jTo int) {
		kp := make([]int, g.spatial)
		for s := range nSeg {
			decode(s, g.kerSp, kp)
			base := 0
			for d := range g.spatial {
				base += kp[d] * g.kerSpSt[d]
			}
			for j := jFrom; j < jTo; j++ {
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
	})
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
	K := g.cin * product(g.kerSp)
	groups := (rowsOB + mr - 1) / mr

	// Small outputs (few channels) split the long reduction between threads,
	// each accumulating a private copy of the output that is summed at the
	// end; large outputs split the output rows, each thread packing the
	// shared kernel block itself (cheap next to the work it feeds).
	if x.b.threads > 1 && len(out) <= privateOutputLimit && K >= 2*kcBlock {
		blocks := (K + kcBlock - 1) / kcBlock
		parts := min(x.b.threads, blocks)
		private := make([][]float32, parts)
		per := (blocks + parts - 1) / parts
		parallelFor(parts, parts, 1, func(from, to int) {
			for t := from; t < to; t++ {
				private[t] = make([]float32, len(out))
				convReduceBatchRange(g, in, ker, private[t], 0, groups, t*per*kcBlock, min((t+1)*per*kcBlock, K))
			}
		})
		copy(out, private[0])
		for _, p := range private[1:] {
			addVV(out, out, p)
		}
		return
	}
	parallelFor(x.b.threads, groups, 1, func(gFrom, gTo int) {
		convReduceBatchRange(g, in, ker, out, gFrom, gTo, 0, K)
	})
}

// privateOutputLimit is the largest kernel gradient (in floats) computed
// with per-thread private copies.
const privateOutputLimit = 1 << 18

// convReduceBatchRange computes row groups [gFrom, gTo) of out over the
// reduction range [kFrom, kTo), which starts at a block boundary; out is
// overwritten at kFrom == 0, accumulated otherwise.
func convReduceBatchRange(g *convGeom, in, ker, out []float32, gFrom, gTo, kFrom, kTo int) {
	rowsOB := g.in[g.a.axes.InputBatch]
	cout := g.cout
	nKs := product(g.kerSp)
	nOS := product(g.outSp)
	np := (cout + nr - 1) / nr
	sp := g.spatial
	{
		var t tile
		bpack := make([]float32, np*kcBlock*nr)
		// A is packed as [k][width]: one contiguous copy of this thread's ob
		// values per reduction row; the kernel reads four adjacent floats per
		// step with a stride of one packed row.
		ob0, width := gFrom*mr, (gTo-gFrom)*mr
		valid := min(width, rowsOB-ob0)
		apack := make([]float32, width*kcBlock)
		kpos := make([]int, kcBlock*sp) // kernel position of each block row
		icOf := make([]int, kcBlock)
		inOff := make([]int, kcBlock)
		opos := make([]int, sp)
		var ptrs rowPtrs
		for k0 := kFrom; k0 < kTo; k0 += kcBlock {
			kc := min(kcBlock, kTo-k0)
			// Block rows r ↔ (ic, ks) = divmod(k0 + r, nKs).
			for r := range kc {
				icOf[r] = (k0 + r) / nKs
				decode((k0+r)%nKs, g.kerSp, kpos[r*sp:(r+1)*sp])
			}
			// Pack B: rows (ic, ks) of the block, 16 output channels per panel.
			for r := range kc {
				off := icOf[r] * g.kerI
				for d := range sp {
					off += kpos[r*sp+d] * g.kerSpSt[d]
				}
				for j := range np {
					c0 := j * nr
					w := min(nr, cout-c0)
					row := bpack[(j*kc+r)*nr : (j*kc+r)*nr+nr]
					copy(row[:w], ker[off+c0:off+c0+w])
					clear(row[w:])
				}
			}
			for os := range nOS {
				decode(os, g.outSp, opos)
				for r := range kc {
					off := icOf[r] * g.inC
					for d := range sp {
						p := g.inputPos(d, opos[d], kpos[r*sp+d])
						if p < 0 {
							off = -1
							break
						}
						off += p * g.inSpSt[d]
					}
					inOff[r] = off
				}
				for r, off := range inOff[:kc] {
					dst := apack[r*width : (r+1)*width]
					if off < 0 {
						clear(dst)
						continue
					}
					copy(dst[:valid], in[off+ob0:off+ob0+valid])
					clear(dst[valid:])
				}
				cbase := 0
				for d := range sp {
					cbase += opos[d] * g.outSpSt[d]
				}
				for j := range np {
					c0 := j * nr
					cols := min(nr, cout-c0)
					pan := bpack[j*kc*nr : (j+1)*kc*nr]
					for gi := gFrom; gi < gTo; gi++ {
						row0 := gi * mr
						for i := range mr {
							ptrs[i] = &apack[row0-ob0+i]
						}
						t.run(kc, &ptrs, width*4, pan, out[cbase+row0*g.outB+c0:], g.outB, min(mr, rowsOB-row0), cols, k0 > kFrom)
					}
				}
			}
		}
	}
}
