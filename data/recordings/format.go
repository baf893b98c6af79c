package recordings

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/cotrain/cotrain/internal/npy"
)

// FormatName and FormatVersion identify cotrain's recordings files; they
// are stored in the metadata member.
const (
	FormatName    = "cotrain-recordings"
	FormatVersion = 1
)

// fileMeta is the JSON document stored in the "metadata" member.
type fileMeta struct {
	Format     string        `json:"format"`
	Version    int           `json:"version"`
	ImageRange [2]float64    `json:"image_range"`
	Sessions   []sessionMeta `json:"sessions"`
	Metadata
}

type sessionMeta struct {
	Name string `json:"name"`
}

func sessionPrefix(k int) string { return fmt.Sprintf("session_%03d/", k) }

// Save validates r and writes it atomically to path as a compressed .npz
// archive in the layout of docs/recordings.md.
func Save(path string, r *Recordings) error {
	if err := r.Validate(); err != nil {
		return fmt.Errorf("saving recordings to %s: %w", path, err)
	}
	meta := fileMeta{Format: FormatName, Version: FormatVersion, ImageRange: r.Images.Range, Metadata: r.Meta}
	for _, s := range r.Sessions {
		meta.Sessions = append(meta.Sessions, sessionMeta{Name: s.Name})
	}
	js, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("saving recordings to %s: %w", path, err)
	}
	im := &r.Images
	var images *npy.Array
	if im.U8 != nil {
		images = &npy.Array{DType: npy.Uint8, Shape: []int{im.N, im.H, im.W}, Data: im.U8}
	} else {
		images = &npy.Array{DType: npy.Float32, Shape: []int{im.N, im.H, im.W}, Data: im.F32}
	}
	entries := []npy.Entry{
		{Name: "metadata", Array: &npy.Array{DType: npy.Uint8, Shape: []int{len(js)}, Data: js}},
		{Name: "images", Array: images},
		{Name: "image_ids", Array: &npy.Array{DType: npy.Int64, Shape: []int{im.N}, Data: r.ImageIDs}},
	}
	for k := range r.Sessions {
		s := &r.Sessions[k]
		p := sessionPrefix(k)
		idx := make([]int64, s.Trials)
		for t, v := range s.ImageIndex {
			idx[t] = int64(v)
		}
		entries = append(entries,
			npy.Entry{Name: p + "responses", Array: &npy.Array{DType: npy.Float32, Shape: []int{s.Trials, s.Neurons}, Data: s.Responses}},
			npy.Entry{Name: p + "image_index", Array: &npy.Array{DType: npy.Int64, Shape: []int{s.Trials}, Data: idx}},
			npy.Entry{Name: p + "test", Array: &npy.Array{DType: npy.Bool, Shape: []int{s.Trials}, Data: s.Test}},
			npy.Entry{Name: p + "neuron_ids", Array: &npy.Array{DType: npy.Int64, Shape: []int{s.Neurons}, Data: s.NeuronIDs}},
		)
		if s.Valid != nil {
			entries = append(entries, npy.Entry{Name: p + "valid", Array: &npy.Array{DType: npy.Bool, Shape: []int{s.Trials, s.Neurons}, Data: s.Valid}})
		}
		if s.Validation != nil {
			entries = append(entries, npy.Entry{Name: p + "validation", Array: &npy.Array{DType: npy.Bool, Shape: []int{s.Trials}, Data: s.Validation}})
		}
		if b := s.Behavior; b != nil {
			entries = append(entries,
				npy.Entry{Name: p + "pupil_center", Array: &npy.Array{DType: npy.Float32, Shape: []int{s.Trials, 2}, Data: b.PupilCenter}},
				npy.Entry{Name: p + "pupil_size", Array: &npy.Array{DType: npy.Float32, Shape: []int{s.Trials}, Data: b.PupilSize}},
				npy.Entry{Name: p + "running_speed", Array: &npy.Array{DType: npy.Float32, Shape: []int{s.Trials}, Data: b.Running}},
			)
		}
	}
	return npy.WriteNPZ(path, entries, true)
}

// Load reads and validates a recordings file written by Save, or by any
// tool following the layout in docs/recordings.md. Errors name the file
// and the field.
func Load(path string) (*Recordings, error) {
	arrays, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("loading recordings: %w", err)
	}
	r, err := fromArrays(arrays)
	if err != nil {
		return nil, fmt.Errorf("loading recordings %s: %w", path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("loading recordings %s: %w", path, err)
	}
	return r, nil
}

func fromArrays(arrays map[string]*npy.Array) (*Recordings, error) {
	get := func(name string, ndim int) (*npy.Array, error) {
		a, ok := arrays[name]
		if !ok {
			return nil, fmt.Errorf("field %s is missing", name)
		}
		if ndim >= 0 && len(a.Shape) != ndim {
			return nil, fmt.Errorf("field %s: shape %v, want %d dimensions", name, a.Shape, ndim)
		}
		return a, nil
	}
	ma, err := get("metadata", 1)
	if err != nil {
		return nil, err
	}
	js, ok := ma.Data.([]uint8)
	if !ok {
		return nil, fmt.Errorf("field metadata: dtype %s, want uint8 (UTF-8 JSON bytes)", ma.DType)
	}
	var meta fileMeta
	if err := json.Unmarshal(js, &meta); err != nil {
		return nil, fmt.Errorf("field metadata: not valid JSON: %w", err)
	}
	if meta.Format != FormatName {
		return nil, fmt.Errorf("field metadata: format %q, want %q", meta.Format, FormatName)
	}
	if meta.Version != FormatVersion {
		return nil, fmt.Errorf("field metadata: version %d, this cotrain reads version %d", meta.Version, FormatVersion)
	}
	r := &Recordings{Meta: meta.Metadata}
	ia, err := get("images", 3)
	if err != nil {
		return nil, err
	}
	r.Images = Images{N: ia.Shape[0], H: ia.Shape[1], W: ia.Shape[2], Range: meta.ImageRange}
	switch v := ia.Data.(type) {
	case []uint8:
		r.Images.U8 = v
	case []float32:
		r.Images.F32 = v
	default:
		return nil, fmt.Errorf("field images: dtype %s, want uint8 or float32", ia.DType)
	}
	ids, err := get("image_ids", 1)
	if err != nil {
		return nil, err
	}
	if r.ImageIDs, err = ids.Int64s(); err != nil {
		return nil, fmt.Errorf("field image_ids: %w", err)
	}
	known := map[string]bool{"metadata": true, "images": true, "image_ids": true}
	for k, sm := range meta.Sessions {
		p := sessionPrefix(k)
		s := Session{Name: sm.Name}
		resp, err := get(p+"responses", 2)
		if err != nil {
			return nil, err
		}
		s.Trials, s.Neurons = resp.Shape[0], resp.Shape[1]
		if f, ok := resp.Data.([]float32); ok {
			s.Responses = f
		} else if resp.DType == npy.Float64 {
			s.Responses = make([]float32, resp.Len())
			for i, v := range resp.Data.([]float64) {
				if math.Abs(v) > math.MaxFloat32 {
					return nil, fmt.Errorf("field %sresponses: value %v overflows float32", p, v)
				}
				s.Responses[i] = float32(v)
			}
		} else {
			return nil, fmt.Errorf("field %sresponses: dtype %s, want float32", p, resp.DType)
		}
		idx, err := get(p+"image_index", 1)
		if err != nil {
			return nil, err
		}
		idx64, err := idx.Int64s()
		if err != nil {
			return nil, fmt.Errorf("field %simage_index: %w", p, err)
		}
		s.ImageIndex = make([]int, len(idx64))
		for t, v := range idx64 {
			if v < 0 || v > math.MaxInt32 {
				return nil, fmt.Errorf("field %simage_index: trial %d shows image %d, outside [0, %d)", p, t, v, r.Images.N)
			}
			s.ImageIndex[t] = int(v)
		}
		test, err := get(p+"test", 1)
		if err != nil {
			return nil, err
		}
		if s.Test, ok = test.Data.([]bool); !ok {
			return nil, fmt.Errorf("field %stest: dtype %s, want bool", p, test.DType)
		}
		nid, err := get(p+"neuron_ids", 1)
		if err != nil {
			return nil, err
		}
		if s.NeuronIDs, err = nid.Int64s(); err != nil {
			return nil, fmt.Errorf("field %sneuron_ids: %w", p, err)
		}
		known[p+"responses"], known[p+"image_index"], known[p+"test"], known[p+"neuron_ids"] = true, true, true, true
		if va, ok := arrays[p+"valid"]; ok {
			if s.Valid, ok = va.Data.([]bool); !ok || len(va.Shape) != 2 {
				return nil, fmt.Errorf("field %svalid: dtype %s shape %v, want a 2-D bool array", p, va.DType, va.Shape)
			}
			known[p+"valid"] = true
		}
		if va, ok := arrays[p+"validation"]; ok {
			if s.Validation, ok = va.Data.([]bool); !ok || len(va.Shape) != 1 {
				return nil, fmt.Errorf("field %svalidation: dtype %s shape %v, want a 1-D bool array", p, va.DType, va.Shape)
			}
			known[p+"validation"] = true
		}
		b, err := readBehavior(arrays, p, known)
		if err != nil {
			return nil, err
		}
		s.Behavior = b
		r.Sessions = append(r.Sessions, s)
	}
	for name := range arrays {
		if !known[name] {
			if strings.HasPrefix(name, "session_") {
				return nil, fmt.Errorf("field %s: metadata lists %d sessions, so this member belongs to none", name, len(meta.Sessions))
			}
			return nil, fmt.Errorf("field %s: unknown member", name)
		}
	}
	return r, nil
}

// behaviorMembers are the per-trial behaviour members of a session, with
// their number of values per trial.
var behaviorMembers = []struct {
	name string
	per  int
}{{"pupil_center", 2}, {"pupil_size", 1}, {"running_speed", 1}}

// readBehavior reads a session's behaviour members: all of them or none.
func readBehavior(arrays map[string]*npy.Array, p string, known map[string]bool) (*Behavior, error) {
	var vals [3][]float32
	present := 0
	for i, m := range behaviorMembers {
		a, ok := arrays[p+m.name]
		if !ok {
			continue
		}
		present++
		known[p+m.name] = true
		f, ok := a.Data.([]float32)
		if !ok {
			if a.DType != npy.Float64 {
				return nil, fmt.Errorf("field %s%s: dtype %s, want float32", p, m.name, a.DType)
			}
			f = make([]float32, a.Len())
			for j, v := range a.Data.([]float64) {
				f[j] = float32(v)
			}
		}
		if (m.per == 1 && len(a.Shape) != 1) || (m.per > 1 && (len(a.Shape) != 2 || a.Shape[1] != m.per)) {
			return nil, fmt.Errorf("field %s%s: shape %v, want (trials, %d)", p, m.name, a.Shape, m.per)
		}
		vals[i] = f
	}
	switch present {
	case 0:
		return nil, nil
	case len(behaviorMembers):
		return &Behavior{PupilCenter: vals[0], PupilSize: vals[1], Running: vals[2]}, nil
	}
	for _, m := range behaviorMembers {
		if _, ok := arrays[p+m.name]; !ok {
			return nil, fmt.Errorf("field %s%s is missing (behaviour is pupil_center, pupil_size and running_speed together, or none of them)", p, m.name)
		}
	}
	return nil, nil
}

// LoadOptions select what LoadWith keeps of a recordings file.
type LoadOptions struct {
	// TestOnly keeps only the test (repeated, "oracle") trials of every
	// session. The other trials' responses are streamed past without
	// being held, so a recording of many scans loads in the memory of its
	// test trials; the images are all kept.
	TestOnly bool
}

// LoadWith reads a recordings file like Load, keeping what opt selects.
func LoadWith(path string, opt LoadOptions) (*Recordings, error) {
	if !opt.TestOnly {
		return Load(path)
	}
	z, err := npy.OpenNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("loading recordings: %w", err)
	}
	defer z.Close()
	arrays := map[string]*npy.Array{}
	rowMember := func(name string) bool {
		return strings.HasSuffix(name, "/responses") || strings.HasSuffix(name, "/valid")
	}
	for _, name := range z.Names() {
		if rowMember(name) {
			continue
		}
		if arrays[name], err = z.Read(name); err != nil {
			return nil, fmt.Errorf("loading recordings: %w", err)
		}
	}
	kept := map[string][]int{} // session prefix → kept trials
	for _, name := range z.Names() {
		if !rowMember(name) {
			continue
		}
		p := name[:strings.LastIndexByte(name, '/')+1]
		test, ok := arrays[p+"test"]
		keep, isBool := []bool(nil), false
		if ok {
			keep, isBool = test.Data.([]bool)
		}
		if !isBool { // let fromArrays report the bad member
			if arrays[name], err = z.Read(name); err != nil {
				return nil, fmt.Errorf("loading recordings: %w", err)
			}
			continue
		}
		if arrays[name], err = z.ReadRows(name, keep); err != nil {
			return nil, fmt.Errorf("loading recordings: %w", err)
		}
		if _, done := kept[p]; !done {
			for t, k := range keep {
				if k {
					kept[p] = append(kept[p], t)
				}
			}
		}
	}
	r, err := fromArrays(arrays)
	if err != nil {
		return nil, fmt.Errorf("loading recordings %s: %w", path, err)
	}
	for k := range r.Sessions {
		s := &r.Sessions[k]
		trials, ok := kept[sessionPrefix(k)]
		if !ok || len(s.ImageIndex) != len(s.Test) {
			continue // Validate names the inconsistency
		}
		s.keepTrials(trials)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("loading recordings %s: %w", path, err)
	}
	r.Meta.Notes += " [loaded with the test trials only]"
	return r, nil
}

// keepTrials reduces the per-trial fields other than Responses and Valid
// (which the caller has already reduced) to the given trials. Fields whose
// length does not match the trial count are left for Validate to report.
func (s *Session) keepTrials(trials []int) {
	n := len(s.Test)
	pick := func(v []bool) []bool {
		if len(v) != n {
			return v
		}
		out := make([]bool, len(trials))
		for i, t := range trials {
			out[i] = v[t]
		}
		return out
	}
	idx := make([]int, len(trials))
	for i, t := range trials {
		idx[i] = s.ImageIndex[t]
	}
	s.ImageIndex, s.Validation, s.Test = idx, pick(s.Validation), pick(s.Test)
	if b := s.Behavior; b != nil && len(b.PupilSize) == n && len(b.Running) == n && len(b.PupilCenter) == 2*n {
		nb := &Behavior{}
		for _, t := range trials {
			nb.PupilSize = append(nb.PupilSize, b.PupilSize[t])
			nb.Running = append(nb.Running, b.Running[t])
			nb.PupilCenter = append(nb.PupilCenter, b.PupilCenter[2*t], b.PupilCenter[2*t+1])
		}
		s.Behavior = nb
	}
}
