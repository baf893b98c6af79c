// Package pickle is a restricted Python unpickler: a pickle machine for
// protocols 0–5 that builds only plain values (None, bools, integers,
// floats, strings, bytes, tuples, lists, dicts) and the objects its caller
// allows. A stream names a class or function with GLOBAL or STACK_GLOBAL;
// the machine accepts only the names in its Globals table, and REDUCE calls
// only the Go functions that table holds, so loading a file never runs
// anything the caller did not write. BUILD and persistent ids go through
// hooks the caller supplies; without them they are errors. The opcodes that
// instantiate arbitrary classes (INST, OBJ, NEWOBJ, NEWOBJ_EX), the
// extension registry and out-of-band buffers are not supported.
//
// Memory stays bounded by the input: every length a stream declares is
// checked against the bytes left before anything is allocated.
package pickle

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The values a load builds: nil, bool, int64 (or *big.Int beyond 64 bits),
// float64, string (Python 3 str and Python 2 str), []byte (bytes and
// bytearray, aliasing the input), Tuple, *List, *Dict, Global, and whatever
// the caller's functions and hooks return.
type (
	// Tuple is a Python tuple.
	Tuple []any
	// List is a Python list; a pointer, so that APPEND reaches every
	// reference to it.
	List struct{ Items []any }
	// Global is a class or function the stream named, already checked
	// against the allowed ones.
	Global struct{ Module, Name string }
)

// String returns module.name.
func (g Global) String() string { return g.Module + "." + g.Name }

// Dict is a Python dict (or OrderedDict): keys in insertion order, a key
// set again keeps its place and takes the new value.
type Dict struct {
	Keys, Values []any
	index        map[any]int
}

// bytesKey indexes a bytes key apart from the equal str.
type bytesKey string

// hashKey returns the map key of a dict key, or an error for keys that are
// not hashable scalars.
func hashKey(k any) (any, error) {
	switch x := k.(type) {
	case nil, bool, int64, float64, string:
		return k, nil
	case []byte:
		return bytesKey(x), nil
	}
	return nil, fmt.Errorf("unsupported dict key of type %s", TypeName(k))
}

// Set sets d[k] = v.
func (d *Dict) Set(k, v any) error {
	h, err := hashKey(k)
	if err != nil {
		return err
	}
	if d.index == nil {
		d.index = map[any]int{}
	}
	if i, ok := d.index[h]; ok {
		d.Values[i] = v
		return nil
	}
	d.index[h] = len(d.Keys)
	d.Keys = append(d.Keys, k)
	d.Values = append(d.Values, v)
	return nil
}

// Get returns d[k].
func (d *Dict) Get(k any) (any, bool) {
	h, err := hashKey(k)
	if err != nil {
		return nil, false
	}
	i, ok := d.index[h]
	if !ok {
		return nil, false
	}
	return d.Values[i], true
}

// Len is the number of items.
func (d *Dict) Len() int { return len(d.Keys) }

// Func is an allowed global called by REDUCE with its argument tuple.
type Func func(args Tuple) (any, error)

// Machine reads pickles from Data, starting at Pos. The zero Machine with
// Data set reads plain values only.
type Machine struct {
	// Data holds the stream; Pos is where the next Load starts, and after
	// a Load the first byte after its STOP.
	Data []byte
	Pos  int
	// Globals are the classes and functions a stream may name, by
	// "module.name". A nil Func is a class the stream may pass as an
	// argument but not call.
	Globals map[string]Func
	// Hint ends the error for a global not in Globals: what the caller's
	// files may name instead.
	Hint string
	// Build applies BUILD's state to an object (nil: BUILD is an error).
	Build func(obj, state any) error
	// Persistent resolves a persistent id (nil: persistent ids are errors).
	Persistent func(pid any) (any, error)

	stack []any
	marks []int
	memo  map[uint64]any
}

// ErrTruncated is the error for a stream that ends early.
var ErrTruncated = errors.New("the stream ends early (truncated file?)")

// Load reads one pickle, up to its STOP opcode, and returns its value.
func (m *Machine) Load() (any, error) {
	m.stack, m.marks, m.memo = nil, nil, map[uint64]any{}
	for {
		if m.Pos >= len(m.Data) {
			return nil, fmt.Errorf("pickle: at byte %d, before its STOP opcode: %w", m.Pos, ErrTruncated)
		}
		start := m.Pos
		op := m.Data[m.Pos]
		m.Pos++
		stop, err := m.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle: opcode 0x%02x at byte %d: %w", op, start, err)
		}
		if stop {
			v, err := m.pop()
			if err != nil {
				return nil, fmt.Errorf("pickle: STOP at byte %d: %w", start, err)
			}
			return v, nil
		}
	}
}

// Read returns the next n bytes of Data, aliasing it.
func (m *Machine) Read(n int) ([]byte, error) {
	if n < 0 || n > len(m.Data)-m.Pos {
		return nil, ErrTruncated
	}
	b := m.Data[m.Pos : m.Pos+n : m.Pos+n]
	m.Pos += n
	return b, nil
}

// readUint reads a little-endian unsigned integer of size bytes.
func (m *Machine) readUint(size int) (uint64, error) {
	b, err := m.Read(size)
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// readLen reads a length of size bytes and checks that the stream still
// holds that many bytes.
func (m *Machine) readLen(size int) (int, error) {
	n, err := m.readUint(size)
	if err != nil {
		return 0, err
	}
	if left := len(m.Data) - m.Pos; n > uint64(left) {
		return 0, fmt.Errorf("a length of %d bytes runs past the end of the stream (%d bytes left): %w", n, left, ErrTruncated)
	}
	return int(n), nil
}

// readCounted reads a length of size bytes and that many bytes.
func (m *Machine) readCounted(size int) ([]byte, error) {
	n, err := m.readLen(size)
	if err != nil {
		return nil, err
	}
	return m.Read(n)
}

func (m *Machine) readLine() (string, error) {
	i := bytes.IndexByte(m.Data[m.Pos:], '\n')
	if i < 0 {
		return "", ErrTruncated
	}
	s := string(m.Data[m.Pos : m.Pos+i])
	m.Pos += i + 1
	return strings.TrimSuffix(s, "\r"), nil
}

func (m *Machine) push(v any) { m.stack = append(m.stack, v) }

// floor is the lowest stack index the current mark leaves reachable.
func (m *Machine) floor() int {
	if len(m.marks) == 0 {
		return 0
	}
	return m.marks[len(m.marks)-1]
}

func (m *Machine) pop() (any, error) {
	if len(m.stack) <= m.floor() {
		return nil, errors.New("stack underflow")
	}
	v := m.stack[len(m.stack)-1]
	m.stack = m.stack[:len(m.stack)-1]
	return v, nil
}

func (m *Machine) top() (any, error) {
	if len(m.stack) <= m.floor() {
		return nil, errors.New("stack underflow")
	}
	return m.stack[len(m.stack)-1], nil
}

func (m *Machine) popN(n int) ([]any, error) {
	if len(m.stack)-m.floor() < n {
		return nil, errors.New("stack underflow")
	}
	items := slices.Clone(m.stack[len(m.stack)-n:])
	m.stack = m.stack[:len(m.stack)-n]
	return items, nil
}

// popMark pops everything above the last MARK, and the MARK.
func (m *Machine) popMark() ([]any, error) {
	if len(m.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	f := m.floor()
	m.marks = m.marks[:len(m.marks)-1]
	items := slices.Clone(m.stack[f:])
	m.stack = m.stack[:f]
	return items, nil
}

// lineIndex reads a decimal memo index ending in a newline (PUT, GET).
func (m *Machine) lineIndex() (uint64, error) {
	s, err := m.readLine()
	if err != nil {
		return 0, err
	}
	idx, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("memo index %q is not a number", s)
	}
	return idx, nil
}

// step executes one opcode; it reports true at STOP.
func (m *Machine) step(op byte) (bool, error) {
	switch op {
	case OpProto:
		b, err := m.Read(1)
		if err != nil {
			return false, err
		}
		if b[0] > 5 {
			return false, fmt.Errorf("pickle protocol %d is newer than 5", b[0])
		}
	case OpFrame: // frames only group opcodes, which are read as they come
		_, err := m.readLen(8)
		return false, err
	case OpStop:
		return true, nil
	case OpMark:
		m.marks = append(m.marks, len(m.stack))
	case OpPop:
		_, err := m.pop()
		return false, err
	case OpPopMark:
		_, err := m.popMark()
		return false, err
	case OpDup:
		v, err := m.top()
		if err != nil {
			return false, err
		}
		m.push(v)
	case OpNone:
		m.push(nil)
	case OpNewTrue:
		m.push(true)
	case OpNewFalse:
		m.push(false)
	case OpInt: // decimal; "01" and "00" are True and False
		s, err := m.readLine()
		if err != nil {
			return false, err
		}
		switch s {
		case "01":
			m.push(true)
		case "00":
			m.push(false)
		default:
			v, err := parseInt(s)
			if err != nil {
				return false, fmt.Errorf("INT %.40q: %w", s, err)
			}
			m.push(v)
		}
	case OpLong: // decimal with a trailing L
		s, err := m.readLine()
		if err != nil {
			return false, err
		}
		v, err := parseInt(strings.TrimSuffix(s, "L"))
		if err != nil {
			return false, fmt.Errorf("LONG %.40q: %w", s, err)
		}
		m.push(v)
	case OpBinInt:
		v, err := m.readUint(4)
		if err != nil {
			return false, err
		}
		m.push(int64(int32(v)))
	case OpBinInt1, OpBinInt2:
		v, err := m.readUint(map[byte]int{OpBinInt1: 1, OpBinInt2: 2}[op])
		if err != nil {
			return false, err
		}
		m.push(int64(v))
	case OpLong1, OpLong4:
		b, err := m.readCounted(map[byte]int{OpLong1: 1, OpLong4: 4}[op])
		if err != nil {
			return false, err
		}
		m.push(decodeLong(b))
	case OpFloat:
		s, err := m.readLine()
		if err != nil {
			return false, err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false, fmt.Errorf("FLOAT %.40q is not a number", s)
		}
		m.push(v)
	case OpBinFloat:
		b, err := m.Read(8)
		if err != nil {
			return false, err
		}
		m.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case OpString: // a Python 2 str repr
		s, err := m.readLine()
		if err != nil {
			return false, err
		}
		b, err := UnquoteString(s)
		if err != nil {
			return false, err
		}
		m.push(string(b))
	case OpBinString, OpShortBinString: // a Python 2 str
		b, err := m.readCounted(map[byte]int{OpBinString: 4, OpShortBinString: 1}[op])
		if err != nil {
			return false, err
		}
		m.push(string(b))
	case OpBinBytes, OpShortBinBytes, OpBinBytes8, OpByteArray8:
		b, err := m.readCounted(map[byte]int{OpBinBytes: 4, OpShortBinBytes: 1, OpBinBytes8: 8, OpByteArray8: 8}[op])
		if err != nil {
			return false, err
		}
		m.push(b)
	case OpUnicode: // raw-unicode-escape
		s, err := m.readLine()
		if err != nil {
			return false, err
		}
		u, err := decodeRawUnicode(s)
		if err != nil {
			return false, err
		}
		m.push(u)
	case OpBinUnicode, OpShortBinUnicode, OpBinUnicode8:
		b, err := m.readCounted(map[byte]int{OpBinUnicode: 4, OpShortBinUnicode: 1, OpBinUnicode8: 8}[op])
		if err != nil {
			return false, err
		}
		m.push(string(b))
	case OpEmptyTuple:
		m.push(Tuple{})
	case OpTuple:
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		m.push(Tuple(items))
	case OpTuple1, OpTuple2, OpTuple3:
		items, err := m.popN(int(op-OpTuple1) + 1)
		if err != nil {
			return false, err
		}
		m.push(Tuple(items))
	case OpEmptyList:
		m.push(&List{})
	case OpList:
		items, err := m.popMark()
		if err != nil {
			return false, err
		}
		m.push(&List{Items: items})
	case OpAppend, OpAppends:
		var items []any
		var err error
		if op == OpAppend {
			items, err = m.popN(1)
		} else {
			items, err = m.popMark()
		}
		if err != nil {
			return false, err
		}
		obj, err := m.top()
		if err != nil {
			return false, err
		}
		l, ok := obj.(*List)
		if !ok {
			return false, fmt.Errorf("APPEND to a %s, not a list", TypeName(obj))
		}
		l.Items = append(l.Items, items...)
	case OpEmptyDict:
		m.push(&Dict{})
	case OpDict, OpSetItem, OpSetItems:
		var items []any
		var err error
		if op == OpSetItem {
			items, err = m.popN(2)
		} else {
			items, err = m.popMark()
		}
		if err != nil {
			return false, err
		}
		if len(items)%2 != 0 {
			return false, errors.New("an odd number of dict items")
		}
		d := &Dict{}
		if op == OpDict {
			m.push(d)
		} else {
			obj, err := m.top()
			if err != nil {
				return false, err
			}
			var ok bool
			if d, ok = obj.(*Dict); !ok {
				return false, fmt.Errorf("SETITEM on a %s, not a dict", TypeName(obj))
			}
		}
		for i := 0; i < len(items); i += 2 {
			if err := d.Set(items[i], items[i+1]); err != nil {
				return false, err
			}
		}
	case OpPut, OpBinPut, OpLongBinPut, OpMemoize:
		var idx uint64
		var err error
		switch op {
		case OpPut:
			idx, err = m.lineIndex()
		case OpBinPut:
			idx, err = m.readUint(1)
		case OpLongBinPut:
			idx, err = m.readUint(4)
		default:
			idx = uint64(len(m.memo))
		}
		if err != nil {
			return false, err
		}
		v, err := m.top()
		if err != nil {
			return false, err
		}
		m.memo[idx] = v
	case OpGet, OpBinGet, OpLongBinGet:
		var idx uint64
		var err error
		switch op {
		case OpGet:
			idx, err = m.lineIndex()
		case OpBinGet:
			idx, err = m.readUint(1)
		default:
			idx, err = m.readUint(4)
		}
		if err != nil {
			return false, err
		}
		v, ok := m.memo[idx]
		if !ok {
			return false, fmt.Errorf("memo entry %d was never stored", idx)
		}
		m.push(v)
	case OpGlobal:
		module, err := m.readLine()
		if err != nil {
			return false, err
		}
		name, err := m.readLine()
		if err != nil {
			return false, err
		}
		return false, m.global(module, name)
	case OpStackGlobal:
		items, err := m.popN(2)
		if err != nil {
			return false, err
		}
		module, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return false, errors.New("STACK_GLOBAL needs two strings")
		}
		return false, m.global(module, name)
	case OpReduce:
		items, err := m.popN(2)
		if err != nil {
			return false, err
		}
		v, err := m.reduce(items[0], items[1])
		if err != nil {
			return false, err
		}
		m.push(v)
	case OpBuild:
		state, err := m.pop()
		if err != nil {
			return false, err
		}
		obj, err := m.top()
		if err != nil {
			return false, err
		}
		if m.Build == nil {
			return false, fmt.Errorf("BUILD on a %s, where no object may be built", TypeName(obj))
		}
		return false, m.Build(obj, state)
	case OpPersID, OpBinPersID:
		var pid any
		var err error
		if op == OpPersID {
			pid, err = m.readLine()
		} else {
			pid, err = m.pop()
		}
		if err != nil {
			return false, err
		}
		if m.Persistent == nil {
			return false, errors.New("a persistent id, where none may be")
		}
		v, err := m.Persistent(pid)
		if err != nil {
			return false, err
		}
		m.push(v)
	default:
		return false, fmt.Errorf("unsupported opcode 0x%02x (%q): the stream holds more than plain values and the allowed objects", op, rune(op))
	}
	return false, nil
}

// global pushes module.name if the caller allows it.
func (m *Machine) global(module, name string) error {
	if _, ok := m.Globals[module+"."+name]; !ok {
		msg := fmt.Sprintf("the global %s.%s is not allowed", module, name)
		if m.Hint != "" {
			msg += ": " + m.Hint
		}
		return errors.New(msg)
	}
	m.push(Global{module, name})
	return nil
}

// reduce calls an allowed global with its argument tuple.
func (m *Machine) reduce(fn, args any) (any, error) {
	g, ok := fn.(Global)
	if !ok {
		return nil, fmt.Errorf("REDUCE calls a %s, not a class or function", TypeName(fn))
	}
	a, ok := args.(Tuple)
	if !ok {
		return nil, fmt.Errorf("REDUCE of %s with %s arguments, not a tuple", g, TypeName(args))
	}
	f := m.Globals[g.String()]
	if f == nil {
		return nil, fmt.Errorf("%s cannot be called", g)
	}
	return f(a)
}

// parseInt parses a decimal integer as int64, or *big.Int beyond.
func parseInt(s string) (any, error) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return nil, errors.New("not a decimal integer")
	}
	return v, nil
}

// decodeLong decodes a little-endian two's-complement integer: int64 where
// it fits, else *big.Int.
func decodeLong(b []byte) any {
	if len(b) <= 8 {
		var v int64
		for i := len(b) - 1; i >= 0; i-- {
			v = v<<8 | int64(b[i])
		}
		if len(b) > 0 && len(b) < 8 && b[len(b)-1]&0x80 != 0 {
			v -= 1 << (8 * len(b))
		}
		return v
	}
	be := make([]byte, len(b))
	for i := range b {
		be[len(b)-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}

// UnquoteString decodes a Python 2 str repr, as protocol 0's STRING holds
// it: '…' or "…" with the escapes \\ \' \" \n \r \t \xHH.
func UnquoteString(s string) ([]byte, error) {
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

// decodeRawUnicode decodes protocol 0's UNICODE argument: bytes are
// Latin-1 characters, \uXXXX and \UXXXXXXXX other code points.
func decodeRawUnicode(s string) (string, error) {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == 'u' || s[i+1] == 'U') {
			n := 4
			if s[i+1] == 'U' {
				n = 8
			}
			if i+2+n > len(s) {
				return "", errors.New("UNICODE has a short \\u escape")
			}
			v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32)
			if err != nil || v > utf8.MaxRune {
				return "", fmt.Errorf("UNICODE escape %q", s[i:i+2+n])
			}
			sb.WriteRune(rune(v))
			i += 1 + n
			continue
		}
		sb.WriteRune(rune(s[i]))
	}
	return sb.String(), nil
}

// TypeName is the Python name of a value's type, for error messages.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []byte:
		return "bytes"
	case Tuple:
		return "tuple"
	case *List:
		return "list"
	case *Dict:
		return "dict"
	case Global:
		return "class"
	}
	return fmt.Sprintf("%T", v)
}
