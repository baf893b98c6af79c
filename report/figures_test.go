package report

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cotrain/cotrain/roles"
)

// fullAnalysis is the analysis of testResults with a one-group sweep.
func fullAnalysis(t *testing.T) *Analysis {
	t.Helper()
	r := testResults(t)
	r.Sweep = testSweep("MTL-Monkey", 20, 5)
	a, err := Analyze(r)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding PNG: %v", err)
	}
	return img
}

// hasColor reports whether some pixel of img is exactly c.
func hasColor(img image.Image, c color.RGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if color.RGBAModel.Convert(img.At(x, y)) == c {
				return true
			}
		}
	}
	return false
}

func TestFigures(t *testing.T) {
	a := fullAnalysis(t)
	figs, err := Figures(a)
	if err != nil {
		t.Fatal(err)
	}
	red, _ := kindColor(roles.MTLMonkey)
	black, _ := kindColor(roles.Baseline)
	tests := []struct {
		name          string
		width, height int // 0: checked against a lower bound only
		minW, minH    int
		colors        []color.RGBA
	}{
		{"fig3a_categories", 750, 400, 0, 0, []color.RGBA{red}},
		{"fig3b_overall", 0, 400, 280, 0, []color.RGBA{red}},
		{"fig2_exemplars", 1100, 340, 0, 0, []color.RGBA{red, black}},
		{"fig8_accuracy_vs_severity", 1000, 1270, 0, 0, []color.RGBA{red, black}},
		{"fig3c_sweep", 700, 0, 0, 500, nil},
	}
	if len(figs) != len(tests) {
		t.Fatalf("%d figures, want %d", len(figs), len(tests))
	}
	for i, tc := range tests {
		f := figs[i]
		t.Run(tc.name, func(t *testing.T) {
			if f.Name != tc.name || f.Title == "" || f.Caption == "" {
				t.Fatalf("figure %d is %q (title %q, caption %q)", i, f.Name, f.Title, f.Caption)
			}
			img := decodePNG(t, f.PNG)
			b := img.Bounds()
			if b.Dx() != f.Width || b.Dy() != f.Height {
				t.Errorf("image is %d×%d, figure says %d×%d", b.Dx(), b.Dy(), f.Width, f.Height)
			}
			if (tc.width != 0 && f.Width != tc.width) || (tc.height != 0 && f.Height != tc.height) || f.Width < tc.minW || f.Height < tc.minH {
				t.Errorf("size %d×%d, want %d×%d (at least %d×%d)", f.Width, f.Height, tc.width, tc.height, tc.minW, tc.minH)
			}
			for _, c := range tc.colors {
				if !hasColor(img, c) {
					t.Errorf("no pixel of colour %v", c)
				}
			}
		})
	}
	again, err := Figures(a)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(figs, again) {
		t.Error("rendering the same analysis twice gives different figures")
	}

	dir := t.TempDir()
	if err := WriteFigures(dir, figs); err != nil {
		t.Fatal(err)
	}
	for _, f := range figs {
		data, err := os.ReadFile(filepath.Join(dir, f.Name+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, f.PNG) {
			t.Errorf("%s.png differs from the rendered figure", f.Name)
		}
	}
}

func TestFiguresSelection(t *testing.T) {
	tests := []struct {
		name   string
		modify func(r *Results)
		want   []string
	}{
		{"baseline only", func(r *Results) { r.Models = r.Models[:1] }, []string{"fig8_accuracy_vs_severity"}},
		{"two sweep groups", func(r *Results) { r.Sweep = append(testSweep("MTL-Monkey", 8, 1), testSweep("MTL-Shuffled", 8, 2)...) },
			[]string{"fig3a_categories", "fig3b_overall", "fig2_exemplars", "fig8_accuracy_vs_severity",
				"fig3c_sweep_1_mtl-monkey", "fig3c_sweep_2_mtl-shuffled"}},
		{"three corruptions, no MTL model, tiny sweep", func(r *Results) {
			r.Models = []Model{r.Models[0], r.Models[2]}
			r.Bootstrap.Corruptions = []string{"fog", "snow", "pixelate"}
			r.Sweep = testSweep("", 2, 3)
		}, []string{"fig3a_categories", "fig3b_overall", "fig2_exemplars", "fig8_accuracy_vs_severity", "fig3c_sweep"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := testResults(t)
			tc.modify(&r)
			a, err := Analyze(r)
			if err != nil {
				t.Fatal(err)
			}
			figs, err := Figures(a)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range figs {
				names = append(names, f.Name)
				decodePNG(t, f.PNG)
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Errorf("figures %q, want %q", names, tc.want)
			}
		})
	}
}

func TestModelColors(t *testing.T) {
	a := &Analysis{Baseline: "B", Models: []ModelResult{
		{Name: "B", Kind: roles.Baseline}, {Name: "M1", Kind: roles.MTLMonkey}, {Name: "M2", Kind: roles.MTLMonkey},
		{Name: "X", Kind: roles.Other}, {Name: "B2", Kind: roles.Baseline},
	}}
	got := modelColors(a)
	extra := extraColors()
	want := map[string]color.RGBA{"B": rgb(0x000000), "M1": rgb(0xe31e1b), "M2": extra[0], "X": extra[1], "B2": extra[2]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("colours %v, want %v", got, want)
	}
}

func TestNiceTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []string
	}{
		{44, 48, []string{"44", "45", "46", "47", "48"}},
		{0.21, 0.49, []string{"0.25", "0.30", "0.35", "0.40", "0.45"}},
		{43.6, 52.3, []string{"44", "46", "48", "50", "52"}},
		{10, 10, []string{"10"}},
	}
	for _, tc := range tests {
		var got []string
		for _, tk := range niceTicks(tc.lo, tc.hi) {
			got = append(got, tk.Label)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("niceTicks(%g, %g) = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}
