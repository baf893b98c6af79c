package models

import (
	"encoding/json"
	"fmt"
)

// Architectures a Spec can name.
const (
	ArchVGG = "vgg"
)

// Spec names a network's architecture and holds its configuration; it is
// what a run folder records (run.json) so that the network can be rebuilt.
// In JSON it is the configuration's fields with an "arch" field beside
// them; a record without "arch" is a VGG (the only architecture of the
// first runs).
type Spec struct {
	// Arch is ArchVGG or ArchMouse.
	Arch string
	// VGG is the configuration when Arch is ArchVGG.
	VGG VGG
	// Mouse is the configuration when Arch is ArchMouse.
	Mouse MouseCore
}

// SpecOf returns the Spec of a core or network.
func SpecOf(c Core) (Spec, error) {
	switch m := c.(type) {
	case VGG:
		return Spec{Arch: ArchVGG, VGG: m}, nil
	case MouseCore:
		return Spec{Arch: ArchMouse, Mouse: m}, nil
	}
	return Spec{}, fmt.Errorf("models: no spec for a %T core", c)
}

// Core returns the core the spec describes.
func (s Spec) Core() (Core, error) {
	switch s.Arch {
	case ArchVGG, "":
		return s.VGG, nil
	case ArchMouse:
		return s.Mouse, nil
	}
	return nil, fmt.Errorf("models: unknown architecture %q (known: %s, %s)", s.Arch, ArchVGG, ArchMouse)
}

// Network returns the classifier the spec describes, or an error if its
// architecture does not classify.
func (s Spec) Network() (Network, error) {
	c, err := s.Core()
	if err != nil {
		return nil, err
	}
	n, ok := c.(Network)
	if !ok {
		return nil, fmt.Errorf("models: a %s core has no classification head", s.Arch)
	}
	return n, nil
}

// MarshalJSON writes the configuration's fields and "arch".
func (s Spec) MarshalJSON() ([]byte, error) {
	c, err := s.Core()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, err
	}
	arch := s.Arch
	if arch == "" {
		arch = ArchVGG
	}
	fields["arch"], _ = json.Marshal(arch)
	return json.Marshal(fields)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Spec) UnmarshalJSON(raw []byte) error {
	var head struct {
		Arch string `json:"arch"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return err
	}
	*s = Spec{Arch: head.Arch}
	switch head.Arch {
	case ArchVGG, "":
		s.Arch = ArchVGG
		return json.Unmarshal(raw, &s.VGG)
	case ArchMouse:
		return json.Unmarshal(raw, &s.Mouse)
	}
	return fmt.Errorf("models: unknown architecture %q (known: %s, %s)", head.Arch, ArchVGG, ArchMouse)
}
