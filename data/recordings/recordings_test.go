package recordings

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/internal/npy"
)

// sample builds a small two-session recording by hand.
func sample() *Recordings {
	r := &Recordings{
		Images:   Images{N: 4, H: 2, W: 3, U8: make([]uint8, 24), Range: [2]float64{0, 255}},
		ImageIDs: []int64{1, 2, 3, 4},
		Meta:     Metadata{Source: "test", PixelsPerDegree: 14, ResponseWindow: "40-160 ms", Notes: "hand-made"},
	}
	for i := range r.Images.U8 {
		r.Images.U8[i] = uint8(i * 10)
	}
	r.Sessions = []Session{
		{
			Name: "a", Trials: 5, Neurons: 2, NeuronIDs: []int64{7, 8},
			Responses:  []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
			ImageIndex: []int{0, 1, 3, 3, 3},
			Test:       []bool{false, false, true, true, true},
		},
		{
			Name: "b", Trials: 3, Neurons: 1, NeuronIDs: []int64{9},
			Responses:  []float32{0.5, 1.5, 2.5},
			Valid:      []bool{true, false, true},
			ImageIndex: []int{2, 3, 2},
			Test:       []bool{false, true, true},
		},
	}
	return r
}

func TestRoundTrip(t *testing.T) {
	for _, float := range []bool{false, true} {
		r := sample()
		if float {
			r.Images.F32 = make([]float32, 24)
			for i, v := range r.Images.U8 {
				r.Images.F32[i] = float32(v) / 255
			}
			r.Images.U8, r.Images.Range = nil, [2]float64{0, 1}
		}
		path := filepath.Join(t.TempDir(), "rec.npz")
		if err := Save(path, r); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Errorf("float=%v: round trip differs:\n got %+v\nwant %+v", float, got, r)
		}
	}
}

func TestHelpers(t *testing.T) {
	r := sample()
	s := &r.Sessions[0]
	if got := s.TrainTrials(); !reflect.DeepEqual(got, []int{0, 1}) {
		t.Errorf("TrainTrials = %v", got)
	}
	if got := s.TestByImage(); !reflect.DeepEqual(got, []TestGroup{{3, []int{2, 3, 4}}}) {
		t.Errorf("TestByImage = %v", got)
	}
	if got := r.Sessions[1].TestByImage(); !reflect.DeepEqual(got, []TestGroup{{2, []int{2}}, {3, []int{1}}}) {
		t.Errorf("TestByImage = %v", got)
	}
	if got := s.Response(2); !reflect.DeepEqual(got, []float32{5, 6}) {
		t.Errorf("Response(2) = %v", got)
	}
	if px := r.Images.Pixels(1); px[0] != 60.0/255 {
		t.Errorf("Pixels(1)[0] = %v", px[0])
	}
	// Pixel stats against a direct two-pass computation.
	var sum float64
	for i := range r.Images.U8 {
		sum += float64(r.Images.U8[i]) / 255
	}
	mean, std := r.PixelStats()
	if d := mean - sum/24; d*d > 1e-20 {
		t.Errorf("mean %v, want %v", mean, sum/24)
	}
	// Values are 0, 10/255, ..., 230/255: std (ddof 1) of an arithmetic
	// sequence is step·sqrt(n(n+1)/12).
	want := 10.0 / 255 * 7.0710678118654755
	if d := std - want; d*d > 1e-20 {
		t.Errorf("std %v, want %v", std, want)
	}
}

// TestSplitMatchesNumpy checks the id split against values printed by
// np.random.seed(1000); np.random.permutation(np.arange(1, 11)).
func TestSplitMatchesNumpy(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("python3 with numpy not available")
	}
	for _, n := range []int{10, 75, 1001} {
		out, err := exec.Command(py, "-c",
			"import numpy as np, sys; n=int(sys.argv[1]); np.random.seed(1000); "+
				"t, v = np.split(np.random.permutation(np.arange(1, n+1)), [int(n*0.8)]); "+
				"print(' '.join(map(str, t))); print(' '.join(map(str, v)))", strconv.Itoa(n)).Output()
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		train, val := SplitImageIDs(n, DefaultTrainFrac, DefaultSplitSeed)
		if join(train) != lines[0] || join(val) != lines[1] {
			t.Errorf("n=%d: split differs from NumPy", n)
		}
	}
}

func TestTrainValidation(t *testing.T) {
	r := sample()
	trainIDs, _ := SplitImageIDs(4, 0.5, 3)
	isTrain := map[int64]bool{}
	for _, id := range trainIDs {
		isTrain[id] = true
	}
	train, val := r.TrainValidation(0.5, 3)
	for k, s := range r.Sessions {
		var wantT, wantV []int
		for _, tr := range s.TrainTrials() {
			if isTrain[r.ImageIDs[s.ImageIndex[tr]]] {
				wantT = append(wantT, tr)
			} else {
				wantV = append(wantV, tr)
			}
		}
		if !reflect.DeepEqual(train[k], wantT) || !reflect.DeepEqual(val[k], wantV) {
			t.Errorf("session %d: train %v val %v, want %v %v", k, train[k], val[k], wantT, wantV)
		}
	}
}

func TestValidateNamesField(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(r *Recordings)
		want   string
	}{
		{"image index", func(r *Recordings) { r.Sessions[1].ImageIndex[0] = 4 }, "session_001/image_index: trial 0"},
		{"nan", func(r *Recordings) { r.Sessions[0].Responses[3] = float32(nan()) }, "session_000/responses: trial 1 neuron 1"},
		{"shape", func(r *Recordings) { r.Sessions[0].Trials = 4 }, "session_000/responses"},
		{"ids", func(r *Recordings) { r.ImageIDs = r.ImageIDs[:3] }, "image_ids"},
		{"dup ids", func(r *Recordings) { r.ImageIDs[1] = 1 }, "image_ids: id 1 appears twice"},
		{"test", func(r *Recordings) { r.Sessions[0].Test = r.Sessions[0].Test[:1] }, "session_000/test"},
		{"valid", func(r *Recordings) { r.Sessions[1].Valid = r.Sessions[1].Valid[:1] }, "session_001/valid"},
		{"neuron ids", func(r *Recordings) { r.Sessions[0].NeuronIDs = nil }, "session_000/neuron_ids"},
		{"pixels", func(r *Recordings) { r.Images.U8 = r.Images.U8[:5] }, "images"},
		{"range", func(r *Recordings) { r.Images.Range = [2]float64{1, 1} }, "image_range"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sample()
			c.break_(r)
			err := Save(filepath.Join(t.TempDir(), "x.npz"), r)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "x.npz") {
				t.Errorf("error %v should name x.npz and contain %q", err, c.want)
			}
		})
	}
}

// TestLoadMalformed writes archives with missing or wrong members and
// checks that Load names the file and the member.
func TestLoadMalformed(t *testing.T) {
	good := filepath.Join(t.TempDir(), "good.npz")
	if err := Save(good, sample()); err != nil {
		t.Fatal(err)
	}
	arrays, err := npy.ReadNPZ(good)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(m map[string]*npy.Array)
		want   string
	}{
		{"missing responses", func(m map[string]*npy.Array) { delete(m, "session_001/responses") }, "field session_001/responses is missing"},
		{"missing metadata", func(m map[string]*npy.Array) { delete(m, "metadata") }, "field metadata is missing"},
		{"bad json", func(m map[string]*npy.Array) { m["metadata"] = mustNew([]uint8("{"), 1) }, "field metadata: not valid JSON"},
		{"images 2-D", func(m map[string]*npy.Array) { m["images"] = mustNew(make([]uint8, 6), 2, 3) }, "field images: shape [2 3]"},
		{"images int", func(m map[string]*npy.Array) { m["images"] = mustNew(make([]int32, 24), 4, 2, 3) }, "field images: dtype i4"},
		{"index range", func(m map[string]*npy.Array) { m["session_000/image_index"] = mustNew([]int64{0, 1, 9, 3, 3}, 5) }, "session_000/image_index: trial 2 shows image 9"},
		{"stray member", func(m map[string]*npy.Array) { m["session_005/test"] = mustNew([]bool{true}, 1) }, "field session_005/test: metadata lists 2 sessions"},
		{"test dtype", func(m map[string]*npy.Array) { m["session_000/test"] = mustNew([]int64{0, 0, 1, 1, 1}, 5) }, "session_000/test: dtype i8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]*npy.Array{}
			for k, v := range arrays {
				m[k] = v
			}
			c.change(m)
			var entries []npy.Entry
			for _, k := range npy.SortedNames(m) {
				entries = append(entries, npy.Entry{Name: k, Array: m[k]})
			}
			path := filepath.Join(t.TempDir(), "bad.npz")
			if err := npy.WriteNPZ(path, entries, false); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v should name %s and contain %q", err, path, c.want)
			}
		})
	}
	// A truncated archive.
	raw, _ := os.ReadFile(good)
	path := filepath.Join(t.TempDir(), "cut.npz")
	os.WriteFile(path, raw[:len(raw)/2], 0o644)
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated archive: error %v should name the file", err)
	}
}

// TestPythonReadsFormat runs the reading recipe of docs/recordings.md on a
// saved file.
func TestPythonReadsFormat(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("python3 with numpy not available")
	}
	path := filepath.Join(t.TempDir(), "rec.npz")
	if err := Save(path, sample()); err != nil {
		t.Fatal(err)
	}
	script := `
import json, sys
import numpy as np
z = np.load(sys.argv[1])
meta = json.loads(z["metadata"].tobytes())
assert meta["format"] == "cotrain-recordings" and meta["version"] == 1
images = z["images"]
assert images.shape == (4, 2, 3) and images.dtype == np.uint8
for k, s in enumerate(meta["sessions"]):
    p = f"session_{k:03d}/"
    resp, idx, test = z[p + "responses"], z[p + "image_index"], z[p + "test"]
    valid = z[p + "valid"] if p + "valid" in z.files else np.ones(resp.shape, bool)
    assert resp.dtype == np.float32 and resp.shape[0] == len(idx) == len(test) and valid.shape == resp.shape
print(meta["sessions"][1]["name"], z["session_000/responses"][2, 1], meta["pixels_per_degree"])
`
	out, err := exec.Command(py, "-c", script, path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "b 6.0 14" {
		t.Fatalf("python could not read the format: %v\n%s", err, out)
	}
}

func mustNew(data any, shape ...int) *npy.Array {
	a, err := npy.New(data, shape...)
	if err != nil {
		panic(err)
	}
	return a
}

func nan() float64 {
	var z float64
	return z / z
}

func join(v []int64) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatInt(x, 10)
	}
	return strings.Join(s, " ")
}
