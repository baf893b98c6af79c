package cpu

// Direct convolutions for layers with few input channels (a first layer on
// grayscale or RGB images). With cin ≤ smallChannels a GEMM has a reduction
// of only kh·kw·cin steps (9 for a 3×3 kernel on one channel), so packing
// its tiles costs more than the arithmetic. Here the input is zero-padded
// once and each output pixel is a sum over its window's taps: the input
// value at each (ky, kx, ci) times that tap's row of output channels, with
// the channels in vector lanes.

// tapsLayout reports whether convTaps applies: a 2-D convolution of an NHWC
// input into an NHWC output with at most smallChannels input channels,
// output channels innermost in the kernel, no input dilation and no
// negative padding.
func tapsLayout(g *convGeom) bool {
	if !paddedGeometry(g) || g.cin > smallChannels || g.kerO != 1 || g.outC != 1 || g.a.axes.OutputBatch != 0 {
		return false
	}
	return g.outSpSt[1] == g.cout && g.outSpSt[0] == g.outSp[1]*g.cout && g.outB == g.outSp[0]*g.outSpSt[0]
}

// paddedGeometry reports the input side that padImages serves for both
// convPadded and convTaps: two spatial axes without input dilation, NHWC
// (batch outermost, channels innermost and contiguous), no negative
// padding.
func paddedGeometry(g *convGeom) bool {
	if !g.fast2D || g.inC != 1 {
		return false
	}
	ax := g.a.axes
	if ax.InputBatch != 0 || g.inSpSt[1] != g.cin || g.inSpSt[0] != g.inSp[1]*g.cin || g.inB != g.inSp[0]*g.inSpSt[0] {
		return false
	}
	for d := range 2 {
		if g.a.paddings[d][0] < 0 || g.a.paddings[d][1] < 0 {
			return false
		}
	}
	return true
}

// tapOffsets lists, for taps (kernel position s at input offsets kOff[s],
// channel ci) in that order, the element offset of the tap's input value
// from a pixel's window origin in an NHWC image of rows wp pixels wide with
// c channels.
func tapOffsets(kOff [][]int, wp, c int) []int {
	offs := make([]int, 0, len(kOff)*c)
	for _, ko := range kOff {
		for ci := range c {
			offs = append(offs, (ko[0]*wp+ko[1])*c+ci)
		}
	}
	return offs
}

// convTaps computes a convolution with few input channels (tapsLayout) as
// direct sums over each output pixel's taps, one output row per call of
// the row loop.
func convTaps(x *execution, g *convGeom, in, ker, out []float32) {
	cin, cout := g.cin, g.cout
	xp, hp, wp := padImages(x, g, in, g.batch, g.inB, cin, 0)
	defer x.b.pool.put(dtypeFloat32, xp)
	offs := tapOffsets(g.kOff, wp, cin)
	// The kernel as rows of output channels, one per tap: one panel as
	// wide as the layer.
	w := make([]float32, len(offs)*cout)
	packKernel(x.b.team, w, g, ker, len(g.kerOff), []colPanel{{0, cout}}, cout)
	oh, ow := g.outSp[0], g.outSp[1]
	sy, sx := g.a.strides[0], g.a.strides[1]
	rowLen, imgLen := wp*cin, hp*wp*cin
	parallelFor(x.b.team, g.batch*oh, max(1, rowChunk/max(ow, 1)), func(from, to int) {
		for r := from; r < to; r++ {
			n, y := r/oh, r%oh
			tapsRow(x.b.kernel, out[r*ow*cout:(r+1)*ow*cout], xp[n*imgLen+y*sy*rowLen:], offs, w, ow, sx*cin, cout)
		}
	})
}

// convGradTaps computes the kernel gradient of a stride-1 layer with few
// input channels (gradLayout, cin ≤ smallChannels): dW[ky, kx, ci, co] =
// Σ_{n, y, x} X[n, y+ky−pad, x+kx−pad, ci]·dY[n, y, x, co], tap by tap over
// each output-gradient row. The images are split into parts (reduceSplit)
// whose private sums are added in order, as convGradPadded's are.
func convGradTaps(x *execution, g *convGeom, in, ker, out []float32) {
	ax := g.a.axes
	chans, images, cout := g.in[ax.InputBatch], g.cin, g.cout
	gh, gw := g.kerSp[0], g.kerSp[1] // the output gradient's (the layer output's) size
	xp, hp, wp := padImages(x, g, in, images, g.inC, chans, 0)
	defer x.b.pool.put(dtypeFloat32, xp)
	// The taps are the positions of the layer's kernel (this convolution's
	// output), its channels innermost: dW's HWIO order.
	kh, kw := g.outSp[0], g.outSp[1]
	pos := make([][]int, 0, kh*kw)
	for ky := range kh {
		for kx := range kw {
			pos = append(pos, []int{ky, kx})
		}
	}
	offs := tapOffsets(pos, wp, chans)
	rowLen, imgLen := wp*chans, hp*wp*chans
	parts, per := reduceSplit(images, 1)
	private := make([][]float32, parts)
	parallelParts(x.b.team, images, parts, per, func(t, from, to int) {
		acc := x.b.pool.get(dtypeFloat32, len(out)).([]float32)
		clear(acc)
		for n := from; n < to; n++ {
			for y := range gh {
				dy := ker[n*g.kerI+y*g.kerSpSt[0]:]
				tapsGradRow(x.b.kernel, acc, xp[n*imgLen+y*rowLen:], offs, dy[:gw*cout], gw, chans, cout)
			}
		}
		private[t] = acc
	})
	mergeParts(x, out, private)
}

// tapsRowGo is the portable row loop of convTaps: out[p·c + co] =
// Σ_t in[p·inStep + offs[t]]·w[t·c + co] for pixels p and c output
// channels, from channel c0 on.
func tapsRowGo(out, in []float32, offs []int, w []float32, pixels, inStep, c, c0 int) {
	for p := range pixels {
		o := out[p*c+c0 : (p+1)*c]
		clear(o)
		win := in[p*inStep:]
		for t, off := range offs {
			v := win[off]
			for co, wv := range w[t*c+c0 : (t+1)*c] {
				o[co] += v * wv
			}
		}
	}
}

// tapsGradRowGo is the portable row loop of convGradTaps: dw[t·c + co] +=
// Σ_p in[p·inStep + offs[t]]·dy[p·c + co] for c output channels, from
// channel c0 on.
func tapsGradRowGo(dw, in []float32, offs []int, dy []float32, pixels, inStep, c, c0 int) {
	for t, off := range offs {
		d := dw[t*c+c0 : (t+1)*c]
		for p := range pixels {
			v := in[p*inStep+off]
			for co, g := range dy[p*c+c0 : (p+1)*c] {
				d[co] += v * g
			}
		}
	}
}
