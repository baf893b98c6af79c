package npy

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestReadStrings(t *testing.T) {
	cases := []struct {
		file  string
		want  []string
		shape []int
	}{
		{"tiers_U.npy", []string{"train", "validation", "test", "final_test", "Ünï", ""}, []int{3, 2}},
		{"bytes_S.npy", []string{"ab", "c"}, []int{2}},
	}
	for _, c := range cases {
		got, shape, err := ReadStringsFile(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c.want) || !reflect.DeepEqual(shape, c.shape) {
			t.Errorf("%s: got %q %v, want %q %v", c.file, got, shape, c.want, c.shape)
		}
	}
	for _, c := range []struct{ file, want string }{
		{"object_O.npy", "object (pickled) arrays are not supported"},
		{"f4.npy", "not a string dtype"},
	} {
		_, _, err := ReadStringsFile(filepath.Join("testdata", c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.file) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", c.file, err, c.want)
		}
	}
}
