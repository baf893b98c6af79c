package npy

import (
	"reflect"
	"strings"
	"testing"
)

func TestNPZReadRows(t *testing.T) {
	for _, file := range []string{"testdata/stored.npz", "testdata/deflated.npz"} {
		z, err := OpenNPZ(file)
		if err != nil {
			t.Fatal(err)
		}
		if !z.Has("a") || z.Has("zz") || z.Names()[0] != "a" {
			t.Errorf("%s: names %v", file, z.Names())
		}
		whole, err := z.Read("a")
		if err != nil || !reflect.DeepEqual(whole, fixture("f4")) {
			t.Fatalf("%s: Read: %v", file, err)
		}
		got, err := z.ReadRows("a", []bool{false, true})
		if err != nil {
			t.Fatal(err)
		}
		want := fixture("f4").Data.([]float32)[12:]
		if !reflect.DeepEqual(got.Shape, []int{1, 3, 4}) || !reflect.DeepEqual(got.Data, want) {
			t.Errorf("%s: second row: shape %v data %v", file, got.Shape, got.Data)
		}
		if _, err := z.ReadRows("a", []bool{true}); err == nil || !strings.Contains(err.Error(), "want 1 rows") || !strings.Contains(err.Error(), file) {
			t.Errorf("%s: wrong row count: %v", file, err)
		}
		if _, err := z.Read("zz"); err == nil || !strings.Contains(err.Error(), `no member "zz"`) {
			t.Errorf("%s: missing member: %v", file, err)
		}
		z.Close()
	}
}
