package npy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixture recomputes the arrays written by testdata/gen.py from their
// index formulas.
func fixture(name string) *Array {
	shape := []int{2, 3, 4}
	switch name {
	case "f4":
		v := make([]float32, 24)
		for i := range v {
			v[i] = float32(i)*0.5 - 3
		}
		return &Array{Float32, shape, v}
	case "f8":
		v := make([]float64, 24)
		for i := range v {
			v[i] = float64(i)*0.25 - 1
		}
		return &Array{Float64, shape, v}
	case "i4":
		v := make([]int32, 24)
		for i := range v {
			v[i] = int32(i - 12)
		}
		return &Array{Int32, shape, v}
	case "i8":
		v := make([]int64, 24)
		for i := range v {
			v[i] = int64(i)*1000000000 - 5
		}
		return &Array{Int64, shape, v}
	case "u1":
		v := make([]uint8, 24)
		for i := range v {
			v[i] = uint8(i * 10 % 256)
		}
		return &Array{Uint8, shape, v}
	case "b1":
		v := make([]bool, 24)
		for i := range v {
			v[i] = i%3 == 0
		}
		return &Array{Bool, shape, v}
	}
	panic("unknown fixture " + name)
}

func TestReadNumpyFixtures(t *testing.T) {
	cases := []struct{ file, want string }{
		{"f4.npy", "f4"}, {"f8.npy", "f8"}, {"i4.npy", "i4"}, {"i8.npy", "i8"},
		{"u1.npy", "u1"}, {"b1.npy", "b1"}, {"v2_f4.npy", "f4"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			got, err := ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			if want := fixture(c.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestReadScalarAndVector(t *testing.T) {
	s, err := ReadFile("testdata/scalar_f8.npy")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Shape) != 0 || s.Len() != 1 || s.Data.([]float64)[0] != 2.5 {
		t.Errorf("scalar: got %+v", s)
	}
	v, err := ReadFile("testdata/vec_i8.npy")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Shape, []int{5}) || !reflect.DeepEqual(v.Data, []int64{0, 1, 2, 3, 4}) {
		t.Errorf("vector: got %+v", v)
	}
}

func TestReadErrorsNameFileAndProblem(t *testing.T) {
	cases := []struct{ file, want string }{
		{"fortran_f8.npy", "Fortran"},
		{"bigendian_f4.npy", "big-endian"},
		{"complex.npy", "unsupported dtype \"<c8\""},
		{"truncated_f8.npy", "truncated"},
		{"stored.npz", "not a .npy file"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", c.file)
			_, err := ReadFile(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q should name %s and contain %q", err, path, c.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	cases := []*Array{
		fixture("f4"), fixture("f8"), fixture("i4"), fixture("i8"), fixture("u1"), fixture("b1"),
		{Int16, []int{3}, []int16{-1, 0, 300}},
		{Uint16, []int{2}, []uint16{1, 65535}},
		{Int8, []int{2}, []int8{-128, 127}},
		{Uint32, []int{1}, []uint32{4000000000}},
		{Uint64, []int{1, 1}, []uint64{1 << 63}},
		{Float64, []int{}, []float64{-7}},
		{Float32, []int{0, 5}, []float32{}},
		// A shape long enough to force a version 2.0 header.
		{Uint8, bigShape(), make([]uint8, 0)},
	}
	for _, a := range cases {
		var buf bytes.Buffer
		if err := Write(&buf, a); err != nil {
			t.Fatalf("%s%v: %v", a.DType, a.Shape, err)
		}
		if buf.Len()%64 != a.Len()*a.DType.Size()%64 {
			t.Errorf("%s%v: header not padded to 64 bytes", a.DType, a.Shape)
		}
		got, err := Read(&buf)
		if err != nil {
			t.Fatalf("%s: %v", a.DType, err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("round trip: got %+v, want %+v", got, a)
		}
	}
}

func bigShape() []int {
	s := make([]int, 7000)
	for i := range s {
		s[i] = 1
	}
	s[0] = 0
	return s
}

func TestNPZFixtures(t *testing.T) {
	stored, err := ReadNPZ("testdata/stored.npz")
	if err != nil {
		t.Fatal(err)
	}
	if got := SortedNames(stored); !reflect.DeepEqual(got, []string{"a", "b", "s/x"}) {
		t.Errorf("stored names %v", got)
	}
	if !reflect.DeepEqual(stored["a"], fixture("f4")) || !reflect.DeepEqual(stored["b"], fixture("i8")) ||
		!reflect.DeepEqual(stored["s/x"], fixture("b1")) {
		t.Error("stored.npz contents differ from the generator's")
	}
	deflated, err := ReadNPZ("testdata/deflated.npz")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(deflated["a"], fixture("f4")) || !reflect.DeepEqual(deflated["b"], fixture("u1")) {
		t.Error("deflated.npz contents differ from the generator's")
	}
	if _, err := ReadNPZ("testdata/f4.npy"); err == nil || !strings.Contains(err.Error(), "testdata/f4.npy") {
		t.Errorf("reading a .npy as .npz: error %v should name the file", err)
	}
}

func TestNPZRoundTripDeterministic(t *testing.T) {
	entries := []Entry{{"x", fixture("f8")}, {"dir/y", fixture("u1")}}
	for _, compress := range []bool{false, true} {
		dir := t.TempDir()
		p1, p2 := filepath.Join(dir, "a.npz"), filepath.Join(dir, "b.npz")
		if err := WriteNPZ(p1, entries, compress); err != nil {
			t.Fatal(err)
		}
		if err := WriteNPZ(p2, entries, compress); err != nil {
			t.Fatal(err)
		}
		b1, _ := os.ReadFile(p1)
		b2, _ := os.ReadFile(p2)
		if !bytes.Equal(b1, b2) {
			t.Error("equal inputs gave different archives")
		}
		got, err := ReadNPZ(p1)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got["x"], entries[0].Array) || !reflect.DeepEqual(got["dir/y"], entries[1].Array) {
			t.Errorf("compress=%v: round trip differs", compress)
		}
	}
	if err := WriteNPZTo(&bytes.Buffer{}, []Entry{{"x", fixture("f4")}, {"x", fixture("f4")}}, false); err == nil {
		t.Error("repeated member name accepted")
	}
}

// TestNumpyReadsOurFiles checks that numpy.load accepts what Write and
// WriteNPZ produce. It skips when /usr/bin/python3 with NumPy is absent.
func TestNumpyReadsOurFiles(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("python3 with numpy not available")
	}
	dir := t.TempDir()
	if err := WriteFile(filepath.Join(dir, "f4.npy"), fixture("f4")); err != nil {
		t.Fatal(err)
	}
	if err := WriteNPZ(filepath.Join(dir, "z.npz"), []Entry{{"i8", fixture("i8")}, {"b1", fixture("b1")}}, true); err != nil {
		t.Fatal(err)
	}
	script := `
import numpy as np, sys
d = sys.argv[1]
b = np.arange(24).reshape(2, 3, 4)
a = np.load(d + "/f4.npy")
assert a.dtype == np.float32 and (a == b * 0.5 - 3).all()
z = np.load(d + "/z.npz")
assert sorted(z.files) == ["b1", "i8"]
assert z["i8"].dtype == np.int64 and (z["i8"] == b * 1000000000 - 5).all()
assert z["b1"].dtype == bool and (z["b1"] == (b % 3 == 0)).all()
print("ok")
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("numpy could not read our files: %v\n%s", err, out)
	}
}

func TestConversions(t *testing.T) {
	a := fixture("i4")
	f := a.Float64s()
	if f[0] != -12 || f[23] != 11 {
		t.Errorf("Float64s: %v", f)
	}
	i, err := fixture("f8").Int64s()
	if err == nil {
		t.Errorf("Int64s of non-integral floats gave %v", i)
	}
	i, err = (&Array{Float64, []int{2}, []float64{3, -4}}).Int64s()
	if err != nil || !reflect.DeepEqual(i, []int64{3, -4}) {
		t.Errorf("Int64s: %v %v", i, err)
	}
	if _, err := New([]float32{1, 2}, 3); err == nil {
		t.Error("New accepted a shape that does not match the data")
	}
	for _, s := range []string{"<f4", "|u1", "=i8", "float64", "?", "|b1"} {
		if _, err := ParseDescr(s); err != nil {
			t.Errorf("ParseDescr(%q): %v", s, err)
		}
	}
	for _, s := range []string{">f8", "<c16", "|O", "<U3", ""} {
		if _, err := ParseDescr(s); err == nil {
			t.Errorf("ParseDescr(%q) accepted", s)
		}
	}
}
