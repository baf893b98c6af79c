package datatest

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/jpeg"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestWriteTinyImageNetLayout(t *testing.T) {
	dir := t.TempDir()
	if err := WriteTinyImageNet(dir, 3, 4, 2, 9); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pattern string
		n       int
	}{
		{"train/*/images/*.JPEG", 12},
		{"train/*/*_boxes.txt", 3},
		{"val/images/*.JPEG", 6},
		{"val/val_annotations.txt", 1},
		{"wnids.txt", 1},
		{"test/images/*.JPEG", 1},
	}
	for _, tc := range tests {
		m, err := filepath.Glob(filepath.Join(dir, tc.pattern))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) != tc.n {
			t.Errorf("%s: %d files; want %d", tc.pattern, len(m), tc.n)
		}
	}
	ann, err := os.ReadFile(filepath.Join(dir, "val", "val_annotations.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(ann)), "\n")
	if len(lines) != 6 || len(strings.Split(lines[0], "\t")) != 6 {
		t.Errorf("annotations %q: want 6 lines of 6 tab-separated fields", ann)
	}
}

func TestWriteTinyImageNetFixtureContents(t *testing.T) {
	fx, err := WriteTinyImageNetFixture(t.TempDir(), TinyImageNetOptions{Classes: 2, PerClass: 3, ValPerClass: 2, Seed: 1, Corrupt: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(fx.WNIDs) != 2 || !slices.IsSorted(fx.WNIDs) || len(fx.ValWNID) != 4 {
		t.Fatalf("fixture %+v", fx)
	}
	if len(fx.GrayFiles) != 2 {
		t.Fatalf("gray files %v; want one in train and one in val", fx.GrayFiles)
	}
	for _, p := range fx.GrayFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := m.(*image.Gray); !ok {
			t.Errorf("%s decodes as %T; want a one-channel JPEG", p, m)
		}
	}
	b, err := os.ReadFile(fx.CorruptFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(b)); err == nil {
		t.Errorf("%s decodes; want a truncated JPEG", fx.CorruptFile)
	}
}

func TestWriteTinyImageNetDeterministic(t *testing.T) {
	digest := func(seed uint64) [32]byte {
		dir := t.TempDir()
		if err := WriteTinyImageNet(dir, 2, 3, 1, seed); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			b, err := os.ReadFile(p)
			h.Write([]byte(rel))
			h.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		return sum
	}
	if digest(5) != digest(5) {
		t.Error("the same seed wrote different fixtures")
	}
	if digest(5) == digest(6) {
		t.Error("different seeds wrote the same fixture")
	}
}

func TestWriteTinyImageNetRejectsBadSizes(t *testing.T) {
	if err := WriteTinyImageNet(t.TempDir(), 0, 1, 1, 0); err == nil {
		t.Error("zero classes accepted")
	}
}

func TestWriteCIFARBinaryLayout(t *testing.T) {
	tests := []struct {
		hundred bool
		files   map[string]int // file → size in bytes
	}{
		{false, map[string]int{"data_batch_1.bin": 2 * 3073, "data_batch_5.bin": 2 * 3073, "test_batch.bin": 2 * 3073}},
		{true, map[string]int{"train.bin": 10 * 3074, "test.bin": 2 * 3074}},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		train, test, err := WriteCIFARBinary(dir, tc.hundred, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(train) != 10 || len(test) != 2 {
			t.Errorf("hundred=%v: %d training and %d test records, want 10 and 2", tc.hundred, len(train), len(test))
		}
		for f, size := range tc.files {
			st, err := os.Stat(filepath.Join(dir, f))
			if err != nil || st.Size() != int64(size) {
				t.Errorf("hundred=%v: %s: %v, size %v, want %d", tc.hundred, f, err, st, size)
			}
		}
	}
}
