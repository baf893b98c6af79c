package data

import "fmt"

// Image is an 8-bit image with interleaved channels: the value of channel c
// at row y and column x is Pix[(y*W+x)*C+c]. C is 1 (gray) or 3 (RGB).
type Image struct {
	H, W, C int
	Pix     []uint8
}

// NewImage returns a zero (black) image of the given size.
func NewImage(h, w, c int) Image {
	return Image{H: h, W: w, C: c, Pix: make([]uint8, h*w*c)}
}

// Validate reports whether the image is well formed: positive size, one or
// three channels, and a pixel slice of exactly H*W*C bytes.
func (m Image) Validate() error {
	if m.H <= 0 || m.W <= 0 {
		return fmt.Errorf("image size %dx%d is not positive", m.H, m.W)
	}
	if m.C != 1 && m.C != 3 {
		return fmt.Errorf("image has %d channels; want 1 (gray) or 3 (RGB)", m.C)
	}
	if len(m.Pix) != m.H*m.W*m.C {
		return fmt.Errorf("image %dx%dx%d has %d pixel bytes; want %d", m.H, m.W, m.C, len(m.Pix), m.H*m.W*m.C)
	}
	return nil
}

// Clone returns a deep copy of the image.
func (m Image) Clone() Image {
	m.Pix = append([]uint8(nil), m.Pix...)
	return m
}

// RGB returns the image with three channels. A gray image is replicated into
// R = G = B, as PIL's convert("RGB") does; an RGB image is returned as is
// (not copied).
func (m Image) RGB() Image {
	if m.C == 3 {
		return m
	}
	out := NewImage(m.H, m.W, 3)
	for i, v := range m.Pix {
		q := out.Pix[3*i : 3*i+3 : 3*i+3]
		q[0], q[1], q[2] = v, v, v
	}
	return out
}
