package analysis

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/internal/npy"
)

// Files of a saliency folder (beside the grid's).
const (
	SaliencyFile     = "saliency.json"
	SaliencyMapsFile = "maps.npz"
)

// ControlName names the spectral control in a Saliency's comparisons.
const ControlName = "Spectral control"

// Saliency is the norm-ratio analysis of a clean grid (Fig. 7): per image,
// the saliency mask's share of the original's energy and the normalized
// difference (Eq. 1) of each model's reconstruction, and of the spectral
// control of the first model's (MTL-Monkey's).
type Saliency struct {
	// Source says where the maps came from.
	Source string `json:"source"`
	// Mass is the binarization threshold.
	Mass float64 `json:"mass"`
	// Budgets as in the grid.
	Budgets []float64 `json:"budgets"`
	// RhoOriginal is ρ(I_o) per image.
	RhoOriginal Floats `json:"rho_original"`
	// MaskFraction is the share of pixels in each image's mask.
	MaskFraction []float64 `json:"mask_fraction"`
	// Reference names the model on the y-axis of Fig. 7 (MTL-Monkey).
	Reference string `json:"reference"`
	// Models lists the grid's models and then the spectral control, each
	// with its normalized differences [budget][image].
	Models []SaliencyModel `json:"models"`
	// Above is, per compared model (Models[1:]), the fraction of images
	// per budget whose reference difference exceeds the model's: the
	// points above Fig. 7's diagonal (an undefined difference is not
	// above).
	Above []SaliencyComparison `json:"above"`
}

// SaliencyModel is one model's normalized differences.
type SaliencyModel struct {
	Name string `json:"name"`
	// Difference is Eq. 1 per [budget][image].
	Difference []Floats `json:"difference"`
	// Mean is its mean per budget (over the images where it is defined).
	Mean Floats `json:"mean"`
}

// SaliencyComparison is the fraction of images above the diagonal against
// one model, per budget.
type SaliencyComparison struct {
	Name     string    `json:"name"`
	Fraction []float64 `json:"fraction"`
}

// SaliencyMaps gives the saliency map of test image index (its gray
// pixels in [0, 1] at hand) at the images' size.
type SaliencyMaps func(index int, gray []float64, h, w int) ([]float64, error)

// SpectralResidualMaps is SaliencyMaps from the built-in model.
func SpectralResidualMaps(_ int, gray []float64, h, w int) ([]float64, error) {
	return SpectralResidual(gray, h, w)
}

// FolderMaps is SaliencyMaps from a folder of maps.
func FolderMaps(f *SaliencyFolder) SaliencyMaps {
	return func(index int, _ []float64, h, w int) ([]float64, error) { return f.Map(index, h, w) }
}

// AnalyzeSaliency computes the norm ratios of a clean grid whose first
// model is the reference (MTL-Monkey) and writes dir/SaliencyMapsFile (the
// maps and masks) and, last, dir/SaliencyFile.
func AnalyzeSaliency(d *GridData, maps SaliencyMaps, source string, mass float64, dir string) (*Saliency, error) {
	g, imgs := d.Grid, d.Images
	if len(g.Models) < 2 {
		return nil, fmt.Errorf("saliency analysis: %d models; need the reference and at least one more", len(g.Models))
	}
	hw, ni, nb := g.H*g.W, len(g.Images), len(g.Budgets)
	s := &Saliency{Source: source, Mass: mass, Budgets: g.Budgets, Reference: g.Models[0].Name}
	masks := make([][]bool, ni)
	mapStack := make([]float64, 0, ni*hw)
	maskStack := make([]uint8, 0, ni*hw)
	for i := 0; i < ni; i++ {
		m, err := maps(g.Images[i], image64(imgs.Gray, i, hw), g.H, g.W)
		if err != nil {
			return nil, err
		}
		if masks[i], err = Binarize(m, mass); err != nil {
			return nil, fmt.Errorf("saliency map of image %d: %w", g.Images[i], err)
		}
		in := 0
		for _, v := range masks[i] {
			if v {
				in++
				maskStack = append(maskStack, 1)
			} else {
				maskStack = append(maskStack, 0)
			}
		}
		mapStack = append(mapStack, m...)
		s.MaskFraction = append(s.MaskFraction, float64(in)/float64(hw))
		s.RhoOriginal = append(s.RhoOriginal, NormRatio(image64(imgs.Clean, i, hw), masks[i]))
	}
	diff := func(name string, rec func(bi, i int) ([]float64, error)) error {
		sm := SaliencyModel{Name: name}
		for bi := 0; bi < nb; bi++ {
			row := make(Floats, ni)
			mean, k := 0.0, 0
			for i := range row {
				r, err := rec(bi, i)
				if err != nil {
					return err
				}
				row[i] = NormalizedDifference(NormRatio(r, masks[i]), s.RhoOriginal[i])
				if !math.IsNaN(row[i]) {
					mean += row[i]
					k++
				}
			}
			mean /= float64(k) // NaN when no image has a ratio
			sm.Difference = append(sm.Difference, row)
			sm.Mean = append(sm.Mean, mean)
		}
		s.Models = append(s.Models, sm)
		return nil
	}
	for mi, m := range g.Models {
		if err := diff(m.Name, func(bi, i int) ([]float64, error) {
			r := d.Reconstruction(mi, bi, i)
			out := make([]float64, len(r))
			for j, v := range r {
				out[j] = float64(v)
			}
			return out, nil
		}); err != nil {
			return nil, err
		}
	}
	if err := diff(ControlName, func(bi, i int) ([]float64, error) {
		return d.Control(0, bi, i)
	}); err != nil {
		return nil, err
	}
	ref := s.Models[0]
	for _, m := range s.Models[1:] {
		c := SaliencyComparison{Name: m.Name}
		for bi := 0; bi < nb; bi++ {
			above := 0
			for i := 0; i < ni; i++ {
				if ref.Difference[bi][i] > m.Difference[bi][i] {
					above++
				}
			}
			c.Fraction = append(c.Fraction, float64(above)/float64(ni))
		}
		s.Above = append(s.Above, c)
	}
	if err := npy.WriteNPZ(filepath.Join(dir, SaliencyMapsFile), []npy.Entry{
		{Name: "maps", Array: &npy.Array{DType: npy.Float64, Shape: []int{ni, g.H, g.W}, Data: mapStack}},
		{Name: "masks", Array: &npy.Array{DType: npy.Uint8, Shape: []int{ni, g.H, g.W}, Data: maskStack}},
	}, true); err != nil {
		return nil, err
	}
	raw, err := json.MarshalIndent(s, "", " ")
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, SaliencyFile), raw); err != nil {
		return nil, err
	}
	return s, nil
}

// Control is the spectral control of model m's reconstruction of image i
// at budget bi: its amplitude spectrum with the phase of the target (the
// noisy image of a noisy grid, the clean one otherwise).
func (d *GridData) Control(m, bi, i int) ([]float64, error) {
	hw := d.Grid.H * d.Grid.W
	r := d.Reconstruction(m, bi, i)
	rec := make([]float64, hw)
	for j, v := range r {
		rec[j] = float64(v)
	}
	return SpectralControl(rec, image64(d.Images.targets(), i, hw), d.Grid.H, d.Grid.W)
}

// SaliencyData is a finished saliency analysis with its maps and masks.
type SaliencyData struct {
	*Saliency
	Maps  []float64 // [image, H, W]
	Masks []uint8   // [image, H, W]
}

// LoadSaliency reads dir/SaliencyFile and dir/SaliencyMapsFile.
func LoadSaliency(dir string) (*SaliencyData, error) {
	raw, err := os.ReadFile(filepath.Join(dir, SaliencyFile))
	if err != nil {
		return nil, err
	}
	var s Saliency
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, SaliencyFile), err)
	}
	a, err := npy.ReadNPZ(filepath.Join(dir, SaliencyMapsFile))
	if err != nil {
		return nil, err
	}
	maps, ok1 := a["maps"]
	masks, ok2 := a["masks"]
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%s lacks maps or masks", filepath.Join(dir, SaliencyMapsFile))
	}
	mk, ok := masks.Data.([]uint8)
	if !ok {
		return nil, fmt.Errorf("%s: masks are %s, want uint8", filepath.Join(dir, SaliencyMapsFile), masks.DType)
	}
	return &SaliencyData{Saliency: &s, Maps: maps.Float64s(), Masks: mk}, nil
}
