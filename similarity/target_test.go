package similarity

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/internal/nprand"
	"github.com/cotrain/cotrain/internal/npy"
)

// testTarget returns a valid n-image target whose matrix is the cosine
// similarity of random centred vectors.
func testTarget(n int) *Target {
	const dim, h, w = 7, 3, 4
	r := nprand.New(5)
	x := make([]float64, n*dim)
	for i := range x {
		x[i] = r.Float64()
	}
	t := &Target{N: n, S: cosineMatrix(x, n, dim), H: h, W: w, Pixels: make([]uint8, n*h*w), ImageIDs: make([]int64, n),
		Meta: Metadata{Kind: KindModel, Recordings: "rec.npz", Predictor: "runs/p", Scans: []string{"a", "b"}}}
	for i := range t.Pixels {
		t.Pixels[i] = uint8(i % 251)
	}
	for i := range t.ImageIDs {
		t.ImageIDs[i] = int64(100 + 3*i)
	}
	t.Weights = []ScanWeights{{Scan: "a", SNR: []float32{1, 2}, Predictivity: []float32{0.5, 0.25}}, {Scan: "b", SNR: []float32{3}, Predictivity: []float32{0.125}}}
	return t
}

// cosineMatrix centres the rows of x (n×dim) across rows and returns their
// cosine similarities, symmetric with an exact unit diagonal.
func cosineMatrix(x []float64, n, dim int) []float32 {
	mean := make([]float64, dim)
	for i := 0; i < n; i++ {
		for d := 0; d < dim; d++ {
			mean[d] += x[i*dim+d] / float64(n)
		}
	}
	e := make([]float64, n*dim)
	for i := 0; i < n; i++ {
		var ss float64
		for d := 0; d < dim; d++ {
			e[i*dim+d] = x[i*dim+d] - mean[d]
			ss += e[i*dim+d] * e[i*dim+d]
		}
		for d := 0; d < dim; d++ {
			e[i*dim+d] /= math.Sqrt(ss)
		}
	}
	s := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			var dot float64
			for d := 0; d < dim; d++ {
				dot += e[i*dim+d] * e[j*dim+d]
			}
			if i == j {
				dot = 1
			}
			s[i*n+j], s[j*n+i] = float32(dot), float32(dot)
		}
	}
	return s
}

func TestSaveLoadRoundTrip(t *testing.T) {
	want := testTarget(6).Shuffled(3)
	path := filepath.Join(t.TempDir(), "s.npz")
	if err := Save(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.N != want.N || got.H != want.H || got.W != want.W || !slices.Equal(got.S, want.S) || !slices.Equal(got.Pixels, want.Pixels) ||
		!slices.Equal(got.ImageIDs, want.ImageIDs) || !slices.Equal(got.Permutation, want.Permutation) {
		t.Fatalf("round trip changed the target")
	}
	gm, _ := json.Marshal(got.Meta)
	wm, _ := json.Marshal(want.Meta)
	if string(gm) != string(wm) {
		t.Fatalf("metadata: got %s, want %s", gm, wm)
	}
	if len(got.Weights) != 2 || got.Weights[1].Scan != "b" || !slices.Equal(got.Weights[0].SNR, want.Weights[0].SNR) ||
		!slices.Equal(got.Weights[1].Predictivity, want.Weights[1].Predictivity) {
		t.Fatalf("weights: got %+v, want %+v", got.Weights, want.Weights)
	}
	// NumPy reads the members the docs name.
	arrays, err := npy.ReadNPZ(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, shape := range map[string][]int{"similarity": {6, 6}, "images": {6, 3, 4}, "image_ids": {6}, "snr": {3}, "predictivity": {3}, "permutation": {6}} {
		if a := arrays[name]; a == nil || !slices.Equal(a.Shape, shape) {
			t.Errorf("member %s: got %v, want shape %v", name, a, shape)
		}
	}
}

func TestShuffled(t *testing.T) {
	orig := testTarget(9)
	a, b := orig.Shuffled(11), orig.Shuffled(11)
	if !slices.Equal(a.S, b.S) || !slices.Equal(a.Permutation, b.Permutation) {
		t.Fatal("same seed gave different shuffles")
	}
	if c := orig.Shuffled(12); slices.Equal(a.Permutation, c.Permutation) {
		t.Fatal("seeds 11 and 12 gave the same permutation")
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("shuffled target is invalid: %v", err)
	}
	want := nprand.New(11).Permutation(9)
	if !slices.Equal(a.Permutation, want) {
		t.Fatalf("permutation %v, want numpy's %v", a.Permutation, want)
	}
	for i := 0; i < 9; i++ {
		for j := 0; j < 9; j++ {
			if a.At(i, j) != orig.At(want[i], want[j]) {
				t.Fatalf("S'[%d,%d] = %v, want S[%d,%d] = %v", i, j, a.At(i, j), want[i], want[j], orig.At(want[i], want[j]))
			}
		}
	}
	if !slices.Equal(a.Pixels, orig.Pixels) || !slices.Equal(a.ImageIDs, orig.ImageIDs) {
		t.Fatal("the images moved; only the similarities may")
	}
	if !a.Meta.Shuffled || a.Meta.ShuffleSeed != 11 || orig.Meta.Shuffled {
		t.Fatalf("metadata: shuffled %v seed %d (original %v)", a.Meta.Shuffled, a.Meta.ShuffleSeed, orig.Meta.Shuffled)
	}
	// Shuffling twice composes the permutations relative to the original.
	aa := a.Shuffled(4)
	for i := 0; i < 9; i++ {
		for j := 0; j < 9; j++ {
			if aa.At(i, j) != orig.At(aa.Permutation[i], aa.Permutation[j]) {
				t.Fatalf("twice shuffled: S''[%d,%d] does not match its recorded permutation", i, j)
			}
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good := testTarget(4)
	entries := func(mut func(map[string]*npy.Array)) []npy.Entry {
		js, _ := json.Marshal(fileMeta{Format: FormatName, Version: FormatVersion, Meta: good.Meta})
		m := map[string]*npy.Array{
			"metadata":   {DType: npy.Uint8, Shape: []int{len(js)}, Data: js},
			"similarity": {DType: npy.Float32, Shape: []int{4, 4}, Data: slices.Clone(good.S)},
			"images":     {DType: npy.Uint8, Shape: []int{4, 3, 4}, Data: good.Pixels},
			"image_ids":  {DType: npy.Int64, Shape: []int{4}, Data: good.ImageIDs},
		}
		mut(m)
		var out []npy.Entry
		for _, k := range npy.SortedNames(m) {
			out = append(out, npy.Entry{Name: k, Array: m[k]})
		}
		return out
	}
	setS := func(i, j int, v float32) func(map[string]*npy.Array) {
		return func(m map[string]*npy.Array) { m["similarity"].Data.([]float32)[i*4+j] = v }
	}
	cases := []struct {
		name string
		mut  func(map[string]*npy.Array)
		want string
	}{
		{"missing similarity", func(m map[string]*npy.Array) { delete(m, "similarity") }, "array similarity is missing"},
		{"missing images", func(m map[string]*npy.Array) { delete(m, "images") }, "array images is missing"},
		{"missing metadata", func(m map[string]*npy.Array) { delete(m, "metadata") }, "member metadata is missing"},
		{"not square", func(m map[string]*npy.Array) {
			m["similarity"] = &npy.Array{DType: npy.Float32, Shape: []int{2, 8}, Data: good.S}
		}, "want float32 [n, n]"},
		{"float64", func(m map[string]*npy.Array) {
			m["similarity"] = &npy.Array{DType: npy.Float64, Shape: []int{4, 4}, Data: make([]float64, 16)}
		}, "want float32 [n, n]"},
		{"images count", func(m map[string]*npy.Array) {
			m["images"] = &npy.Array{DType: npy.Uint8, Shape: []int{3, 4, 4}, Data: good.Pixels}
		}, "want uint8 [4, H, W]"},
		{"ids count", func(m map[string]*npy.Array) {
			m["image_ids"] = &npy.Array{DType: npy.Int64, Shape: []int{3}, Data: good.ImageIDs[:3]}
		}, "array image_ids: shape [3], want [4]"},
		{"NaN", setS(1, 2, float32(math.NaN())), "S[1,2] is NaN"},
		{"asymmetric", setS(0, 3, 0.5), "not symmetric: S[0,3] = 0.5"},
		{"diagonal", setS(2, 2, 0.9), "S[2,2] = 0.9"},
		{"range", func(m map[string]*npy.Array) { setS(0, 1, 1.5)(m); setS(1, 0, 1.5)(m) }, "outside [-1, 1]"},
		{"wrong format", func(m map[string]*npy.Array) {
			js := []byte(`{"format":"cotrain-responses","version":1}`)
			m["metadata"] = &npy.Array{DType: npy.Uint8, Shape: []int{len(js)}, Data: js}
		}, `format "cotrain-responses"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".npz")
			if err := npy.WriteNPZ(path, entries(c.mut), false); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("got %v, want an error naming %s and containing %q", err, path, c.want)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "absent.npz")); err == nil || !strings.Contains(err.Error(), "absent.npz") {
		t.Fatalf("missing file: got %v", err)
	}
	bad := testTarget(4)
	bad.S[1] = float32(math.NaN())
	if err := Save(filepath.Join(dir, "x.npz"), bad); err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("Save of a NaN matrix: got %v", err)
	}
}
