// Package responses holds response sets: the neural responses a trained
// predictor assigns to every image of a classification data set, the
// co-training targets of the paper's MTL models (spec §1.4), and their
// shuffled control. A response set is stored as a NumPy .npz archive
// (docs/recordings.md describes the layout).
package responses

import (
	"fmt"
	"math"

	"github.com/cotrain/cotrain/internal/nprand"
	"github.com/cotrain/cotrain/internal/npy"
)

// FormatName and FormatVersion identify response-set files.
const (
	FormatName    = "cotrain-responses"
	FormatVersion = 1
)

// Set is a response set: one response vector per image of an image source.
type Set struct {
	// Source names the image set the rows belong to, e.g.
	// "fashion-mnist:train" (with its size, rows are that set's images in
	// order).
	Source string
	// Images and Neurons are the dimensions of Responses.
	Images, Neurons int
	// Responses holds Images×Neurons values, row-major: row i is the
	// response vector assigned to image i of Source.
	Responses []float32
	// Permutation, if not nil, records a shuffle: row i holds the
	// prediction for image Permutation[i]. Nil means unshuffled.
	Permutation []int
	Meta        Metadata
}

// Metadata records how a response set was made.
type Metadata struct {
	// Predictor is the run directory of the model that predicted the
	// responses.
	Predictor string `json:"predictor"`
	// Shuffled reports a shuffled control; ShuffleSeed is its seed.
	Shuffled    bool   `json:"shuffled"`
	ShuffleSeed uint32 `json:"shuffle_seed,omitempty"`
	// Notes is free text.
	Notes string `json:"notes,omitempty"`
}

type fileMeta struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Source  string   `json:"source"`
	Meta    Metadata `json:"metadata"`
}

// Row returns the response vector of image i.
func (s *Set) Row(i int) []float32 { return s.Responses[i*s.Neurons : (i+1)*s.Neurons] }

// Validate checks the dimensions and values.
func (s *Set) Validate() error {
	if s.Images < 1 || s.Neurons < 1 {
		return fmt.Errorf("response set has %d images × %d neurons; both must be positive", s.Images, s.Neurons)
	}
	if len(s.Responses) != s.Images*s.Neurons {
		return fmt.Errorf("response set has %d values for %d images × %d neurons", len(s.Responses), s.Images, s.Neurons)
	}
	for i, v := range s.Responses {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("response set: image %d, neuron %d is %v", i/s.Neurons, i%s.Neurons, v)
		}
	}
	if s.Permutation != nil {
		if len(s.Permutation) != s.Images {
			return fmt.Errorf("response set: permutation has %d entries for %d images", len(s.Permutation), s.Images)
		}
		seen := make([]bool, s.Images)
		for _, p := range s.Permutation {
			if p < 0 || p >= s.Images || seen[p] {
				return fmt.Errorf("response set: permutation is not a permutation of 0..%d", s.Images-1)
			}
			seen[p] = true
		}
	}
	return nil
}

// Shuffled returns the shuffled control of s: whole response vectors are
// permuted across images (numpy.random.RandomState(seed).permutation), so
// every image gets another image's response vector and the distribution of
// responses is unchanged.
func (s *Set) Shuffled(seed uint32) *Set {
	perm := make([]int, s.Images)
	for i := range perm {
		perm[i] = i
	}
	nprand.Shuffle(nprand.New(seed), perm)
	out := &Set{Source: s.Source, Images: s.Images, Neurons: s.Neurons, Responses: make([]float32, len(s.Responses)),
		Permutation: make([]int, s.Images), Meta: s.Meta}
	out.Meta.Shuffled, out.Meta.ShuffleSeed = true, seed
	for i, p := range perm {
		copy(out.Row(i), s.Row(p))
		out.Permutation[i] = p
		if s.Permutation != nil {
			out.Permutation[i] = s.Permutation[p]
		}
	}
	return out
}

// Save validates s and writes it atomically to path.
func Save(path string, s *Set) error {
	if err := s.Validate(); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	meta, err := npy.JSONEntry("metadata", fileMeta{Format: FormatName, Version: FormatVersion, Source: s.Source, Meta: s.Meta})
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	entries := []npy.Entry{
		meta,
		{Name: "responses", Array: &npy.Array{DType: npy.Float32, Shape: []int{s.Images, s.Neurons}, Data: s.Responses}},
	}
	if s.Permutation != nil {
		entries = append(entries, npy.IndexEntry("permutation", s.Permutation))
	}
	return npy.WriteNPZ(path, entries, true)
}

// Load reads a response set written by Save.
func Load(path string) (*Set, error) {
	arrays, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("loading response set: %w", err)
	}
	s, err := fromArrays(arrays)
	if err != nil {
		return nil, fmt.Errorf("loading response set %s: %w (make it with \"cotrain responses\")", path, err)
	}
	return s, nil
}

func fromArrays(arrays map[string]*npy.Array) (*Set, error) {
	var meta fileMeta
	if err := npy.DecodeJSON(arrays, "metadata", &meta); err != nil {
		return nil, err
	}
	if meta.Format != FormatName || meta.Version != FormatVersion {
		return nil, fmt.Errorf("format %q version %d, want %q version %d", meta.Format, meta.Version, FormatName, FormatVersion)
	}
	ra, ok := arrays["responses"]
	if !ok {
		return nil, fmt.Errorf("field responses is missing")
	}
	resp, ok := ra.Data.([]float32)
	if !ok || len(ra.Shape) != 2 {
		return nil, fmt.Errorf("field responses: %s array of shape %v, want float32 images × neurons", ra.DType, ra.Shape)
	}
	s := &Set{Source: meta.Source, Images: ra.Shape[0], Neurons: ra.Shape[1], Responses: resp, Meta: meta.Meta}
	if pa, ok := arrays["permutation"]; ok {
		var err error
		if s.Permutation, err = pa.Indices(); err != nil {
			return nil, fmt.Errorf("field permutation: %w", err)
		}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}
