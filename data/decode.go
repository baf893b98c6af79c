package data

import (
	"bytes"
	"image"
	"image/color"
	_ "image/jpeg" // registers the JPEG decoder with image.Decode
	_ "image/png"  // registers the PNG decoder with image.Decode
)

// DecodeRGB decodes a JPEG or PNG file's contents into an RGB Image. A gray
// image is replicated into three equal channels, as PIL's convert("RGB")
// does (some Tiny ImageNet JPEGs are gray).
//
// Colour JPEGs are converted as libjpeg (which PIL uses) converts them by
// default: chroma planes subsampled 2×2 (4:2:0) or 2×1 (4:2:2) are
// upsampled with libjpeg's "fancy" triangular filter, and Y'CbCr becomes
// RGB with libjpeg's 16-bit fixed-point JFIF equations. What remains
// different from PIL is Go's integer IDCT, which can move a decoded value
// by a unit or two (docs/data.md gives measured differences).
func DecodeRGB(b []byte) (Image, error) {
	m, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return Image{}, err
	}
	return toRGB(m), nil
}

// toRGB converts a decoded image to an interleaved RGB Image.
func toRGB(m image.Image) Image {
	r := m.Bounds()
	switch m := m.(type) {
	case *image.YCbCr:
		if r.Min == (image.Point{}) {
			return ycbcrToRGB(m)
		}
	case *image.Gray:
		if r.Min == (image.Point{}) {
			return Image{H: r.Dy(), W: r.Dx(), C: 1, Pix: grayRows(m)}.RGB()
		}
	}
	out := NewImage(r.Dy(), r.Dx(), 3)
	p := out.Pix
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
			p[0], p[1], p[2] = c.R, c.G, c.B
			p = p[3:]
		}
	}
	return out
}

// grayRows returns the pixels of a gray image without its stride padding.
func grayRows(m *image.Gray) []uint8 {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	pix := make([]uint8, w*h)
	for y := range h {
		copy(pix[y*w:(y+1)*w], m.Pix[y*m.Stride:])
	}
	return pix
}

// ycbcrToRGB converts a decoded Y'CbCr image whose bounds start at the
// origin, upsampling 4:2:0 and 4:2:2 chroma as libjpeg's h2v2 and h2v1
// fancy upsamplers do: each output chroma sample is a 3:1 blend of the
// nearer and the farther input sample in each subsampled direction (9:3:3:1
// for 4:2:0), edges replicated, with libjpeg's alternating rounding
// offsets. Other subsampling ratios repeat the chroma samples.
func ycbcrToRGB(m *image.YCbCr) Image {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := NewImage(h, w, 3)
	cb, cr := make([]uint8, w), make([]uint8, w) // upsampled chroma of one row
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio420:
		cw, ch := (w+1)/2, (h+1)/2
		sumCb, sumCr := make([]int32, cw), make([]int32, cw)
		for y := range h {
			near := y / 2
			far := near - 1 // even rows blend with the chroma row above
			if y%2 == 1 {
				far = near + 1
			}
			far = max(0, min(ch-1, far))
			columnSums(m.Cb[near*m.CStride:], m.Cb[far*m.CStride:], sumCb)
			columnSums(m.Cr[near*m.CStride:], m.Cr[far*m.CStride:], sumCr)
			fancyH2V2(sumCb, cb)
			fancyH2V2(sumCr, cr)
			yccRow(m.Y[y*m.YStride:y*m.YStride+w], cb, cr, out.Pix[y*w*3:(y+1)*w*3])
		}
	case image.YCbCrSubsampleRatio422:
		cw := (w + 1) / 2
		for y := range h {
			fancyH2V1(m.Cb[y*m.CStride:y*m.CStride+cw], cb)
			fancyH2V1(m.Cr[y*m.CStride:y*m.CStride+cw], cr)
			yccRow(m.Y[y*m.YStride:y*m.YStride+w], cb, cr, out.Pix[y*w*3:(y+1)*w*3])
		}
	default:
		for y := range h {
			for x := range w {
				ci := m.COffset(x, y)
				cb[x], cr[x] = m.Cb[ci], m.Cr[ci]
			}
			yccRow(m.Y[y*m.YStride:y*m.YStride+w], cb, cr, out.Pix[y*w*3:(y+1)*w*3])
		}
	}
	return out
}

// columnSums sets sum[c] = 3·near[c] + far[c], the vertical step of the
// 4:2:0 triangular filter.
func columnSums(near, far []uint8, sum []int32) {
	for c := range sum {
		sum[c] = 3*int32(near[c]) + int32(far[c])
	}
}

// fancyH2V2 doubles a row of column sums horizontally: output 2c is
// (3·sum[c] + sum[c−1] + 8) >> 4 and output 2c+1 is
// (3·sum[c] + sum[c+1] + 7) >> 4, with neighbours past the edges replaced
// by the edge sample.
func fancyH2V2(sum []int32, out []uint8) {
	last := len(sum) - 1
	for c, s := range sum {
		s3 := 3 * s
		if x := 2 * c; x+1 < len(out) {
			out[x] = uint8((s3 + sum[max(c-1, 0)] + 8) >> 4)
			out[x+1] = uint8((s3 + sum[min(c+1, last)] + 7) >> 4)
		} else if x < len(out) {
			out[x] = uint8((s3 + sum[max(c-1, 0)] + 8) >> 4)
		}
	}
}

// fancyH2V1 doubles a chroma row horizontally: output 2c is
// (3·in[c] + in[c−1] + 1) >> 2 and output 2c+1 is (3·in[c] + in[c+1] + 2) >> 2,
// with neighbours past the edges replaced by the edge sample.
func fancyH2V1(in []uint8, out []uint8) {
	last := len(in) - 1
	for c, v := range in {
		v3 := 3 * int32(v)
		if x := 2 * c; x+1 < len(out) {
			out[x] = uint8((v3 + int32(in[max(c-1, 0)]) + 1) >> 2)
			out[x+1] = uint8((v3 + int32(in[min(c+1, last)]) + 2) >> 2)
		} else if x < len(out) {
			out[x] = uint8((v3 + int32(in[max(c-1, 0)]) + 1) >> 2)
		}
	}
}

// JFIF Y'CbCr → RGB coefficients in libjpeg's 16-bit fixed point
// (round(k·65536)).
const (
	crToR = 91881  // 1.40200
	cbToB = 116130 // 1.77200
	crToG = 46802  // 0.71414
	cbToG = 22554  // 0.34414
	half  = 1 << 15
)

// yccRow converts one row of full-resolution Y'CbCr samples to RGB as
// libjpeg's ycc_rgb_convert does: R = Y + ⌊(1.402·Cr' + ½)⌋,
// G = Y + ⌊(−0.34414·Cb' − 0.71414·Cr' + ½)⌋, B = Y + ⌊(1.772·Cb' + ½)⌋ in
// 16.16 fixed point (Cb' = Cb − 128, Cr' = Cr − 128), clamped to 0..255.
func yccRow(yy, cb, cr, out []uint8) {
	for x, v := range yy {
		y := int32(v)
		b, r := int32(cb[x])-128, int32(cr[x])-128
		q := out[3*x : 3*x+3 : 3*x+3]
		q[0] = clamp8(y + (crToR*r+half)>>16)
		q[1] = clamp8(y + (-cbToG*b-crToG*r+half)>>16)
		q[2] = clamp8(y + (cbToB*b+half)>>16)
	}
}

// clamp8 limits v to 0..255.
func clamp8(v int32) uint8 {
	return uint8(max(0, min(255, v)))
}
