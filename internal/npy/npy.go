// Package npy reads and writes NumPy's .npy array files and .npz archives
// (zip files of .npy members) for the little-endian, C-ordered numeric
// arrays cotrain exchanges with Python tools.
//
// Supported element types are bool, uint8, int8, uint16, int16, uint32,
// int32, uint64, int64, float32 and float64. Big-endian data, Fortran order,
// structured, string and object dtypes are rejected with an error that says
// what was found.
package npy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/cotrain/cotrain/internal/atomicfile"
)

// DType names an element type by its NumPy type string without the byte
// order character ("f4", "i8", "u1", "b1", ...).
type DType string

// The supported element types.
const (
	Bool    DType = "b1"
	Uint8   DType = "u1"
	Int8    DType = "i1"
	Uint16  DType = "u2"
	Int16   DType = "i2"
	Uint32  DType = "u4"
	Int32   DType = "i4"
	Uint64  DType = "u8"
	Int64   DType = "i8"
	Float32 DType = "f4"
	Float64 DType = "f8"
)

// Size returns the size of one element in bytes, or 0 for an unsupported
// type.
func (d DType) Size() int {
	switch d {
	case Bool, Uint8, Int8:
		return 1
	case Uint16, Int16:
		return 2
	case Uint32, Int32, Float32:
		return 4
	case Uint64, Int64, Float64:
		return 8
	}
	return 0
}

// descr returns the NumPy descr string for d ("<f4", "|u1").
func (d DType) descr() string {
	if d.Size() == 1 {
		return "|" + string(d)
	}
	return "<" + string(d)
}

// ParseDescr turns a NumPy dtype string such as "<f4", "|u1", "=i8" or
// "float32" into a DType. It rejects big-endian and unsupported types with
// an error that names the string.
func ParseDescr(s string) (DType, error) {
	named := map[string]DType{
		"bool": Bool, "uint8": Uint8, "int8": Int8, "uint16": Uint16, "int16": Int16,
		"uint32": Uint32, "int32": Int32, "uint64": Uint64, "int64": Int64,
		"float32": Float32, "float64": Float64,
	}
	if d, ok := named[s]; ok {
		return d, nil
	}
	if s == "" {
		return "", errors.New("empty dtype")
	}
	order, code := s[0], s[1:]
	switch order {
	case '<', '|', '=':
	case '>':
		if DType(code).Size() > 1 {
			return "", fmt.Errorf("big-endian dtype %q is not supported (convert with arr.astype(arr.dtype.newbyteorder('<')))", s)
		}
	default:
		code = s
	}
	if code == "?" {
		code = "b1"
	}
	d := DType(code)
	if d.Size() == 0 {
		return "", fmt.Errorf("unsupported dtype %q (supported: bool, uint8/16/32/64, int8/16/32/64, float32, float64)", s)
	}
	return d, nil
}

// Array is an n-dimensional array in C (row-major) order. Data holds a
// slice whose element type matches DType: []bool, []uint8, []int8,
// []uint16, []int16, []uint32, []int32, []uint64, []int64, []float32 or
// []float64, with as many elements as the product of Shape. A zero-length
// Shape is a scalar holding one element.
type Array struct {
	DType DType
	Shape []int
	Data  any
}

// Len returns the number of elements implied by the shape.
func (a *Array) Len() int {
	n := 1
	for _, s := range a.Shape {
		n *= s
	}
	return n
}

// dataLen returns the length of a.Data and whether its Go type matches
// a.DType.
func (a *Array) dataLen() (int, bool) {
	switch v := a.Data.(type) {
	case []bool:
		return len(v), a.DType == Bool
	case []uint8:
		return len(v), a.DType == Uint8
	case []int8:
		return len(v), a.DType == Int8
	case []uint16:
		return len(v), a.DType == Uint16
	case []int16:
		return len(v), a.DType == Int16
	case []uint32:
		return len(v), a.DType == Uint32
	case []int32:
		return len(v), a.DType == Int32
	case []uint64:
		return len(v), a.DType == Uint64
	case []int64:
		return len(v), a.DType == Int64
	case []float32:
		return len(v), a.DType == Float32
	case []float64:
		return len(v), a.DType == Float64
	}
	return 0, false
}

// Check reports whether Data has the Go type DType calls for and the length
// Shape calls for.
func (a *Array) Check() error {
	for _, s := range a.Shape {
		if s < 0 {
			return fmt.Errorf("negative dimension in shape %v", a.Shape)
		}
	}
	n, ok := a.dataLen()
	if !ok {
		return fmt.Errorf("data of type %T does not match dtype %q", a.Data, a.DType)
	}
	if n != a.Len() {
		return fmt.Errorf("data has %d elements, shape %v needs %d", n, a.Shape, a.Len())
	}
	return nil
}

// New returns an array holding data (one of the supported slice types) with
// the given shape. The dtype follows from the slice type.
func New(data any, shape ...int) (*Array, error) {
	dt := map[string]DType{
		"[]bool": Bool, "[]uint8": Uint8, "[]int8": Int8, "[]uint16": Uint16, "[]int16": Int16,
		"[]uint32": Uint32, "[]int32": Int32, "[]uint64": Uint64, "[]int64": Int64,
		"[]float32": Float32, "[]float64": Float64,
	}[fmt.Sprintf("%T", data)]
	if dt == "" {
		return nil, fmt.Errorf("unsupported data type %T", data)
	}
	a := &Array{DType: dt, Shape: append([]int{}, shape...), Data: data}
	if err := a.Check(); err != nil {
		return nil, err
	}
	return a, nil
}

// Float64s returns the elements converted to float64 (bool as 0/1).
func (a *Array) Float64s() []float64 {
	out := make([]float64, a.Len())
	switch v := a.Data.(type) {
	case []bool:
		for i, x := range v {
			if x {
				out[i] = 1
			}
		}
	case []uint8:
		convert(out, v)
	case []int8:
		convert(out, v)
	case []uint16:
		convert(out, v)
	case []int16:
		convert(out, v)
	case []uint32:
		convert(out, v)
	case []int32:
		convert(out, v)
	case []uint64:
		convert(out, v)
	case []int64:
		convert(out, v)
	case []float32:
		convert(out, v)
	case []float64:
		copy(out, v)
	}
	return out
}

// Int64s returns the elements as int64. It fails for float arrays holding a
// non-integral value and for uint64 values beyond the int64 range.
func (a *Array) Int64s() ([]int64, error) {
	out := make([]int64, a.Len())
	switch v := a.Data.(type) {
	case []bool:
		for i, x := range v {
			if x {
				out[i] = 1
			}
		}
	case []uint8:
		convert(out, v)
	case []int8:
		convert(out, v)
	case []uint16:
		convert(out, v)
	case []int16:
		convert(out, v)
	case []uint32:
		convert(out, v)
	case []int32:
		convert(out, v)
	case []int64:
		copy(out, v)
	case []uint64:
		for i, x := range v {
			if x > math.MaxInt64 {
				return nil, fmt.Errorf("element %d = %d overflows int64", i, x)
			}
			out[i] = int64(x)
		}
	case []float32, []float64:
		for i, x := range a.Float64s() {
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, fmt.Errorf("element %d = %v is not an integer", i, x)
			}
			out[i] = int64(x)
		}
	}
	return out, nil
}

type number interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~uint64 | ~int64 | ~float32 | ~float64
}

func convert[D, S number](dst []D, src []S) {
	for i, x := range src {
		dst[i] = D(x)
	}
}

const magic = "\x93NUMPY"

// Read decodes one .npy array from r.
func Read(r io.Reader) (*Array, error) {
	br := bufio.NewReader(r)
	dt, shape, err := readArrayHeader(br)
	if err != nil {
		return nil, err
	}
	a := &Array{DType: dt, Shape: shape}
	n := a.Len()
	if n > 1<<40/dt.Size() {
		return nil, fmt.Errorf("implausible array size %v", shape)
	}
	raw := make([]byte, n*dt.Size())
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, fmt.Errorf("reading %d bytes of %s data for shape %v: %w", len(raw), dt, shape, truncated(err))
	}
	a.Data, err = decode(dt, raw)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// readHeader reads the preamble and returns the header text of a .npy
// stream.
func readHeader(br *bufio.Reader) (string, error) {
	pre := make([]byte, 8)
	if _, err := io.ReadFull(br, pre); err != nil {
		return "", fmt.Errorf("reading .npy preamble: %w", truncated(err))
	}
	if string(pre[:6]) != magic {
		return "", errors.New("not a .npy file (missing \\x93NUMPY magic)")
	}
	var hlen int
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return "", fmt.Errorf("reading .npy header length: %w", truncated(err))
		}
		hlen = int(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			return "", fmt.Errorf("reading .npy header length: %w", truncated(err))
		}
		hlen = int(binary.LittleEndian.Uint32(b[:]))
	default:
		return "", fmt.Errorf("unsupported .npy format version %d.%d", pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return "", fmt.Errorf("implausible .npy header length %d", hlen)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return "", fmt.Errorf("reading .npy header: %w", truncated(err))
	}
	return string(hdr), nil
}

// readArrayHeader reads and checks the header of a numeric .npy stream.
func readArrayHeader(br *bufio.Reader) (DType, []int, error) {
	hdr, err := readHeader(br)
	if err != nil {
		return "", nil, err
	}
	dt, fortran, shape, err := parseHeader(hdr)
	if err != nil {
		return "", nil, fmt.Errorf("parsing .npy header %q: %w", strings.TrimSpace(hdr), err)
	}
	return dt, shape, checkOrder(fortran, shape)
}

// checkOrder rejects Fortran-ordered arrays with more than one
// non-trivial axis.
func checkOrder(fortran bool, shape []int) error {
	if !fortran {
		return nil
	}
	n := 0
	for _, s := range shape {
		if s > 1 {
			n++
		}
	}
	if n > 1 {
		return errors.New("Fortran-ordered arrays are not supported (save with np.ascontiguousarray)")
	}
	return nil
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("file is truncated: %w", io.ErrUnexpectedEOF)
	}
	return err
}

// Decode converts little-endian bytes holding elements of dt into the
// matching Go slice.
func Decode(dt DType, raw []byte) (any, error) {
	if dt.Size() == 0 {
		return nil, fmt.Errorf("unsupported dtype %q", dt)
	}
	if len(raw)%dt.Size() != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %s elements", len(raw), dt)
	}
	return decode(dt, raw)
}

func decode(dt DType, raw []byte) (any, error) {
	n := len(raw) / dt.Size()
	le := binary.LittleEndian
	switch dt {
	case Bool:
		v := make([]bool, n)
		for i, b := range raw {
			v[i] = b != 0
		}
		return v, nil
	case Uint8:
		return append([]uint8{}, raw...), nil
	case Int8:
		v := make([]int8, n)
		for i, b := range raw {
			v[i] = int8(b)
		}
		return v, nil
	case Uint16:
		v := make([]uint16, n)
		for i := range v {
			v[i] = le.Uint16(raw[2*i:])
		}
		return v, nil
	case Int16:
		v := make([]int16, n)
		for i := range v {
			v[i] = int16(le.Uint16(raw[2*i:]))
		}
		return v, nil
	case Uint32:
		v := make([]uint32, n)
		for i := range v {
			v[i] = le.Uint32(raw[4*i:])
		}
		return v, nil
	case Int32:
		v := make([]int32, n)
		for i := range v {
			v[i] = int32(le.Uint32(raw[4*i:]))
		}
		return v, nil
	case Uint64:
		v := make([]uint64, n)
		for i := range v {
			v[i] = le.Uint64(raw[8*i:])
		}
		return v, nil
	case Int64:
		v := make([]int64, n)
		for i := range v {
			v[i] = int64(le.Uint64(raw[8*i:]))
		}
		return v, nil
	case Float32:
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return v, nil
	case Float64:
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return v, nil
	}
	return nil, fmt.Errorf("unsupported dtype %q", dt)
}

// encode returns the little-endian bytes of a checked array.
func encode(a *Array) []byte {
	raw := make([]byte, a.Len()*a.DType.Size())
	le := binary.LittleEndian
	switch v := a.Data.(type) {
	case []bool:
		for i, x := range v {
			if x {
				raw[i] = 1
			}
		}
	case []uint8:
		copy(raw, v)
	case []int8:
		for i, x := range v {
			raw[i] = byte(x)
		}
	case []uint16:
		for i, x := range v {
			le.PutUint16(raw[2*i:], x)
		}
	case []int16:
		for i, x := range v {
			le.PutUint16(raw[2*i:], uint16(x))
		}
	case []uint32:
		for i, x := range v {
			le.PutUint32(raw[4*i:], x)
		}
	case []int32:
		for i, x := range v {
			le.PutUint32(raw[4*i:], uint32(x))
		}
	case []uint64:
		for i, x := range v {
			le.PutUint64(raw[8*i:], x)
		}
	case []int64:
		for i, x := range v {
			le.PutUint64(raw[8*i:], uint64(x))
		}
	case []float32:
		for i, x := range v {
			le.PutUint32(raw[4*i:], math.Float32bits(x))
		}
	case []float64:
		for i, x := range v {
			le.PutUint64(raw[8*i:], math.Float64bits(x))
		}
	}
	return raw
}

// parseHeader reads the Python dict literal of a .npy header, e.g.
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
func parseHeader(h string) (DType, bool, []int, error) {
	descr, fortran, shape, err := parseHeaderDescr(h)
	if err != nil {
		return "", false, nil, err
	}
	dt, err := ParseDescr(descr)
	if err != nil {
		return "", false, nil, err
	}
	return dt, fortran, shape, nil
}

// parseHeaderDescr is parseHeader with the dtype string left unparsed.
func parseHeaderDescr(h string) (string, bool, []int, error) {
	h = strings.TrimSpace(h)
	if !strings.HasPrefix(h, "{") || !strings.HasSuffix(h, "}") {
		return "", false, nil, errors.New("header is not a dict literal")
	}
	body := h[1 : len(h)-1]
	var descr string
	var fortran bool
	var shape []int
	var seen [3]bool
	for len(strings.TrimSpace(body)) > 0 {
		body = strings.TrimLeft(body, " ,")
		if body == "" {
			break
		}
		key, rest, err := quoted(body)
		if err != nil {
			return "", false, nil, err
		}
		rest = strings.TrimLeft(rest, " ")
		if !strings.HasPrefix(rest, ":") {
			return "", false, nil, fmt.Errorf("missing ':' after key %q", key)
		}
		rest = strings.TrimLeft(rest[1:], " ")
		switch key {
		case "descr":
			if strings.HasPrefix(rest, "[") {
				return "", false, nil, errors.New("structured dtypes are not supported")
			}
			descr, rest, err = quoted(rest)
			if err != nil {
				return "", false, nil, err
			}
			seen[0] = true
		case "fortran_order":
			switch {
			case strings.HasPrefix(rest, "True"):
				fortran, rest = true, rest[4:]
			case strings.HasPrefix(rest, "False"):
				fortran, rest = false, rest[5:]
			default:
				return "", false, nil, errors.New("fortran_order is not True or False")
			}
			seen[1] = true
		case "shape":
			if !strings.HasPrefix(rest, "(") {
				return "", false, nil, errors.New("shape is not a tuple")
			}
			end := strings.IndexByte(rest, ')')
			if end < 0 {
				return "", false, nil, errors.New("unterminated shape tuple")
			}
			shape = []int{}
			for _, f := range strings.Split(rest[1:end], ",") {
				f = strings.TrimSpace(f)
				if f == "" {
					continue
				}
				f = strings.TrimSuffix(f, "L")
				v, err := strconv.Atoi(f)
				if err != nil || v < 0 {
					return "", false, nil, fmt.Errorf("bad dimension %q in shape", f)
				}
				shape = append(shape, v)
			}
			rest = rest[end+1:]
			seen[2] = true
		default:
			return "", false, nil, fmt.Errorf("unexpected key %q", key)
		}
		body = rest
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return "", false, nil, errors.New("header lacks one of 'descr', 'fortran_order', 'shape'")
	}
	return descr, fortran, shape, nil
}

// quoted splits a leading single- or double-quoted Python string off s.
func quoted(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", fmt.Errorf("expected a quoted string at %q", s)
	}
	end := strings.IndexByte(s[1:], s[0])
	if end < 0 {
		return "", "", errors.New("unterminated string")
	}
	return s[1 : 1+end], s[2+end:], nil
}

// header builds the padded .npy header for a, choosing format 1.0 when the
// header fits in 65535 bytes and 2.0 otherwise.
func header(a *Array) []byte {
	var sb strings.Builder
	sb.WriteString("{'descr': '")
	sb.WriteString(a.DType.descr())
	sb.WriteString("', 'fortran_order': False, 'shape': (")
	for i, s := range a.Shape {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(strconv.Itoa(s))
	}
	if len(a.Shape) == 1 {
		sb.WriteString(",")
	}
	sb.WriteString("), }")
	dict := sb.String()
	version, pre := byte(1), 10
	if pre+len(dict)+1+63 > math.MaxUint16 {
		version, pre = 2, 12
	}
	total := pre + len(dict) + 1
	pad := (64 - total%64) % 64
	hlen := len(dict) + pad + 1
	var buf bytes.Buffer
	buf.WriteString(magic)
	buf.WriteByte(version)
	buf.WriteByte(0)
	if version == 1 {
		binary.Write(&buf, binary.LittleEndian, uint16(hlen))
	} else {
		binary.Write(&buf, binary.LittleEndian, uint32(hlen))
	}
	buf.WriteString(dict)
	buf.WriteString(strings.Repeat(" ", pad))
	buf.WriteByte('\n')
	return buf.Bytes()
}

// Write encodes a as a .npy file (format 1.0, or 2.0 for very long
// headers) to w.
func Write(w io.Writer, a *Array) error {
	if err := a.Check(); err != nil {
		return fmt.Errorf("encoding .npy: %w", err)
	}
	if _, err := w.Write(header(a)); err != nil {
		return err
	}
	_, err := w.Write(encode(a))
	return err
}

// ReadFile reads the .npy file at path. Errors name the file.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// WriteFile atomically writes a to path as a .npy file.
func WriteFile(path string, a *Array) error {
	return atomicfile.Write(path, func(w io.Writer) error { return Write(w, a) })
}

// readRows decodes the rows of a .npy stream for which keep is true.
func readRows(r io.Reader, keep []bool) (*Array, error) {
	br := bufio.NewReader(r)
	dt, shape, err := readArrayHeader(br)
	if err != nil {
		return nil, err
	}
	if len(shape) == 0 || shape[0] != len(keep) {
		return nil, fmt.Errorf("shape %v: want %d rows", shape, len(keep))
	}
	rowLen := 1
	for _, s := range shape[1:] {
		rowLen *= s
	}
	rowBytes := rowLen * dt.Size()
	kept := 0
	for _, k := range keep {
		if k {
			kept++
		}
	}
	if int64(kept)*int64(rowBytes) > 1<<40 {
		return nil, fmt.Errorf("implausible array size %v", shape)
	}
	raw := make([]byte, 0, kept*rowBytes)
	row := make([]byte, rowBytes)
	for i, k := range keep {
		if _, err := io.ReadFull(br, row); err != nil {
			return nil, fmt.Errorf("reading row %d of shape %v: %w", i, shape, truncated(err))
		}
		if k {
			raw = append(raw, row...)
		}
	}
	out := &Array{DType: dt, Shape: append([]int{kept}, shape[1:]...)}
	if out.Data, err = decode(dt, raw); err != nil {
		return nil, err
	}
	return out, nil
}
