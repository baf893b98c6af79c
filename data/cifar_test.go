package data

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/datatest"
)

// cifarExpected is testdata/cifar/expected.json: per pickle file, the
// labels and (for test batches) each image's pixels in HWC order, hex.
type cifarExpected map[string]struct {
	Labels []int    `json:"labels"`
	Pixels []string `json:"pixels"`
}

func loadCIFARExpected(t *testing.T) cifarExpected {
	t.Helper()
	raw, err := os.ReadFile("testdata/cifar/expected.json")
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	delete(fields, "repr")
	rest, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	var e cifarExpected
	if err := json.Unmarshal(rest, &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// checkSet compares a set with labels and, if given, hex HWC pixels.
func checkSet(t *testing.T, set Set, labels []int, pixels []string) {
	t.Helper()
	if set.Len() != len(labels) {
		t.Fatalf("%s: %d images, want %d", set.Name(), set.Len(), len(labels))
	}
	for i := range labels {
		img, y, err := set.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		if y != labels[i] {
			t.Errorf("%s: image %d has label %d, want %d", set.Name(), i, y, labels[i])
		}
		if img.H != 32 || img.W != 32 || img.C != 3 {
			t.Fatalf("%s: image %d is %d×%d×%d", set.Name(), i, img.H, img.W, img.C)
		}
		if pixels != nil {
			want, err := hex.DecodeString(pixels[i])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(img.Pix, want) {
				t.Errorf("%s: image %d pixels differ from NumPy's HWC transpose", set.Name(), i)
			}
		}
	}
}

// TestCIFARPickleFolders opens the miniature cifar-10-batches-py and
// cifar-100-python folders (real pickle layout, written by
// testdata/cifar/make_cifar_pickles.py) and checks labels and pixels.
func TestCIFARPickleFolders(t *testing.T) {
	e := loadCIFARExpected(t)
	tests := []struct {
		dataset, folder string
		train           []string
		test            string
		classes         int
	}{
		{DatasetCIFAR10, "cifar-10-batches-py", []string{"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"}, "test_batch", 10},
		{DatasetCIFAR100, "cifar-100-python", []string{"train"}, "test", 100},
	}
	for _, tc := range tests {
		c, err := OpenCIFAR(tc.dataset, filepath.Join("testdata/cifar", tc.folder))
		if err != nil {
			t.Fatal(err)
		}
		// The parent folder, as torchvision's root, finds the same folder.
		if p, err := OpenCIFAR(tc.dataset, "testdata/cifar"); err != nil || p.root != c.root {
			t.Errorf("%s: opening the parent folder: %v (root %v)", tc.dataset, err, p)
		}
		if n := len(c.Classes()); n != tc.classes {
			t.Errorf("%s: %d classes, want %d", tc.dataset, n, tc.classes)
		}
		var labels []int
		for _, f := range tc.train {
			labels = append(labels, e[tc.folder+"/"+f].Labels...)
		}
		checkSet(t, c.train, labels, nil)
		test, err := c.Split(SplitTest)
		if err != nil {
			t.Fatal(err)
		}
		want := e[tc.folder+"/"+tc.test]
		checkSet(t, test, want.Labels, want.Pixels)
		train, err := c.Split(SplitTrain)
		if err != nil {
			t.Fatal(err)
		}
		val, err := c.Split(SplitValidation)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(labels); train.Len() != n-n/10 || val.Len() != n/10 {
			t.Errorf("%s: train %d and validation %d of %d images", tc.dataset, train.Len(), val.Len(), n)
		}
	}
}

// TestCIFARProtocol4 reads a batch re-pickled by Python 3 (protocol 4,
// bytes keys, STACK_GLOBAL).
func TestCIFARProtocol4(t *testing.T) {
	e := loadCIFARExpected(t)["py3_protocol4_batch"]
	raw, err := os.ReadFile("testdata/cifar/py3_protocol4_batch")
	if err != nil {
		t.Fatal(err)
	}
	pix, labels, err := decodeCIFARPickle(raw, "labels")
	if err != nil {
		t.Fatal(err)
	}
	s := &cifarSet{name: "protocol4", classes: CIFAR10Classes(), pix: interleave(pix), labels: labels}
	checkSet(t, s, e.Labels, e.Pixels)
}

// TestUnpickleTruncated: every proper prefix of a batch is an error, never
// a panic or a value.
func TestUnpickleTruncated(t *testing.T) {
	for _, name := range []string{"py3_protocol4_batch", "cifar-10-batches-py/data_batch_1"} {
		raw, err := os.ReadFile(filepath.Join("testdata/cifar", name))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(raw); n += 1 + n/64 {
			if _, err := unpickle(raw[:n]); err == nil {
				t.Errorf("%s: the first %d of %d bytes unpickled without error", name, n, len(raw))
			}
		}
	}
}

// writeCIFARBinary writes a miniature binary folder (datatest) and returns
// it with the records of each split.
func writeCIFARBinary(t *testing.T, dataset string, perBatch int, seed uint64) (string, map[string][]datatest.CIFARRecord) {
	t.Helper()
	dir := t.TempDir()
	train, test, err := datatest.WriteCIFARBinary(dir, dataset == DatasetCIFAR100, perBatch, seed)
	if err != nil {
		t.Fatal(err)
	}
	return dir, map[string][]datatest.CIFARRecord{SplitTrain: train, SplitTest: test}
}

// TestCIFARBinaryFolders reads synthetic binary folders and checks every
// pixel against the record: HWC pixel (y, x, c) is planar byte
// c·1024 + y·32 + x.
func TestCIFARBinaryFolders(t *testing.T) {
	for _, dataset := range []string{DatasetCIFAR10, DatasetCIFAR100} {
		dir, records := writeCIFARBinary(t, dataset, 3, 1)
		sp, err := ParseSpec(dataset + ":" + dir + ":test")
		if err != nil {
			t.Fatal(err)
		}
		d, err := sp.OpenDataset(OpenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c := d.(*CIFAR)
		for split, set := range map[string]Set{SplitTrain: c.train, SplitTest: c.test} {
			if set.Len() != len(records[split]) {
				t.Fatalf("%s %s: %d images, want %d", dataset, split, set.Len(), len(records[split]))
			}
			for i, r := range records[split] {
				img, y, err := set.Example(i)
				if err != nil {
					t.Fatal(err)
				}
				if y != r.Label {
					t.Errorf("%s %s image %d: label %d, want %d", dataset, split, i, y, r.Label)
				}
				for p := 0; p < 32*32*3; p += 97 {
					yy, x, ch := p/96, p/3%32, p%3
					if got, want := img.Pix[p], r.Planar[ch*1024+yy*32+x]; got != want {
						t.Fatalf("%s %s image %d: pixel (%d, %d, %d) = %d, want %d", dataset, split, i, yy, x, ch, got, want)
					}
				}
			}
		}
	}
}

// TestCIFARGrayNormalization checks the measured constants against the
// gray formula computed here in float64 from the raw records.
func TestCIFARGrayNormalization(t *testing.T) {
	dir, records := writeCIFARBinary(t, DatasetCIFAR10, 4, 2)
	norm, err := Spec{Dataset: DatasetCIFAR10, Root: dir, Split: SplitTrain}.Normalization()
	if err != nil {
		t.Fatal(err)
	}
	train, _, err := HoldoutSplit(20, 2, SplitSeed)
	if err != nil {
		t.Fatal(err)
	}
	var sum, sumsq, n float64
	for _, i := range train {
		r := records[SplitTrain][i].Planar
		for p := range 1024 {
			v := (0.2989*float64(r[p]) + 0.587*float64(r[1024+p]) + 0.114*float64(r[2048+p])) / 255
			sum += v
			sumsq += v * v
			n++
		}
	}
	mean := sum / n
	std := math.Sqrt(sumsq/n - mean*mean)
	if math.Abs(float64(norm.Mean)-mean) > 1e-6 || math.Abs(float64(norm.Std)-std) > 1e-6 {
		t.Errorf("normalization %+v, want mean %.7f std %.7f", norm, mean, std)
	}
}

// TestCIFARBadInputs: damaged folders give errors that name the file.
func TestCIFARBadInputs(t *testing.T) {
	copyDir := func(t *testing.T, src string) string {
		dst := t.TempDir()
		entries, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			raw, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, e.Name()), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	edit := func(f func([]byte) []byte) func(string) error {
		return func(path string) error {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(path, f(raw), 0o644)
		}
	}
	replace := func(old, new string) func(string) error {
		return edit(func(b []byte) []byte {
			if !bytes.Contains(b, []byte(old)) {
				panic(fmt.Sprintf("fixture lacks %q", old))
			}
			return bytes.Replace(b, []byte(old), []byte(new), 1)
		})
	}
	tests := []struct {
		name     string
		dataset  string
		pickle   bool   // start from the pickle fixture folder, else a binary one
		file     string // the file to damage
		damage   func(path string) error
		wantFile bool // the error names the file
		want     string
	}{
		{"binary truncated", DatasetCIFAR10, false, "data_batch_3.bin", edit(func(b []byte) []byte { return b[:len(b)-100] }), true, "not a whole, positive number of 3073-byte records"},
		{"binary empty", DatasetCIFAR10, false, "test_batch.bin", edit(func([]byte) []byte { return nil }), true, "not a whole, positive number"},
		{"binary bad label", DatasetCIFAR10, false, "data_batch_1.bin", edit(func(b []byte) []byte { b[3073] = 10; return b }), true, "image 1 has label 10; want 0..9"},
		{"binary bad coarse label", DatasetCIFAR100, false, "train.bin", edit(func(b []byte) []byte { b[0] = 20; return b }), true, "coarse label 20"},
		{"binary bad fine label", DatasetCIFAR100, false, "test.bin", edit(func(b []byte) []byte { b[1] = 100; return b }), true, "label 100; want 0..99"},
		{"binary 100 truncated", DatasetCIFAR100, false, "train.bin", edit(func(b []byte) []byte { return append(b, 0) }), true, "3074-byte records"},
		{"missing test batch", DatasetCIFAR10, false, "test_batch.bin", os.Remove, true, "is missing; re-extract cifar-10-binary.tar.gz"},
		{"missing later batch", DatasetCIFAR10, false, "data_batch_5.bin", os.Remove, true, "is missing"},
		{"no training batch", DatasetCIFAR100, false, "train.bin", os.Remove, false, "holds no training batch; expected the extracted cifar-100-binary folder"},
		{"pickle truncated", DatasetCIFAR10, true, "data_batch_2", edit(func(b []byte) []byte { return b[:len(b)/2] }), true, "truncated"},
		{"pickle unexpected global", DatasetCIFAR10, true, "test_batch", replace("cnumpy\ndtype\n", "cos\nsystem\n"), true, "global os.system"},
		{"pickle reconstructs something else", DatasetCIFAR100, true, "train", replace("cnumpy\nndarray\n", "cnumpy\nmatrix\n"), true, "global numpy.matrix"},
		{"pickle wrong dtype", DatasetCIFAR10, true, "data_batch_1", replace("U\x02u1", "U\x02i1"), true, "want uint8"},
		{"pickle no labels", DatasetCIFAR10, true, "data_batch_4", replace("U\x06labels", "U\x06labelz"), true, `the dict has no "labels"`},
		{"pickle fine labels missing", DatasetCIFAR100, true, "test", replace("U\x0bfine_labels", "U\x0bfine_labelz"), true, `no "fine_labels"`},
		{"pickle not a dict", DatasetCIFAR10, true, "data_batch_1", edit(func([]byte) []byte { return []byte("\x80\x02K\x01.") }), true, "not a dict"},
		{"pickle label out of range", DatasetCIFAR10, true, "test_batch", replace("]q\x05(K\x06", "]q\x05(K\x0a"), true, "label 10"},
		{"pickle with an object", DatasetCIFAR10, true, "test_batch", replace("U\x06labels", "U\x06labels\x81"), true, "unsupported opcode 0x81"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var dir string
			if tc.pickle {
				folder := "cifar-10-batches-py"
				if tc.dataset == DatasetCIFAR100 {
					folder = "cifar-100-python"
				}
				dir = copyDir(t, filepath.Join("testdata/cifar", folder))
			} else {
				dir, _ = writeCIFARBinary(t, tc.dataset, 2, 3)
			}
			path := filepath.Join(dir, tc.file)
			if err := tc.damage(path); err != nil {
				t.Fatal(err)
			}
			_, err := OpenCIFAR(tc.dataset, dir)
			if err == nil {
				t.Fatal("opened a damaged folder")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if tc.wantFile && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestCIFARClasses(t *testing.T) {
	for _, names := range [][]string{CIFAR10Classes(), CIFAR100Classes()} {
		if !slices.IsSorted(names) && len(names) == 100 {
			t.Error("CIFAR-100 fine labels are not alphabetical")
		}
		if c := slices.Compact(slices.Sorted(slices.Values(names))); len(c) != len(names) {
			t.Errorf("%d class names, %d distinct", len(names), len(c))
		}
	}
	if len(CIFAR100Classes()) != 100 || len(CIFAR10Classes()) != 10 {
		t.Errorf("%d and %d classes", len(CIFAR10Classes()), len(CIFAR100Classes()))
	}
}
