package torchfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
)

// The values the restricted unpickler builds: nil, bool, int64, *big.Int,
// float64, string, []byte, tuple, *list, *dict, global, *storageRef and
// *tensorRef.
type (
	tuple []any
	list  struct{ items []any }
	// dict is a Python dict or OrderedDict: insertion-ordered, with
	// hashable scalar keys.
	dict struct {
		keys  []any
		vals  []any
		index map[any]int
	}
	// global is a class or function the stream named (GLOBAL opcode),
	// already checked against the allowed ones.
	global struct{ module, name string }
	// storageRef is a persistent id: a storage the file holds elsewhere
	// (a zip entry, or a record after the legacy pickle).
	storageRef struct {
		dtype dtypeInfo
		key   string
		numel int64
	}
	// tensorRef is a tensor rebuilt from a storage: its data is filled in
	// once the storages have been read.
	tensorRef struct {
		storage *storageRef
		offset  int64
		size    []int64
		stride  []int64
	}
)

func newDict() *dict { return &dict{index: map[any]int{}} }

func (d *dict) set(k, v any) error {
	switch k.(type) {
	case nil, bool, int64, float64, string:
	default:
		return fmt.Errorf("pickle: unsupported dict key of type %s", typeName(k))
	}
	if i, ok := d.index[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.index[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *dict) get(k string) (any, bool) {
	i, ok := d.index[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// allowedGlobals are the callables a state dict's pickle may name.
var allowedGlobals = []string{
	"collections.OrderedDict",
	"torch._utils._rebuild_tensor_v2",
	"torch._utils._rebuild_tensor",
	"torch._utils._rebuild_parameter",
}

// allowed reports whether module.name may appear in a stream.
func allowed(module, name string) bool {
	if slices.Contains(allowedGlobals, module+"."+name) {
		return true
	}
	if module == "torch" {
		_, ok := lookupDType(func(i dtypeInfo) bool { return i.storage == name })
		return ok
	}
	return false
}

// Pickle opcodes (protocols 0–5) that state dicts use.
const (
	opMark           = '('
	opStop           = '.'
	opBinInt         = 'J'
	opBinInt1        = 'K'
	opBinInt2        = 'M'
	opNone           = 'N'
	opBinPersID      = 'Q'
	opReduce         = 'R'
	opBinString      = 'T'
	opShortBinString = 'U'
	opBinUnicode     = 'X'
	opAppend         = 'a'
	opBuild          = 'b'
	opGlobal         = 'c'
	opEmptyDict      = '}'
	opAppends        = 'e'
	opBinGet         = 'h'
	opLongBinGet     = 'j'
	opEmptyList      = ']'
	opBinPut         = 'q'
	opLongBinPut     = 'r'
	opSetItem        = 's'
	opTuple          = 't'
	opEmptyTuple     = ')'
	opSetItems       = 'u'
	opBinFloat       = 'G'
	opProto          = 0x80
	opTuple1         = 0x85
	opTuple2         = 0x86
	opTuple3         = 0x87
	opNewTrue        = 0x88
	opNewFalse       = 0x89
	opLong1          = 0x8a
	opBinBytes       = 'B'
	opShortBinBytes  = 'C'
	opShortBinUni    = 0x8c
	opBinUnicode8    = 0x8d
	opBinBytes8      = 0x8e
	opStackGlobal    = 0x93
	opMemoize        = 0x94
	opFrame          = 0x95
)

// unpickler interprets one pickle stream from data[pos:].
type unpickler struct {
	data  []byte
	pos   int
	stack []any
	marks []int
	memo  map[uint64]any
	// persistent turns a persistent id into a value (nil: the stream may
	// not have any).
	persistent func(pid any) (any, error)
}

var errTruncated = errors.New("pickle: truncated stream")

func (u *unpickler) read(n int) ([]byte, error) {
	if n < 0 || n > len(u.data)-u.pos {
		return nil, errTruncated
	}
	b := u.data[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

// readLen reads a little-endian length of size bytes and checks that the
// stream still holds that many bytes, so no declared length allocates
// more than the file has.
func (u *unpickler) readLen(size int) (int, error) {
	b, err := u.read(size)
	if err != nil {
		return 0, err
	}
	var n uint64
	switch size {
	case 1:
		n = uint64(b[0])
	case 4:
		n = uint64(binary.LittleEndian.Uint32(b))
	case 8:
		n = binary.LittleEndian.Uint64(b)
	}
	if n > uint64(len(u.data)-u.pos) {
		return 0, fmt.Errorf("pickle: a length of %d bytes runs past the end of the stream (%d bytes left)", n, len(u.data)-u.pos)
	}
	return int(n), nil
}

func (u *unpickler) readLine() (string, error) {
	i := bytes.IndexByte(u.data[u.pos:], '\n')
	if i < 0 {
		return "", errTruncated
	}
	s := string(u.data[u.pos : u.pos+i])
	u.pos += i + 1
	return s, nil
}

func (u *unpickler) push(v any) { u.stack = append(u.stack, v) }

func (u *unpickler) pop() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("pickle: stack underflow")
	}
	v := u.stack[len(u.stack)-1]
	u.stack = u.stack[:len(u.stack)-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	if len(u.stack) == 0 || (len(u.marks) > 0 && len(u.stack) <= u.marks[len(u.marks)-1]) {
		return nil, errors.New("pickle: stack underflow")
	}
	return u.stack[len(u.stack)-1], nil
}

// popMark pops everything above the last mark.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("pickle: no mark on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := slices.Clone(u.stack[m:])
	u.stack = u.stack[:m]
	return items, nil
}

func (u *unpickler) popN(n int) ([]any, error) {
	items := make([]any, n)
	for i := n - 1; i >= 0; i-- {
		v, err := u.pop()
		if err != nil {
			return nil, err
		}
		items[i] = v
	}
	return items, nil
}

func (u *unpickler) memoize(idx uint64) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	u.memo[idx] = v
	return nil
}

func (u *unpickler) fetch(idx uint64) error {
	v, ok := u.memo[idx]
	if !ok {
		return fmt.Errorf("pickle: memo entry %d is not defined", idx)
	}
	u.push(v)
	return nil
}

func (u *unpickler) global(module, name string) error {
	if !allowed(module, name) {
		return fmt.Errorf("pickle: the global %s.%s is not allowed: a state dict needs only %s and the torch.*Storage classes "+
			"(this file holds other Python objects or code; it is not a plain state_dict)",
			module, name, strings.Join(allowedGlobals, ", "))
	}
	u.push(global{module, name})
	return nil
}

// run interprets opcodes up to STOP and returns the value built.
func (u *unpickler) run() (any, error) {
	if u.memo == nil {
		u.memo = map[uint64]any{}
	}
	for {
		opb, err := u.read(1)
		if err != nil {
			return nil, err
		}
		op := opb[0]
		if err := u.step(op); err != nil {
			if errors.Is(err, errStop) {
				v, err := u.pop()
				if err != nil {
					return nil, err
				}
				return v, nil
			}
			return nil, fmt.Errorf("%w (opcode 0x%02x at byte %d)", err, op, u.pos-1)
		}
	}
}

var errStop = errors.New("stop")

func (u *unpickler) step(op byte) error {
	switch op {
	case opProto:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		if b[0] > 5 {
			return fmt.Errorf("pickle: protocol %d is newer than 5", b[0])
		}
	case opFrame:
		_, err := u.read(8) // frames only group opcodes; the data is read as it comes
		return err
	case opStop:
		return errStop
	case opMark:
		u.marks = append(u.marks, len(u.stack))
	case opNone:
		u.push(nil)
	case opNewTrue:
		u.push(true)
	case opNewFalse:
		u.push(false)
	case opBinInt:
		b, err := u.read(4)
		if err != nil {
			return err
		}
		u.push(int64(int32(binary.LittleEndian.Uint32(b))))
	case opBinInt1:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		u.push(int64(b[0]))
	case opBinInt2:
		b, err := u.read(2)
		if err != nil {
			return err
		}
		u.push(int64(binary.LittleEndian.Uint16(b)))
	case opLong1:
		n, err := u.readLen(1)
		if err != nil {
			return err
		}
		b, _ := u.read(n)
		u.push(decodeLong(b))
	case opBinFloat:
		b, err := u.read(8)
		if err != nil {
			return err
		}
		u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
	case opBinUnicode, opShortBinUni, opBinUnicode8, opBinString, opShortBinString:
		size := 4
		switch op {
		case opShortBinUni, opShortBinString:
			size = 1
		case opBinUnicode8:
			size = 8
		}
		n, err := u.readLen(size)
		if err != nil {
			return err
		}
		b, _ := u.read(n)
		u.push(string(b))
	case opBinBytes, opShortBinBytes, opBinBytes8:
		size := 4
		switch op {
		case opShortBinBytes:
			size = 1
		case opBinBytes8:
			size = 8
		}
		n, err := u.readLen(size)
		if err != nil {
			return err
		}
		b, _ := u.read(n)
		u.push(slices.Clone(b))
	case opEmptyTuple:
		u.push(tuple{})
	case opTuple1, opTuple2, opTuple3:
		items, err := u.popN(int(op-opTuple1) + 1)
		if err != nil {
			return err
		}
		u.push(tuple(items))
	case opTuple:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		u.push(tuple(items))
	case opEmptyList:
		u.push(&list{})
	case opAppend:
		v, err := u.pop()
		if err != nil {
			return err
		}
		return u.appendTo([]any{v})
	case opAppends:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.appendTo(items)
	case opEmptyDict:
		u.push(newDict())
	case opSetItem:
		items, err := u.popN(2)
		if err != nil {
			return err
		}
		return u.setItems(items)
	case opSetItems:
		items, err := u.popMark()
		if err != nil {
			return err
		}
		return u.setItems(items)
	case opBinPut, opLongBinPut, opMemoize:
		var idx uint64
		switch op {
		case opBinPut:
			b, err := u.read(1)
			if err != nil {
				return err
			}
			idx = uint64(b[0])
		case opLongBinPut:
			b, err := u.read(4)
			if err != nil {
				return err
			}
			idx = uint64(binary.LittleEndian.Uint32(b))
		default:
			idx = uint64(len(u.memo))
		}
		return u.memoize(idx)
	case opBinGet:
		b, err := u.read(1)
		if err != nil {
			return err
		}
		return u.fetch(uint64(b[0]))
	case opLongBinGet:
		b, err := u.read(4)
		if err != nil {
			return err
		}
		return u.fetch(uint64(binary.LittleEndian.Uint32(b)))
	case opGlobal:
		module, err := u.readLine()
		if err != nil {
			return err
		}
		name, err := u.readLine()
		if err != nil {
			return err
		}
		return u.global(module, name)
	case opStackGlobal:
		items, err := u.popN(2)
		if err != nil {
			return err
		}
		module, ok1 := items[0].(string)
		name, ok2 := items[1].(string)
		if !ok1 || !ok2 {
			return errors.New("pickle: STACK_GLOBAL needs two strings")
		}
		return u.global(module, name)
	case opBinPersID:
		pid, err := u.pop()
		if err != nil {
			return err
		}
		if u.persistent == nil {
			return errors.New("pickle: a persistent id where none may be")
		}
		v, err := u.persistent(pid)
		if err != nil {
			return err
		}
		u.push(v)
	case opReduce:
		items, err := u.popN(2)
		if err != nil {
			return err
		}
		v, err := reduce(items[0], items[1])
		if err != nil {
			return err
		}
		u.push(v)
	case opBuild:
		if _, err := u.pop(); err != nil { // the state: attributes such as an OrderedDict's _metadata
			return err
		}
		obj, err := u.top()
		if err != nil {
			return err
		}
		switch obj.(type) {
		case *dict, *tensorRef:
		default:
			return fmt.Errorf("pickle: BUILD on a %s", typeName(obj))
		}
	default:
		return fmt.Errorf("pickle: unsupported opcode 0x%02x (%q)", op, rune(op))
	}
	return nil
}

func (u *unpickler) appendTo(items []any) error {
	obj, err := u.top()
	if err != nil {
		return err
	}
	l, ok := obj.(*list)
	if !ok {
		return fmt.Errorf("pickle: APPEND to a %s", typeName(obj))
	}
	l.items = append(l.items, items...)
	return nil
}

func (u *unpickler) setItems(items []any) error {
	if len(items)%2 != 0 {
		return errors.New("pickle: SETITEMS with an odd number of items")
	}
	obj, err := u.top()
	if err != nil {
		return err
	}
	d, ok := obj.(*dict)
	if !ok {
		return fmt.Errorf("pickle: SETITEM on a %s", typeName(obj))
	}
	for i := 0; i < len(items); i += 2 {
		if err := d.set(items[i], items[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// decodeLong decodes a little-endian two's-complement integer.
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

// reduce applies one of the allowed callables to its arguments.
func reduce(fn, args any) (any, error) {
	g, ok := fn.(global)
	if !ok {
		return nil, fmt.Errorf("pickle: REDUCE calls a %s, not a class or function", typeName(fn))
	}
	a, ok := args.(tuple)
	if !ok {
		return nil, fmt.Errorf("pickle: REDUCE of %s.%s with %s arguments, not a tuple", g.module, g.name, typeName(args))
	}
	switch g.module + "." + g.name {
	case "collections.OrderedDict":
		d := newDict()
		if len(a) == 0 {
			return d, nil
		}
		l, ok := a[0].(*list)
		if len(a) != 1 || !ok {
			return nil, errors.New("pickle: OrderedDict takes no arguments or one list of pairs")
		}
		for _, item := range l.items {
			// Pairs are tuples, or [key, value] lists as Python 2 pickled them.
			kv, ok := item.(tuple)
			if il, isList := item.(*list); isList {
				kv, ok = tuple(il.items), true
			}
			if !ok || len(kv) != 2 {
				return nil, errors.New("pickle: OrderedDict's list holds something other than pairs")
			}
			if err := d.set(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return d, nil
	case "torch._utils._rebuild_tensor_v2":
		if len(a) != 6 && len(a) != 7 {
			return nil, fmt.Errorf("pickle: _rebuild_tensor_v2 takes 6 or 7 arguments, got %d", len(a))
		}
		return rebuildTensor(a)
	case "torch._utils._rebuild_tensor": // PyTorch before 0.4
		if len(a) != 4 {
			return nil, fmt.Errorf("pickle: _rebuild_tensor takes 4 arguments, got %d", len(a))
		}
		return rebuildTensor(a)
	case "torch._utils._rebuild_parameter":
		if len(a) != 3 {
			return nil, fmt.Errorf("pickle: _rebuild_parameter takes 3 arguments, got %d", len(a))
		}
		t, ok := a[0].(*tensorRef)
		if !ok {
			return nil, fmt.Errorf("pickle: _rebuild_parameter of a %s, not a tensor", typeName(a[0]))
		}
		return t, nil
	}
	return nil, fmt.Errorf("pickle: %s.%s cannot be called", g.module, g.name)
}

// rebuildTensor checks the arguments of _rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
// or _rebuild_tensor(storage, storage_offset, size, stride); the first four
// are what a tensor needs.
func rebuildTensor(a tuple) (any, error) {
	s, ok := a[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("pickle: a tensor rebuilt from a %s, not a storage", typeName(a[0]))
	}
	offset, ok := a[1].(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("pickle: tensor storage offset %v is not a non-negative integer", a[1])
	}
	size, err := intTuple(a[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(a[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("pickle: tensor size %v and stride %v differ in length", size, stride)
	}
	return &tensorRef{storage: s, offset: offset, size: size, stride: stride}, nil
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(tuple)
	if !ok {
		return nil, fmt.Errorf("pickle: tensor %s is a %s, not a tuple", what, typeName(v))
	}
	if len(t) > 64 {
		return nil, fmt.Errorf("pickle: tensor %s has %d dimensions", what, len(t))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("pickle: tensor %s %v holds %v, not a non-negative integer", what, t, x)
		}
		out[i] = n
	}
	return out, nil
}

// storagePID turns the persistent id ('storage', torch.XStorage, key,
// location, numel[, view_metadata]) into a storageRef.
func storagePID(pid any) (*storageRef, error) {
	t, ok := pid.(tuple)
	if !ok || (len(t) != 5 && len(t) != 6) {
		return nil, fmt.Errorf("pickle: persistent id %v is not a storage tuple", describe(pid))
	}
	if tag, _ := t[0].(string); tag != "storage" {
		return nil, fmt.Errorf("pickle: persistent id of kind %v, not 'storage'", describe(t[0]))
	}
	g, ok := t[1].(global)
	if !ok || g.module != "torch" {
		return nil, fmt.Errorf("pickle: storage of type %v, not a torch.*Storage class", describe(t[1]))
	}
	info, ok := lookupDType(func(i dtypeInfo) bool { return i.storage == g.name })
	if !ok {
		return nil, fmt.Errorf("pickle: unknown storage class torch.%s", g.name)
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("pickle: storage key %v is not a string", describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("pickle: storage %s size %v is not a non-negative integer", key, describe(t[4]))
	}
	if len(t) == 6 && t[5] != nil {
		return nil, fmt.Errorf("pickle: storage %s is a view of another storage (view metadata %v); save the state dict with PyTorch ≥ 1.6 or clone the tensors first", key, describe(t[5]))
	}
	return &storageRef{dtype: info, key: key, numel: numel}, nil
}

func typeName(v any) string {
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
	case tuple:
		return "tuple"
	case *list:
		return "list"
	case *dict:
		return "dict"
	case global:
		return "class"
	case *storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	}
	return fmt.Sprintf("%T", v)
}

// describe renders a value briefly for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("%q", x)
	case int64, float64, bool, *big.Int:
		return fmt.Sprint(x)
	case global:
		return x.module + "." + x.name
	}
	return "a " + typeName(v)
}
