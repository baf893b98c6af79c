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
	// kOff[s][d] is kernel position s's offset on spatial axis d in input
	// (dilated) coordinates: k·dilation; kerOff[s] its kernel offset.
	kOff   [][]int
	kerOff []int
	// fast2D marks two spatial axes without input dilation, the common case
	// the offset helpers compute inline.
	fast2D bool
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
	nSeg := product(g.kerSp)
	kp := make([]int, g.spatial)
	for s := range nSeg {
		decode(s, g.kerSp, kp)
		offs := make([]int, g.spatial)
		ko := 0
		for d := range g.spatial {
			offs[d] = kp[d] * a.kernelDilations[d]
			ko += kp[d] * g.kerSpSt[d]
		}
		g.kOff = append(g.kOff, offs)
		g.kerOff = append(g.kerOff, ko)
	}
	g.fast2D = g.spatial == 2 && a.inputDilations[0] == 1 && a.inputDilations[1] == 1
	return g
}

// unitSteps reports a 2-D convolution without strides or dilations.
func (g *convGeom) unitSteps() bool {
	if !g.fast2D {
		return false
	}
	for d := range 2 {
		if g.a.strides[d] != 1 || g.a.kernelDilations[d] != 1 {
			return false
		}
	}
	return true
}

// outBase is an output position's start on spatial axis d in input
// (dilated) coordinates: o·stride − padding.
func (g *convGeom) outBase(d, o int) int { return o*g.a.strides[d] - g.a.paddings[d][0] }

// inputAt maps an output base (outBase) and kernel offset (kOff) on axis d
// to an input index, or −1 in padding or between dilated input elements.
func (g *convGeom) inputAt(d, base, ko int) int {
	p := base + ko
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

// inputOffset is the flat input offset of batch b at output bases obase and
// kernel position s, or −1 if it falls outside the input.
func (g *convGeom) inputOffset(b int, obase []int, s int) int {
	return g.withSpatial(b*g.inB, obase, s)
}

// withSpatial adds to base the spatial offset of kernel position s at
// output bases obase, or returns −1 if that position falls outside the
// input.
func (g *convGeom) withSpatial(base int, obase []int, s int) int {
	if g.fast2D {
		ko := g.kOff[s]
		y, x := obase[0]+ko[0], obase[1]+ko[1]
		if uint(y) >= uint(g.inSp[0]) || uint(x) >= uint(g.inSp[1]) {
			return -1
		}
		return base + y*g.inSpSt[0] + x*g.inSpSt[1]
	}
	off := base
	for d, ko := range g.kOff[s] {
		p := g.inputAt(d, obase[d], ko)
		if p < 0 {
			return -1
		}
		off += p * g.inSpSt[d]
	}
	return off
}

func convKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	g := newConvGeom(n.attr.(convAttr), in[0].shape.Dimensions, in[1].shape.Dimensions, n.outs[0].shape.Dimensions)
	out := x.alloc(n.outs[0].shape)
	switch o := out.flat.(type) {
	case []float32:
		a, k := in[0].flat.([]float32), in[1].flat.([]float32)
		switch {
		case gradLayout(&g) && g.in[g.a.axes.InputBatch] <= smallChannels:
			convGradTaps(x, &g, a, k, o)
		case gradLayout(&g):
			convGradPadded(x, &g, a, k, o)
		case dilatedLayout(&g):
			convInputDilated(x, &g, a, k, o)
		case x.b.winograd && winogradLayout(&g):
			winogradF2(x, &g, a, k, o)
		case tapsLayout(&g):
			convTaps(x, &g, a, k, o)
		case g.inC == 1 && g.outC == 1 && g.kerO == 1 && g.cin <= smallChannels:
			convSmallInput(x, &g, a, k, o)
		case g.inC == 1 && g.outC == 1 && paddedLayout(&g):
			convPadded(x, &g, a, k, o)
		case g.inC == 1 && g.outC == 1:
			convIndirect(x, &g, a, k, o)
		case g.inB == 1 && g.kerO == 1 && g.outC == 1:
			convReduceBatch(x, &g, a, k, o)
		default:
			convDirect(x.b.team, &g, a, k, o)
		}
	case []float64:
		convDirect(x.b.team, &g, in[0].flat.([]float64), in[1].flat.([]float64), o)
	default:
		x.b.release(out)
		return nil, fmt.Errorf("ConvGeneral is not implemented for %s", out.shape.DType)
	}
	return []*Buffer{out}, nil
}

// convDirect is the reference loop for any layout and dtype.
func convDirect[T floating](threads *team, g *convGeom, in, ker, out []T) {
	outPos := product(g.outSp)
	parallelFor(threads, g.batch*g.cout, 1, func(from, to int) {
		opos := make([]int, g.spatial)
		obase := make([]int, g.spatial)
		for bc := from; bc < to; bc++ {
			b, co := bc/g.cout, bc%g.cout
			for op := range outPos {
				rem := op
				for d := g.spatial - 1; d >= 0; d-- {
					opos[d] = rem % g.outSp[d]
					rem /= g.outSp[d]
				}
				var sum T
				for d := range g.spatial {
					obase[d] = g.outBase(d, opos[d])
				}
				for s := range g.kerOff {
					inOff := g.inputOffset(b, obase, s)
					if inOff < 0 {
						continue
					}
					kOff := co*g.kerO + g.kerOff[s]
					for ci := range g.cin {
						sum += in[inOff+ci*g.inC] * ker[kOff+ci*g.kerI]
					}
				}
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
	nr, panels, packBuf := packedKernel(x, g, ker)
	defer x.b.pool.put(dtypeFloat32, packBuf)
	zero := x.b.pool.get(dtypeFloat32, cin).([]float32)
	clear(zero)
	defer x.b.pool.put(dtypeFloat32, zero)
	blocks := kBlocks(nSeg, cin)
	// Long rows whose starts are multiples of 1 KiB apart alias in the L1
	// cache and halve the kernel's speed; interleaving them into packed
	// panels fixes that, and with many output panels it pays for itself.
	// With few channels (the first layer) each kernel position holds only a
	// few values, so packing all of them (im2col) gives one long call.
	packA := cin >= 256 || cin < 16

	// Rows: output positions in the output's memory order; channels are innermost so row r starts at r*cout.
	rows := len(out) / cout
	rowAxes, rowDims := outputRowAxes(g)
	tiles := (rows + mr - 1) / mr
	chunkTiles := max(1, rowChunk/mr)
	// work runs tiles [from, to) against panels [pFrom, pTo).
	work := func(from, to, pFrom, pTo int) {
		t := newTile(x.b.kernel, nr)
		ptrs := make([]rowPtrs, chunkTiles*nSeg)
		var apack []float32
		if packA {
			apack = scratch[float32](x.b.pool, chunkTiles*mr*kBlock)
			defer putScratch(x.b.pool, apack)
		}
		pos := make([]int, len(rowDims))
		opos := make([]int, g.spatial)
		obase := make([]int, g.spatial)
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
					b := rowPosition(g, rowAxes, pos, opos)
					for d := range g.spatial {
						obase[d] = g.outBase(d, opos[d])
					}
					for s := range nSeg {
						if off := g.inputOffset(b, obase, s); off >= 0 {
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
				for j := pFrom; j < pTo; j++ {
					col0, cols := panels[j].c0, panels[j].w
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
	}
	// With fewer rows than one chunk per thread (a dense layer on a small
	// batch), the threads split the output panels instead, so that each
	// reads only its part of the packed kernel.
	if tiles <= chunkTiles*x.b.threads && len(panels) >= 2*x.b.threads {
		parallelFor(x.b.team, len(panels), 1, func(pFrom, pTo int) { work(0, tiles, pFrom, pTo) })
		return
	}
	parallelFor(x.b.team, tiles, 1, func(from, to int) { work(from, to, 0, len(panels)) })
}

// minPaddedChannels is the fewest input channels convPadded takes: with
// 8, the three kernel positions of a kernel row make one run of 24 inputs
// per call, which beats packing them (convIndirect) once 8-channel outputs
// have the paired kernel.
const minPaddedChannels = 8

// paddedLayout reports whether convPadded applies: a 2-D convolution of an
// NHWC input (batch outermost, channels innermost and contiguous) without
// input dilation or negative padding, with enough channels that a kernel
// position is worth a call of its own and few enough that rows of
// consecutive pixels do not alias in the L1 cache (convIndirect packs those).
func paddedLayout(g *convGeom) bool {
	return paddedGeometry(g) && g.cin >= minPaddedChannels && g.cin < 256
}

// convPadded computes an NHWC convolution (paddedLayout) as the same GEMM
// as convIndirect, after copying the input once into a zero-padded buffer:
// then every output row reads each kernel row as one contiguous run, at an
// offset that is the same for all rows, and nothing checks bounds.
func convPadded(x *execution, g *convGeom, in, ker, out []float32) {
	nSeg := len(g.kerOff)
	cin, cout := g.cin, g.cout
	k := nSeg * cin
	nr, panels, packBuf := packedKernel(x, g, ker)
	defer x.b.pool.put(dtypeFloat32, packBuf)

	pt, pl := g.a.paddings[0][0], g.a.paddings[1][0]
	xp, hp, wp := padImages(x, g, in, g.batch, g.inB, cin, 0)
	defer x.b.pool.put(dtypeFloat32, xp)
	rowLen, imgLen := wp*cin, hp*wp*cin

	// The calls of each k-block as offsets from a row's first input value:
	// pieces that follow each other in the padded input (consecutive kernel
	// positions along a row) merge into one call.
	blocks := kBlocks(nSeg, cin)
	plan := make([][]planRun, len(blocks))
	for bi, blk := range blocks {
		for _, p := range blk {
			ko := g.kOff[p.seg]
			r := planRun{delta: ko[0]*rowLen + ko[1]*cin + p.c0, n: p.c1 - p.c0, row: p.seg*cin + p.c0}
			if n := len(plan[bi]); n > 0 {
				if q := &plan[bi][n-1]; q.delta+q.n == r.delta && q.row+q.n == r.row {
					q.n += r.n
					continue
				}
			}
			plan[bi] = append(plan[bi], r)
		}
	}

	rows := len(out) / cout
	tiles := (rows + mr - 1) / mr
	chunkTiles := max(1, rowChunk/mr)
	parallelFor(x.b.team, tiles, 1, func(from, to int) {
		t := newTile(x.b.kernel, nr)
		base := make([][mr]int, chunkTiles) // each tile row's offset in xp
		walk := newRowWalker(g)
		walk.seek(from * mr)
		for c0 := from; c0 < to; c0 += chunkTiles {
			c1 := min(to, c0+chunkTiles)
			for ti := c0; ti < c1; ti++ {
				r0 := ti * mr
				bs := &base[ti-c0]
				for i := range mr {
					if r0+i >= rows {
						bs[i] = bs[0]
						continue
					}
					if r0+i > from*mr {
						walk.next()
					}
					bs[i] = walk.b*imgLen + (walk.obase[0]+pt)*rowLen + (walk.obase[1]+pl)*cin
				}
			}
			for bi, runs := range plan {
				for j, pc := range panels {
					pan := packBuf[j*k*nr : (j+1)*k*nr]
					for ti := c0; ti < c1; ti++ {
						r0 := ti * mr
						c := out[r0*cout+pc.c0:]
						if t.kern.pairs(nr, pc.w) && ti+1 < c1 {
							// Two tiles per call (a narrow panel).
							nrows := min(2*mr, rows-r0)
							lo, hi := &base[ti-c0], &base[ti+1-c0]
							for ri, pr := range runs {
								var a pairPtrs
								for i := range mr {
									a[i], a[mr+i] = &xp[lo[i]+pr.delta], &xp[hi[i]+pr.delta]
								}
								t.runPair(pr.n, &a, 4, pan[pr.row*nr:], c, cout, nrows, pc.w, bi > 0 || ri > 0)
							}
							ti++
							continue
						}
						nrows := min(mr, rows-r0)
						bs := &base[ti-c0]
						for ri, pr := range runs {
							var a rowPtrs
							for i := range mr {
								a[i] = &xp[bs[i]+pr.delta]
							}
							t.run(pr.n, &a, 4, pan[pr.row*nr:], c, cout, nrows, pc.w, bi > 0 || ri > 0)
						}
					}
				}
			}
		}
	})
}

// planRun is one micro-kernel call of convPadded: n reduction steps from
// delta past each row's first input value, against packed-kernel rows from
// row.
type planRun struct{ delta, n, row int }

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

// packedKernel returns the kernel packed by packKernel in a pooled buffer,
// its output-channel panels and their width.
func packedKernel(x *execution, g *convGeom, ker []float32) (int, []colPanel, []float32) {
	nr := x.b.kernel.panelWidth(g.cout)
	panels := colPanels(g.cout, nr)
	buf := x.b.pool.get(dtypeFloat32, len(panels)*nr*len(g.kerOff)*g.cin).([]float32)
	packKernel(x.b.team, buf, g, ker, len(g.kerOff), panels, nr)
	return nr, panels, buf
}

// padImages copies the input of a 2-D convolution, images of c-float pixels
// (image n at in[n·imgStride], rows g.inSpSt[0] apart), into a pooled buffer
// zero-padded by g's paddings, hp×wp pixels per image, followed by extra
// zeros.
func padImages(x *execution, g *convGeom, in []float32, images, imgStride, c, extra int) (xp []float32, hp, wp int) {
	hp = g.inSp[0] + g.a.paddings[0][0] + g.a.paddings[0][1]
	wp = g.inSp[1] + g.a.paddings[1][0] + g.a.paddings[1][1]
	return padImagesTo(x, g, in, images, imgStride, c, hp, wp, extra), hp, wp
}

// padImagesTo is padImages into images of hp×wp pixels: g's leading
// paddings, then the input (as much of it as fits), then zeros.
func padImagesTo(x *execution, g *convGeom, in []float32, images, imgStride, c, hp, wp, extra int) []float32 {
	h, w := g.inSp[0], g.inSp[1]
	pt, pl := g.a.paddings[0][0], g.a.paddings[1][0]
	w = max(0, min(w, wp-pl))
	rowLen := wp * c
	xp := x.b.pool.get(dtypeFloat32, images*hp*rowLen+extra).([]float32)
	clear(xp[images*hp*rowLen:])
	parallelFor(x.b.team, images*hp, 16, func(from, to int) {
		for r := from; r < to; r++ {
			n, y := r/hp, r%hp-pt
			dst := xp[r*rowLen : (r+1)*rowLen]
			if y < 0 || y >= h {
				clear(dst)
				continue
			}
			clear(dst[:pl*c])
			copy(dst[pl*c:(pl+w)*c], in[n*imgStride+y*g.inSpSt[0]:])
			clear(dst[(pl+w)*c:])
		}
	})
	return xp
}

// packKernel packs the kernel as B[(segment, ci), co], one nr-wide block
// per output-channel panel.
func packKernel(threads *team, dst []float32, g *convGeom, ker []float32, nSeg int, panels []colPanel, nr int) {
	cin := g.cin
	k := nSeg * cin
	parallelFor(threads, len(panels), 4, func(jFrom, jTo int) {
		kp := make([]int, g.spatial)
		for s := range nSeg {
			decode(s, g.kerSp, kp)
			base := 0
			for d := range g.spatial {
				base += kp[d] * g.kerSpSt[d]
			}
			for j := jFrom; j < jTo; j++ {
				pan := dst[j*k*nr : (j+1)*k*nr]
				c0, w := panels[j].c0, panels[j].w
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

// rowWalker steps through output rows in memory order, keeping the batch
// index and spatial position of the current row without divisions.
type rowWalker struct {
	dims  []int // row dims (output dims without the channel axis)
	role  []int // per row axis: −1 batch, else its spatial axis
	pos   []int
	b     int
	opos  []int
	obase []int // outBase of opos
	g     *convGeom
}

func newRowWalker(g *convGeom) *rowWalker {
	axes, dims := outputRowAxes(g)
	w := &rowWalker{dims: dims, role: make([]int, len(axes)), pos: make([]int, len(dims)),
		opos: make([]int, g.spatial), obase: make([]int, g.spatial), g: g}
	for i, a := range axes {
		w.role[i] = -1
		for d, sa := range g.a.axes.OutputSpatial {
			if sa == a {
				w.role[i] = d
			}
		}
	}
	return w
}

// seek moves to row r.
func (w *rowWalker) seek(r int) {
	decode(r, w.dims, w.pos)
	for i := range w.pos {
		w.set(i)
	}
}

func (w *rowWalker) set(i int) {
	if d := w.role[i]; d >= 0 {
		w.opos[d] = w.pos[i]
		w.obase[d] = w.g.outBase(d, w.pos[i])
	} else {
		w.b = w.pos[i]
	}
}

// next moves to the following row.
func (w *rowWalker) next() {
	for i := len(w.pos) - 1; i >= 0; i-- {
		w.pos[i]++
		if w.pos[i] < w.dims[i] {
			w.set(i)
			return
		}
		w.pos[i] = 0
		w.set(i)
	}
}

// rowPosition turns a row index vector (over outputRowAxes) into the batch
// index and the output spatial position, written into opos.
func rowPosition(g *convGeom, axes, pos, opos []int) int {
	var b int
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
	return b
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

	// Small outputs (few channels) split the long reduction into parts,
	// each accumulating a private copy of the output, summed in order at
	// the end; large outputs split the output rows, each thread packing the
	// shared kernel block itself (cheap next to the work it feeds). The
	// choice and the parts depend on the sizes alone (reduceSplit).
	blocks := (K + kcBlock - 1) / kcBlock
	if parts, per := reduceSplit(blocks, 2); len(out) <= privateOutputLimit && parts > 1 {
		// The first part writes into out itself, the others into pooled
		// private outputs (each range's first block overwrites its output).
		private := make([][]float32, parts)
		parallelParts(x.b.team, blocks, parts, per, func(t, from, to int) {
			dst := out
			if t > 0 {
				dst = x.b.pool.get(dtypeFloat32, len(out)).([]float32)
				private[t] = dst
			}
			convReduceBatchRange(x, g, in, ker, dst, 0, groups, from*kcBlock, min(to*kcBlock, K))
		})
		for _, p := range private[1:] {
			addVV(out, out, p)
			x.b.pool.put(dtypeFloat32, p)
		}
		return
	}
	if rowsOB < 4*mr { // folded rows: split the reduction (below the private-output limit this rarely applies)
		convReduceBatchRange(x, g, in, ker, out, 0, groups, 0, K)
		return
	}
	parallelFor(x.b.team, groups, 1, func(gFrom, gTo int) {
		convReduceBatchRange(x, g, in, ker, out, gFrom, gTo, 0, K)
	})
}

// privateOutputLimit is the largest kernel gradient (in floats) computed
// with per-thread private copies.
const privateOutputLimit = 1 << 18

// convReduceBatchRange computes row groups [gFrom, gTo) of out over the
// reduction range [kFrom, kTo), which starts at a block boundary: the
// range's first block overwrites out, the others accumulate.
//
// With few input channels (rowsOB < mr·4) the output positions are folded
// into the rows: one GEMM with rows (os, ob) instead of one per position,
// so that the four-row tiles are not mostly empty.
func convReduceBatchRange(x *execution, g *convGeom, in, ker, out []float32, gFrom, gTo, kFrom, kTo int) {
	kern := x.b.kernel
	rowsOB := g.in[g.a.axes.InputBatch]
	cout := g.cout
	nKs := product(g.kerSp)
	nOS := product(g.outSp)
	nr := kern.panelWidth(cout)
	np := (cout + nr - 1) / nr
	sp := g.spatial
	fold := rowsOB < 4*mr
	// Output bases (o·stride − pad) and output offsets of every output position.
	obase := make([][]int, nOS)
	cbase := make([]int, nOS)
	opos := make([]int, sp)
	for os := range nOS {
		decode(os, g.outSp, opos)
		obase[os] = make([]int, sp)
		for d := range sp {
			obase[os][d] = g.outBase(d, opos[d])
			cbase[os] += opos[d] * g.outSpSt[d]
		}
	}
	// Packed A is [k][width]: for each reduction row, the ob values of this
	// thread (one position) or of every (position, ob) pair (folded).
	ob0, width := gFrom*mr, (gTo-gFrom)*mr
	valid := min(width, rowsOB-ob0)
	passes := nOS
	if fold {
		ob0, valid = 0, rowsOB
		width = (nOS*rowsOB + mr - 1) / mr * mr
		passes = 1
	}
	t := newTile(kern, nr)
	bpack := scratch[float32](x.b.pool, np*kcBlock*nr)
	defer putScratch(x.b.pool, bpack)
	apack := scratch[float32](x.b.pool, width*kcBlock)
	defer putScratch(x.b.pool, apack)
	icOf := make([]int, kcBlock)
	ksOf := make([]int, kcBlock)
	var ptrs rowPtrs
	for k0 := kFrom; k0 < kTo; k0 += kcBlock {
		kc := min(kcBlock, kTo-k0)
		for r := range kc {
			icOf[r], ksOf[r] = (k0+r)/nKs, (k0+r)%nKs
		}
		// Pack B: rows (ic, ks) of the block, nr output channels per panel.
		for r := range kc {
			off := icOf[r]*g.kerI + g.kerOff[ksOf[r]]
			for j := range np {
				c0 := j * nr
				w := min(nr, cout-c0)
				row := bpack[(j*kc+r)*nr : (j*kc+r)*nr+nr]
				copy(row[:w], ker[off+c0:off+c0+w])
				clear(row[w:])
			}
		}
		for pass := range passes {
			// Pack A for this output position (or, folded, for all of them).
			for r := range kc {
				dst := apack[r*width : (r+1)*width]
				if !fold {
					off := inputOffsetKs(g, icOf[r], obase[pass], ksOf[r])
					if off < 0 {
						clear(dst)
						continue
					}
					copy(dst[:valid], in[off+ob0:off+ob0+valid])
					clear(dst[valid:])
					continue
				}
				for os := range nOS {
					seg := dst[os*rowsOB : (os+1)*rowsOB]
					if off := inputOffsetKs(g, icOf[r], obase[os], ksOf[r]); off >= 0 {
						copy(seg, in[off:off+rowsOB])
					} else {
						clear(seg)
					}
				}
				clear(dst[nOS*rowsOB:])
			}
			for j := range np {
				c0 := j * nr
				cols := min(nr, cout-c0)
				pan := bpack[j*kc*nr : (j+1)*kc*nr]
				for row0 := 0; row0 < width; row0 += mr {
					for i := range mr {
						ptrs[i] = &apack[row0+i]
					}
					if !fold {
						ob := ob0 + row0
						if ob >= rowsOB {
							break
						}
						t.run(kc, &ptrs, width*4, pan, out[cbase[pass]+ob*g.outB+c0:], g.outB, min(mr, rowsOB-ob), cols, k0 > kFrom)
						continue
					}
					// Folded rows belong to different positions: compute into
					// the scratch tile and add each row where it goes.
					t.kern.micro(kc, &ptrs, width*4, &pan[0], &t.scratch[0], nr, nr, false)
					for i := range mr {
						row := row0 + i
						if row >= nOS*rowsOB {
							break
						}
						os, ob := row/rowsOB, row%rowsOB
						dst := out[cbase[os]+ob*g.outB+c0 : cbase[os]+ob*g.outB+c0+cols]
						src := t.scratch[i*nr : i*nr+cols]
						if k0 > kFrom {
							addVV(dst, dst, src)
						} else {
							copy(dst, src)
						}
					}
				}
			}
		}
	}
}

// inputOffsetKs is the flat input offset (without the batch-axis term) of
// input channel ic at output bases obase and kernel position ks, or −1.
func inputOffsetKs(g *convGeom, ic int, obase []int, ks int) int {
	return g.withSpatial(ic*g.inC, obase, ks)
}

// smallChannels is the input-channel count up to which convolutions gather
// their GEMM tiles directly (a first layer with a grayscale input has one
// channel).
const smallChannels = 4

// convSmallInput computes a convolution with few input channels (a first
// layer on grayscale images) as a GEMM whose A tiles are gathered directly:
// for each tile of mr output pixels, the nSeg·cin input values it reads.
func convSmallInput(x *execution, g *convGeom, in, ker, out []float32) {
	nSeg := len(g.kerOff)
	cin, cout := g.cin, g.cout
	k := nSeg * cin
	nr, panels, packBuf := packedKernel(x, g, ker)
	defer x.b.pool.put(dtypeFloat32, packBuf)
	rows := len(out) / cout
	tiles := (rows + mr - 1) / mr
	parallelFor(x.b.team, tiles, 64, func(from, to int) {
		t := newTile(x.b.kernel, nr)
		var ptrs rowPtrs
		panel := make([]float32, k*mr)
		for i := range mr {
			ptrs[i] = &panel[i]
		}
		walk := newRowWalker(g)
		walk.seek(from * mr)
		// One channel, stride 1, pixels adjacent in memory: the mr pixels of
		// a tile that share an image row read mr adjacent values per kernel
		// position.
		rowCopy := g.fast2D && cin == 1 && g.inSpSt[1] == 1 && g.a.strides[1] == 1
		for ti := from; ti < to; ti++ {
			r0 := ti * mr
			nrows := min(mr, rows-r0)
			if ti > from {
				walk.next()
			}
			if rowCopy && nrows == mr && walk.opos[1]+mr <= g.outSp[1] {
				y0, x0, h, w := walk.obase[0], walk.obase[1], g.inSp[0], g.inSp[1]
				bOff := walk.b * g.inB
				for s, ko := range g.kOff {
					dst := panel[s*mr : s*mr+mr]
					y, xs := y0+ko[0], x0+ko[1]
					if y < 0 || y >= h {
						clear(dst)
						continue
					}
					row := in[bOff+y*g.inSpSt[0] : bOff+y*g.inSpSt[0]+w]
					if xs >= 0 && xs+mr <= w {
						copy(dst, row[xs:xs+mr])
						continue
					}
					for i := range dst {
						if xx := xs + i; xx >= 0 && xx < w {
							dst[i] = row[xx]
						} else {
							dst[i] = 0
						}
					}
				}
				for i := 1; i < mr; i++ {
					walk.next()
				}
			} else {
				for i := range mr {
					if i >= nrows {
						for kk := range k {
							panel[kk*mr+i] = 0
						}
						continue
					}
					if i > 0 {
						walk.next()
					}
					b, obase := walk.b, walk.obase
					if g.fast2D {
						// Inline bounds and offsets for the common 2-D case.
						y0, x0, h, w := obase[0], obase[1], uint(g.inSp[0]), uint(g.inSp[1])
						bOff, sy, sx := b*g.inB, g.inSpSt[0], g.inSpSt[1]
						for s, ko := range g.kOff {
							y, xx := y0+ko[0], x0+ko[1]
							dst := panel[s*cin*mr+i:]
							if uint(y) >= h || uint(xx) >= w {
								for ci := range cin {
									dst[ci*mr] = 0
								}
								continue
							}
							src := in[bOff+y*sy+xx*sx:]
							for ci := range cin {
								dst[ci*mr] = src[ci*g.inC]
							}
						}
						continue
					}
					for s := range nSeg {
						off := g.inputOffset(b, obase, s)
						for ci := range cin {
							v := float32(0)
							if off >= 0 {
								v = in[off+ci*g.inC]
							}
							panel[(s*cin+ci)*mr+i] = v
						}
					}
				}
			}
			for j, pc := range panels {
				t.run(k, &ptrs, mr*4, packBuf[j*k*nr:], out[r0*cout+pc.c0:], cout, nrows, pc.w, false)
			}
		}
	})
}

// gradLayout reports whether convGradPadded applies: the kernel gradient
// of a 2-D, stride-1 NHWC layer at least 8 pixels wide with at most 32
// input channels, which GoMLX emits as a convolution of the
// layer input (its channels as the batch axis, innermost; its images as the
// channels, outermost) with the output gradient (images outermost, output
// channels innermost) into an HWIO kernel.
func gradLayout(g *convGeom) bool {
	if !g.unitSteps() || g.inB != 1 || g.kerO != 1 || g.outC != 1 {
		return false
	}
	ax := g.a.axes
	chans, cout := g.in[ax.InputBatch], g.cout
	w := g.inSp[1]
	gh, gw := g.kerSp[0], g.kerSp[1]
	for d := range 2 {
		if g.a.paddings[d][0] < 0 || g.a.paddings[d][1] < 0 {
			return false
		}
	}
	// Narrow gradients waste too much of each row on the zero extension
	// (and give short reductions), and with many channels a tile's rows use
	// a few floats of each cache line of an image that no longer fits in
	// the cache; convReduceBatch serves both better.
	if gw < 8 || chans > 32 {
		return false
	}
	return ax.InputChannels == 0 && g.inSpSt[1] == chans && g.inSpSt[0] == w*chans &&
		ax.KernelInputChannels == 0 && g.kerSpSt[1] == cout && g.kerSpSt[0] == gw*cout && g.kerI == gh*gw*cout &&
		g.outB == cout && g.outSpSt[1] == chans*cout && g.outSpSt[0] == g.outSp[1]*chans*cout
}

// convGradPadded computes the kernel gradient of a 2-D, stride-1 NHWC layer
// (gradLayout): dW[ky, kx, ci, co] = Σ_{n, y, x} X[n, y+ky−pad, x+kx−pad, ci] ·
// dY[n, y, x, co]. The input is copied once into a zero-padded buffer of
// padded width wp; with the output gradient zero-extended to that width,
// reduction step q = y·wp + x of every row (ky, kx, ci) reads the padded
// input at a fixed stride, so each image is one GEMM with rows (ky, kx, ci),
// the layer's output channels as columns and a reduction of gh·wp steps,
// accumulated straight into the HWIO result. The images are split into
// parts (reduceSplit) whose private outputs are summed in order.
func convGradPadded(x *execution, g *convGeom, in, ker, out []float32) {
	ax := g.a.axes
	chans, images, cout := g.in[ax.InputBatch], g.cin, g.cout
	gh, gw := g.kerSp[0], g.kerSp[1] // the output gradient's (the layer output's) size
	kh, kw := g.outSp[0], g.outSp[1] // the kernel's size
	// The last rows read up to kw−1 pixels past the last image.
	xp, hp, wp := padImages(x, g, in, images, g.inC, chans, (kw-1)*chans)
	defer x.b.pool.put(dtypeFloat32, xp)
	rowLen, imgLen := wp*chans, hp*wp*chans

	nr := x.b.kernel.panelWidth(cout)
	panels := colPanels(cout, nr)
	q := gh * wp // reduction steps per image
	rows := kh * kw * chans
	parts, per := reduceSplit(images, 1)
	private := make([][]float32, parts)
	parallelParts(x.b.team, images, parts, per, func(t, from, to int) {
		acc := x.b.pool.get(dtypeFloat32, len(out)).([]float32)
		clear(acc)
		bpack := x.b.pool.get(dtypeFloat32, len(panels)*q*nr).([]float32)
		tl := newTile(x.b.kernel, nr)
		var ptrs rowPtrs
		for n := from; n < to; n++ {
			// B: the image's output gradient, zero-extended to the padded width.
			for j, pc := range panels {
				pan := bpack[j*q*nr : (j+1)*q*nr]
				for y := range gh {
					for xx := range wp {
						row := pan[(y*wp+xx)*nr : (y*wp+xx+1)*nr]
						if xx >= gw {
							clear(row)
							continue
						}
						src := n*g.kerI + y*g.kerSpSt[0] + xx*cout + pc.c0
						copy(row[:pc.w], ker[src:src+pc.w])
						clear(row[pc.w:])
					}
				}
			}
			img := n * imgLen
			rowPtr := func(r int) *float32 {
				r = min(r, rows-1)
				s, ci := r/chans, r%chans
				return &xp[img+(s/kw)*rowLen+(s%kw)*chans+ci]
			}
			for r0 := 0; r0 < rows; r0 += mr {
				nrows := min(mr, rows-r0)
				if r0+mr < rows && tl.kern.pairs(nr, panels[0].w) {
					// Two tiles per call (narrow panels).
					var pp pairPtrs
					for i := range 2 * mr {
						pp[i] = rowPtr(r0 + i)
					}
					for j, pc := range panels {
						tl.runPair(q, &pp, chans*4, bpack[j*q*nr:], acc[r0*cout+pc.c0:], cout, min(2*mr, rows-r0), pc.w, true)
					}
					r0 += mr
					continue
				}
				for i := range mr {
					ptrs[i] = rowPtr(r0 + i)
				}
				for j, pc := range panels {
					tl.run(q, &ptrs, chans*4, bpack[j*q*nr:], acc[r0*cout+pc.c0:], cout, nrows, pc.w, true)
				}
			}
		}
		x.b.pool.put(dtypeFloat32, bpack)
		private[t] = acc
	})
	mergeParts(x, out, private)
}

// mergeParts writes to out the sum, in part order, of the parts' private
// (pooled) outputs of a split reduction, and returns them to the pool.
func mergeParts(x *execution, out []float32, private [][]float32) {
	copy(out, private[0])
	for _, p := range private[1:] {
		addVV(out, out, p)
	}
	for _, p := range private {
		x.b.pool.put(dtypeFloat32, p)
	}
}

// dilatedLayout reports whether convInputDilated applies: a 2-D
// convolution of NHWC input and output with input dilation (the gradient
// of a strided convolution with respect to its input), stride 1 and no
// kernel dilation, with at least minPaddedChannels input channels.
func dilatedLayout(g *convGeom) bool {
	if g.spatial != 2 || g.fast2D || g.cin < minPaddedChannels || g.inC != 1 || g.outC != 1 {
		return false
	}
	ax := g.a.axes
	if ax.InputBatch != 0 || ax.OutputBatch != 0 {
		return false
	}
	for d := range 2 {
		if g.a.strides[d] != 1 || g.a.kernelDilations[d] != 1 || g.a.inputDilations[d] < 1 {
			return false
		}
	}
	return g.inSpSt[1] == g.cin && g.inSpSt[0] == g.inSp[1]*g.cin && g.inB == g.inSp[0]*g.inSpSt[0] &&
		g.outSpSt[1] == g.cout && g.outSpSt[0] == g.outSp[1]*g.cout && g.outB == g.outSp[0]*g.outSpSt[0]
}

// convInputDilated computes an input-dilated convolution (dilatedLayout)
// without the multiplications by the zeros between dilated inputs: with
// dilation s, an output pixel meets real inputs only at the kernel
// positions of its residue class (x mod s, y mod s), about one in s² of
// them. Each output row's pixels are taken class by class, mr of a class
// (s pixels apart, so C rows s·cout apart) per tile, and each tile runs
// the micro-kernel over its class's kernel positions only; a class with
// none is zero.
func convInputDilated(x *execution, g *convGeom, in, ker, out []float32) {
	cin, cout := g.cin, g.cout
	nr, panels, packBuf := packedKernel(x, g, ker)
	defer x.b.pool.put(dtypeFloat32, packBuf)
	zero := x.b.pool.get(dtypeFloat32, cin).([]float32)
	clear(zero)
	defer x.b.pool.put(dtypeFloat32, zero)
	k := len(g.kerOff) * cin
	h, w := g.outSp[0], g.outSp[1]
	kh, kw := g.kerSp[0], g.kerSp[1]
	sy, sx := g.a.inputDilations[0], g.a.inputDilations[1]
	py, px := g.a.paddings[0][0], g.a.paddings[1][0]
	inH, inW := g.inSp[0], g.inSp[1]
	type tap struct{ seg, iy, kx int }
	parallelFor(x.b.team, g.batch*h, 1, func(from, to int) {
		t := newTile(x.b.kernel, nr)
		var rowTaps, taps []tap
		for r := from; r < to; r++ {
			b, y := r/h, r%h
			rowTaps = rowTaps[:0]
			for ky := range kh {
				if p := y - py + ky; p >= 0 && p%sy == 0 && p/sy < inH {
					rowTaps = append(rowTaps, tap{seg: ky * kw, iy: p / sy})
				}
			}
			outRow := out[r*w*cout : (r+1)*w*cout]
			for cx := range min(sx, w) {
				taps = taps[:0]
				for _, rt := range rowTaps {
					for kx := range kw {
						if ((cx-px+kx)%sx+sx)%sx == 0 {
							taps = append(taps, tap{seg: rt.seg + kx, iy: rt.iy, kx: kx})
						}
					}
				}
				n := (w - cx + sx - 1) / sx // pixels of the class
				for j, pc := range panels {
					pan := packBuf[j*k*nr : (j+1)*k*nr]
					for j0 := 0; j0 < n; j0 += mr {
						nrows := min(mr, n-j0)
						x0 := cx + j0*sx
						c := outRow[x0*cout+pc.c0:]
						if len(taps) == 0 {
							for i := range nrows {
								clear(c[i*sx*cout : i*sx*cout+pc.w])
							}
							continue
						}
						for ti, tp := range taps {
							var a rowPtrs
							rowBase := b*g.inB + tp.iy*g.inSpSt[0]
							for i := range mr {
								p := x0 + min(i, nrows-1)*sx - px + tp.kx // a multiple of sx
								if p < 0 || p/sx >= inW {
									a[i] = &zero[0]
								} else {
									a[i] = &in[rowBase+p/sx*cin]
								}
							}
							t.run(cin, &a, 4, pan[tp.seg*cin*nr:], c, sx*cout, nrows, pc.w, ti > 0)
						}
					}
				}
			}
		}
	})
}
