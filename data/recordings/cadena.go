package recordings

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
)

// CadenaConfig sets how ReadCadena maps the Cadena et al. 2019 pickle.
type CadenaConfig struct {
	// TrainFrac is the fraction of images, in file order, that are training
	// images; the rest are test images (default 0.8, as in the authors'
	// MonkeyDataset).
	TrainFrac float64
	// PixelsPerDegree is the resolution of the stored images, 0 when
	// unknown.
	PixelsPerDegree float64
}

// DefaultCadenaConfig returns the authors' split (first 80 % of images for
// training).
func DefaultCadenaConfig() CadenaConfig {
	return CadenaConfig{TrainFrac: 0.8}
}

// ReadCadena reads the Cadena et al. 2019 data pickle (keys images
// (images×H×W), responses (repeats×images×neurons, NaN where a repeat was
// not recorded), repetitions, image_ids, image_types, subject_id,
// session_id, unit_id; the last three one entry per neuron).
//
// Neurons are grouped into sessions by (subject_id, session_id). Each
// (repeat, image) pair on which at least one neuron of a session has a
// response becomes a trial of that session; remaining NaN entries are
// marked invalid in Session.Valid. The first floor(TrainFrac·images)
// images are training images and the rest test images, as in the authors'
// code. Unlike their manage_repeats, missing repeats are not filled with
// copies of recorded ones.
func ReadCadena(path string, cfg CadenaConfig) (*Recordings, error) {
	if !(cfg.TrainFrac >= 0 && cfg.TrainFrac <= 1) {
		return nil, fmt.Errorf("reading %s: train fraction %v outside [0, 1]", path, cfg.TrainFrac)
	}
	d, err := loadPickle(path)
	if err != nil {
		return nil, fmt.Errorf("reading Cadena pickle: %w", err)
	}
	imgs, err := numericField(path, d, "images")
	if err != nil {
		return nil, err
	}
	if len(imgs.Shape) == 4 && imgs.Shape[3] == 1 {
		imgs.Shape = imgs.Shape[:3]
	}
	if len(imgs.Shape) != 3 {
		return nil, fmt.Errorf("%s: key \"images\" has shape %v, want (images, height, width)", path, imgs.Shape)
	}
	resp, err := numericField(path, d, "responses")
	if err != nil {
		return nil, err
	}
	if len(resp.Shape) != 3 {
		return nil, fmt.Errorf("%s: key \"responses\" has shape %v, want (repeats, images, neurons)", path, resp.Shape)
	}
	reps, nImg, nNeu := resp.Shape[0], resp.Shape[1], resp.Shape[2]
	if nImg != imgs.Shape[0] {
		return nil, fmt.Errorf("%s: key \"responses\" covers %d images but \"images\" holds %d", path, nImg, imgs.Shape[0])
	}
	r := &Recordings{Meta: Metadata{
		Source:          "Cadena et al. 2019 pickle " + filepath.Base(path),
		PixelsPerDegree: cfg.PixelsPerDegree,
		ResponseWindow:  "spike count as binned in the source file",
	}}
	im := &r.Images
	im.N, im.H, im.W = imgs.Shape[0], imgs.Shape[1], imgs.Shape[2]
	if u8, ok := imgs.Data.([]uint8); ok {
		im.U8, im.Range = u8, [2]float64{0, 255}
	} else {
		lo, hi := math.Inf(1), math.Inf(-1)
		im.F32 = make([]float32, imgs.Len())
		for i, v := range imgs.Float64s() {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("%s: key \"images\": pixel %d is %v", path, i, v)
			}
			im.F32[i] = float32(v)
			lo, hi = min(lo, v), max(hi, v)
		}
		im.Range = [2]float64{0, 255}
		if lo < 0 || hi > 255 {
			im.Range = [2]float64{lo, hi}
		}
		if !(im.Range[1] > im.Range[0]) {
			im.Range[1] = im.Range[0] + 1
		}
	}
	if v, ok := d["image_ids"]; ok {
		a, err := asNumeric(v)
		if err != nil {
			return nil, fmt.Errorf("%s: key \"image_ids\": %w", path, err)
		}
		if a.Len() != nImg {
			return nil, fmt.Errorf("%s: key \"image_ids\" has %d entries for %d images", path, a.Len(), nImg)
		}
		if r.ImageIDs, err = a.Int64s(); err != nil {
			return nil, fmt.Errorf("%s: key \"image_ids\": %w", path, err)
		}
	} else {
		r.ImageIDs = make([]int64, nImg)
		for i := range r.ImageIDs {
			r.ImageIDs[i] = int64(i + 1)
		}
	}
	perNeuron := func(key string) ([]string, error) {
		v, ok := d[key]
		if !ok {
			out := make([]string, nNeu)
			for i := range out {
				out[i] = "0"
			}
			return out, nil
		}
		s, err := asStrings(v)
		if err != nil {
			return nil, fmt.Errorf("%s: key %q: %w", path, key, err)
		}
		if len(s) == 1 && nNeu > 1 {
			s = repeatString(s[0], nNeu)
		}
		if len(s) != nNeu {
			return nil, fmt.Errorf("%s: key %q has %d entries for %d neurons", path, key, len(s), nNeu)
		}
		return s, nil
	}
	subjects, err := perNeuron("subject_id")
	if err != nil {
		return nil, err
	}
	sessions, err := perNeuron("session_id")
	if err != nil {
		return nil, err
	}
	var units []int64
	if v, ok := d["unit_id"]; ok {
		a, err := asNumeric(v)
		if err == nil && a.Len() == nNeu {
			units, err = a.Int64s()
		}
		if err != nil || units == nil {
			return nil, fmt.Errorf("%s: key \"unit_id\" must hold one integer per neuron (%d)", path, nNeu)
		}
	}
	// Group neurons by session in order of first appearance.
	var order []string
	members := map[string][]int{}
	for n := 0; n < nNeu; n++ {
		key := "subject" + subjects[n] + "_session" + sessions[n]
		if _, ok := members[key]; !ok {
			order = append(order, key)
		}
		members[key] = append(members[key], n)
	}
	vals := resp.Float64s()
	nTrain := int(float64(nImg) * cfg.TrainFrac)
	types := map[string]int{}
	if v, ok := d["image_types"]; ok {
		if ts, err := asStrings(v); err == nil {
			for _, t := range ts {
				types[t]++
			}
		}
	}
	for _, key := range order {
		neu := members[key]
		s := Session{Name: key, Neurons: len(neu), NeuronIDs: make([]int64, len(neu))}
		for j, n := range neu {
			s.NeuronIDs[j] = int64(n)
			if units != nil {
				s.NeuronIDs[j] = units[n]
			}
		}
		var valid []bool
		missing := false
		for rep := 0; rep < reps; rep++ {
			for i := 0; i < nImg; i++ {
				seen := false
				for _, n := range neu {
					if !math.IsNaN(vals[(rep*nImg+i)*nNeu+n]) {
						seen = true
						break
					}
				}
				if !seen {
					continue
				}
				for _, n := range neu {
					v := vals[(rep*nImg+i)*nNeu+n]
					ok := !math.IsNaN(v)
					if !ok {
						v, missing = 0, true
					} else if math.IsInf(v, 0) {
						return nil, fmt.Errorf("%s: key \"responses\": repeat %d, image %d, neuron %d is %v", path, rep, i, n, v)
					}
					s.Responses = append(s.Responses, float32(v))
					valid = append(valid, ok)
				}
				s.ImageIndex = append(s.ImageIndex, i)
				s.Test = append(s.Test, i >= nTrain)
				s.Trials++
			}
		}
		if missing {
			s.Valid = valid
		}
		r.Sessions = append(r.Sessions, s)
	}
	var notes []string
	notes = append(notes, fmt.Sprintf("%d repeats × %d images × %d neurons in the source; first %d images train, rest test", reps, nImg, nNeu, nTrain))
	if len(types) > 0 {
		notes = append(notes, fmt.Sprintf("image types: %v", types))
	}
	r.Meta.Notes = strings.Join(notes, "; ")
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return r, nil
}

func repeatString(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
