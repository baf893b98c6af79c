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
// Go's JPEG decoder is not libjpeg: its integer IDCT and its chroma
// upsampling (sample replication rather than libjpeg's "fancy" triangular
// filter) can change a decoded value by a few units, mostly at colour edges.
// The luma-like grayscale used downstream is nearly insensitive to the
// chroma part of this difference.
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
	out := NewImage(r.Dy(), r.Dx(), 3)
	p := out.Pix
	switch m := m.(type) {
	case *image.YCbCr:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				p[0], p[1], p[2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				p = p[3:]
			}
		}
	case *image.Gray:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[(y-r.Min.Y)*m.Stride:]
			for x := 0; x < r.Dx(); x++ {
				v := row[x]
				p[0], p[1], p[2] = v, v, v
				p = p[3:]
			}
		}
	default:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.RGBAModel.Convert(m.At(x, y)).(color.RGBA)
				p[0], p[1], p[2] = c.R, c.G, c.B
				p = p[3:]
			}
		}
	}
	return out
}
