package pickle

import (
	"fmt"
	"math/big"
	"testing"
)

// render writes an unpickled value in a Python-like notation.
func render(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return fmt.Sprintf("%q", x)
	case Tuple:
		s := "("
		for i, e := range x {
			if i > 0 {
				s += ", "
			}
			s += render(e)
		}
		return s + ")"
	case *List:
		s := "["
		for i, e := range x.Items {
			if i > 0 {
				s += ", "
			}
			s += render(e)
		}
		return s + "]"
	case *Dict:
		s := "{"
		for i, k := range x.Keys {
			if i > 0 {
				s += ", "
			}
			s += render(k) + ": " + render(x.Values[i])
		}
		return s + "}"
	case *big.Int:
		return x.String()
	}
	return fmt.Sprint(v)
}

// TestUnpickle interprets pickles written by CPython 3 (pickle.dumps) and
// one in the form Python 2 gave OrderedDicts, and compares the values.
func TestUnpickle(t *testing.T) {
	for _, tc := range []struct {
		name, data, want string
	}{
		{"protocol 2 OrderedDict, negative and long ints",
			"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00xq\x02J\xfd\xff\xff\xffX\x01\x00\x00\x00yq\x03\x8a\x06\x00\x00\x00\x00\x00\x01X\x01\x00\x00\x00zq\x04\x8a\t\x00\x00\x00\x00\x00\x00\x00\x00\xc0u.",
			`{"x": -3, "y": 1099511627776, "z": -1180591620717411303424}`},
		{"protocol 4 frame, memoize, short strings",
			"\x80\x04\x95.\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94(K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88]\x94(M,\x01Jp\x11\x01\x00J\xff\xff\xff\xffe\x8c\x02\xc3\xa9\x94t\x94s.",
			`{"a": (1, 2.5, None, True, [300, 70000, -1], "é")}`},
		{"Python 2 OrderedDict of [key, value] lists",
			"\x80\x02ccollections\nOrderedDict\nq\x00]q\x01(]q\x02(X\x01\x00\x00\x00aq\x03K\x01e]q\x04(X\x01\x00\x00\x00bq\x05K\x02ee\x85q\x06Rq\x07.",
			`{"a": 1, "b": 2}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := &Machine{Data: []byte(tc.data), Globals: map[string]Func{"collections.OrderedDict": nil}}
			v, err := u.Load()
			if err != nil {
				t.Fatal(err)
			}
			if got := render(v); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
