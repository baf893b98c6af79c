package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// This file is a restricted Python unpickler for the CIFAR batch files of
// cifar-10-batches-py and cifar-100-python: a dict of strings, lists of
// ints and one uint8 NumPy array. It understands the opcodes of protocols
// 0–5 that plain containers and scalars use, and exactly three globals,
// the ones NumPy's ndarray.__reduce__ names: numpy.core.multiarray.
// _reconstruct, numpy.ndarray and numpy.dtype (also spelled numpy._core by
// NumPy 2). Any other global, and any opcode that instantiates classes
// (INST, OBJ, NEWOBJ, persistent ids, extensions), is an error, so reading a
// file never builds anything but plain values and that array.

// pyStr is a Python 2 str (8-bit, as CIFAR's pickles hold their keys and
// the array's raw data); it aliases the file's bytes.
type pyStr []byte

// pyBytes is a Python 3 bytes object.
type pyBytes []byte

// pyTuple is a Python tuple.
type pyTuple []any

// pyList is a Python list (a pointer, so APPEND reaches memoized copies).
type pyList struct{ items []any }

// pyDict is a Python dict, keys in insertion order.
type pyDict struct{ keys, values []any }

// pyMark is the MARK opcode's stack entry.
type pyMark struct{}

// pyGlobal is one of the allowed globals.
type pyGlobal string

// Allowed globals.
const (
	globalReconstruct pyGlobal = "numpy.core.multiarray._reconstruct"
	globalNdarray     pyGlobal = "numpy.ndarray"
	globalDType       pyGlobal = "numpy.dtype"
)

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

// unpickler holds the state of one restricted load.
type unpickler struct {
	buf   []byte
	pos   int
	stack []any
	memo  map[int]any
}

// unpickle reads the pickle in buf and returns its top-level value.
func unpickle(buf []byte) (any, error) {
	u := &unpickler{buf: buf, memo: map[int]any{}}
	for {
		if u.pos >= len(u.buf) {
			return nil, errors.New("pickle ends before its STOP opcode (truncated file)")
		}
		op := u.buf[u.pos]
		u.pos++
		done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("opcode 0x%02x at byte %d: %w", op, u.pos-1, err)
		}
		if done {
			if len(u.stack) != 1 {
				return nil, fmt.Errorf("pickle stops with %d values on its stack, want 1", len(u.stack))
			}
			return u.stack[0], nil
		}
	}
}

var errTruncated = errors.New("unexpected end of data (truncated file)")

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.buf)-u.pos {
		return nil, errTruncated
	}
	b := u.buf[u.pos : u.pos+n : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *unpickler) line() (string, error) {
	i := bytes.IndexByte(u.buf[u.pos:], '\n')
	if i < 0 {
		return "", errTruncated
	}
	s := string(u.buf[u.pos : u.pos+i])
	u.pos += i + 1
	return strings.TrimSuffix(s, "\r"), nil
}

func (u *unpickler) uint(n int) (int, error) {
	b, err := u.read(n)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if v > math.MaxInt32 && n <= 4 || v > uint64(len(u.buf)) && n == 8 {
		return 0, fmt.Errorf("length %d is beyond the file", v)
	}
	return int(v), nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	if _, ok := v.(pyMark); ok {
		return nil, errors.New("a MARK where a value was expected")
	}
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 {
		return nil, errors.New("stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops the values above the last MARK, and the MARK.
func (u *unpickler) popMark() ([]any, error) {
	for i := len(u.stack) - 1; i >= 0; i-- {
		if _, ok := u.stack[i].(pyMark); ok {
			items := append([]any(nil), u.stack[i+1:]...)
			u.stack = u.stack[:i]
			return items, nil
		}
	}
	return nil, errors.New("no MARK on the stack")
}

func (u *unpickler) popN(n int) ([]any, error) {
	if len(u.stack) < n {
		return nil, errors.New("stack underflow")
	}
	items := append([]any(nil), u.stack[len(u.stack)-n:]...)
	for _, v := range items {
		if _, ok := v.(pyMark); ok {
			return nil, errors.New("a MARK where a value was expected")
		}
	}
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

// step executes one opcode; it reports true at STOP.
func (u *unpickler) step(op byte) (bool, error) {
	switch op {
	case 0x80: // PROTO
		b, err := u.read(1)
		if err != nil {
			return false, err
		}
		if b[0] > 5 {
			return false, fmt.Errorf("pickle protocol %d is newer than 5", b[0])
		}
	case 0x95: // FRAME: the length of the next frame, irrelevant here
		_, err := u.read(8)
		return false, err
	case '.': // STOP
		return true, nil
	case '(': // MARK
		u.push(pyMark{})
	case '0': // POP
		_, err := u.pop()
		return false, err
	case '1': // POP_MARK
		_, err := u.popMark()
		return false, err
	case '2': // DUP
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'N':
		u.push(nil)
	case 0x88:
		u.push(true)
	case 0x89:
		u.push(false)
	case 'I': // INT (protocol 0; "01" and "00" are True and False)
		s, err := u.line()
		if err != nil {
			return false, err
		}
		switch s {
		case "01":
			u.push(true)
		case "00":
			u.push(false)
		default:
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return false, fmt.Errorf("INT %q: %w", s, err)
			}
			u.push(int(v))
		}
	case 'L': // LONG (protocol 0)
		s, err := u.line()
		if err != nil {
			return false, err
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(s, "L"), 10, 64)
		if err != nil {
			return false, fmt.Errorf("LONG %q: %w", s, err)
		}
		u.push(int(v))
	case 'J': // BININT
		b, err := u.read(4)
		if err != nil {
			return false, err
		}
		u.push(int(int32(binary.LittleEndian.Uint32(b))))
	case 'K': // BININT1
		v, err := u.uint(1)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'M': // BININT2
		v, err := u.uint(2)
		if err != nil {
			return false, err
		}
		u.push(v)
	case 0x8a, 0x8b: // LONG1, LONG4
		n, err := u.uint(map[byte]int{0x8a: 1, 0x8b: 4}[op])
		if err != nil {
			return false, err
		}
		if n > 8 {
			return false, fmt.Errorf("integer of %d bytes is too large", n)
		}
		b, err := u.read(n)
		if err != nil {
			return false, err
		}
		var v int64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | int64(b[i])
		}
		if n > 0 && n < 8 && b[n-1]&0x80 != 0 {
			v -= 1 << (8 * n)
		}
		u.push(int(v))
	case 'F': // FLOAT
		s, err := u.line()
		if err != nil {
			return false, err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false, fmt.Errorf("FLOAT %q: %w", s, err)
		}
		u.push(v)
	case 'G': // BINFLOAT
		b, err := u.read(8)
		if err != nil {
			return false, err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case 'S': // STRING: a Python 2 str repr
		s, err := u.line()
		if err != nil {
			return false, err
		}
		b, err := unquotePy(s)
		if err != nil {
			return false, err
		}
		u.push(pyStr(b))
	case 'T', 'U', 'B', 'C', 0x8e: // BINSTRING, SHORT_BINSTRING, BINBYTES, SHORT_BINBYTES, BINBYTES8
		n, err := u.uint(map[byte]int{'T': 4, 'U': 1, 'B': 4, 'C': 1, 0x8e: 8}[op])
		if err != nil {
			return false, err
		}
		b, err := u.read(n)
		if err != nil {
			return false, err
		}
		if op == 'T' || op == 'U' {
			u.push(pyStr(b))
		} else {
			u.push(pyBytes(b))
		}
	case 'V': // UNICODE (raw-unicode-escape; CIFAR's names are ASCII)
		s, err := u.line()
		if err != nil {
			return false, err
		}
		u.push(s)
	case 'X', 0x8c, 0x8d: // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
		n, err := u.uint(map[byte]int{'X': 4, 0x8c: 1, 0x8d: 8}[op])
		if err != nil {
			return false, err
		}
		b, err := u.read(n)
		if err != nil {
			return false, err
		}
		u.push(string(b))
	case ')':
		u.push(pyTuple{})
	case 't':
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(pyTuple(items))
	case 0x85, 0x86, 0x87: // TUPLE1, TUPLE2, TUPLE3
		items, err := u.popN(int(op - 0x84))
		if err != nil {
			return false, err
		}
		u.push(pyTuple(items))
	case ']':
		u.push(&pyList{})
	case 'l':
		items, err := u.popMark()
		if err != nil {
			return false, err
		}
		u.push(&pyList{items: items})
	case 'a', 'e': // APPEND, APPENDS
		var items []any
		var err error
		if op == 'a' {
			items, err = u.popN(1)
		} else {
			items, err = u.popMark()
		}
		if err != nil {
			return false, err
		}
		v, err := u.top()
		if err != nil {
			return false, err
		}
		l, ok := v.(*pyList)
		if !ok {
			return false, fmt.Errorf("appending to a %T, not a list", v)
		}
		l.items = append(l.items, items...)
	case '}':
		u.push(&pyDict{})
	case 'd', 's', 'u': // DICT, SETITEM, SETITEMS
		var items []any
		var err error
		if op == 's' {
			items, err = u.popN(2)
		} else {
			items, err = u.popMark()
		}
		if err != nil {
			return false, err
		}
		if len(items)%2 != 0 {
			return false, errors.New("odd number of dict items")
		}
		d := &pyDict{}
		if op != 'd' {
			v, err := u.top()
			if err != nil {
				return false, err
			}
			var ok bool
			if d, ok = v.(*pyDict); !ok {
				return false, fmt.Errorf("setting items of a %T, not a dict", v)
			}
		}
		for i := 0; i < len(items); i += 2 {
			d.keys = append(d.keys, items[i])
			d.values = append(d.values, items[i+1])
		}
		if op == 'd' {
			u.push(d)
		}
	case 'c': // GLOBAL
		module, err := u.line()
		if err != nil {
			return false, err
		}
		name, err := u.line()
		if err != nil {
			return false, err
		}
		g, err := global(module, name)
		if err != nil {
			return false, err
		}
		u.push(g)
	case 0x93: // STACK_GLOBAL
		items, err := u.popN(2)
		if err != nil {
			return false, err
		}
		module, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return false, errors.New("STACK_GLOBAL of non-strings")
		}
		g, err := global(module, name)
		if err != nil {
			return false, err
		}
		u.push(g)
	case 'R': // REDUCE
		items, err := u.popN(2)
		if err != nil {
			return false, err
		}
		v, err := reduce(items[0], items[1])
		if err != nil {
			return false, err
		}
		u.push(v)
	case 'b': // BUILD
		items, err := u.popN(1)
		if err != nil {
			return false, err
		}
		obj, err := u.top()
		if err != nil {
			return false, err
		}
		if err := build(obj, items[0]); err != nil {
			return false, err
		}
	case 'p', 'q', 'r', 0x94: // PUT, BINPUT, LONG_BINPUT, MEMOIZE
		var idx int
		var err error
		switch op {
		case 'p':
			var s string
			if s, err = u.line(); err == nil {
				idx, err = strconv.Atoi(s)
			}
		case 'q':
			idx, err = u.uint(1)
		case 'r':
			idx, err = u.uint(4)
		default:
			idx = len(u.memo)
		}
		if err != nil {
			return false, err
		}
		v, err := u.top()
		if err != nil {
			return false, err
		}
		u.memo[idx] = v
	case 'g', 'h', 'j': // GET, BINGET, LONG_BINGET
		var idx int
		var err error
		switch op {
		case 'g':
			var s string
			if s, err = u.line(); err == nil {
				idx, err = strconv.Atoi(s)
			}
		case 'h':
			idx, err = u.uint(1)
		default:
			idx, err = u.uint(4)
		}
		if err != nil {
			return false, err
		}
		v, ok := u.memo[idx]
		if !ok {
			return false, fmt.Errorf("memo entry %d was never stored", idx)
		}
		u.push(v)
	default:
		return false, fmt.Errorf("unsupported opcode 0x%02x (CIFAR batches hold only a dict of strings, integer lists and a NumPy array)", op)
	}
	return false, nil
}

// global resolves GLOBAL module name to one of the allowed globals.
func global(module, name string) (pyGlobal, error) {
	g := pyGlobal(strings.Replace(module, "numpy._core", "numpy.core", 1) + "." + name)
	switch g {
	case globalReconstruct, globalNdarray, globalDType:
		return g, nil
	}
	return "", fmt.Errorf("pickle refers to the global %s.%s; a CIFAR batch may use only numpy.core.multiarray._reconstruct, numpy.ndarray and numpy.dtype", module, name)
}

// reduce applies an allowed global to its argument tuple.
func reduce(fn, args any) (any, error) {
	a, ok := args.(pyTuple)
	if !ok {
		return nil, fmt.Errorf("REDUCE arguments are a %T, not a tuple", args)
	}
	switch fn {
	case globalReconstruct:
		if len(a) != 3 || a[0] != globalNdarray {
			return nil, fmt.Errorf("_reconstruct%v: only numpy.ndarray can be rebuilt", a)
		}
		return &pyArray{}, nil
	case globalDType:
		if len(a) < 1 {
			return nil, errors.New("numpy.dtype called without a type")
		}
		s, ok := text(a[0])
		if !ok {
			return nil, fmt.Errorf("numpy.dtype(%v): the type is not a string", a[0])
		}
		return &pyDType{descr: s}, nil
	}
	return nil, fmt.Errorf("REDUCE of %v, which is not callable here", fn)
}

// build applies a BUILD state to a dtype or an array.
func build(obj, state any) error {
	t, ok := state.(pyTuple)
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
		shape, ok := t[1].(pyTuple)
		if !ok {
			return fmt.Errorf("ndarray shape is a %T, not a tuple", t[1])
		}
		for _, d := range shape {
			n, ok := d.(int)
			if !ok || n < 0 {
				return fmt.Errorf("ndarray dimension %v", d)
			}
			o.shape = append(o.shape, n)
		}
		if o.dtype, ok = t[2].(*pyDType); !ok {
			return fmt.Errorf("ndarray dtype is a %T", t[2])
		}
		if f, _ := t[3].(bool); f && len(o.shape) > 1 {
			return errors.New("Fortran-ordered arrays are not supported")
		}
		switch d := t[4].(type) {
		case pyStr:
			o.data = d
		case pyBytes:
			o.data = d
		default:
			return fmt.Errorf("ndarray data is a %T, not bytes", t[4])
		}
		o.filled = true
		return nil
	}
	return fmt.Errorf("BUILD of a %T", obj)
}

// text returns a str, unicode or bytes value as a string.
func text(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case pyStr:
		return string(s), true
	case pyBytes:
		return string(s), true
	}
	return "", false
}

// unquotePy decodes a Python 2 str repr: '…' or "…" with backslash escapes
// \\ \' \" \n \r \t \xHH.
func unquotePy(s string) ([]byte, error) {
	if len(s) < 2 || s[0] != s[len(s)-1] || (s[0] != '\'' && s[0] != '"') {
		return nil, fmt.Errorf("STRING %.20q is not quoted", s)
	}
	s = s[1 : len(s)-1]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, errors.New("STRING ends in a backslash")
		}
		switch s[i] {
		case '\\', '\'', '"':
			out = append(out, s[i])
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'x':
			if i+3 > len(s) {
				return nil, errors.New("STRING has a short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("STRING escape \\x%s", s[i+1:i+3])
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("STRING escape \\%c is not supported", s[i])
		}
	}
	return out, nil
}
