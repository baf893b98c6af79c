package recordings

import (
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cotrain/cotrain/internal/npy"
)

// Crop gives the number of pixels removed from each side of an image.
type Crop struct {
	Top, Bottom, Left, Right int
}

// CSRFConfig sets how ReadCSRF turns a CSRF19 folder into recordings. The
// defaults (DefaultCSRFConfig) are those of the paper's single-task V1
// recipe.
type CSRFConfig struct {
	// Crop is applied first (default 36 px on every side).
	Crop Crop
	// Subsample keeps every Subsample-th row and column after cropping
	// (default 1).
	Subsample int
	// Scale is the rescale factor applied last, with skimage semantics
	// (default 0.4).
	Scale float64
	// TimeBins is the number of leading time bins summed into one response
	// (default 12: bins 0..11, 40–160 ms after image onset).
	TimeBins int
	// Exclude lists pickle file names to skip (default: the session the
	// original loader hard-codes as bad).
	Exclude []string
	// RawPixelsPerDegree is the resolution of the stored images, 0 when
	// unknown; the output resolution is RawPixelsPerDegree·Scale/Subsample.
	RawPixelsPerDegree float64
}

// DefaultCSRFConfig returns the settings of the paper's V1 recipe.
func DefaultCSRFConfig() CSRFConfig {
	return CSRFConfig{
		Crop:      Crop{36, 36, 36, 36},
		Subsample: 1,
		Scale:     0.4,
		TimeBins:  12,
		Exclude:   []string{"CSRF19_V4_3653663964522.pickle"},
	}
}

// ReadCSRF reads a CSRF19-style data folder: dir/neuronal_data/*.pickle
// (one session each) and dir/images/individual/NNNNNN.npy (one 2-D image
// per 1-based image id). Each pickle holds session_id, the
// (neurons × time bins × images) arrays training_responses and
// testing_responses, and the per-trial 1-based image ids
// training_image_ids and testing_image_ids. Responses are summed over the
// first cfg.TimeBins bins (2-D (neurons × images) arrays are taken as
// already summed); images are cropped, subsampled and rescaled as the
// original loader does and stored as uint8 when the files are uint8.
func ReadCSRF(dir string, cfg CSRFConfig) (*Recordings, error) {
	if cfg.Subsample < 1 || !(cfg.Scale > 0) || cfg.TimeBins < 1 {
		return nil, fmt.Errorf("reading %s: bad config (subsample %d, scale %v, time bins %d)", dir, cfg.Subsample, cfg.Scale, cfg.TimeBins)
	}
	r := &Recordings{Meta: Metadata{
		Source:         "CSRF19 session pickles in " + dir,
		ResponseWindow: fmt.Sprintf("sum of time bins 0..%d (spike count; 40-160 ms after onset for the paper's 10 ms bins)", cfg.TimeBins-1),
		Notes: fmt.Sprintf("crop top %d bottom %d left %d right %d, subsample %d, rescale %v (bilinear, reflect, no anti-aliasing)",
			cfg.Crop.Top, cfg.Crop.Bottom, cfg.Crop.Left, cfg.Crop.Right, cfg.Subsample, cfg.Scale),
	}}
	if cfg.RawPixelsPerDegree > 0 {
		r.Meta.PixelsPerDegree = cfg.RawPixelsPerDegree * cfg.Scale / float64(cfg.Subsample)
	}
	if err := readCSRFImages(filepath.Join(dir, "images", "individual"), cfg, r); err != nil {
		return nil, err
	}
	row := make(map[int64]int, len(r.ImageIDs))
	for i, id := range r.ImageIDs {
		row[id] = i
	}
	pickles, err := filepath.Glob(filepath.Join(dir, "neuronal_data", "*.pickle"))
	if err != nil {
		return nil, err
	}
	sort.Strings(pickles)
	excluded := map[string]bool{}
	for _, e := range cfg.Exclude {
		excluded[e] = true
	}
	var offset int64
	for _, p := range pickles {
		if excluded[filepath.Base(p)] {
			continue
		}
		s, err := readCSRFSession(p, cfg.TimeBins, row)
		if err != nil {
			return nil, err
		}
		s.NeuronIDs = make([]int64, s.Neurons)
		for j := range s.NeuronIDs {
			s.NeuronIDs[j] = offset + int64(j)
		}
		offset += int64(s.Neurons)
		r.Sessions = append(r.Sessions, *s)
	}
	if len(r.Sessions) == 0 {
		return nil, fmt.Errorf("reading %s: no session pickles in %s", dir, filepath.Join(dir, "neuronal_data"))
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return r, nil
}

// readCSRFImages loads every NNNNNN.npy in dir in id order and transforms
// it.
func readCSRFImages(dir string, cfg CSRFConfig, r *Recordings) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.npy"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("reading CSRF images: no .npy files in %s", dir)
	}
	type file struct {
		id   int64
		path string
	}
	var list []file
	for _, f := range files {
		id, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(f), ".npy"), 10, 64)
		if err != nil {
			return fmt.Errorf("reading CSRF images: %s: file name is not an image id (want e.g. 000001.npy)", f)
		}
		list = append(list, file{id, f})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
	im := &r.Images
	var isU8 bool
	for i, f := range list {
		a, err := npy.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("reading CSRF image: %w", err)
		}
		if len(a.Shape) != 2 {
			return fmt.Errorf("reading CSRF image %s: shape %v, want a 2-D grayscale array", f.path, a.Shape)
		}
		if i == 0 {
			isU8 = a.DType == npy.Uint8
		} else if isU8 != (a.DType == npy.Uint8) {
			return fmt.Errorf("reading CSRF image %s: dtype %s differs from the first image's", f.path, a.DType)
		}
		pix, h, w, err := transformCSRF(a.Float64s(), a.Shape[0], a.Shape[1], cfg)
		if err != nil {
			return fmt.Errorf("reading CSRF image %s: %w", f.path, err)
		}
		if i == 0 {
			im.H, im.W = h, w
		} else if h != im.H || w != im.W {
			return fmt.Errorf("reading CSRF image %s: size %d×%d after transform differs from the first image's %d×%d", f.path, h, w, im.H, im.W)
		}
		for _, v := range pix {
			if isU8 {
				// astype(uint8) truncates toward zero.
				im.U8 = append(im.U8, uint8(v))
			} else {
				im.F32 = append(im.F32, float32(v))
			}
		}
		r.ImageIDs = append(r.ImageIDs, f.id)
	}
	im.N = len(list)
	im.Range = [2]float64{0, 255}
	if !isU8 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range im.F32 {
			lo, hi = min(lo, float64(v)), max(hi, float64(v))
		}
		if lo < 0 || hi > 255 {
			im.Range = [2]float64{lo, hi}
		}
		if !(im.Range[1] > im.Range[0]) {
			im.Range[1] = im.Range[0] + 1
		}
	}
	return nil
}

// transformCSRF crops, subsamples and rescales one image as nnvision's
// ImageCache.transform_image does.
func transformCSRF(src []float64, h, w int, cfg CSRFConfig) ([]float64, int, int, error) {
	c := cfg.Crop
	if c.Top < 0 || c.Bottom < 0 || c.Left < 0 || c.Right < 0 || c.Top+c.Bottom >= h || c.Left+c.Right >= w {
		return nil, 0, 0, fmt.Errorf("crop %+v does not fit a %d×%d image", c, h, w)
	}
	var cropped []float64
	ch, cw := 0, 0
	for y := c.Top; y < h-c.Bottom; y += cfg.Subsample {
		ch++
		cw = 0
		for x := c.Left; x < w-c.Right; x += cfg.Subsample {
			cropped = append(cropped, src[y*w+x])
			cw++
		}
	}
	if cfg.Scale == 1 {
		return cropped, ch, cw, nil
	}
	oh, ow := rescaledSize(ch, cfg.Scale), rescaledSize(cw, cfg.Scale)
	return rescaleBilinear(cropped, ch, cw, oh, ow), oh, ow, nil
}

// readCSRFSession reads one session pickle. row maps image ids to image
// rows.
func readCSRFSession(path string, timeBins int, row map[int64]int) (*Session, error) {
	d, err := loadPickle(path)
	if err != nil {
		return nil, fmt.Errorf("reading CSRF session: %w", err)
	}
	s := &Session{Name: strings.TrimSuffix(filepath.Base(path), ".pickle")}
	if v, ok := d["session_id"]; ok {
		if names, err := asStrings(v); err == nil && len(names) == 1 {
			s.Name = names[0]
		}
	}
	for _, part := range []struct {
		resp, ids string
		test      bool
	}{{"training_responses", "training_image_ids", false}, {"testing_responses", "testing_image_ids", true}} {
		resp, err := numericField(path, d, part.resp)
		if err != nil {
			return nil, err
		}
		idArr, err := numericField(path, d, part.ids)
		if err != nil {
			return nil, err
		}
		ids, err := idArr.Int64s()
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", path, part.ids, err)
		}
		var neurons, bins, trials int
		switch len(resp.Shape) {
		case 3:
			neurons, bins, trials = resp.Shape[0], resp.Shape[1], resp.Shape[2]
			if bins < timeBins {
				return nil, fmt.Errorf("%s: key %q has %d time bins, fewer than the %d to sum", path, part.resp, bins, timeBins)
			}
		case 2:
			neurons, bins, trials = resp.Shape[0], 1, resp.Shape[1]
		default:
			return nil, fmt.Errorf("%s: key %q has shape %v, want (neurons, time_bins, images)", path, part.resp, resp.Shape)
		}
		if len(ids) != trials {
			return nil, fmt.Errorf("%s: key %q has %d ids but %q has %d images (shape %v)", path, part.ids, len(ids), part.resp, trials, resp.Shape)
		}
		if s.Neurons == 0 && s.Trials == 0 {
			s.Neurons = neurons
		} else if neurons != s.Neurons {
			return nil, fmt.Errorf("%s: key %q has %d neurons, training_responses has %d", path, part.resp, neurons, s.Neurons)
		}
		sum := min(bins, timeBins)
		vals := resp.Float64s()
		for t, id := range ids {
			r, ok := row[id]
			if !ok {
				return nil, fmt.Errorf("%s: key %q entry %d is image id %d, which has no file %06d.npy", path, part.ids, t, id, id)
			}
			for n := 0; n < neurons; n++ {
				var acc float64
				for b := 0; b < sum; b++ {
					acc += vals[(n*bins+b)*trials+t]
				}
				if math.IsNaN(acc) || math.IsInf(acc, 0) {
					return nil, fmt.Errorf("%s: key %q: neuron %d, image %d has a non-finite response", path, part.resp, n, t)
				}
				s.Responses = append(s.Responses, float32(acc))
			}
			s.ImageIndex = append(s.ImageIndex, r)
			s.Test = append(s.Test, part.test)
			s.Trials++
		}
	}
	return s, nil
}
