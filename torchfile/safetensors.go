package torchfile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/cotrain/cotrain/internal/atomicfile"
)

// maxSafetensorsHeader bounds the JSON header of a safetensors file (the
// format's own limit is 100 MB).
const maxSafetensorsHeader = 100 << 20

// safetensorsEntry is one tensor of a safetensors header.
type safetensorsEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteSafetensors writes sd atomically to path as a safetensors file: an
// 8-byte little-endian header length, the JSON header (tensor names,
// dtypes, shapes, byte ranges, and metadata under "__metadata__"), padded
// with spaces to 8 bytes, then the tensors' bytes in order.
func WriteSafetensors(path string, sd *StateDict, metadata map[string]string) error {
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	var offset int64
	for _, name := range sd.Names {
		t := sd.Tensors[name]
		if err := t.check(); err != nil {
			return fmt.Errorf("writing %s: tensor %s: %w", path, name, err)
		}
		info, _ := lookupDType(func(d dtypeInfo) bool { return d.dtype == t.DType })
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[name] = safetensorsEntry{DType: info.safetensors, Shape: shape, DataOffsets: [2]int64{offset, offset + int64(len(t.Data))}}
		offset += int64(len(t.Data))
	}
	raw, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if r := len(raw) % 8; r != 0 {
		raw = append(raw, bytes.Repeat([]byte(" "), 8-r)...)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(raw)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(raw); err != nil {
			return err
		}
		for _, name := range sd.Names {
			if _, err := w.Write(sd.Tensors[name].Data); err != nil {
				return err
			}
		}
		return nil
	})
}

// ReadSafetensorsFile reads the safetensors file at path; the tensors come
// in the order of their data.
func ReadSafetensorsFile(path string) (*StateDict, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading safetensors file: %w", err)
	}
	sd, err := ReadSafetensors(data)
	if err != nil {
		return nil, fmt.Errorf("reading safetensors file %s: %w", path, err)
	}
	return sd, nil
}

// ReadSafetensors decodes the bytes of a safetensors file.
func ReadSafetensors(data []byte) (*StateDict, error) {
	if len(data) < 8 {
		return nil, errors.New("shorter than the 8-byte header length: not a safetensors file")
	}
	n := binary.LittleEndian.Uint64(data)
	if n > maxSafetensorsHeader || n > uint64(len(data)-8) {
		return nil, fmt.Errorf("header length %d runs past the file's %d bytes (truncated, or not a safetensors file)", n, len(data))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	body := data[8+n:]
	type named struct {
		name string
		e    safetensorsEntry
	}
	var entries []named
	for name, raw := range header {
		if name == "__metadata__" {
			continue
		}
		var e safetensorsEntry
		if err := json.Unmarshal(raw, &e); err != nil {
			return nil, fmt.Errorf("header entry %s: %w", name, err)
		}
		entries = append(entries, named{name, e})
	}
	slices.SortFunc(entries, func(a, b named) int { return int(a.e.DataOffsets[0] - b.e.DataOffsets[0]) })
	sd := NewStateDict()
	for _, ne := range entries {
		e := ne.e
		info, ok := lookupDType(func(d dtypeInfo) bool { return d.safetensors == e.DType })
		if !ok {
			return nil, fmt.Errorf("tensor %s: unsupported dtype %q", ne.name, e.DType)
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > int64(len(body)) {
			return nil, fmt.Errorf("tensor %s: byte range [%d, %d) lies outside the %d data bytes", ne.name, lo, hi, len(body))
		}
		numel := int64(1)
		for _, s := range e.Shape {
			if s < 0 || (s > 0 && numel > (hi-lo)/int64(s)) {
				return nil, fmt.Errorf("tensor %s: shape %v does not fit its %d bytes", ne.name, e.Shape, hi-lo)
			}
			numel *= int64(s)
		}
		if numel*int64(info.size) != hi-lo {
			return nil, fmt.Errorf("tensor %s: shape %v of %s needs %d bytes, its range holds %d", ne.name, e.Shape, e.DType, numel*int64(info.size), hi-lo)
		}
		sd.Add(ne.name, &Tensor{DType: info.dtype, Shape: slices.Clone(e.Shape), Data: slices.Clone(body[lo:hi])})
	}
	return sd, nil
}
