package robustness

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/datatest"
)

// tinFixture writes a miniature Tiny ImageNet and, beside it, a
// Tiny-ImageNet-C folder whose cells hold copies of the val images (so
// each cell is the clean test set, file for file).
func tinFixture(t *testing.T, cells []Cell) (tin *data.TinyImageNet, cRoot string, fx *datatest.TinyImageNetFixture) {
	t.Helper()
	dir := t.TempDir()
	fx, err := datatest.WriteTinyImageNetFixture(filepath.Join(dir, "tin"), datatest.TinyImageNetOptions{Classes: 3, PerClass: 1, ValPerClass: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	cRoot = filepath.Join(dir, "tin-c")
	for _, cell := range cells {
		for name, wnid := range fx.ValWNID {
			raw, err := os.ReadFile(filepath.Join(fx.Root, "val", "images", name))
			if err != nil {
				t.Fatal(err)
			}
			d := filepath.Join(cRoot, cell.Corruption, strconv.Itoa(cell.Severity), wnid)
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, name), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	tin, err = data.OpenTinyImageNet(fx.Root, data.TinyImageNetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tin, cRoot, fx
}

func TestFolderSet(t *testing.T) {
	tin, root, fx := tinFixture(t, []Cell{{"fog", 1}})
	// Clutter that must be skipped.
	if err := os.WriteFile(filepath.Join(root, "fog", "1", "README.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "fog", "1", fx.WNIDs[0], "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(root, FolderOptions{Classes: fx.WNIDs})
	if err != nil {
		t.Fatal(err)
	}
	set, err := f.Set("fog", 1)
	if err != nil {
		t.Fatal(err)
	}
	test, err := tin.Split(data.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 12 || test.Len() != 12 {
		t.Fatalf("folder cell holds %d images, test set %d; want 12", set.Len(), test.Len())
	}
	if !slices.Equal(set.Classes(), fx.WNIDs) {
		t.Errorf("classes %v, want %v", set.Classes(), fx.WNIDs)
	}
	// The cell is a copy of the val images: same order, labels and pixels
	// as data.TinyImageNet's test split.
	for k := range set.Len() {
		a, la, err := set.Example(k)
		if err != nil {
			t.Fatal(err)
		}
		b, lb, err := test.Example(k)
		if err != nil {
			t.Fatal(err)
		}
		if la != lb || !reflect.DeepEqual(a, b) {
			t.Fatalf("image %d: label %d, want %d, or pixels differ from the test split", k, la, lb)
		}
		if k > 0 {
			if _, prev, _ := set.Example(k - 1); prev > la {
				t.Fatalf("labels not in order at image %d", k)
			}
		}
	}

	t.Run("padding", func(t *testing.T) {
		f, err := OpenFolder(root, FolderOptions{Classes: fx.WNIDs, Side: 68})
		if err != nil {
			t.Fatal(err)
		}
		set, err := f.Set("fog", 1)
		if err != nil {
			t.Fatal(err)
		}
		img, _, err := set.Example(0)
		if err != nil {
			t.Fatal(err)
		}
		clean, _, _ := test.Example(0)
		if !reflect.DeepEqual(img, data.PadImage(clean, 2)) {
			t.Fatalf("padded image is %d×%d, not the test image padded by 2", img.H, img.W)
		}
		f, _ = OpenFolder(root, FolderOptions{Classes: fx.WNIDs, Side: 65})
		set, _ = f.Set("fog", 1)
		if _, _, err := set.Example(0); err == nil || !strings.Contains(err.Error(), "cannot reach") {
			t.Fatalf("odd padding: error %v", err)
		}
	})

	for _, tc := range []struct {
		name    string
		classes []string
		cell    Cell
		want    string
	}{
		{"missing cell", fx.WNIDs, Cell{"fog", 2}, "fog at severity 2"},
		{"missing corruption", fx.WNIDs, Cell{"snow", 1}, "snow at severity 1"},
		{"foreign class folder", fx.WNIDs[:2], Cell{"fog", 1}, "is not one of the model's 2 classes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := OpenFolder(root, FolderOptions{Classes: tc.classes})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Set(tc.cell.Corruption, tc.cell.Severity); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, root string
		classes    []string
		want       string
	}{
		{"no folder", filepath.Join(root, "nope"), fx.WNIDs, "no such file"},
		{"a file", filepath.Join(root, "fog", "1", "README.txt"), fx.WNIDs, "not a directory"},
		{"no classes", root, nil, "no class names"},
		{"duplicate class", root, []string{"a", "a"}, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := OpenFolder(tc.root, FolderOptions{Classes: tc.classes}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestEvaluateFolder evaluates with precomputed cells that are copies of
// the clean images: every cell must give the clean results.
func TestEvaluateFolder(t *testing.T) {
	cells := []Cell{{"fog", 1}, {"fog", 2}, {"snow", 1}, {"snow", 2}}
	tin, root, fx := tinFixture(t, cells)
	test, err := tin.Split(data.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	f, err := OpenFolder(root, FolderOptions{Classes: fx.WNIDs})
	if err != nil {
		t.Fatal(err)
	}
	info := checkpoint.RunInfo{Normalize: testNorm, Classes: fx.WNIDs, Seed: 1, Input: [2]int{64, 64}}
	rule := meanRule(0)
	fake := &recorder{rule: func(p []float32) int { return 2 * rule(p) }}
	res, err := evaluateWith(context.Background(), []predictor{fake}, []checkpoint.RunInfo{info}, test,
		Options{Corruptions: []string{"fog", "snow"}, Severities: 2, Folder: f, BatchSize: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Setup != (Setup{Data: test.Name(), NumImages: 12, Folder: root}) {
		t.Errorf("setup %+v", r.Setup)
	}
	if !slices.Contains(r.Clean, true) || !slices.Contains(r.Clean, false) {
		t.Fatalf("clean results %v: the test needs both outcomes", r.Clean)
	}
	for c := range r.Corrupted {
		for s := range r.Corrupted[c] {
			if !slices.Equal(r.Corrupted[c][s], r.Clean) {
				t.Fatalf("%s severity %d: results %v differ from the clean ones %v", r.Corruptions[c], s+1, r.Corrupted[c][s], r.Clean)
			}
		}
	}
	// With a limit, the first images of every cell.
	res, err = evaluateWith(context.Background(), []predictor{fake}, []checkpoint.RunInfo{info}, test,
		Options{Corruptions: []string{"fog"}, Severities: 2, Folder: f, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res[0].Corrupted[0][1], r.Clean[:5]) {
		t.Fatal("with a limit, the folder cells are not the first images")
	}

	t.Run("mismatched folder", func(t *testing.T) {
		// A missing image: a count mismatch.
		victim := filepath.Join(root, "snow", "2", fx.WNIDs[1])
		entries, _ := os.ReadDir(victim)
		if err := os.Remove(filepath.Join(victim, entries[0].Name())); err != nil {
			t.Fatal(err)
		}
		_, err := evaluateWith(context.Background(), []predictor{fake}, []checkpoint.RunInfo{info}, test,
			Options{Corruptions: []string{"fog", "snow"}, Severities: 2, Folder: f})
		if err == nil || !strings.Contains(err.Error(), "holds 11 images but the clean test set") {
			t.Fatalf("error %v", err)
		}
		// Same count, one image moved to another class: a label mismatch.
		from, to := filepath.Join(root, "fog", "2", fx.WNIDs[1]), filepath.Join(root, "fog", "2", fx.WNIDs[0])
		entries, _ = os.ReadDir(from)
		if err := os.Rename(filepath.Join(from, entries[0].Name()), filepath.Join(to, entries[0].Name())); err != nil {
			t.Fatal(err)
		}
		_, err = evaluateWith(context.Background(), []predictor{fake}, []checkpoint.RunInfo{info}, test,
			Options{Corruptions: []string{"fog"}, Severities: 2, Folder: f})
		if err == nil || !strings.Contains(err.Error(), "must be the clean test images in the same order") {
			t.Fatalf("error %v", err)
		}
	})
}
