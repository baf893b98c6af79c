// Package corrupt implements the 15 common corruptions of the ImageNet-C
// benchmark (Hendrycks & Dietterich 2019) at severities 1 to 5, with the two
// parameter tables that matter for 64-pixel images:
//
//   - TableImageNet (the default): the values of the bethgelab
//     imagecorruptions package v1.1.2, which Safarani et al. 2021 applied
//     on the fly to 64×64 Tiny ImageNet images;
//   - TableTinyImageNet: the values of hendrycks/robustness
//     make_tinyimagenet_c.py, which generated the published Tiny-ImageNet-C.
//
// Every corruption is a pure-Go re-implementation of the reference algorithm
// (OpenCV, SciPy, scikit-image and Pillow semantics where the reference uses
// them); docs/corruptions.md lists each algorithm, the deviations from the
// Python references and their measured size. Images are uint8 in and uint8
// out, interleaved height×width×channels with 1 (gray) or 3 (RGB) channels;
// the float result of a corruption is clipped to [0, 255] and truncated
// toward zero, as numpy.uint8 does in the references.
//
// Randomness comes only from the *rand.Rand the caller passes (or from a seed
// through ApplySeed and ApplyBatch), so the same seed gives the same output.
package corrupt

import (
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"strings"
)

// MinSide is the smallest width or height accepted, as in imagecorruptions.
const MinSide = 32

// Image is a plain uint8 image in interleaved height×width×channels (HWC)
// layout: the value of channel ch at column x, row y is Pix[(y*W+x)*C+ch].
// C is 1 (gray) or 3 (RGB).
type Image struct {
	W, H, C int
	Pix     []uint8
}

// NewImage returns a zeroed image of the given size.
func NewImage(w, h, c int) Image {
	return Image{W: w, H: h, C: c, Pix: make([]uint8, w*h*c)}
}

// Validate reports whether the image is well formed and large enough to be
// corrupted: C is 1 or 3, both sides are at least MinSide, and Pix holds
// W*H*C values.
func (m Image) Validate() error {
	if m.C != 1 && m.C != 3 {
		return fmt.Errorf("image has %d channels: corruptions need 1 (gray) or 3 (RGB)", m.C)
	}
	if m.W < MinSide || m.H < MinSide {
		return fmt.Errorf("image is %d×%d: width and height must be at least %d pixels (resize it first)", m.W, m.H, MinSide)
	}
	if len(m.Pix) != m.W*m.H*m.C {
		return fmt.Errorf("image is %d×%d×%d but holds %d values, want %d", m.W, m.H, m.C, len(m.Pix), m.W*m.H*m.C)
	}
	return nil
}

// Clone returns a deep copy of the image.
func (m Image) Clone() Image {
	out := m
	out.Pix = append([]uint8(nil), m.Pix...)
	return out
}

// FromImage converts a standard library image to an Image: gray images
// (color.GrayModel or color.Gray16Model) become C = 1, everything else C = 3
// (RGB, alpha dropped after un-premultiplying).
func FromImage(src image.Image) Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	switch s := src.(type) {
	case *image.Gray:
		out := NewImage(w, h, 1)
		for y := 0; y < h; y++ {
			copy(out.Pix[y*w:(y+1)*w], s.Pix[y*s.Stride:y*s.Stride+w])
		}
		return out
	case *image.RGBA:
		out := NewImage(w, h, 3)
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+4*w]
			for x := 0; x < w; x++ {
				p := row[4*x : 4*x+4]
				if p[3] == 255 {
					copy(out.Pix[(y*w+x)*3:], p[:3])
					continue
				}
				c := color.NRGBAModel.Convert(color.RGBA{p[0], p[1], p[2], p[3]}).(color.NRGBA)
				out.Pix[(y*w+x)*3], out.Pix[(y*w+x)*3+1], out.Pix[(y*w+x)*3+2] = c.R, c.G, c.B
			}
		}
		return out
	case *image.NRGBA:
		out := NewImage(w, h, 3)
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+4*w]
			for x := 0; x < w; x++ {
				copy(out.Pix[(y*w+x)*3:(y*w+x)*3+3], row[4*x:4*x+3])
			}
		}
		return out
	}
	if m := src.ColorModel(); m == color.GrayModel || m == color.Gray16Model {
		out := NewImage(w, h, 1)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out.Pix[y*w+x] = color.GrayModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			}
		}
		return out
	}
	out := NewImage(w, h, 3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.NRGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			i := (y*w + x) * 3
			out.Pix[i], out.Pix[i+1], out.Pix[i+2] = c.R, c.G, c.B
		}
	}
	return out
}

// ToImage converts the image to a standard library image: *image.Gray for
// C = 1 and an opaque *image.NRGBA otherwise (the first three channels).
// Pixels missing from a malformed image (see Validate) are left black.
func (m Image) ToImage() image.Image {
	if m.C == 1 {
		g := image.NewGray(image.Rect(0, 0, m.W, m.H))
		copy(g.Pix, m.Pix)
		return g
	}
	out := image.NewNRGBA(image.Rect(0, 0, m.W, m.H))
	for i := 0; i < m.W*m.H; i++ {
		out.Pix[4*i+3] = 255
		for ch := 0; ch < 3; ch++ {
			if j := i*m.C + min(ch, m.C-1); m.C > 0 && j < len(m.Pix) {
				out.Pix[4*i+ch] = m.Pix[j]
			}
		}
	}
	return out
}

// Luminance returns the gray version of an RGB image computed as Pillow's
// convert("L") does (ITU-R 601-2 luma in 16.16 fixed point:
// (19595 R + 38470 G + 7471 B + 32768) >> 16), which is how the paper's
// evaluation turned corrupted RGB images into the network's gray input.
// A gray image is returned unchanged (copied). Pixels missing from a
// malformed image are left black.
func (m Image) Luminance() Image {
	if m.C == 1 {
		return m.Clone()
	}
	out := NewImage(m.W, m.H, 1)
	for i := range out.Pix[:min(len(out.Pix), len(m.Pix)/3)] {
		p := m.Pix[3*i : 3*i+3]
		out.Pix[i] = uint8((19595*uint32(p[0]) + 38470*uint32(p[1]) + 7471*uint32(p[2]) + 0x8000) >> 16)
	}
	return out
}

// The corruptions in benchmark order (imagecorruptions' get_corruption_names).
var names = [...]string{
	"gaussian_noise", "shot_noise", "impulse_noise",
	"defocus_blur", "glass_blur", "motion_blur", "zoom_blur",
	"snow", "frost", "fog", "brightness",
	"contrast", "elastic_transform", "pixelate", "jpeg_compression",
}

// Indices into names, used for dispatch.
const (
	idGaussian = iota
	idShot
	idImpulse
	idDefocus
	idGlass
	idMotion
	idZoom
	idSnow
	idFrost
	idFog
	idBrightness
	idContrast
	idElastic
	idPixelate
	idJPEG
	numCorruptions
)

// categoryOf gives the ImageNet-C category of each corruption.
var categoryOf = [numCorruptions]string{
	"noise", "noise", "noise",
	"blur", "blur", "blur", "blur",
	"weather", "weather", "weather", "weather",
	"digital", "digital", "digital", "digital",
}

// Severities is the number of severity levels; valid severities are 1 to
// Severities.
const Severities = 5

// Names returns the 15 corruption names in benchmark order.
func Names() []string {
	return append([]string(nil), names[:]...)
}

// Paper14 returns the 14 corruptions evaluated in Safarani et al. 2021: all
// of Names except glass_blur, in benchmark order.
func Paper14() []string {
	out := make([]string, 0, numCorruptions-1)
	for i, n := range names {
		if i != idGlass {
			out = append(out, n)
		}
	}
	return out
}

// Categories returns the four ImageNet-C categories in benchmark order.
func Categories() []string {
	return []string{"noise", "blur", "weather", "digital"}
}

// Category returns the ImageNet-C category (noise, blur, weather or digital)
// of a corruption, or "" if the name is unknown.
func Category(name string) string {
	id, err := lookup(name)
	if err != nil {
		return ""
	}
	return categoryOf[id]
}

// lookup returns the index of a corruption name.
func lookup(name string) (int, error) {
	for i, n := range names {
		if n == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("unknown corruption %q: valid names are %s", name, strings.Join(names[:], ", "))
}

// checkSeverity validates a severity level.
func checkSeverity(severity int) error {
	if severity < 1 || severity > Severities {
		return fmt.Errorf("severity %d out of range: valid severities are 1, 2, 3, 4 and 5", severity)
	}
	return nil
}

// ImageRNG returns the random generator that ApplyBatch uses for the image
// at index i of a batch corrupted with the given seed: a PCG generator with
// state (seed, i). Calling Apply with it reproduces that image of the batch.
func ImageRNG(seed uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(i)))
}

// StreamSeed derives a seed for one (corruption, severity) cell from a base
// seed, so that an evaluation can draw independent noise for every cell of
// its corruption matrix while staying reproducible. It mixes the inputs with
// FNV-1a and a SplitMix64 finaliser.
func StreamSeed(base uint64, name string, severity int) uint64 {
	h := uint64(14695981039346656037)
	mix := func(b byte) {
		h ^= uint64(b)
		h *= 1099511628211
	}
	for i := 0; i < 8; i++ {
		mix(byte(base >> (8 * i)))
	}
	for i := 0; i < len(name); i++ {
		mix(name[i])
	}
	mix(byte(severity))
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
