package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
)

// Transform changes an image, drawing its random choices from rng. It must
// not modify its input.
type Transform interface {
	Apply(img Image, rng *rand.Rand) (Image, error)
}

// Photometric is a per-view change of pixel values, applied to the uint8
// image after the geometric augmentation and before grayscale conversion
// (the Oracle's corruptions plug in here). It receives its own copy of the
// image, which it may modify, and a random generator of its own. It must
// return a valid image of the same height and width (one or three
// channels).
type Photometric func(img Image, rng *rand.Rand) (Image, error)

// WithProbability returns a Photometric that applies f with probability p
// and otherwise leaves the image unchanged. The choice is the first draw
// from the view's generator.
func WithProbability(p float64, f Photometric) Photometric {
	return func(img Image, rng *rand.Rand) (Image, error) {
		if rng.Float64() < p {
			return f(img, rng)
		}
		return img, nil
	}
}

// Crop returns the h×w window of img whose top-left corner is at row top,
// column left; the window may extend past the image (top or left negative,
// or beyond the far edges), and pixels outside the image are zero.
func Crop(img Image, top, left, h, w int) Image {
	out := NewImage(h, w, img.C)
	c := img.C
	x0, x1 := max(0, -left), min(w, img.W-left) // output columns inside the image
	if x0 >= x1 {
		return out
	}
	for y := 0; y < h; y++ {
		sy := y + top
		if sy < 0 || sy >= img.H {
			continue
		}
		src := img.Pix[(sy*img.W+left+x0)*c : (sy*img.W+left+x1)*c]
		copy(out.Pix[(y*w+x0)*c:], src)
	}
	return out
}

// PadImage returns img with n zero pixels added on each side.
func PadImage(img Image, n int) Image {
	return Crop(img, -n, -n, img.H+2*n, img.W+2*n)
}

// FlipHorizontal returns img mirrored left to right.
func FlipHorizontal(img Image) Image {
	out := NewImage(img.H, img.W, img.C)
	c, w := img.C, img.W
	for y := 0; y < img.H; y++ {
		row := img.Pix[y*w*c : (y+1)*w*c]
		orow := out.Pix[y*w*c : (y+1)*w*c]
		if c == 3 {
			for x := 0; x < w; x++ {
				s, d := 3*(w-1-x), 3*x
				orow[d], orow[d+1], orow[d+2] = row[s], row[s+1], row[s+2]
			}
			continue
		}
		for x := 0; x < w; x++ {
			orow[x] = row[w-1-x]
		}
	}
	return out
}

// Rotate returns img rotated by degrees counter-clockwise (as seen on the
// screen, rows running downwards) about its centre, with nearest-neighbour
// sampling, the same canvas size and zero where the rotated image does not
// reach. This is torchvision's rotate of a PIL image (F.rotate →
// PIL Image.rotate(angle, NEAREST, expand=False, center=None, fillcolor=0)),
// reproduced to the pixel:
//
//   - the centre is (W/2, H/2) in PIL's continuous coordinates, where pixel
//     (x, y) covers [x, x+1)×[y, y+1); in pixel indices that is
//     ((W-1)/2, (H-1)/2), the same centre torchvision uses for tensors;
//   - each output pixel centre (x+½, y+½) is mapped back to the input by the
//     inverse rotation: with θ the angle, dx = x+½−W/2, dy = y+½−H/2,
//     x_in = cos θ·dx − sin θ·dy + W/2 and y_in = sin θ·dx + cos θ·dy + H/2,
//     and takes input pixel (⌊x_in⌋, ⌊y_in⌋), or zero if that is outside;
//   - as in Pillow, the angle is reduced modulo 360, cos and sin are rounded
//     to 15 decimals, and the mapping is evaluated in 16.16 fixed point
//     (Pillow's affine_fixed path, which it takes for any image smaller
//     than 32768 pixels a side), so boundary cases round the same way.
func Rotate(img Image, degrees float64) Image {
	angle := math.Mod(degrees, 360)
	if angle < 0 {
		angle += 360
	}
	if angle == 0 {
		return img.Clone()
	}
	phi := -(angle * (math.Pi / 180))
	cos, sin := round15(math.Cos(phi)), round15(math.Sin(phi))
	// PIL's inverse matrix (a b c; d e f) maps output to input coordinates.
	a, b, d, e := cos, sin, -sin, cos
	cx, cy := float64(img.W)/2, float64(img.H)/2
	c := float64(a*-cx) + float64(b*-cy) + 0
	f := float64(d*-cx) + float64(e*-cy) + 0
	c += cx
	f += cy
	a0, a1, a3, a4 := fix16(a), fix16(b), fix16(d), fix16(e)
	a2 := fix16(float64(c+float64(a*0.5)) + float64(b*0.5))
	a5 := fix16(float64(f+float64(d*0.5)) + float64(e*0.5))

	out := NewImage(img.H, img.W, img.C)
	w, h := int64(img.W), int64(img.H)
	src, dst := img.Pix, out.Pix
	for y := int64(0); y < h; y++ {
		xx := a2 + y*a1
		yy := a5 + y*a4
		row := dst[y*w*int64(img.C) : (y+1)*w*int64(img.C)]
		for x := int64(0); x < w; x, xx, yy = x+1, xx+a0, yy+a3 {
			xin, yin := xx>>16, yy>>16
			if uint64(xin) >= uint64(w) || uint64(yin) >= uint64(h) {
				continue // outside the input: keep the zero fill
			}
			s := yin*w + xin
			if img.C == 1 {
				row[x] = src[s]
				continue
			}
			p := src[3*s : 3*s+3 : 3*s+3]
			q := row[3*x : 3*x+3 : 3*x+3]
			q[0], q[1], q[2] = p[0], p[1], p[2]
		}
	}
	return out
}

// round15 rounds v to 15 decimals as Python's round(v, 15) does (correctly
// rounded from the exact binary value).
func round15(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', 15, 64), 64)
	return r
}

// fix16 converts v to 16.16 fixed point, rounding to nearest as Pillow's
// FIX macro does.
func fix16(v float64) int64 {
	return int64(math.Floor(v*65536 + 0.5))
}

// RandomCrop pads the image with Padding zero pixels on every side and
// takes a Size×Size window at a uniformly random position, as torchvision's
// RandomCrop(Size, padding=Padding) with the default constant zero fill.
// The row offset is drawn first, then the column offset.
type RandomCrop struct {
	Size, Padding int
}

// Apply crops img.
func (t RandomCrop) Apply(img Image, rng *rand.Rand) (Image, error) {
	if t.Size <= 0 || t.Padding < 0 {
		return Image{}, fmt.Errorf("random crop: size %d and padding %d must be positive and non-negative", t.Size, t.Padding)
	}
	ph, pw := img.H+2*t.Padding, img.W+2*t.Padding
	if t.Size > ph || t.Size > pw {
		return Image{}, fmt.Errorf("random crop: %d×%d window is larger than the padded %d×%d image", t.Size, t.Size, ph, pw)
	}
	top := rng.IntN(ph-t.Size+1) - t.Padding
	left := rng.IntN(pw-t.Size+1) - t.Padding
	return Crop(img, top, left, t.Size, t.Size), nil
}

// RandomHorizontalFlip mirrors the image left to right with probability P.
type RandomHorizontalFlip struct {
	P float64
}

// Apply flips img, or returns it unchanged.
func (t RandomHorizontalFlip) Apply(img Image, rng *rand.Rand) (Image, error) {
	if rng.Float64() < t.P {
		return FlipHorizontal(img), nil
	}
	return img, nil
}

// RandomRotation rotates the image by an angle drawn uniformly from
// [−Degrees, +Degrees) with Rotate (nearest neighbour, about the centre,
// no expansion, zero fill), as torchvision's RandomRotation(Degrees) on a
// PIL image.
type RandomRotation struct {
	Degrees float64
}

// Apply rotates img.
func (t RandomRotation) Apply(img Image, rng *rand.Rand) (Image, error) {
	if t.Degrees < 0 || math.IsNaN(t.Degrees) {
		return Image{}, fmt.Errorf("random rotation: range %v must be non-negative", t.Degrees)
	}
	return Rotate(img, -t.Degrees+2*t.Degrees*rng.Float64()), nil
}

// Pad adds N zero pixels on every side (e.g. N = 2 turns Fashion-MNIST's
// 28×28 into 32×32). It draws nothing from the generator.
type Pad struct {
	N int
}

// Apply pads img.
func (t Pad) Apply(img Image, _ *rand.Rand) (Image, error) {
	if t.N < 0 {
		return Image{}, fmt.Errorf("pad: %d pixels must be non-negative", t.N)
	}
	return PadImage(img, t.N), nil
}

// Grayscale coefficients of torchvision's rgb_to_grayscale.
const (
	grayR = 0.2989
	grayG = 0.587
	grayB = 0.114
)

// Gray writes the grayscale value of every pixel of img into dst (len
// H·W), in [0, 1]: with r, g, b the channels divided by 255 in float32 (as
// ToTensor does), Y = 0.2989·r + 0.587·g + 0.114·b in float32, unrounded
// (torchvision's rgb_to_grayscale). A one-channel image is treated as
// R = G = B, as a gray JPEG converted to RGB is, so white is 0.9999. This
// one formula is used on every path, clean or corrupted (the original used
// PIL's integer "L" conversion on corrupted test images only).
func Gray(img Image, dst []float32) {
	// Tables of the weighted channel values: tr[v] = 0.2989·(v/255) in
	// float32, exactly the product the formula computes, so a look-up
	// changes no bit of the result.
	var tr, tg, tb [256]float32
	for v := range 256 {
		f := float32(v) / 255
		tr[v], tg[v], tb[v] = float32(grayR*f), float32(grayG*f), float32(grayB*f)
	}
	n := img.H * img.W
	dst = dst[:n]
	if img.C == 1 {
		for i, v := range img.Pix[:n] {
			dst[i] = tr[v] + tg[v] + tb[v]
		}
		return
	}
	p := img.Pix[:3*n]
	for i := range dst {
		q := p[3*i : 3*i+3 : 3*i+3]
		dst[i] = tr[q[0]] + tg[q[1]] + tb[q[2]]
	}
}

// Normalize maps a grayscale value y to (y − Mean)/Std, in float32 as
// torchvision's Normalize does.
type Normalize struct {
	Mean, Std float32
}

// Apply normalizes x in place.
func (n Normalize) Apply(x []float32) {
	for i, v := range x {
		x[i] = (v - n.Mean) / n.Std
	}
}

// validate reports an unusable standard deviation.
func (n Normalize) validate() error {
	if !(n.Std > 0) || math.IsInf(float64(n.Std), 0) || math.IsNaN(float64(n.Mean)) {
		return fmt.Errorf("normalize: mean %v and std %v: std must be positive and finite (use {0, 1} for no normalization)", n.Mean, n.Std)
	}
	return nil
}
