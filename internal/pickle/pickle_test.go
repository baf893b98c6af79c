package pickle

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"runtime"
	"strings"
	"testing"
)

// ref is what the tests' persistent-load hook returns.
type ref struct{ pid any }

// testGlobals are the globals CPython writes for the fixtures' values:
// OrderedDict, and bytes under protocols 0–2.
var testGlobals = map[string]Func{
	"collections.OrderedDict": func(a Tuple) (any, error) {
		d := &Dict{}
		if len(a) == 0 {
			return d, nil
		}
		l, ok := a[0].(*List)
		if !ok {
			return nil, errors.New("OrderedDict of a non-list")
		}
		for _, it := range l.Items {
			kv, ok := it.(Tuple)
			if !ok || len(kv) != 2 {
				return nil, errors.New("OrderedDict of non-pairs")
			}
			if err := d.Set(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		return d, nil
	},
	"_codecs.encode": func(a Tuple) (any, error) {
		if len(a) != 2 || a[1] != "latin1" {
			return nil, fmt.Errorf("_codecs.encode%v", a)
		}
		s, ok := a[0].(string)
		if !ok {
			return nil, fmt.Errorf("_codecs.encode of a %s", TypeName(a[0]))
		}
		var b []byte
		for _, r := range s {
			b = append(b, byte(r))
		}
		return b, nil
	},
	"__builtin__.bytes": func(a Tuple) (any, error) { return []byte{}, nil },
	"builtins.print":    nil,
}

// newTestMachine returns a machine with the test globals and a persistent
// hook that wraps each id in a ref.
func newTestMachine(data []byte) *Machine {
	return &Machine{Data: data, Globals: testGlobals,
		Persistent: func(pid any) (any, error) { return ref{pid}, nil }}
}

// render writes a loaded value in gen_fixtures.py's notation.
func render(v any) string {
	join := func(items []any) string {
		s := make([]string, len(items))
		for i, x := range items {
			s[i] = render(x)
		}
		return strings.Join(s, ",")
	}
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case int64:
		return fmt.Sprint(x)
	case *big.Int:
		return x.String()
	case float64:
		return fmt.Sprintf("f:%016x", math.Float64bits(x))
	case string:
		return "s:" + hex.EncodeToString([]byte(x))
	case []byte:
		return "b:" + hex.EncodeToString(x)
	case Tuple:
		return "(" + join(x) + ")"
	case *List:
		return "[" + join(x.Items) + "]"
	case *Dict:
		s := make([]string, len(x.Keys))
		for i, k := range x.Keys {
			s[i] = render(k) + ":" + render(x.Values[i])
		}
		return "{" + strings.Join(s, ",") + "}"
	case ref:
		return "pid(" + render(x.pid) + ")"
	}
	return fmt.Sprintf("<%T>", v)
}

type fixture struct {
	Name, Pickle, Want string
	Protocol           int
	WantSHA256         string `json:"want_sha256"`
	data               []byte
}

// fixtures reads the pickles CPython wrote (testdata/gen_fixtures.py).
func fixtures(tb testing.TB) []fixture {
	raw, err := os.ReadFile("testdata/pickles.json")
	if err != nil {
		tb.Fatal(err)
	}
	var fs []fixture
	if err := json.Unmarshal(raw, &fs); err != nil {
		tb.Fatal(err)
	}
	for i := range fs {
		if fs[i].data, err = base64.StdEncoding.DecodeString(fs[i].Pickle); err != nil {
			tb.Fatal(err)
		}
	}
	return fs
}

// TestPythonPickles loads values pickled by CPython under protocols 0–5
// and compares them with Python's own rendering.
func TestPythonPickles(t *testing.T) {
	fs := fixtures(t)
	if len(fs) < 6*12 {
		t.Fatalf("%d fixtures; regenerate testdata/pickles.json", len(fs))
	}
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			m := newTestMachine(f.data)
			v, err := m.Load()
			if err != nil {
				t.Fatal(err)
			}
			if m.Pos != len(f.data) {
				t.Errorf("stopped at byte %d of %d", m.Pos, len(f.data))
			}
			got := render(v)
			if f.WantSHA256 != "" {
				if h := fmt.Sprintf("%x", sha256.Sum256([]byte(got))); h != f.WantSHA256 {
					t.Errorf("rendering %.200s… has SHA-256 %s, want %s", got, h, f.WantSHA256)
				}
			} else if got != f.Want {
				t.Errorf("got  %s\nwant %s", got, f.Want)
			}
		})
	}
}

// TestHandWritten covers the opcodes CPython 3 no longer writes (Python 2
// str, DUP, POP, POP_MARK) and the 8-byte lengths, in hand-written streams.
func TestHandWritten(t *testing.T) {
	for _, tc := range []struct{ name, data, want string }{
		{"STRING with escapes", "S'a\\'b\\\\\\n\\x00\\t\"'\n.", "s:6127625c0a000922"},
		{"STRING double-quoted", "S\"it's\"\r\n.", "s:69742773"},
		{"BINSTRING, SHORT_BINSTRING", "(T\x02\x00\x00\x00hiU\x02yot.", "(s:6869,s:796f)"},
		{"BINUNICODE8, BINBYTES8", "\x80\x04(\x8d\x02\x00\x00\x00\x00\x00\x00\x00\xc3\xa9\x8e\x01\x00\x00\x00\x00\x00\x00\x00\xfft.", "(s:c3a9,b:ff)"},
		{"INT booleans and LONG", "(I01\nI00\nI-7\nL-5L\nL123456789012345678901234567890L\nt.", "(True,False,-7,-5,123456789012345678901234567890)"},
		{"DUP, POP, POP_MARK", "K\x012(K\x02K\x031K\x040\x86.", "(1,1)"},
		{"PUT and GET by text", "]p7\n0g7\n.", "[]"},
		{"LONG4", "\x8b\x02\x00\x00\x00\xff\x7f.", "32767"},
		{"LONG1 of zero bytes", "\x8a\x00.", "0"},
		{"UNICODE escapes", "V\\u00e9\\U0001d11e\xe9\n.", "s:c3a9f09d849ec3a9"},
		{"FLOAT", "F-1.5e-3\n.", "f:bf589374bc6a7efa"},
		{"dict key set twice", "}(K\x01K\x02K\x01K\x03u.", "{1:3}"},
		{"PERSID", "Pkey\n.", "pid(s:6b6579)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := newTestMachine([]byte(tc.data)).Load()
			if err != nil {
				t.Fatal(err)
			}
			if got := render(v); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestProtocol0Plain reads data's protocol-0 pickle of plain values (written
// by data/testdata/make_cifar_pickles.py) and decodes Python's repr of
// every byte value, protocol 0's STRING form.
func TestProtocol0Plain(t *testing.T) {
	raw, err := os.ReadFile("../../data/testdata/cifar/protocol0_plain")
	if err != nil {
		t.Fatal(err)
	}
	v, err := (&Machine{Data: raw}).Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := render(v), "{s:6c6162656c73:[0,7,300,-5,1099511627776],s:6e616d65:s:78,s:74:(f:3ff8000000000000,True,None)}"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	var e struct {
		Repr string `json:"repr"`
	}
	expected, err := os.ReadFile("../../data/testdata/cifar/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(expected, &e); err != nil {
		t.Fatal(err)
	}
	b, err := UnquoteString(e.Repr)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 256 {
		t.Fatalf("repr of bytes 0..255 decoded to %d bytes", len(b))
	}
	for i := range 256 {
		if b[i] != byte(i) {
			t.Fatalf("repr of bytes 0..255 decoded wrong at %d", i)
		}
	}
}

// TestErrors: malformed and disallowed streams are errors that say what
// and where.
func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		machine    func([]byte) *Machine
		want       []string
	}{
		{"GLOBAL not allowed", "\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.", nil, []string{"global os.system is not allowed: only plain values", "at byte 2"}},
		{"STACK_GLOBAL not allowed", "\x80\x04\x8c\x08builtins\x8c\x04eval\x93.", nil, []string{"global builtins.eval is not allowed", "opcode 0x93 at byte 18"}},
		{"a class that cannot be called", "cbuiltins\nprint\n)R.", newTestMachine, []string{"builtins.print cannot be called"}},
		{"REDUCE of a non-global", "K\x01)R.", newTestMachine, []string{"REDUCE calls a int"}},
		{"NEWOBJ", "\x80\x02ccollections\nOrderedDict\n)\x81.", newTestMachine, []string{"unsupported opcode 0x81"}},
		{"INST", "(i__main__\nX\n.", nil, []string{"unsupported opcode 0x69"}},
		{"BUILD without a hook", "}}b.", nil, []string{"BUILD on a dict"}},
		{"persistent id without a hook", "K\x01Q.", nil, []string{"a persistent id, where none may be"}},
		{"string longer than the stream", "X\xff\xff\xff\xffab.", nil, []string{"a length of 4294967295 bytes runs past the end", "at byte 0"}},
		{"8-byte length", "\x8e\xff\xff\xff\xff\xff\xff\xff\xff.", nil, []string{"runs past the end"}},
		{"LONG4 length", "\x8b\xff\xff\xff\x7f.", nil, []string{"runs past the end"}},
		{"frame longer than the stream", "\x80\x04\x95\x00\x00\x01\x00\x00\x00\x00\x00N.", nil, []string{"runs past the end", "at byte 2"}},
		{"no STOP", "\x80\x02K\x01", nil, []string{"truncated", "at byte 4"}},
		{"cut argument", "\x80\x02J\x01\x00", nil, []string{"truncated"}},
		{"cut line", "cos\nsys", nil, []string{"truncated"}},
		{"protocol 6", "\x80\x06N.", nil, []string{"protocol 6 is newer than 5"}},
		{"stack underflow", "0.", nil, []string{"stack underflow"}},
		{"pop through a mark", "N(0.", nil, []string{"stack underflow"}},
		{"tuple without a mark", "Nt.", nil, []string{"no MARK"}},
		{"empty STOP", ".", nil, []string{"STOP at byte 0", "stack underflow"}},
		{"memo never stored", "h\x05.", nil, []string{"memo entry 5 was never stored"}},
		{"append to a dict", "}K\x01a.", nil, []string{"APPEND to a dict"}},
		{"setitem on a list", "]K\x01K\x02s.", nil, []string{"SETITEM on a list"}},
		{"odd setitems", "}(K\x01u.", nil, []string{"odd number"}},
		{"unhashable key", "}]K\x01s.", nil, []string{"unsupported dict key of type list"}},
		{"STACK_GLOBAL of ints", "K\x01K\x02\x93.", nil, []string{"needs two strings"}},
		{"bad INT", "Ix\n.", nil, []string{`INT "x"`}},
		{"bad STRING", "Sabc\n.", nil, []string{"not quoted"}},
		{"bad UNICODE escape", "V\\u12\n.", nil, []string{"short \\u escape"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &Machine{Data: []byte(tc.data), Hint: "only plain values"}
			if tc.machine != nil {
				m = tc.machine([]byte(tc.data))
			}
			v, err := m.Load()
			if err == nil {
				t.Fatalf("loaded %s", render(v))
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestTruncated: every proper prefix of every fixture is an error, never a
// panic or a value.
func TestTruncated(t *testing.T) {
	for _, f := range fixtures(t) {
		for n := 0; n < len(f.data); n += 1 + n/64 {
			if v, err := newTestMachine(f.data[:n]).Load(); err == nil {
				t.Errorf("%s: the first %d of %d bytes loaded as %.100s", f.Name, n, len(f.data), render(v))
			}
		}
	}
}

// TestBoundedMemory: lengths that claim more than the stream holds
// allocate nothing for it.
func TestBoundedMemory(t *testing.T) {
	for _, data := range []string{
		"\x8d\x00\x00\x00\x00\x00\x00\x00\x01x.",
		"\x96\x00\x00\x00\x00\x00\x01\x00\x00x.",
		"\x80\x04\x95\x00\x00\x00\x00\x01\x00\x00\x00N.",
		"\x8b\x00\x00\x00\x40\x00.",
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := (&Machine{Data: []byte(data)}).Load()
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%q: loaded", data)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<16 {
			t.Errorf("%q: allocated %d bytes", data, alloc)
		}
	}
}

// TestSequence reads two pickles one after the other, as torch.save's
// legacy format stores them, and the raw bytes after them.
func TestSequence(t *testing.T) {
	m := &Machine{Data: []byte("\x80\x02K\x07q\x00.\x80\x02h\x00.tail")}
	if v, err := m.Load(); err != nil || v != int64(7) {
		t.Fatalf("first pickle: %v, %v", v, err)
	}
	// The memo does not carry over from one pickle to the next.
	if _, err := m.Load(); err == nil || !strings.Contains(err.Error(), "memo entry 0") {
		t.Fatalf("second pickle: %v, want a missing memo entry", err)
	}
	m.Pos = len(m.Data) - 4
	if b, err := m.Read(4); err != nil || string(b) != "tail" {
		t.Errorf("read %q, %v", b, err)
	}
	if _, err := m.Read(1); !errors.Is(err, ErrTruncated) {
		t.Errorf("reading past the end: %v", err)
	}
}

// FuzzLoad feeds arbitrary bytes to the machine: it must return a value or
// an error, never panic, and never read past the stream. (Values are not
// rendered: a stream may build a list that holds itself.) The seeds are the
// CPython fixtures and the hand-written streams.
func FuzzLoad(f *testing.F) {
	for _, fx := range fixtures(f) {
		if len(fx.data) < 4096 {
			f.Add(fx.data)
		}
	}
	f.Add([]byte("\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R."))
	f.Add([]byte("(I01\nS'a\\x00'\nV\\u00e9\nL5L\nt."))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := newTestMachine(data)
		m.Build = func(obj, state any) error { return nil }
		if _, err := m.Load(); err == nil && m.Pos > len(data) {
			t.Fatalf("read to byte %d of %d", m.Pos, len(data))
		}
	})
}
