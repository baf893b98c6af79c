package analysis

import (
	"cmp"
	"fmt"
	"image"
	_ "image/png" // PNG saliency maps
	"math"
	"math/cmplx"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cotrain/cotrain/internal/npy"
)

// DefaultMass is appendix A's threshold: a pixel is salient when it is
// among the most salient pixels that together hold 70 % of the saliency
// mass.
const DefaultMass = 0.7

// Binarize returns the salient mask of a saliency map: the smallest set of
// the most salient pixels (values sorted in descending order, ties by
// position) whose summed saliency reaches mass times the total (appendix
// A's "cumulative sum of 0.7"). Negative values count as 0.
func Binarize(saliency []float64, mass float64) ([]bool, error) {
	if !(mass > 0 && mass <= 1) {
		return nil, fmt.Errorf("saliency mass %v must be in (0, 1]", mass)
	}
	total := 0.0
	for _, v := range saliency {
		total += max(v, 0)
	}
	if !(total > 0) || math.IsInf(total, 0) {
		return nil, fmt.Errorf("saliency map has no positive mass (sum %v)", total)
	}
	order := make([]int, len(saliency))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(saliency[b], saliency[a]) })
	mask := make([]bool, len(saliency))
	cum := 0.0
	for _, i := range order {
		if cum >= mass*total {
			break
		}
		mask[i] = true
		cum += max(saliency[i], 0)
	}
	return mask, nil
}

// NormRatio is ρ(I) = ‖salient(I)‖²/‖I‖² (Safarani et al., §4): the share
// of the image's energy inside the mask. An all-zero image has ratio NaN.
func NormRatio(img []float64, mask []bool) float64 {
	in, all := 0.0, 0.0
	for i, v := range img {
		all += v * v
		if mask[i] {
			in += v * v
		}
	}
	if all == 0 {
		return math.NaN()
	}
	return in / all
}

// NormalizedDifference is Eq. 1: (ρ(I_r) − ρ(I_o))/(1 − ρ(I_o)), the gain
// of the reconstruction's salient share over the original's, divided by
// the largest gain possible. 0: the reconstruction spends its energy as the
// original does; 1: all of it on the salient region.
func NormalizedDifference(rhoRec, rhoOrig float64) float64 {
	return (rhoRec - rhoOrig) / (1 - rhoOrig)
}

// Spectral residual parameters (Hou & Zhang 2007, their published MATLAB
// code): a 3×3 average of the log amplitude spectrum, and a Gaussian of
// σ = 2.5 px smoothing the saliency map.
const (
	residualFilter = 3
	residualSigma  = 2.5
)

// SpectralResidual is Hou & Zhang's (CVPR 2007) bottom-up saliency model
// on a grayscale image [h, w]: with A and P the amplitude and phase of the
// image's spectrum, L = log A, R = L − (3×3 mean of L, replicated borders),
// the map is |IFFT(exp(R + iP))|² smoothed by a Gaussian of σ = 2.5 px (11
// taps, replicated borders), returned as a density (sum 1). It runs at the
// image's own resolution (Hou & Zhang downsample to 64 px wide, the
// paper's image size). Amplitudes below 1e-12 are clipped before the log.
func SpectralResidual(img []float64, h, w int) ([]float64, error) {
	if len(img) != h*w {
		return nil, fmt.Errorf("spectral residual: %d values for a %d×%d image", len(img), h, w)
	}
	f := FFT2(img, h, w)
	logA := make([]float64, h*w)
	for i, c := range f {
		logA[i] = math.Log(max(cmplx.Abs(c), 1e-12))
	}
	avg := boxFilter(logA, h, w, residualFilter)
	spec := make([]complex128, h*w)
	for i, c := range f {
		spec[i] = cmplx.Exp(complex(logA[i]-avg[i], cmplx.Phase(c)))
	}
	back := IFFT2(spec, h, w)
	sal := make([]float64, h*w)
	for i, c := range back {
		a := cmplx.Abs(c)
		sal[i] = a * a
	}
	sal = gaussianFilter(sal, h, w, residualSigma, int(math.Round(2*residualSigma)))
	total := 0.0
	for _, v := range sal {
		total += v
	}
	if !(total > 0) {
		return nil, fmt.Errorf("spectral residual: the image gives no saliency (a constant image?)")
	}
	for i := range sal {
		sal[i] /= total
	}
	return sal, nil
}

// clampIndex is replicate padding.
func clampIndex(i, n int) int { return min(max(i, 0), n-1) }

// boxFilter is the k×k mean with replicated borders.
func boxFilter(x []float64, h, w, k int) []float64 {
	kern := make([]float64, k)
	for i := range kern {
		kern[i] = 1 / float64(k)
	}
	return separable(x, h, w, kern)
}

// gaussianFilter smooths with a normalized Gaussian of half-width half,
// replicated borders.
func gaussianFilter(x []float64, h, w int, sigma float64, half int) []float64 {
	kern := make([]float64, 2*half+1)
	sum := 0.0
	for i := range kern {
		d := float64(i - half)
		kern[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += kern[i]
	}
	for i := range kern {
		kern[i] /= sum
	}
	return separable(x, h, w, kern)
}

// separable correlates x with kern along rows and then columns, with
// replicated borders.
func separable(x []float64, h, w int, kern []float64) []float64 {
	half := len(kern) / 2
	tmp := make([]float64, h*w)
	for y := 0; y < h; y++ {
		for c := 0; c < w; c++ {
			s := 0.0
			for t, k := range kern {
				s += k * x[y*w+clampIndex(c+t-half, w)]
			}
			tmp[y*w+c] = s
		}
	}
	out := make([]float64, h*w)
	for y := 0; y < h; y++ {
		for c := 0; c < w; c++ {
			s := 0.0
			for t, k := range kern {
				s += k * tmp[clampIndex(y+t-half, h)*w+c]
			}
			out[y*w+c] = s
		}
	}
	return out
}

// SaliencyFolder reads saliency maps from a folder, one file per image
// named by the image's index in its split: 12.npy, 0012.png. A .npy file
// holds a 2-D float array; a PNG is read as gray levels. Maps of another
// size are resized bilinearly to the images' size.
type SaliencyFolder struct {
	dir   string
	files map[int]string
}

// OpenSaliencyFolder lists the maps in dir.
func OpenSaliencyFolder(dir string) (*SaliencyFolder, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("saliency maps: %w", err)
	}
	f := &SaliencyFolder{dir: dir, files: map[int]string{}}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".npy" && ext != ".png") {
			continue
		}
		idx, err := strconv.Atoi(strings.TrimSuffix(e.Name(), filepath.Ext(e.Name())))
		if err != nil {
			continue
		}
		if prev, ok := f.files[idx]; ok {
			return nil, fmt.Errorf("saliency maps in %s: %s and %s both name image %d; keep one", dir, prev, e.Name(), idx)
		}
		f.files[idx] = e.Name()
	}
	if len(f.files) == 0 {
		return nil, fmt.Errorf("saliency maps: %s holds no INDEX.npy or INDEX.png files", dir)
	}
	return f, nil
}

// Map returns the saliency map of image index, resized to h×w.
func (f *SaliencyFolder) Map(index, h, w int) ([]float64, error) {
	name, ok := f.files[index]
	if !ok {
		return nil, fmt.Errorf("saliency maps in %s: no map for image %d (want %d.npy or %d.png)", f.dir, index, index, index)
	}
	path := filepath.Join(f.dir, name)
	var m []float64
	var mh, mw int
	if strings.EqualFold(filepath.Ext(name), ".npy") {
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("saliency map %s: %w", path, err)
		}
		if len(a.Shape) != 2 {
			return nil, fmt.Errorf("saliency map %s has shape %v; want a 2-D array (height, width)", path, a.Shape)
		}
		mh, mw, m = a.Shape[0], a.Shape[1], a.Float64s()
	} else {
		r, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("saliency map: %w", err)
		}
		img, _, err := image.Decode(r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("saliency map %s: %w", path, err)
		}
		b := img.Bounds()
		mh, mw = b.Dy(), b.Dx()
		m = make([]float64, mh*mw)
		for y := 0; y < mh; y++ {
			for x := 0; x < mw; x++ {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				m[y*mw+x] = (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 65535
			}
		}
	}
	if mh == h && mw == w {
		return m, nil
	}
	return resizeBilinear(m, mh, mw, h, w), nil
}

// resizeBilinear resamples x [h, w] to [oh, ow] with half-pixel centres
// (align_corners=False).
func resizeBilinear(x []float64, h, w, oh, ow int) []float64 {
	out := make([]float64, oh*ow)
	for y := 0; y < oh; y++ {
		sy := max((float64(y)+0.5)*float64(h)/float64(oh)-0.5, 0)
		y0 := min(int(sy), h-1)
		y1, fy := min(y0+1, h-1), sy-float64(y0)
		for c := 0; c < ow; c++ {
			sx := max((float64(c)+0.5)*float64(w)/float64(ow)-0.5, 0)
			x0 := min(int(sx), w-1)
			x1, fx := min(x0+1, w-1), sx-float64(x0)
			top := x[y0*w+x0]*(1-fx) + x[y0*w+x1]*fx
			bot := x[y1*w+x0]*(1-fx) + x[y1*w+x1]*fx
			out[y*ow+c] = top*(1-fy) + bot*fy
		}
	}
	return out
}
