package data

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/datatest"
)

// writeFixture writes a miniature Tiny ImageNet (5 classes, 12 training and
// 4 test images each) into a fresh folder.
func writeFixture(t testing.TB, corrupt bool) *datatest.TinyImageNetFixture {
	t.Helper()
	fx, err := datatest.WriteTinyImageNetFixture(t.TempDir(), datatest.TinyImageNetOptions{
		Classes: 5, PerClass: 12, ValPerClass: 4, Seed: 42, Corrupt: corrupt,
	})
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func openFixture(t testing.TB, root string, cache bool) *TinyImageNet {
	t.Helper()
	tin, err := OpenTinyImageNet(root, TinyImageNetOptions{Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	return tin
}

func TestTinyImageNetLabelsAndOrder(t *testing.T) {
	fx := writeFixture(t, false)
	tin := openFixture(t, fx.Root, false)
	if !slices.Equal(tin.Classes(), fx.WNIDs) || !slices.IsSorted(tin.Classes()) {
		t.Fatalf("classes %v; want the sorted wnids %v", tin.Classes(), fx.WNIDs)
	}
	// ImageFolder order: class by class, file names sorted as strings
	// (so _10 and _11 come before _2), the boxes file skipped.
	var want []string
	var wantLabels []int
	for label, w := range fx.WNIDs {
		var names []string
		for i := range 12 {
			names = append(names, fmt.Sprintf("%s_%d.JPEG", w, i))
		}
		sort.Strings(names)
		for _, n := range names {
			want = append(want, filepath.Join(fx.Root, "train", w, "images", n))
			wantLabels = append(wantLabels, label)
		}
	}
	if !slices.Equal(tin.folder.paths, want) || !slices.Equal(tin.folder.labels, wantLabels) {
		t.Errorf("training folder order:\n%v\nwant\n%v", tin.folder.paths, want)
	}
	if !strings.HasSuffix(tin.folder.paths[2], "_10.JPEG") {
		t.Errorf("third file %s; want the string-sorted _10", tin.folder.paths[2])
	}
	// Decoded content matches the label: the fixture paints each class
	// with its own colour (plus a gradient averaging about +16).
	for _, i := range []int{0, 13, 30, 59} {
		img, label, err := tin.folder.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		if img.H != 64 || img.W != 64 || img.C != 3 {
			t.Fatalf("example %d is %dx%dx%d", i, img.H, img.W, img.C)
		}
		if tin.folder.paths[i] != fx.GrayFiles[0] {
			checkClassColour(t, img, label)
		}
	}
}

// checkClassColour checks that a decoded fixture image has the colour of
// its class (plus the fixture's gradient, about +16 on average).
func checkClassColour(t *testing.T, img Image, label int) {
	t.Helper()
	r, g, b := datatest.ClassColor(label)
	mean := meanRGB(img)
	for c, want := range []uint8{r, g, b} {
		if d := mean[c] - (float64(want) + 16); d < -20 || d > 20 {
			t.Errorf("label %d: channel %d mean %.1f; want about %d", label, c, mean[c], int(want)+16)
		}
	}
}

func meanRGB(img Image) [3]float64 {
	var m [3]float64
	for i, v := range img.Pix {
		m[i%3] += float64(v)
	}
	for c := range m {
		m[c] /= float64(img.H * img.W)
	}
	return m
}

func TestTinyImageNetSplits(t *testing.T) {
	fx := writeFixture(t, false)
	tin := openFixture(t, fx.Root, false)
	tests := []struct {
		split string
		n     int
		first []int // first training-folder indices, from NumPy
	}{
		// np.random.seed(1000); idx = list(range(60)); np.random.shuffle(idx)
		// gives [44, 46, 32, 9, 22, 3, 8, 6, 33, 17, ...].
		{SplitValidation, 6, []int{44, 46, 32, 9, 22, 3}},
		{SplitTrain, 54, []int{8, 6, 33, 17}},
		{SplitTest, 20, nil},
	}
	for _, tc := range tests {
		t.Run(tc.split, func(t *testing.T) {
			set, err := tin.Split(tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if set.Len() != tc.n || set.Name() != "tinyimagenet:"+tc.split {
				t.Fatalf("%s has %d examples; want %d", set.Name(), set.Len(), tc.n)
			}
			if tc.first != nil && !slices.Equal(set.(*subset).indices[:len(tc.first)], tc.first) {
				t.Errorf("indices start %v; want %v", set.(*subset).indices[:len(tc.first)], tc.first)
			}
		})
	}
	if _, err := tin.Split("val"); err == nil || !strings.Contains(err.Error(), "validation") {
		t.Errorf("split \"val\": error %v should list the valid splits", err)
	}
}

func TestTinyImageNetTestAnnotations(t *testing.T) {
	fx := writeFixture(t, false)
	check := func(t *testing.T, tin *TinyImageNet) {
		test := tin.test
		if test.Len() != len(fx.ValWNID) {
			t.Fatalf("%d test images; want %d", test.Len(), len(fx.ValWNID))
		}
		for i, p := range test.paths {
			w := fx.ValWNID[filepath.Base(p)]
			if tin.Classes()[test.labels[i]] != w {
				t.Errorf("%s has label %d (%s); annotation says %s", p, test.labels[i], tin.Classes()[test.labels[i]], w)
			}
			if i > 0 && test.labels[i] < test.labels[i-1] {
				t.Errorf("test images are not ordered by label at %d", i)
			}
		}
		img, label, err := test.Example(3)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(fx.GrayFiles, test.paths[3]) {
			checkClassColour(t, img, label)
		}
	}
	t.Run("flat val/images", func(t *testing.T) { check(t, openFixture(t, fx.Root, false)) })
	t.Run("val/images/<wnid> as the original rearranges it", func(t *testing.T) {
		for name, w := range fx.ValWNID {
			dir := filepath.Join(fx.Root, "val", "images", w)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(fx.Root, "val", "images", name), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		check(t, openFixture(t, fx.Root, false))
	})
}

func TestTinyImageNetGrayJPEG(t *testing.T) {
	fx := writeFixture(t, false)
	tin := openFixture(t, fx.Root, false)
	i := slices.Index(tin.folder.paths, fx.GrayFiles[0])
	if i < 0 {
		t.Fatalf("gray file %s not listed", fx.GrayFiles[0])
	}
	img, _, err := tin.folder.Example(i)
	if err != nil {
		t.Fatal(err)
	}
	if img.C != 3 {
		t.Fatalf("gray JPEG decoded with %d channels; want 3 (converted to RGB)", img.C)
	}
	for p := 0; p < len(img.Pix); p += 3 {
		if img.Pix[p] != img.Pix[p+1] || img.Pix[p] != img.Pix[p+2] {
			t.Fatalf("gray JPEG pixel %d is %v, not R=G=B", p/3, img.Pix[p:p+3])
		}
	}
}

func TestTinyImageNetBadFiles(t *testing.T) {
	t.Run("corrupt JPEG names the file", func(t *testing.T) {
		fx := writeFixture(t, true)
		tin := openFixture(t, fx.Root, false)
		i := slices.Index(tin.folder.paths, fx.CorruptFile)
		_, _, err := tin.folder.Example(i)
		if err == nil || !strings.Contains(err.Error(), fx.CorruptFile) || !strings.Contains(err.Error(), "re-extract") {
			t.Fatalf("error %v; want one naming %s and suggesting re-extraction", err, fx.CorruptFile)
		}
		// Through a loader too.
		l, err := NewEvalLoader(tin.folder, 16, Normalize{0, 1}, 2)
		if err != nil {
			t.Fatal(err)
		}
		var lerr error
		for _, err := range l.Epoch(context.Background(), 0) {
			lerr = err
		}
		if lerr == nil || !strings.Contains(lerr.Error(), fx.CorruptFile) {
			t.Errorf("loader error %v does not name %s", lerr, fx.CorruptFile)
		}
	})
	t.Run("file removed after opening", func(t *testing.T) {
		fx := writeFixture(t, false)
		tin := openFixture(t, fx.Root, false)
		path := tin.folder.paths[7]
		os.Remove(path)
		_, _, err := tin.folder.Example(7)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "missing") {
			t.Errorf("error %v; want one saying %s is missing", err, path)
		}
	})
}

func TestTinyImageNetLayoutErrors(t *testing.T) {
	tests := []struct {
		name   string
		damage func(root string, fx *datatest.TinyImageNetFixture) error
		want   []string
	}{
		{"no such folder", func(root string, _ *datatest.TinyImageNetFixture) error { return os.RemoveAll(root) },
			[]string{"is not a folder", "train/<wnid>/images"}},
		{"no train folder", func(root string, _ *datatest.TinyImageNetFixture) error {
			return os.RemoveAll(filepath.Join(root, "train"))
		}, []string{"train", "expected the extracted tiny-imagenet-200"}},
		{"no val images", func(root string, _ *datatest.TinyImageNetFixture) error {
			return os.RemoveAll(filepath.Join(root, "val", "images"))
		}, []string{filepath.Join("val", "images"), "expected"}},
		{"no annotation file", func(root string, _ *datatest.TinyImageNetFixture) error {
			return os.Remove(filepath.Join(root, "val", "val_annotations.txt"))
		}, []string{"val_annotations.txt", "expected"}},
		{"annotated image missing", func(root string, _ *datatest.TinyImageNetFixture) error {
			return os.Remove(filepath.Join(root, "val", "images", "val_3.JPEG"))
		}, []string{"val_3.JPEG", "line", "re-extract"}},
		{"unknown wnid", func(root string, _ *datatest.TinyImageNetFixture) error {
			return appendLine(filepath.Join(root, "val", "val_annotations.txt"), "val_0.JPEG\tn99999999\t0\t0\t1\t1")
		}, []string{"n99999999", "line 21"}},
		{"malformed annotation", func(root string, _ *datatest.TinyImageNetFixture) error {
			return appendLine(filepath.Join(root, "val", "val_annotations.txt"), "val_0.JPEG")
		}, []string{"line 21", "tab-separated"}},
		{"empty class folder", func(root string, fx *datatest.TinyImageNetFixture) error {
			return os.RemoveAll(filepath.Join(root, "train", fx.WNIDs[2], "images"))
		}, []string{"holds no images"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := writeFixture(t, false)
			if err := tc.damage(fx.Root, fx); err != nil {
				t.Fatal(err)
			}
			_, err := OpenTinyImageNet(fx.Root, TinyImageNetOptions{})
			if err == nil {
				t.Fatal("opened a broken folder")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line + "\n"); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func TestTinyImageNetCache(t *testing.T) {
	fx := writeFixture(t, false)
	tin := openFixture(t, fx.Root, true)
	a, _, err := tin.folder.Example(5)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(tin.folder.paths[5]) // the cached copy no longer needs the file
	b, _, err := tin.folder.Example(5)
	if err != nil {
		t.Fatalf("cached example re-read its file: %v", err)
	}
	if &a.Pix[0] != &b.Pix[0] {
		t.Error("second Example did not come from the cache")
	}
}
