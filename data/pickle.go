package data

import (
	"errors"
	"fmt"

	"github.com/cotrain/cotrain/internal/pickle"
)

// This file reads the CIFAR batch files of cifar-10-batches-py and
// cifar-100-python with internal/pickle's restricted machine: a dict of
// strings, lists of ints and one uint8 NumPy array. It allows exactly
// three globals, the ones NumPy's ndarray.__reduce__ names: numpy.core.
// multiarray._reconstruct, numpy.ndarray and numpy.dtype (also spelled
// numpy._core by NumPy 2). Any other global, and any opcode that
// instantiates classes, is an error, so reading a file never builds
// anything but plain values and that array.

// pyDType is a numpy.dtype under reconstruction: its type string ("u1")
// and, after BUILD, its byte order.
type pyDType struct {
	descr string
	order string
}

// pyArray is an ndarray under reconstruction; BUILD fills it in.
type pyArray struct {
	shape  []int
	dtype  *pyDType
	data   []byte
	filled bool
}

// cifarGlobals are the globals a CIFAR batch may name.
var cifarGlobals = map[string]pickle.Func{
	"numpy.core.multiarray._reconstruct":  reconstruct,
	"numpy._core.multiarray._reconstruct": reconstruct,
	"numpy.ndarray":                       nil,
	"numpy.dtype":                         newDType,
}

// unpickle reads the pickle in buf and returns its top-level value.
func unpickle(buf []byte) (any, error) {
	m := &pickle.Machine{Data: buf, Globals: cifarGlobals, Build: build,
		Hint: "a CIFAR batch may use only numpy.core.multiarray._reconstruct, numpy.ndarray and numpy.dtype"}
	return m.Load()
}

// reconstruct is numpy.core.multiarray._reconstruct(numpy.ndarray, shape, typecode).
func reconstruct(a pickle.Tuple) (any, error) {
	if len(a) != 3 || a[0] != (pickle.Global{Module: "numpy", Name: "ndarray"}) {
		return nil, fmt.Errorf("_reconstruct%v: only numpy.ndarray can be rebuilt", a)
	}
	return &pyArray{}, nil
}

// newDType is numpy.dtype(typestr, align, copy).
func newDType(a pickle.Tuple) (any, error) {
	if len(a) < 1 {
		return nil, errors.New("numpy.dtype called without a type")
	}
	s, ok := text(a[0])
	if !ok {
		return nil, fmt.Errorf("numpy.dtype(%v): the type is not a string", a[0])
	}
	return &pyDType{descr: s}, nil
}

// build applies a BUILD state to a dtype or an array.
func build(obj, state any) error {
	t, ok := state.(pickle.Tuple)
	if !ok {
		return fmt.Errorf("BUILD state is a %T, not a tuple", state)
	}
	switch o := obj.(type) {
	case *pyDType:
		if len(t) < 2 {
			return errors.New("dtype state too short")
		}
		order, ok := text(t[1])
		if !ok {
			return fmt.Errorf("dtype byte order %v is not a string", t[1])
		}
		o.order = order
		return nil
	case *pyArray:
		if len(t) != 5 {
			return fmt.Errorf("ndarray state has %d items, want 5 (version, shape, dtype, fortran, data)", len(t))
		}
		shape, ok := t[1].(pickle.Tuple)
		if !ok {
			return fmt.Errorf("ndarray shape is a %T, not a tuple", t[1])
		}
		for _, d := range shape {
			n, ok := d.(int64)
			if !ok || n < 0 {
				return fmt.Errorf("ndarray dimension %v", d)
			}
			o.shape = append(o.shape, int(n))
		}
		if o.dtype, ok = t[2].(*pyDType); !ok {
			return fmt.Errorf("ndarray dtype is a %T", t[2])
		}
		if f, _ := t[3].(bool); f && len(o.shape) > 1 {
			return errors.New("Fortran-ordered arrays are not supported")
		}
		switch d := t[4].(type) {
		case string: // a Python 2 str
			o.data = []byte(d)
		case []byte:
			o.data = d
		default:
			return fmt.Errorf("ndarray data is a %T, not bytes", t[4])
		}
		o.filled = true
		return nil
	}
	return fmt.Errorf("BUILD of a %T", obj)
}

// text returns a str or bytes value as a string.
func text(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	return "", false
}
