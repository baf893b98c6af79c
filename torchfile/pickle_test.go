package torchfile

import (
	"testing"

	"github.com/cotrain/cotrain/internal/pickle"
)

// TestOrderedDict rebuilds OrderedDicts as CPython 3 pickles them (an empty
// one, then SETITEMS), from a list of pairs, and as Python 2 did (a list of
// [key, value] lists).
func TestOrderedDict(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"CPython 3", "\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(X\x01\x00\x00\x00aq\x02K\x01X\x01\x00\x00\x00bq\x03K\x02u."},
		{"list of tuples", "\x80\x02ccollections\nOrderedDict\nq\x00]q\x01(X\x01\x00\x00\x00aq\x02K\x01\x86q\x03X\x01\x00\x00\x00bq\x04K\x02\x86q\x05e\x85q\x06Rq\x07."},
		{"Python 2", "\x80\x02ccollections\nOrderedDict\nq\x00]q\x01(]q\x02(X\x01\x00\x00\x00aq\x03K\x01e]q\x04(X\x01\x00\x00\x00bq\x05K\x02ee\x85q\x06Rq\x07."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := newMachine([]byte(tc.data)).Load()
			if err != nil {
				t.Fatal(err)
			}
			d, ok := v.(*pickle.Dict)
			if !ok || d.Len() != 2 {
				t.Fatalf("got %#v, want a dict of two items", v)
			}
			for k, want := range map[string]int64{"a": 1, "b": 2} {
				if got, _ := d.Get(k); got != want {
					t.Errorf("[%q] = %v, want %d", k, got, want)
				}
			}
		})
	}
	if _, err := newMachine([]byte("\x80\x02ccollections\nOrderedDict\nK\x01\x85R.")).Load(); err == nil {
		t.Error("OrderedDict(1) accepted")
	}
}
