package recordings

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/internal/npy"
)

func fixtureConfig() CSRFConfig {
	cfg := DefaultCSRFConfig()
	cfg.Crop = Crop{3, 3, 3, 3}
	return cfg
}

// TestReadCSRFMatchesPython compares ReadCSRF on the generated folder with
// the output of NumPy and skimage computed by testdata/gen_fixtures.py.
func TestReadCSRFMatchesPython(t *testing.T) {
	r, err := ReadCSRF("testdata/csrf", fixtureConfig())
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadNPZ("testdata/csrf_expected.npz")
	if err != nil {
		t.Fatal(err)
	}
	wi := want["images"]
	if r.Images.N != wi.Shape[0] || r.Images.H != wi.Shape[1] || r.Images.W != wi.Shape[2] {
		t.Fatalf("images %d×%d×%d, want %v", r.Images.N, r.Images.H, r.Images.W, wi.Shape)
	}
	if !reflect.DeepEqual(r.Images.U8, wi.Data) {
		t.Errorf("transformed images differ from skimage's:\n got %v\nwant %v", r.Images.U8, wi.Data)
	}
	if !reflect.DeepEqual(r.ImageIDs, []int64{1, 2, 3, 4, 5, 6}) {
		t.Errorf("image ids %v", r.ImageIDs)
	}
	names := []string{"3631896544452", "3631807112901", "3632669014376"}
	if len(r.Sessions) != 3 {
		t.Fatalf("%d sessions, want 3", len(r.Sessions))
	}
	for k, s := range r.Sessions {
		if s.Name != names[k] {
			t.Errorf("session %d named %q, want %q", k, s.Name, names[k])
		}
		p := fmt.Sprintf("s%d_", k)
		resp := want[p+"responses"]
		if s.Trials != resp.Shape[0] || s.Neurons != resp.Shape[1] || !reflect.DeepEqual(s.Responses, resp.Data) {
			t.Errorf("session %d: responses differ", k)
		}
		idx, _ := want[p+"image_index"].Int64s()
		for tr, v := range idx {
			if s.ImageIndex[tr] != int(v) {
				t.Errorf("session %d trial %d: image %d, want %d", k, tr, s.ImageIndex[tr], v)
			}
		}
		if !reflect.DeepEqual(s.Test, want[p+"test"].Data) {
			t.Errorf("session %d: test flags differ", k)
		}
		if groups := s.TestByImage(); len(groups) != 2 || len(groups[0].Trials) != 3 || groups[1].Image != 5 {
			t.Errorf("session %d: test groups %v", k, groups)
		}
	}
	// Saving and loading keeps everything.
	path := filepath.Join(t.TempDir(), "csrf.npz")
	if err := Save(path, r); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Error("CSRF recordings changed in a save/load round trip")
	}
}

func TestReadCSRFTimeBinsAndScale(t *testing.T) {
	cfg := fixtureConfig()
	cfg.TimeBins, cfg.Scale, cfg.Subsample, cfg.RawPixelsPerDegree = 14, 1, 2, 63
	r, err := ReadCSRF("testdata/csrf", cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 23 − 6 = 17 pixels, every second one: 9.
	if r.Images.H != 9 || r.Images.W != 9 || r.Meta.PixelsPerDegree != 31.5 {
		t.Errorf("size %d×%d ppd %v, want 9×9 and 31.5", r.Images.H, r.Images.W, r.Meta.PixelsPerDegree)
	}
	raw, err := npy.ReadFile("testdata/csrf/images/individual/000002.npy")
	if err != nil {
		t.Fatal(err)
	}
	src := raw.Data.([]uint8)
	if got, want := r.Images.U8[1*81+2*9+4], src[(3+2*2)*23+3+2*4]; got != want {
		t.Errorf("subsampled pixel %d, want %d", got, want)
	}
	// All 14 bins summed: responses can only grow relative to 12 bins.
	r12, _ := ReadCSRF("testdata/csrf", fixtureConfig())
	for k := range r.Sessions {
		for i, v := range r.Sessions[k].Responses {
			if v < r12.Sessions[k].Responses[i] {
				t.Fatalf("session %d: 14-bin sum %v below 12-bin sum %v", k, v, r12.Sessions[k].Responses[i])
			}
		}
	}
	cfg.Exclude = []string{"sessB.pickle"}
	r2, err := ReadCSRF("testdata/csrf", cfg)
	if err != nil || len(r2.Sessions) != 2 || r2.Sessions[1].Name != "3632669014376" {
		t.Errorf("exclusion: %v sessions, err %v", len(r2.Sessions), err)
	}
}

// TestRescaleSemantics checks the skimage rescale rules on cases with
// known answers.
func TestRescaleSemantics(t *testing.T) {
	cases := []struct {
		n     int
		scale float64
		want  int
	}{{232 - 72, 0.4, 64}, {152, 0.4, 61}, {5, 0.5, 2}, {7, 0.5, 4}, {1, 0.1, 1}}
	for _, c := range cases {
		if got := rescaledSize(c.n, c.scale); got != c.want {
			t.Errorf("rescaledSize(%d, %v) = %d, want %d", c.n, c.scale, got, c.want)
		}
	}
	// Downscaling a 1×10 ramp by 0.4 samples at 2.5·o + 0.75.
	ramp := []float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90}
	got := rescaleBilinear(ramp, 1, 10, 1, 4)
	if want := []float64{7.5, 32.5, 57.5, 82.5}; !reflect.DeepEqual(got, want) {
		t.Errorf("ramp: got %v, want %v", got, want)
	}
	// Upscaling reflects about the edge samples: 1×2 [0, 10] → 1×4 samples
	// at −0.25, 0.25, 0.75, 1.25; −0.25 mirrors to 0.25.
	got = rescaleBilinear([]float64{0, 10}, 1, 2, 1, 4)
	if want := []float64{2.5, 2.5, 7.5, 7.5}; !reflect.DeepEqual(got, want) {
		t.Errorf("mirror: got %v, want %v", got, want)
	}
	for _, c := range []struct{ i, n, want int }{{-1, 4, 1}, {4, 4, 2}, {-5, 4, 1}, {7, 4, 1}, {3, 1, 0}} {
		if got := mirror(c.i, c.n); got != c.want {
			t.Errorf("mirror(%d, %d) = %d, want %d", c.i, c.n, got, c.want)
		}
	}
}

// csrfDir copies the images of the fixture folder and the given pickle
// into a temporary CSRF folder.
func csrfDir(t *testing.T, pickle string) string {
	dir := t.TempDir()
	for _, sub := range []string{"images/individual", "neuronal_data"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files, _ := filepath.Glob("testdata/csrf/images/individual/*.npy")
	for _, f := range files {
		copyFile(t, f, filepath.Join(dir, "images/individual", filepath.Base(f)))
	}
	if pickle != "" {
		copyFile(t, pickle, filepath.Join(dir, "neuronal_data", filepath.Base(pickle)))
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadCSRFMalformed(t *testing.T) {
	cases := []struct{ pickle, want string }{
		{"missing_key.pickle", `missing key "testing_image_ids"`},
		{"wrong_shape.pickle", `"training_image_ids" has 3 ids but "training_responses" has 4 images`},
		{"few_bins.pickle", "5 time bins, fewer than the 12"},
		{"unknown_image.pickle", "image id 99, which has no file 000099.npy"},
		{"truncated.pickle", "truncated"},
	}
	for _, c := range cases {
		t.Run(c.pickle, func(t *testing.T) {
			dir := csrfDir(t, filepath.Join("testdata/bad", c.pickle))
			_, err := ReadCSRF(dir, fixtureConfig())
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.pickle) {
				t.Errorf("error %v should name %s and contain %q", err, c.pickle, c.want)
			}
		})
	}
	t.Run("no sessions", func(t *testing.T) {
		if _, err := ReadCSRF(csrfDir(t, ""), fixtureConfig()); err == nil || !strings.Contains(err.Error(), "no session pickles") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("crop too large", func(t *testing.T) {
		cfg := fixtureConfig()
		cfg.Crop = Crop{12, 12, 0, 0}
		if _, err := ReadCSRF("testdata/csrf", cfg); err == nil || !strings.Contains(err.Error(), "000001.npy") {
			t.Errorf("error %v should name the image", err)
		}
	})
	t.Run("bad image name", func(t *testing.T) {
		dir := csrfDir(t, "testdata/bad/missing_key.pickle")
		copyFile(t, "testdata/csrf/images/individual/000001.npy", filepath.Join(dir, "images/individual/first.npy"))
		if _, err := ReadCSRF(dir, fixtureConfig()); err == nil || !strings.Contains(err.Error(), "first.npy") {
			t.Errorf("error %v should name first.npy", err)
		}
	})
}

func TestReadCadenaMatchesPython(t *testing.T) {
	r, err := ReadCadena("testdata/cadena.pkl", DefaultCadenaConfig())
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadNPZ("testdata/cadena_expected.npz")
	if err != nil {
		t.Fatal(err)
	}
	if r.Images.N != 10 || r.Images.H != 8 || !reflect.DeepEqual(r.Images.F32, want["images"].Data) {
		t.Error("images differ")
	}
	if r.ImageIDs[0] != 101 || r.ImageIDs[9] != 110 {
		t.Errorf("image ids %v", r.ImageIDs)
	}
	if len(r.Sessions) != 2 || r.Sessions[0].Name != "subject3_session3631896544452" {
		t.Fatalf("sessions %d, first %q", len(r.Sessions), r.Sessions[0].Name)
	}
	wantIDs := [][]int64{{1, 2}, {1, 2, 3}}
	for k, s := range r.Sessions {
		p := fmt.Sprintf("s%d_", k)
		if !reflect.DeepEqual(s.Responses, want[p+"responses"].Data) {
			t.Errorf("session %d: responses differ:\n got %v\nwant %v", k, s.Responses, want[p+"responses"].Data)
		}
		valid := s.Valid
		if valid == nil { // nil means every entry was recorded
			valid = make([]bool, len(s.Responses))
			for i := range valid {
				valid[i] = true
			}
		}
		if !reflect.DeepEqual(valid, want[p+"valid"].Data) || (k == 0) != (s.Valid != nil) {
			t.Errorf("session %d: valid mask differs", k)
		}
		idx, _ := want[p+"image_index"].Int64s()
		if len(idx) != s.Trials {
			t.Fatalf("session %d: %d trials, want %d", k, s.Trials, len(idx))
		}
		for tr, v := range idx {
			if s.ImageIndex[tr] != int(v) {
				t.Errorf("session %d trial %d: image %d, want %d", k, tr, s.ImageIndex[tr], v)
			}
		}
		if !reflect.DeepEqual(s.Test, want[p+"test"].Data) {
			t.Errorf("session %d: test flags differ", k)
		}
		if !reflect.DeepEqual(s.NeuronIDs, wantIDs[k]) {
			t.Errorf("session %d: neuron ids %v", k, s.NeuronIDs)
		}
	}
	// The second session recorded 2 repeats: each test image has 2 trials.
	for _, g := range r.Sessions[1].TestByImage() {
		if len(g.Trials) != 2 {
			t.Errorf("second session, image %d: %d repeats, want 2", g.Image, len(g.Trials))
		}
	}
	if !strings.Contains(r.Meta.Notes, "conv1:2") {
		t.Errorf("notes %q should count image types", r.Meta.Notes)
	}
}

func TestReadCadenaMalformed(t *testing.T) {
	cases := []struct{ file, want string }{
		{"testdata/bad/missing_key.pickle", `missing key "images"`},
		{"testdata/bad/truncated.pickle", "truncated"},
		{"testdata/csrf_expected.npz", "cadena"},
		{"testdata/nonexistent.pkl", "nonexistent.pkl"},
	}
	for _, c := range cases {
		_, err := ReadCadena(c.file, DefaultCadenaConfig())
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) || !strings.Contains(err.Error(), filepath.Base(c.file)) {
			t.Errorf("%s: error %v should name the file and contain %q", c.file, err, c.want)
		}
	}
}
