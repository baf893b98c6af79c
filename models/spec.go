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
	// Arch is ArchVGG, ArchMouse, ArchResNet18 or ArchResNet34.
	Arch string
	// VGG is the configuration when Arch is ArchVGG.
	VGG VGG
	// Mouse is the configuration when Arch is ArchMouse.
	Mouse MouseCore
	// ResNet is the configuration when Arch is ArchResNet18 or
	// ArchResNet34 (its Depth agrees with Arch).
	ResNet ResNet
}

// known lists the architectures for error messages.
const known = ArchVGG + ", " + ArchMouse + ", " + ArchResNet18 + ", " + ArchResNet34

// SpecOf returns the Spec of a core or network.
func SpecOf(c Core) (Spec, error) {
	switch m := c.(type) {
	case VGG:
		return Spec{Arch: ArchVGG, VGG: m}, nil
	case MouseCore:
		return Spec{Arch: ArchMouse, Mouse: m}, nil
	case ResNet:
		return Spec{Arch: m.Arch(), ResNet: m}, nil
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
	case ArchResNet18, ArchResNet34:
		if s.ResNet.Arch() != s.Arch {
			return nil, fmt.Errorf("models: architecture %q with a depth-%d resnet configuration", s.Arch, s.ResNet.Depth)
		}
		return s.ResNet, nil
	}
	return nil, fmt.Errorf("models: unknown architecture %q (known: %s)", s.Arch, known)
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
	case ArchResNet18, ArchResNet34:
		if err := json.Unmarshal(raw, &s.ResNet); err != nil {
			return err
		}
		if s.ResNet.Depth == 0 {
			s.ResNet.Depth = 18
			if head.Arch == ArchResNet34 {
				s.ResNet.Depth = 34
			}
		}
		if s.ResNet.Arch() != head.Arch {
			return fmt.Errorf("models: architecture %q with depth %d", head.Arch, s.ResNet.Depth)
		}
		return nil
	}
	return fmt.Errorf("models: unknown architecture %q (known: %s)", head.Arch, known)
}
