package analysis

import (
	"encoding/json"
	"math"
)

// Floats is a list of numbers that may hold NaN (an undefined share or
// ratio); JSON writes NaN as null and reads null back as NaN.
type Floats []float64

// MarshalJSON writes NaN as null.
func (f Floats) MarshalJSON() ([]byte, error) {
	out := make([]*float64, len(f))
	for i := range f {
		out[i] = optional(f[i])
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads null as NaN.
func (f *Floats) UnmarshalJSON(raw []byte) error {
	var in []*float64
	if err := json.Unmarshal(raw, &in); err != nil {
		return err
	}
	*f = make(Floats, len(in))
	for i, v := range in {
		(*f)[i] = orNaN(v)
	}
	return nil
}

func optional(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func orNaN(v *float64) float64 {
	if v == nil {
		return math.NaN()
	}
	return *v
}

type decompositionJSON struct {
	Content  *float64 `json:"content"`
	Noise    *float64 `json:"noise"`
	Share    *float64 `json:"share"`
	Residual *float64 `json:"residual"`
}

// MarshalJSON writes NaN fields as null.
func (d Decomposition) MarshalJSON() ([]byte, error) {
	return json.Marshal(decompositionJSON{optional(d.Content), optional(d.Noise), optional(d.Share), optional(d.Residual)})
}

// UnmarshalJSON reads null fields as NaN.
func (d *Decomposition) UnmarshalJSON(raw []byte) error {
	var j decompositionJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return err
	}
	*d = Decomposition{Content: orNaN(j.Content), Noise: orNaN(j.Noise), Share: orNaN(j.Share), Residual: orNaN(j.Residual)}
	return nil
}
