package recordings

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/internal/npy"
)

// writeUnicode writes a 1-D NumPy unicode array ("<Un") as np.save does.
func writeUnicode(t *testing.T, path string, vals []string) {
	t.Helper()
	width := 1
	for _, v := range vals {
		width = max(width, len([]rune(v)))
	}
	dict := fmt.Sprintf("{'descr': '<U%d', 'fortran_order': False, 'shape': (%d,), }", width, len(vals))
	pad := (64 - (10+len(dict)+1)%64) % 64
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(dict)+pad+1))
	b.WriteString(dict + strings.Repeat(" ", pad) + "\n")
	for _, v := range vals {
		r := []rune(v)
		for k := 0; k < width; k++ {
			var c uint32
			if k < len(r) {
				c = uint32(r[k])
			}
			binary.Write(&b, binary.LittleEndian, c)
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeNPY(t *testing.T, path string, data any, shape ...int) {
	t.Helper()
	a, err := npy.New(data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := npy.WriteFile(path, a); err != nil {
		t.Fatal(err)
	}
}

// sensoriumTrial is one trial of a generated folder.
type sensoriumTrial struct {
	tier string
	id   int64
}

// sensoriumImage is image id's 8×12 picture: integer values in [0, 255].
func sensoriumImage(id int64) []float32 {
	px := make([]float32, 8*12)
	for i := range px {
		px[i] = float32((int(id)*7 + i*3) % 256)
	}
	return px
}

// makeSensorium writes a static folder in the Sensorium 2022 layout with the
// given trials, neurons and, if behavior, behaviour files. Trial x's
// response of neuron n is 10x+n; behaviour is [x, −x, 2x]; pupil centre
// [x+0.5, x−0.5].
func makeSensorium(t *testing.T, dir string, trials []sensoriumTrial, neurons int, behavior bool) {
	t.Helper()
	tiers := make([]string, len(trials))
	ids := make([]int64, len(trials))
	for x, tr := range trials {
		tiers[x], ids[x] = tr.tier, tr.id
		writeNPY(t, filepath.Join(dir, "data", "images", fmt.Sprintf("%d.npy", x)), sensoriumImage(tr.id), 1, 8, 12)
		resp := make([]float32, neurons)
		for n := range resp {
			resp[n] = float32(10*x + n)
		}
		writeNPY(t, filepath.Join(dir, "data", "responses", fmt.Sprintf("%d.npy", x)), resp, neurons)
		if behavior {
			writeNPY(t, filepath.Join(dir, "data", "behavior", fmt.Sprintf("%d.npy", x)), []float32{float32(x), -float32(x), 2 * float32(x)}, 1, 3)
			writeNPY(t, filepath.Join(dir, "data", "pupil_center", fmt.Sprintf("%d.npy", x)), []float32{float32(x) + 0.5, float32(x) - 0.5}, 1, 2)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "meta", "trials"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeUnicode(t, filepath.Join(dir, "meta", "trials", "tiers.npy"), tiers)
	writeNPY(t, filepath.Join(dir, "meta", "trials", "frame_image_id.npy"), ids, len(ids))
	units := make([]int64, neurons)
	for n := range units {
		units[n] = int64(1000 + n)
	}
	writeNPY(t, filepath.Join(dir, "meta", "neurons", "unit_ids.npy"), units, neurons)
}

var scanATrials = []sensoriumTrial{
	{"train", 5}, {"test", 100}, {"validation", 6}, {"train", 7}, {"test", 100}, {"final_test", 200}, {"test", 101}, {"train", 8},
}

var scanBTrials = []sensoriumTrial{{"test", 100}, {"train", 9}, {"test", 100}}

func TestReadSensorium(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "static11111-1-1-GrayImageNet-0123abcd")
	b := filepath.Join(root, "static22222-3-4-GrayImageNet-0123abcd")
	makeSensorium(t, a, scanATrials, 3, true)
	makeSensorium(t, b, scanBTrials, 2, false)
	cfg := DefaultSensoriumConfig()
	cfg.Downsample = 2
	r, err := ReadSensorium([]string{a, b}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Sessions) != 2 || r.Sessions[0].Name != "11111-1-1" || r.Sessions[1].Name != "22222-3-4" {
		t.Fatalf("sessions %+v", r.Sessions)
	}
	// Images are merged by id across scans, in order of first presentation;
	// the final_test trial (id 200) is left out.
	if want := []int64{5, 100, 6, 7, 101, 8, 9}; !reflect.DeepEqual(r.ImageIDs, want) {
		t.Fatalf("image ids %v, want %v", r.ImageIDs, want)
	}
	// 2×2 block means of integers are not all integers: float32 in [0, 255].
	if r.Images.H != 4 || r.Images.W != 6 || r.Images.F32 == nil || r.Images.Range != [2]float64{0, 255} {
		t.Fatalf("images %d×%d, range %v, float %v", r.Images.H, r.Images.W, r.Images.Range, r.Images.F32 != nil)
	}
	src := sensoriumImage(100)
	want := (src[2*12+4] + src[2*12+5] + src[3*12+4] + src[3*12+5]) / 4
	if got := r.Images.F32[1*24+1*6+2]; got != want {
		t.Errorf("image 100 pixel (1, 2) = %v, want the block mean %v", got, want)
	}
	sa := &r.Sessions[0]
	if sa.Trials != 7 || sa.Neurons != 3 || !reflect.DeepEqual(sa.NeuronIDs, []int64{1000, 1001, 1002}) {
		t.Fatalf("scan A: %d trials × %d neurons, ids %v", sa.Trials, sa.Neurons, sa.NeuronIDs)
	}
	if !reflect.DeepEqual(sa.ImageIndex, []int{0, 1, 2, 3, 1, 4, 5}) ||
		!reflect.DeepEqual(sa.Test, []bool{false, true, false, false, true, true, false}) ||
		!reflect.DeepEqual(sa.Validation, []bool{false, false, true, false, false, false, false}) {
		t.Errorf("scan A: images %v test %v validation %v", sa.ImageIndex, sa.Test, sa.Validation)
	}
	// The response of kept trial 5 is file 6's (the final_test file 5 is skipped).
	if got := sa.Response(5); !reflect.DeepEqual(got, []float32{60, 61, 62}) {
		t.Errorf("scan A trial 5 responses %v", got)
	}
	be := sa.Behavior
	if be == nil || be.PupilSize[5] != 6 || be.Running[5] != 12 || be.Eye(5) != [2]float32{6.5, 5.5} {
		t.Errorf("scan A behaviour %+v", be)
	}
	sb := &r.Sessions[1]
	if sb.Behavior != nil || sb.Validation != nil || !reflect.DeepEqual(sb.ImageIndex, []int{1, 6, 1}) {
		t.Errorf("scan B: behaviour %v validation %v images %v", sb.Behavior, sb.Validation, sb.ImageIndex)
	}
	// Open finds both scans in the parent folder, and one scan alone.
	all, err := Open(root)
	if err != nil || len(all.Sessions) != 2 || all.Images.H != 8 || all.Images.U8 == nil {
		t.Fatalf("Open(parent): %v (%+v)", err, all)
	}
	one, err := Open(b)
	if err != nil || len(one.Sessions) != 1 || one.Sessions[0].Trials != 3 {
		t.Fatalf("Open(scan): %v", err)
	}
	// The recording saves and loads with its behaviour.
	path := filepath.Join(root, "rec.npz")
	if err := Save(path, r); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil || !reflect.DeepEqual(back.Sessions[0].Behavior, be) {
		t.Fatalf("round trip: %v", err)
	}
}

// TestReadSensoriumErrors breaks generated folders and checks that the
// errors name the bad file.
func TestReadSensoriumErrors(t *testing.T) {
	cases := []struct {
		name   string
		break_ func(t *testing.T, dir string) string // returns the file the error must name
		want   string
	}{
		{"corrupt response", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data", "responses", "3.npy")
			raw, _ := os.ReadFile(p)
			os.WriteFile(p, raw[:len(raw)-5], 0o644)
			return p
		}, "truncated"},
		{"not npy", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data", "images", "0.npy")
			os.WriteFile(p, []byte("\x89PNG\r\n\x1a\n not an array"), 0o644)
			return p
		}, "not a .npy file"},
		{"missing behaviour file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data", "behavior", "4.npy")
			os.Remove(p)
			return p
		}, "is missing (every trial needs one)"},
		{"missing pupil folder", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data", "pupil_center")
			os.RemoveAll(p)
			return p
		}, "behaviour needs data/behavior and data/pupil_center together"},
		{"wrong response count", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data", "responses", "2.npy")
			writeNPY(t, p, []float32{1, 2}, 2)
			return p
		}, "want 3 values"},
		{"missing ids", func(t *testing.T, dir string) string {
			os.Remove(filepath.Join(dir, "meta", "trials", "frame_image_id.npy"))
			return filepath.Join(dir, "meta", "trials")
		}, "frame_image_id.npy is present"},
		{"missing tiers", func(t *testing.T, dir string) string {
			os.Remove(filepath.Join(dir, "meta", "trials", "tiers.npy"))
			return filepath.Join(dir, "meta", "trials", "tiers.npy")
		}, "it needs meta/trials/tiers.npy"},
		{"nan behaviour", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "data", "behavior", "1.npy")
			writeNPY(t, p, []float64{1, nan(), 2}, 3)
			return p
		}, "value 1 is NaN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "static33333-1-2-GrayImageNet-x")
			makeSensorium(t, dir, scanATrials, 3, true)
			file := c.break_(t, dir)
			_, err := ReadSensorium([]string{dir}, DefaultSensoriumConfig())
			if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v should name %s and say %q", err, file, c.want)
			}
		})
	}
}

// TestSensoriumFolderReadsInNumPy checks that the generated layout is what
// NumPy (and so neuralpredictors' FileTreeDataset) reads.
func TestSensoriumFolderReadsInNumPy(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import numpy").Run(); err != nil {
		t.Skip("python3 with numpy not available")
	}
	dir := filepath.Join(t.TempDir(), "static11111-1-1-GrayImageNet-x")
	makeSensorium(t, dir, scanATrials, 3, true)
	script := `
import sys, numpy as np
d = sys.argv[1]
tiers = np.load(d + "/meta/trials/tiers.npy")
ids = np.load(d + "/meta/trials/frame_image_id.npy")
img = np.load(d + "/data/images/6.npy")
b = np.load(d + "/data/behavior/6.npy")
print(tiers.dtype.kind, list(tiers[[1, 5]]), ids[6], img.shape, b.shape, b[0, 2])
`
	out, err := exec.Command(py, "-c", script, dir).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "U ['test', 'final_test'] 101 (1, 8, 12) (1, 3) 12.0" {
		t.Fatalf("numpy reads the folder differently: %v\n%s", err, out)
	}
}
