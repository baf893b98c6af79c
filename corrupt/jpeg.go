package corrupt

import (
	"image"
	"image/color"
	_ "image/jpeg" // frost directories may hold JPEG photographs
)

// libjpeg's YCbCr → RGB tables (jdcolor.c build_ycc_rgb_table): 16-bit
// fixed point, R = Y + crR[Cr], G = Y + ((cbG[Cb] + crG[Cr]) >> 16),
// B = Y + cbB[Cb], clamped to [0, 255].
var ycc = func() (t struct{ crR, cbB, crG, cbG [256]int32 }) {
	fix := func(x float64) int64 { return int64(x*65536 + 0.5) }
	const half = 1 << 15
	for i := 0; i < 256; i++ {
		x := int64(i - 128)
		t.crR[i] = int32((fix(1.40200)*x + half) >> 16)
		t.cbB[i] = int32((fix(1.77200)*x + half) >> 16)
		t.crG[i] = int32(-fix(0.71414) * x)
		t.cbG[i] = int32(-fix(0.34414)*x + half)
	}
	return t
}()

func clampU8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// upsampleRowH2 is libjpeg's horizontal "fancy" (triangle) upsampling of
// one row of column sums (each already weighted 4× by the vertical pass,
// as in h2v2_fancy_upsample), writing 2·len(sums) values: the first and
// last outputs replicate the edge, others are (3·this + neighbour + 8 or 7)
// >> 4.
func upsampleRowH2(sums []int32, out []uint8) {
	n := len(sums)
	if n == 1 {
		out[0] = uint8((sums[0]*4 + 8) >> 4)
		if len(out) > 1 {
			out[1] = uint8((sums[0]*4 + 7) >> 4)
		}
		return
	}
	for c := 0; c < n; c++ {
		this := sums[c]
		var left, right int32
		if c == 0 {
			left = (this*4 + 8) >> 4
		} else {
			left = (this*3 + sums[c-1] + 8) >> 4
		}
		if c == n-1 {
			right = (this*4 + 7) >> 4
		} else {
			right = (this*3 + sums[c+1] + 7) >> 4
		}
		if 2*c < len(out) {
			out[2*c] = uint8(left)
		}
		if 2*c+1 < len(out) {
			out[2*c+1] = uint8(right)
		}
	}
}

// upsampleH2V1 is libjpeg's h2v1_fancy_upsample of one row.
func upsampleH2V1(in []uint8, out []uint8) {
	n := len(in)
	if n == 1 {
		out[0] = in[0]
		if len(out) > 1 {
			out[1] = in[0]
		}
		return
	}
	for c := 0; c < n; c++ {
		this := int32(in[c])
		var left, right int32
		if c == 0 {
			left = this
		} else {
			left = (this*3 + int32(in[c-1]) + 1) >> 2
		}
		if c == n-1 {
			right = this
		} else {
			right = (this*3 + int32(in[c+1]) + 2) >> 2
		}
		if 2*c < len(out) {
			out[2*c] = uint8(left)
		}
		if 2*c+1 < len(out) {
			out[2*c+1] = uint8(right)
		}
	}
}

// libjpegRGB converts a decoded YCbCr image to interleaved RGB the way
// libjpeg(-turbo) does by default: "fancy" triangle upsampling of 4:2:0
// and 4:2:2 chroma and its fixed-point colour conversion. Go's own
// YCbCr.At replicates chroma samples instead, which differs by a few levels
// near colour edges. Other subsampling ratios fall back to Go's conversion.
func libjpegRGB(m *image.YCbCr, dst []uint8) {
	b := m.Rect
	W, H := b.Dx(), b.Dy()
	cw := (W + 1) / 2
	ch := (H + 1) / 2
	cbRow := make([]uint8, 2*cw)
	crRow := make([]uint8, 2*cw)
	sums := make([]int32, cw)
	emit := func(y int, cb, cr []uint8) {
		yrow := m.Y[y*m.YStride : y*m.YStride+W]
		out := dst[y*W*3 : (y+1)*W*3]
		for x := 0; x < W; x++ {
			yy := int32(yrow[x])
			cbv, crv := cb[x], cr[x]
			out[3*x] = clampU8(yy + ycc.crR[crv])
			out[3*x+1] = clampU8(yy + ((ycc.cbG[cbv] + ycc.crG[crv]) >> 16))
			out[3*x+2] = clampU8(yy + ycc.cbB[cbv])
		}
	}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		for y := 0; y < H; y++ {
			emit(y, m.Cb[y*m.CStride:y*m.CStride+W], m.Cr[y*m.CStride:y*m.CStride+W])
		}
	case image.YCbCrSubsampleRatio422:
		for y := 0; y < H; y++ {
			upsampleH2V1(m.Cb[y*m.CStride:y*m.CStride+cw], cbRow)
			upsampleH2V1(m.Cr[y*m.CStride:y*m.CStride+cw], crRow)
			emit(y, cbRow, crRow)
		}
	case image.YCbCrSubsampleRatio420:
		for y := 0; y < H; y++ {
			r := y / 2
			// The nearer chroma row weighs 3, the other 1; rows beyond the
			// image repeat the edge row.
			o := r - 1
			if y%2 == 1 {
				o = r + 1
			}
			o = clampIndex(o, ch)
			for _, pl := range [2]struct {
				p   []uint8
				row []uint8
			}{{m.Cb, cbRow}, {m.Cr, crRow}} {
				near := pl.p[r*m.CStride : r*m.CStride+cw]
				far := pl.p[o*m.CStride : o*m.CStride+cw]
				for c := range sums {
					sums[c] = int32(near[c])*3 + int32(far[c])
				}
				upsampleRowH2(sums, pl.row)
			}
			emit(y, cbRow, crRow)
		}
	default:
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				c := m.YCbCrAt(b.Min.X+x, b.Min.Y+y)
				r, g, bb := color.YCbCrToRGB(c.Y, c.Cb, c.Cr)
				dst[(y*W+x)*3], dst[(y*W+x)*3+1], dst[(y*W+x)*3+2] = r, g, bb
			}
		}
	}
}
