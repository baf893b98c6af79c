package corrupt

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// realFrostDir holds the ImageNet-C frost photographs on the project's
// machines (third-party data, never committed); tests skip without it.
const realFrostDir = "../../shared/data/imagenet-c-frost"

// realFrostStats are the per-channel RGB means and the dimensions of
// frost1.png … frost5.jpg as OpenCV decodes them (cv2.imread, BGR
// reversed), and the high-frequency fraction and gradient of frostStats.
var realFrostStats = [frostFiles]struct {
	w, h int
	mean [3]float64
}{
	{900, 600, [3]float64{77.7, 149.1, 165.7}},
	{560, 315, [3]float64{200.8, 205.4, 214.5}},
	{560, 315, [3]float64{200.8, 205.4, 214.5}},
	{527, 350, [3]float64{137.6, 152.8, 165.2}},
	{660, 495, [3]float64{112.4, 123.4, 134.8}},
}

// TestProceduralFrostStatistics checks that the procedural stand-ins match
// the photographs' colour statistics and are, like them, dominated by
// fine structure: a high-frequency variance fraction of 0.2–0.5 (the
// photographs: 0.28–0.44) and a mean gradient of 5–20 levels per pixel
// (7.4–17.4).
func TestProceduralFrostStatistics(t *testing.T) {
	for i, st := range frostStyles {
		tex := proceduralFrost(i)
		if tex.w != realFrostStats[i].w || tex.h != realFrostStats[i].h {
			t.Errorf("texture %d is %d×%d, want the photograph's %d×%d", i, tex.w, tex.h, realFrostStats[i].w, realFrostStats[i].h)
		}
		mean, std, hf, grad := frostStats(tex)
		for ch := 0; ch < 3; ch++ {
			if math.Abs(mean[ch]-st.mean[ch]) > 2 || math.Abs(std[ch]-st.std[ch]) > 0.05*st.std[ch] {
				t.Errorf("texture %d channel %d: mean %.1f std %.1f, want %.1f and %.1f", i, ch, mean[ch], std[ch], st.mean[ch], st.std[ch])
			}
		}
		if hf < 0.2 || hf > 0.5 || grad < 5 || grad > 20 {
			t.Errorf("texture %d: high-frequency fraction %.3f, gradient %.2f; want 0.2–0.5 and 5–20", i, hf, grad)
		}
	}
	a, b := proceduralFrost(1), proceduralFrost(1)
	if string(a.pix) != string(b.pix) {
		t.Error("procedural frost is not deterministic")
	}
}

func writePNG(t *testing.T, path string, w, h int, c color.NRGBA) {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < w*h; i++ {
		m.Pix[4*i], m.Pix[4*i+1], m.Pix[4*i+2], m.Pix[4*i+3] = c.R, c.G, c.B, c.A
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
}

// TestFrostDirBlend uses a directory of two flat-coloured "frost" images
// (smaller than the image, so they are scaled up) and checks the blend
// clip(a·x + b·frost) with the table's weights, and that alpha is dropped
// without compositing, as cv2.imread does.
func TestFrostDirBlend(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"), 50, 40, color.NRGBA{200, 100, 50, 255})
	writePNG(t, filepath.Join(dir, "b.png"), 30, 90, color.NRGBA{10, 20, 250, 128})
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	img := testImage(64, 48, 3, 1)
	for _, tb := range []Table{TableImageNet, TableTinyImageNet} {
		c := mustNew(t, Options{Table: tb, FrostDir: dir})
		seen := map[int]bool{}
		for seed := uint64(0); seed < 20; seed++ {
			for s := 1; s <= Severities; s++ {
				out, err := c.ApplySeed("frost", s, img, seed)
				if err != nil {
					t.Fatal(err)
				}
				a, b := tables[tb].frost[s-1][0], tables[tb].frost[s-1][1]
				match := -1
				for k, f := range [2][3]float64{{200, 100, 50}, {10, 20, 250}} {
					ok := true
					for i, v := range img.Pix {
						if out.Pix[i] != truncU8(a*float64(v)+b*f[i%3]) {
							ok = false
							break
						}
					}
					if ok {
						match = k
					}
				}
				if match < 0 {
					t.Fatalf("%s s%d seed %d: output is not a·x + b·frost for either frost image", tb, s, seed)
				}
				seen[match] = true
			}
		}
		if !seen[0] || !seen[1] {
			t.Errorf("%s: only frost images %v were drawn", tb, seen)
		}
	}
}

// TestFrostDirRealPhotographs loads the ImageNet-C frost set: six files,
// of which the first five are used, decoded to the dimensions and colour
// means OpenCV reads; then checks that frost at ImageNet severity 1
// (x + 0.4·frost) on a black image averages 0.4 × the mean of the five
// photographs.
func TestFrostDirRealPhotographs(t *testing.T) {
	if _, err := os.Stat(realFrostDir); err != nil {
		t.Skipf("frost photographs not available: %v", err)
	}
	fs, err := newFrostSource(realFrostDir)
	if err != nil {
		t.Fatal(err)
	}
	if fs.n != frostFiles {
		t.Fatalf("%d textures, want the first %d files", fs.n, frostFiles)
	}
	want := [3]float64{}
	for i, r := range realFrostStats {
		tex := fs.base[i]
		if tex.w != r.w || tex.h != r.h {
			t.Errorf("frost %d is %d×%d, want %d×%d", i+1, tex.w, tex.h, r.w, r.h)
		}
		mean, _, _, _ := frostStats(tex)
		for ch := 0; ch < 3; ch++ {
			// PNGs decode identically; the JPEGs within the libjpeg/Go
			// IDCT rounding differences.
			if math.Abs(mean[ch]-r.mean[ch]) > 0.6 {
				t.Errorf("frost %d channel %d: mean %.2f, OpenCV %.1f", i+1, ch, mean[ch], r.mean[ch])
			}
			want[ch] += r.mean[ch] / frostFiles
		}
	}
	c := mustNew(t, Options{FrostDir: realFrostDir})
	black := NewImage(64, 64, 3)
	var got [3]float64
	const runs = 300
	for seed := uint64(0); seed < runs; seed++ {
		out, err := c.ApplySeed("frost", 1, black, seed)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range out.Pix {
			got[i%3] += float64(v) / (64 * 64 * runs)
		}
	}
	for ch := 0; ch < 3; ch++ {
		// Truncation lowers the mean by about 0.5; the choice among five
		// textures with means 78–215 gives a standard error of about 1.5.
		if w := 0.4*want[ch] - 0.5; math.Abs(got[ch]-w) > 6 {
			t.Errorf("channel %d: mean %.2f, want ≈ %.2f", ch, got[ch], w)
		}
	}
	tiny := mustNew(t, Options{Table: TableTinyImageNet, FrostDir: realFrostDir})
	if _, err := tiny.ApplySeed("frost", 5, testImage(64, 64, 3, 1), 3); err != nil {
		t.Fatal(err)
	}
}
