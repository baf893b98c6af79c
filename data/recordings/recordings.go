// Package recordings holds neural recordings in cotrain's own file format
// (a NumPy .npz archive, described in docs/recordings.md) and reads the
// formats of the original data: the CSRF19 per-session pickles used by
// Safarani et al. 2021 and the Cadena et al. 2019 pickle.
//
// A recording is a set of grayscale images and one or more sessions. Each
// session has its own neurons and its own trials; a trial is one
// presentation of one image, with one response (a spike count) per neuron
// of that session. Trials are marked train or test; test images are shown
// many times so that repeats can be grouped for explainable-variance
// measures.
package recordings

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/cotrain/cotrain/internal/nprand"
)

// Images is a stack of N grayscale images of H×W pixels in row-major
// order. Exactly one of U8 and F32 is set. Range gives the pixel value
// that means black and the one that means white ([0, 255] for U8).
type Images struct {
	N, H, W int
	U8      []uint8
	F32     []float32
	Range   [2]float64
}

// Pixels returns image i as floats in [0, 1] (black 0, white 1), mapping
// Range linearly.
func (im *Images) Pixels(i int) []float32 {
	out := make([]float32, im.H*im.W)
	for j, v := range im.pixels64(i) {
		out[j] = float32(v)
	}
	return out
}

// pixels64 is Pixels in float64.
func (im *Images) pixels64(i int) []float64 {
	n := im.H * im.W
	out := make([]float64, n)
	lo, span := im.Range[0], im.Range[1]-im.Range[0]
	if im.U8 != nil {
		for j, v := range im.U8[i*n : (i+1)*n] {
			out[j] = (float64(v) - lo) / span
		}
		return out
	}
	for j, v := range im.F32[i*n : (i+1)*n] {
		out[j] = (float64(v) - lo) / span
	}
	return out
}

// Session is one recording session: its neurons, and its trials in
// presentation order. Responses is Trials×Neurons, row-major.
type Session struct {
	// Name identifies the session (the CSRF19 session_id, for example).
	Name string
	// Trials and Neurons are the dimensions of Responses.
	Trials, Neurons int
	// NeuronIDs holds one identifier per neuron (unit ids of the source).
	NeuronIDs []int64
	// Responses holds the spike count of each neuron on each trial.
	Responses []float32
	// Valid, if not nil, marks which entries of Responses were recorded
	// (Trials×Neurons); entries marked false hold 0 and carry no data.
	Valid []bool
	// ImageIndex holds, for each trial, the row of Images shown.
	ImageIndex []int
	// Test marks the trials of the test set (repeated test images).
	Test []bool
	// Validation, if not nil, marks the non-test trials held out for
	// validation (the tiers of a Sensorium folder); TrainValidation then
	// uses it instead of the split by image id.
	Validation []bool
	// Behavior, if not nil, holds the session's per-trial non-visual
	// variables (eye position, pupil size, running speed).
	Behavior *Behavior
}

// Behavior holds the non-visual variables of every trial of a session, as
// mouse recordings provide them (Li et al. 2019 §2.2; the Sensorium
// "behavior" and "pupil_center" arrays). Units are those of the source:
// the simulator and cotrain files use the source's own scale, and models
// standardize each variable over the training trials.
type Behavior struct {
	// PupilCenter holds the horizontal and vertical eye position of each
	// trial (Trials×2, row-major): what a shifter maps to a shift of the
	// receptive fields.
	PupilCenter []float32
	// PupilSize holds the pupil size (dilation) of each trial.
	PupilSize []float32
	// Running holds the running speed of each trial.
	Running []float32
}

// Modulators returns trial t's modulator inputs: pupil size and running
// speed.
func (b *Behavior) Modulators(t int) [2]float32 { return [2]float32{b.PupilSize[t], b.Running[t]} }

// Eye returns trial t's pupil centre (horizontal, vertical).
func (b *Behavior) Eye(t int) [2]float32 { return [2]float32{b.PupilCenter[2*t], b.PupilCenter[2*t+1]} }

// Response returns the responses of trial t, one per neuron.
func (s *Session) Response(t int) []float32 {
	return s.Responses[t*s.Neurons : (t+1)*s.Neurons]
}

// TrainTrials returns the indices of the session's non-test trials in
// presentation order.
func (s *Session) TrainTrials() []int {
	var out []int
	for t, test := range s.Test {
		if !test {
			out = append(out, t)
		}
	}
	return out
}

// TestGroup is one test image with the trials that showed it.
type TestGroup struct {
	Image  int   // row of Images
	Trials []int // trial indices, in presentation order
}

// TestByImage groups the session's test trials by image, ordered by image
// row. The repeats of one image are the unit of the FEV and oracle
// measures.
func (s *Session) TestByImage() []TestGroup {
	byImage := map[int][]int{}
	for t, test := range s.Test {
		if test {
			byImage[s.ImageIndex[t]] = append(byImage[s.ImageIndex[t]], t)
		}
	}
	out := make([]TestGroup, 0, len(byImage))
	for img, trials := range byImage {
		out = append(out, TestGroup{Image: img, Trials: trials})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Image < out[j].Image })
	return out
}

// Metadata describes where a recording came from.
type Metadata struct {
	// Source names the origin ("v1sim", "CSRF19 pickles at <dir>", ...).
	Source string `json:"source"`
	// PixelsPerDegree is the image resolution in pixels per degree of
	// visual angle; 0 when unknown.
	PixelsPerDegree float64 `json:"pixels_per_degree"`
	// ResponseWindow describes what a response counts, e.g. "spike count
	// 40-160 ms after image onset".
	ResponseWindow string `json:"response_window"`
	// Notes is free text.
	Notes string `json:"notes"`
}

// Recordings is a complete recording: images, sessions and metadata.
type Recordings struct {
	Images Images
	// ImageIDs holds one identifier per image (CSRF19 ids are 1-based file
	// numbers). The train/validation split is defined on these ids.
	ImageIDs []int64
	Sessions []Session
	Meta     Metadata
}

// NumNeurons returns the number of neurons over all sessions.
func (r *Recordings) NumNeurons() int {
	n := 0
	for i := range r.Sessions {
		n += r.Sessions[i].Neurons
	}
	return n
}

// Validate checks that all sizes agree, indices are in range, and values
// are finite. Errors name the offending field as it is named in the file.
func (r *Recordings) Validate() error {
	im := &r.Images
	if im.N < 0 || im.H <= 0 || im.W <= 0 {
		return fmt.Errorf("field images: bad shape (%d, %d, %d)", im.N, im.H, im.W)
	}
	npix := im.N * im.H * im.W
	switch {
	case (im.U8 == nil) == (im.F32 == nil):
		return errors.New("field images: exactly one of uint8 and float32 pixels must be set")
	case im.U8 != nil && len(im.U8) != npix, im.F32 != nil && len(im.F32) != npix:
		return fmt.Errorf("field images: pixel count does not match shape (%d, %d, %d)", im.N, im.H, im.W)
	}
	if !(im.Range[1] > im.Range[0]) || math.IsInf(im.Range[0], 0) || math.IsInf(im.Range[1], 0) {
		return fmt.Errorf("field metadata: image_range %v must be finite and increasing", im.Range)
	}
	for i, v := range im.F32 {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("field images: pixel %d of image %d is %v", i%(im.H*im.W), i/(im.H*im.W), v)
		}
	}
	if len(r.ImageIDs) != im.N {
		return fmt.Errorf("field image_ids: %d ids for %d images", len(r.ImageIDs), im.N)
	}
	seen := make(map[int64]bool, im.N)
	for i, id := range r.ImageIDs {
		if seen[id] {
			return fmt.Errorf("field image_ids: id %d appears twice (second at row %d)", id, i)
		}
		seen[id] = true
	}
	names := map[string]bool{}
	for k := range r.Sessions {
		s := &r.Sessions[k]
		p := sessionPrefix(k)
		if names[s.Name] {
			return fmt.Errorf("field metadata: session name %q is used twice", s.Name)
		}
		names[s.Name] = true
		if s.Trials < 0 || s.Neurons < 0 {
			return fmt.Errorf("field %sresponses: bad shape (%d, %d)", p, s.Trials, s.Neurons)
		}
		if len(s.Responses) != s.Trials*s.Neurons {
			return fmt.Errorf("field %sresponses: %d values for shape (%d, %d)", p, len(s.Responses), s.Trials, s.Neurons)
		}
		if len(s.NeuronIDs) != s.Neurons {
			return fmt.Errorf("field %sneuron_ids: %d ids for %d neurons", p, len(s.NeuronIDs), s.Neurons)
		}
		if len(s.ImageIndex) != s.Trials {
			return fmt.Errorf("field %simage_index: %d entries for %d trials", p, len(s.ImageIndex), s.Trials)
		}
		if len(s.Test) != s.Trials {
			return fmt.Errorf("field %stest: %d entries for %d trials", p, len(s.Test), s.Trials)
		}
		if s.Valid != nil && len(s.Valid) != len(s.Responses) {
			return fmt.Errorf("field %svalid: %d entries for shape (%d, %d)", p, len(s.Valid), s.Trials, s.Neurons)
		}
		for t, idx := range s.ImageIndex {
			if idx < 0 || idx >= im.N {
				return fmt.Errorf("field %simage_index: trial %d shows image %d, outside [0, %d)", p, t, idx, im.N)
			}
		}
		for i, v := range s.Responses {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("field %sresponses: trial %d neuron %d is %v (mark missing values in %svalid instead)", p, i/s.Neurons, i%s.Neurons, v, p)
			}
		}
		if s.Validation != nil {
			if len(s.Validation) != s.Trials {
				return fmt.Errorf("field %svalidation: %d entries for %d trials", p, len(s.Validation), s.Trials)
			}
			for t, v := range s.Validation {
				if v && s.Test[t] {
					return fmt.Errorf("field %svalidation: trial %d is marked both test and validation", p, t)
				}
			}
		}
		if err := s.Behavior.validate(p, s.Trials); err != nil {
			return err
		}
	}
	return nil
}

// validate checks a session's behaviour (nil is valid: none recorded).
func (b *Behavior) validate(prefix string, trials int) error {
	if b == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    []float32
		per  int
	}{{"pupil_center", b.PupilCenter, 2}, {"pupil_size", b.PupilSize, 1}, {"running_speed", b.Running, 1}} {
		if len(f.v) != trials*f.per {
			return fmt.Errorf("field %s%s: %d values for %d trials, want %d", prefix, f.name, len(f.v), trials, trials*f.per)
		}
		for i, v := range f.v {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("field %s%s: trial %d is %v", prefix, f.name, i/f.per, v)
			}
		}
	}
	return nil
}

// SplitImageIDs reproduces nnvision's get_validation_split: the ids
// 1..nImages are permuted with NumPy's legacy generator seeded with seed,
// the first floor(nImages·trainFrac) become training ids and the rest
// validation ids.
func SplitImageIDs(nImages int, trainFrac float64, seed uint32) (train, val []int64) {
	perm := nprand.New(seed).Permutation(nImages)
	nTrain := int(float64(nImages) * trainFrac)
	for i, p := range perm {
		if i < nTrain {
			train = append(train, int64(p+1))
		} else {
			val = append(val, int64(p+1))
		}
	}
	return train, val
}

// DefaultSplitSeed and DefaultTrainFrac are the split settings of the
// original code (seed 1000, 80 % training).
const (
	DefaultSplitSeed = 1000
	DefaultTrainFrac = 0.8
)

// TrainValidation splits each session's non-test trials into training and
// validation trials the way the original loader does: SplitImageIDs over
// ids 1..N (N = number of images) decides by the trial's image id. When
// ImageIDs are 1..N, as in CSRF19 data and simulator output, this is the
// original split exactly; a trial whose image id lies outside 1..N is in
// neither set, as in the original. A session with a Validation mask (a
// Sensorium folder's tiers) is split by the mask instead. The result is
// indexed [session][k].
func (r *Recordings) TrainValidation(trainFrac float64, seed uint32) (train, val [][]int) {
	trainIDs, _ := SplitImageIDs(r.Images.N, trainFrac, seed)
	isTrain := make(map[int64]bool, len(trainIDs))
	for _, id := range trainIDs {
		isTrain[id] = true
	}
	n := int64(r.Images.N)
	train = make([][]int, len(r.Sessions))
	val = make([][]int, len(r.Sessions))
	for k := range r.Sessions {
		s := &r.Sessions[k]
		if s.Validation != nil {
			for _, t := range s.TrainTrials() {
				if s.Validation[t] {
					val[k] = append(val[k], t)
				} else {
					train[k] = append(train[k], t)
				}
			}
			continue
		}
		for _, t := range s.TrainTrials() {
			id := r.ImageIDs[s.ImageIndex[t]]
			switch {
			case id < 1 || id > n:
			case isTrain[id]:
				train[k] = append(train[k], t)
			default:
				val[k] = append(val[k], t)
			}
		}
	}
	return train, val
}

// PixelStats returns the mean and standard deviation (ddof 1) of all
// pixels of all images in [0, 1] units, the statistics the original loader
// normalizes the V1 images with.
func (r *Recordings) PixelStats() (mean, std float64) {
	im := &r.Images
	var sum, sumSq float64
	n := 0
	for i := 0; i < im.N; i++ {
		for _, v := range im.pixels64(i) {
			sum += v
			n++
		}
	}
	if n < 2 {
		return sum, 0
	}
	mean = sum / float64(n)
	for i := 0; i < im.N; i++ {
		for _, v := range im.pixels64(i) {
			d := v - mean
			sumSq += d * d
		}
	}
	return mean, math.Sqrt(sumSq / float64(n-1))
}
