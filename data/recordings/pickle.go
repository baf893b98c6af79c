package recordings

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/internal/pickle"
)

// This file rebuilds NumPy arrays from Python pickles, read with
// internal/pickle's restricted machine. NumPy pickles an
// ndarray either as numpy.core.multiarray._reconstruct(ndarray, (0,), b'b')
// followed by a BUILD with the state tuple (version, shape, dtype,
// is_fortran, raw data), or, under protocol 5, as
// numpy.core.numeric._frombuffer(buffer, dtype, shape, order). A dtype is
// numpy.dtype(typestr, align, copy) followed by a BUILD whose state tuple
// carries the byte order in position 1. NumPy 2 moved these functions from
// numpy.core to numpy._core; both spellings are accepted.

// pyArray is an ndarray rebuilt from a pickle: numeric data as an
// npy.Array, fixed-width strings as Strings, object arrays as Objects.
type pyArray struct {
	Shape   []int
	Numeric *npy.Array
	Strings []string
	Objects []any
}

// pyDType is a numpy.dtype under reconstruction.
type pyDType struct {
	kind  byte // 'f', 'i', 'u', 'b', 'U', 'S', 'O', ...
	size  int  // bytes per element (per character group for 'U' it is 4×chars)
	order byte // '<', '>', '|', '=' from the BUILD state
	typ   string
}

// setState applies a dtype's BUILD state.
func (d *pyDType) setState(state any) error {
	t, ok := state.(pickle.Tuple)
	if !ok || len(t) < 2 {
		return fmt.Errorf("numpy dtype %q: unexpected state %v", d.typ, state)
	}
	s, ok := t[1].(string)
	if !ok || len(s) != 1 {
		return fmt.Errorf("numpy dtype %q: unexpected byte order %v", d.typ, t[1])
	}
	d.order = s[0]
	if len(t) >= 4 && t[3] != nil {
		return fmt.Errorf("numpy dtype %q: structured dtypes are not supported", d.typ)
	}
	return nil
}

func (d *pyDType) String() string { return string(d.order) + d.typ }

// newDType parses the first argument of numpy.dtype(...) in a pickle:
// "f8", "i4", "u1", "b1", "U12", "S4", "O8", "V8", ...
func newDType(args pickle.Tuple) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("numpy.dtype called without arguments")
	}
	s, ok := args[0].(string)
	if !ok || s == "" {
		return nil, fmt.Errorf("numpy.dtype called with %v", args[0])
	}
	d := &pyDType{kind: s[0], typ: s, order: '|'}
	if len(s) > 1 {
		if _, err := fmt.Sscanf(s[1:], "%d", &d.size); err != nil {
			return nil, fmt.Errorf("numpy dtype %q: bad size", s)
		}
	}
	if d.kind == 'U' {
		d.size *= 4
	}
	return d, nil
}

// arrayBuilder is the object _reconstruct returns; BUILD fills it in.
type arrayBuilder struct {
	arr *pyArray
}

// setState applies an ndarray's BUILD state.
func (b *arrayBuilder) setState(state any) error {
	t, ok := state.(pickle.Tuple)
	if !ok || len(t) != 5 {
		return fmt.Errorf("ndarray state: want a 5-tuple (version, shape, dtype, fortran, data), got %T", state)
	}
	shape, err := toShape(t[1])
	if err != nil {
		return fmt.Errorf("ndarray state: %w", err)
	}
	dt, ok := t[2].(*pyDType)
	if !ok {
		return fmt.Errorf("ndarray state: dtype is %T, not numpy.dtype", t[2])
	}
	fortran, _ := t[3].(bool)
	nonSingleton := 0
	for _, s := range shape {
		if s > 1 {
			nonSingleton++
		}
	}
	if fortran && nonSingleton > 1 {
		return errors.New("ndarray state: Fortran-ordered arrays are not supported")
	}
	arr, err := buildArray(dt, shape, t[4])
	if err != nil {
		return err
	}
	b.arr = arr
	return nil
}

// buildArray turns raw pickled data (bytes, a latin-1 string, a bytearray,
// or for object arrays a list) into a pyArray.
func buildArray(dt *pyDType, shape []int, data any) (*pyArray, error) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	out := &pyArray{Shape: shape}
	if dt.kind == 'O' {
		l, ok := data.(*pickle.List)
		if !ok {
			return nil, fmt.Errorf("object array: data is %T, not a list", data)
		}
		if len(l.Items) != n {
			return nil, fmt.Errorf("object array: %d items for shape %v", len(l.Items), shape)
		}
		out.Objects = append([]any{}, l.Items...)
		return out, nil
	}
	raw, err := toBytes(data)
	if err != nil {
		return nil, fmt.Errorf("array data: %w", err)
	}
	if len(raw) != n*dt.size {
		return nil, fmt.Errorf("array data has %d bytes, dtype %s with shape %v needs %d", len(raw), dt, shape, n*dt.size)
	}
	switch dt.kind {
	case 'U':
		out.Strings = make([]string, n)
		w := dt.size
		for i := range out.Strings {
			var sb strings.Builder
			for j := 0; j < w; j += 4 {
				var r uint32
				if dt.order == '>' {
					r = binary.BigEndian.Uint32(raw[i*w+j:])
				} else {
					r = binary.LittleEndian.Uint32(raw[i*w+j:])
				}
				if r == 0 {
					break
				}
				sb.WriteRune(rune(r))
			}
			out.Strings[i] = sb.String()
		}
		return out, nil
	case 'S':
		out.Strings = make([]string, n)
		for i := range out.Strings {
			out.Strings[i] = strings.TrimRight(string(raw[i*dt.size:(i+1)*dt.size]), "\x00")
		}
		return out, nil
	}
	ndt, err := npy.ParseDescr(dt.String())
	if err != nil {
		return nil, err
	}
	vals, err := npy.Decode(ndt, raw)
	if err != nil {
		return nil, err
	}
	out.Numeric = &npy.Array{DType: ndt, Shape: shape, Data: vals}
	return out, nil
}

func toShape(v any) ([]int, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("shape is %T, not a tuple", v)
	}
	shape := make([]int, len(t))
	for i := range shape {
		s, ok := t[i].(int64)
		if !ok || s < 0 || s > math.MaxInt32 {
			return nil, fmt.Errorf("bad dimension %v in shape", t[i])
		}
		shape[i] = int(s)
	}
	return shape, nil
}

func toBytes(v any) ([]byte, error) {
	switch b := v.(type) {
	case []byte: // bytes or bytearray
		return b, nil
	case string:
		// Python 2 str: the raw bytes.
		return []byte(b), nil
	case latin1:
		return []byte(b), nil
	}
	return nil, fmt.Errorf("expected bytes, got %T", v)
}

// latin1 is the result of _codecs.encode(str, "latin1"), which protocol 0–2
// pickles written by Python 3 use for bytes objects.
type latin1 []byte

// numpyGlobals returns the globals NumPy pickles refer to, under both the
// numpy.core and the numpy._core spelling.
func numpyGlobals() map[string]pickle.Func {
	g := map[string]pickle.Func{
		"numpy.ndarray":  nil, // only passed to _reconstruct
		"numpy.dtype":    newDType,
		"_codecs.encode": codecsEncode,
	}
	for name, f := range map[string]pickle.Func{
		"multiarray._reconstruct": reconstruct,
		"numeric._frombuffer":     frombuffer,
		"multiarray.scalar":       scalar,
	} {
		g["numpy.core."+name] = f
		g["numpy._core."+name] = f
	}
	return g
}

// reconstruct is numpy.core.multiarray._reconstruct(numpy.ndarray, shape,
// typecode); BUILD fills the array in.
func reconstruct(args pickle.Tuple) (any, error) {
	if len(args) == 0 || args[0] != (pickle.Global{Module: "numpy", Name: "ndarray"}) {
		return nil, fmt.Errorf("_reconstruct of %v is not supported (only numpy.ndarray)", args)
	}
	return &arrayBuilder{}, nil
}

// frombuffer is numpy.core.numeric._frombuffer(buffer, dtype, shape, order).
func frombuffer(args pickle.Tuple) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("_frombuffer: want 4 arguments, got %d", len(args))
	}
	dt, ok := args[1].(*pyDType)
	if !ok {
		return nil, fmt.Errorf("_frombuffer: dtype is %T", args[1])
	}
	shape, err := toShape(args[2])
	if err != nil {
		return nil, fmt.Errorf("_frombuffer: %w", err)
	}
	if order, _ := args[3].(string); order == "F" {
		return nil, errors.New("_frombuffer: Fortran-ordered arrays are not supported")
	}
	arr, err := buildArray(dt, shape, args[0])
	if err != nil {
		return nil, err
	}
	return &arrayBuilder{arr: arr}, nil
}

// scalar is numpy.core.multiarray.scalar(dtype, raw bytes).
func scalar(args pickle.Tuple) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("numpy scalar: want 2 arguments, got %d", len(args))
	}
	dt, ok := args[0].(*pyDType)
	if !ok {
		return nil, fmt.Errorf("numpy scalar: dtype is %T", args[0])
	}
	arr, err := buildArray(dt, nil, args[1])
	if err != nil {
		return nil, fmt.Errorf("numpy scalar: %w", err)
	}
	return &arrayBuilder{arr: arr}, nil
}

// codecsEncode is _codecs.encode(str, "latin1").
func codecsEncode(args pickle.Tuple) (any, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("_codecs.encode: want 2 arguments, got %d", len(args))
	}
	s, ok := args[0].(string)
	if !ok || (args[1] != "latin1" && args[1] != "latin-1") {
		return nil, fmt.Errorf("_codecs.encode(%T, %v) is not supported", args[0], args[1])
	}
	b := make([]byte, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		if r > 255 {
			return nil, errors.New("_codecs.encode: character outside latin-1")
		}
		b = append(b, byte(r))
	}
	return latin1(b), nil
}

// buildNumpy applies BUILD to a dtype or an array under reconstruction.
func buildNumpy(obj, state any) error {
	switch o := obj.(type) {
	case *pyDType:
		return o.setState(state)
	case *arrayBuilder:
		return o.setState(state)
	}
	return fmt.Errorf("BUILD on a %s", pickle.TypeName(obj))
}

// loadPickle unpickles the file at path, rebuilding NumPy arrays, and
// returns the top-level dict with string keys. Values are plain Go values:
// int64, *big.Int, float64, string, bool, nil, []byte, *pickle.List,
// pickle.Tuple, *pickle.Dict, *pyArray.
func loadPickle(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := &pickle.Machine{Data: raw, Globals: numpyGlobals(), Build: buildNumpy,
		Hint: "cotrain cannot rebuild it (only NumPy arrays, scalars and builtin containers are supported)"}
	v, err := m.Load()
	if err != nil {
		if errors.Is(err, pickle.ErrTruncated) {
			return nil, fmt.Errorf("%s: file is truncated or not a pickle: %w", path, err)
		}
		return nil, fmt.Errorf("%s: unpickling: %w", path, err)
	}
	dict, ok := v.(*pickle.Dict)
	if !ok {
		return nil, fmt.Errorf("%s: top-level object is %T, want a dict", path, v)
	}
	out := make(map[string]any, dict.Len())
	for i, key := range dict.Keys {
		k, ok := key.(string)
		if !ok {
			if b, isBytes := key.([]byte); isBytes {
				k = string(b)
			} else {
				return nil, fmt.Errorf("%s: dict key %v is not a string", path, key)
			}
		}
		out[k] = unwrap(dict.Values[i])
	}
	return out, nil
}

// unwrap replaces array builders by their arrays.
func unwrap(v any) any {
	if b, ok := v.(*arrayBuilder); ok {
		return b.arr
	}
	return v
}

// field fetches key from d as an array (a NumPy array, or a scalar or list
// of numbers promoted to one), with errors naming path and key.
func numericField(path string, d map[string]any, key string) (*npy.Array, error) {
	v, ok := d[key]
	if !ok {
		return nil, fmt.Errorf("%s: missing key %q (keys present: %s)", path, key, keyList(d))
	}
	a, err := asNumeric(v)
	if err != nil {
		return nil, fmt.Errorf("%s: key %q: %w", path, key, err)
	}
	return a, nil
}

func asNumeric(v any) (*npy.Array, error) {
	switch x := unwrap(v).(type) {
	case *pyArray:
		if x == nil {
			return nil, errors.New("array was never filled in (malformed pickle)")
		}
		if x.Numeric == nil {
			return nil, errors.New("array is not numeric")
		}
		return x.Numeric, nil
	case int64:
		return &npy.Array{DType: npy.Int64, Shape: []int{}, Data: []int64{x}}, nil
	case float64:
		return &npy.Array{DType: npy.Float64, Shape: []int{}, Data: []float64{x}}, nil
	case bool:
		return &npy.Array{DType: npy.Bool, Shape: []int{}, Data: []bool{x}}, nil
	case *big.Int:
		return nil, fmt.Errorf("integer %v is too large", x)
	case *pickle.List:
		vals := make([]float64, len(x.Items))
		for i, e := range x.Items {
			a, err := asNumeric(e)
			if err != nil || a.Len() != 1 {
				return nil, fmt.Errorf("list item %d is not a number", i)
			}
			vals[i] = a.Float64s()[0]
		}
		return &npy.Array{DType: npy.Float64, Shape: []int{len(vals)}, Data: vals}, nil
	}
	return nil, fmt.Errorf("value of type %T is not a numeric array", v)
}

// asStrings turns a pickled string, string array, or object array or list of
// strings/numbers into strings.
func asStrings(v any) ([]string, error) {
	switch x := unwrap(v).(type) {
	case string:
		return []string{x}, nil
	case []byte:
		return []string{string(x)}, nil
	case *pyArray:
		if x == nil {
			return nil, errors.New("array was never filled in (malformed pickle)")
		}
		switch {
		case x.Strings != nil:
			return x.Strings, nil
		case x.Objects != nil:
			return objectStrings(x.Objects)
		default:
			if ints, err := x.Numeric.Int64s(); err == nil {
				out := make([]string, len(ints))
				for i, v := range ints {
					out[i] = strconv.FormatInt(v, 10)
				}
				return out, nil
			}
			f := x.Numeric.Float64s()
			out := make([]string, len(f))
			for i, v := range f {
				out[i] = strconv.FormatFloat(v, 'g', -1, 64)
			}
			return out, nil
		}
	case *pickle.List:
		return objectStrings(x.Items)
	case int64, float64:
		return []string{fmt.Sprint(x)}, nil
	}
	return nil, fmt.Errorf("value of type %T is not a string or array of strings", v)
}

func objectStrings(items []any) ([]string, error) {
	out := make([]string, len(items))
	for i, it := range items {
		s, err := asStrings(it)
		if err != nil || len(s) != 1 {
			return nil, fmt.Errorf("item %d is not a string", i)
		}
		out[i] = s[0]
	}
	return out, nil
}

func keyList(d map[string]any) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
