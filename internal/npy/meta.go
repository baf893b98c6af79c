package npy

import (
	"encoding/json"
	"fmt"
)

// JSONEntry returns an archive member holding v as indented UTF-8 JSON in
// a uint8 array, the metadata convention of cotrain's .npz files
// (json.loads(z[name].tobytes()) in Python).
func JSONEntry(name string, v any) (Entry, error) {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return Entry{}, err
	}
	return Entry{Name: name, Array: &Array{DType: Uint8, Shape: []int{len(js)}, Data: js}}, nil
}

// DecodeJSON decodes the JSON member name of an archive read by ReadNPZ
// into v. Errors name the member.
func DecodeJSON(arrays map[string]*Array, name string, v any) error {
	a, ok := arrays[name]
	if !ok {
		return fmt.Errorf("member %s is missing", name)
	}
	js, ok := a.Data.([]uint8)
	if !ok {
		return fmt.Errorf("member %s: dtype %s, want uint8 JSON bytes", name, a.DType)
	}
	if err := json.Unmarshal(js, v); err != nil {
		return fmt.Errorf("member %s: %w", name, err)
	}
	return nil
}

// IndexEntry returns a member holding indices as a 1-D int64 array.
func IndexEntry(name string, idx []int) Entry {
	v := make([]int64, len(idx))
	for i, x := range idx {
		v[i] = int64(x)
	}
	return Entry{Name: name, Array: &Array{DType: Int64, Shape: []int{len(v)}, Data: v}}
}

// Indices returns the elements of an integer array as ints.
func (a *Array) Indices() ([]int, error) {
	v, err := a.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out, nil
}
