// Package torchfile reads and writes PyTorch state dicts without Python:
// the files torch.save writes (the zip format of PyTorch 1.6 and later, and
// the legacy format before it) and safetensors files.
//
// Reading never executes pickle code. The pickle stream is interpreted by a
// restricted machine that knows only the globals a state dict needs
// (collections.OrderedDict, torch._utils._rebuild_tensor_v2, before
// PyTorch 0.4 torch._utils._rebuild_tensor, torch._utils._rebuild_parameter
// and the typed torch.*Storage classes);
// any other global (os.system, builtins.eval, …) is an error. Every
// declared size (string lengths, storage sizes, tensor shapes) is checked
// against the bytes the file actually holds before anything is allocated,
// so a malformed or hostile file costs memory bounded by its own size.
package torchfile

import (
	"encoding/binary"
	"fmt"
	"math"
)

// DType is a tensor element type, named as PyTorch names it.
type DType string

// The element types of PyTorch storages.
const (
	Float32  DType = "float32"
	Float64  DType = "float64"
	Float16  DType = "float16"
	BFloat16 DType = "bfloat16"
	Int64    DType = "int64"
	Int32    DType = "int32"
	Int16    DType = "int16"
	Int8     DType = "int8"
	Uint8    DType = "uint8"
	Bool     DType = "bool"
)

// dtypeInfo describes one DType: its size, its legacy storage class
// (torch.FloatStorage, …) and its safetensors name.
type dtypeInfo struct {
	dtype       DType
	size        int
	storage     string
	safetensors string
}

var dtypes = []dtypeInfo{
	{Float32, 4, "FloatStorage", "F32"},
	{Float64, 8, "DoubleStorage", "F64"},
	{Float16, 2, "HalfStorage", "F16"},
	{BFloat16, 2, "BFloat16Storage", "BF16"},
	{Int64, 8, "LongStorage", "I64"},
	{Int32, 4, "IntStorage", "I32"},
	{Int16, 2, "ShortStorage", "I16"},
	{Int8, 1, "CharStorage", "I8"},
	{Uint8, 1, "ByteStorage", "U8"},
	{Bool, 1, "BoolStorage", "BOOL"},
}

func lookupDType(match func(dtypeInfo) bool) (dtypeInfo, bool) {
	for _, d := range dtypes {
		if match(d) {
			return d, true
		}
	}
	return dtypeInfo{}, false
}

// Size is the size of one element in bytes (0 for an unknown type).
func (d DType) Size() int {
	info, _ := lookupDType(func(i dtypeInfo) bool { return i.dtype == d })
	return info.size
}

// Tensor is a dense tensor: row-major (C-contiguous) little-endian
// elements of DType.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// Len is the number of elements the shape implies.
func (t *Tensor) Len() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// check verifies that Data holds exactly Len elements of DType.
func (t *Tensor) check() error {
	size := t.DType.Size()
	if size == 0 {
		return fmt.Errorf("unknown dtype %q", t.DType)
	}
	for _, s := range t.Shape {
		if s < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	if len(t.Data) != t.Len()*size {
		return fmt.Errorf("%d bytes of data for shape %v of %s (want %d)", len(t.Data), t.Shape, t.DType, t.Len()*size)
	}
	return nil
}

// FromFloat32 makes a float32 tensor of the given shape from row-major data.
func FromFloat32(data []float32, shape ...int) *Tensor {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &Tensor{DType: Float32, Shape: append([]int{}, shape...), Data: raw}
}

// FromInt64 makes an int64 tensor of the given shape from row-major data.
func FromInt64(data []int64, shape ...int) *Tensor {
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return &Tensor{DType: Int64, Shape: append([]int{}, shape...), Data: raw}
}

// Float32s returns the elements converted to float32 (exactly for float32,
// float16, bfloat16 and small integers; rounded for float64 and int64).
func (t *Tensor) Float32s() ([]float32, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	n := t.Len()
	out := make([]float32, n)
	d := t.Data
	le := binary.LittleEndian
	for i := range out {
		switch t.DType {
		case Float32:
			out[i] = math.Float32frombits(le.Uint32(d[4*i:]))
		case Float64:
			out[i] = float32(math.Float64frombits(le.Uint64(d[8*i:])))
		case Float16:
			out[i] = halfToFloat(le.Uint16(d[2*i:]))
		case BFloat16:
			out[i] = math.Float32frombits(uint32(le.Uint16(d[2*i:])) << 16)
		case Int64:
			out[i] = float32(int64(le.Uint64(d[8*i:])))
		case Int32:
			out[i] = float32(int32(le.Uint32(d[4*i:])))
		case Int16:
			out[i] = float32(int16(le.Uint16(d[2*i:])))
		case Int8:
			out[i] = float32(int8(d[i]))
		case Uint8, Bool:
			out[i] = float32(d[i])
		}
	}
	return out, nil
}

// halfToFloat converts an IEEE 754 binary16 value to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalize
		e := uint32(127 - 15 + 1)
		for frac&0x400 == 0 {
			frac <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (frac&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
}

// StateDict is an ordered map from parameter names to tensors, as a
// PyTorch module's state_dict() is.
type StateDict struct {
	// Names lists the keys in file order.
	Names []string
	// Tensors maps each name to its tensor.
	Tensors map[string]*Tensor
}

// NewStateDict returns an empty state dict.
func NewStateDict() *StateDict { return &StateDict{Tensors: map[string]*Tensor{}} }

// Add appends a tensor under name, replacing an earlier one of that name
// in place.
func (s *StateDict) Add(name string, t *Tensor) {
	if _, ok := s.Tensors[name]; !ok {
		s.Names = append(s.Names, name)
	}
	s.Tensors[name] = t
}
