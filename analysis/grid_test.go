package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/roles"
)

// testRun saves a randomly initialized small VGG as a run folder.
func testRun(t *testing.T, dir string, seed uint64) {
	t.Helper()
	b := testBackend(t)
	m := smallModel(t, b, 1)
	v := m.Core.(models.VGG)
	if err := checkpoint.WriteRunInfo(dir, checkpoint.RunInfo{Kind: checkpoint.KindClassifier, Model: models.Spec{Arch: models.ArchVGG, VGG: v},
		Normalize: data.Normalize{Mean: 0.5, Std: 0.25}, Seed: int64(seed), Input: [2]int{32, 32}}); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.Save(filepath.Join(dir, checkpoint.ModelFile), m.Vars, checkpoint.Model); err != nil {
		t.Fatal(err)
	}
}

func testSet(t *testing.T, n int) data.Set {
	t.Helper()
	rng := rand.New(rand.NewPCG(9, 9))
	var imgs []data.Image
	for range n {
		img := data.NewImage(32, 32, 1)
		for y := 8; y < 24; y++ {
			for x := 8; x < 24; x++ {
				img.Pix[y*32+x] = uint8(128 + rng.IntN(100))
			}
		}
		imgs = append(imgs, img)
	}
	set, err := data.NewMemorySet("test", []string{"a", "b"}, imgs, make([]int, n))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// TestGridAndSaliency runs both analyses end to end on two small models
// and checks their bookkeeping: shapes, reuse of finished models, the
// spectral control's norm, fractions in [0, 1].
func TestGridAndSaliency(t *testing.T) {
	root := t.TempDir()
	runs := []ModelRun{{Name: "MTL-Monkey", Role: roles.MTLMonkey, Dir: filepath.Join(root, "a")}, {Name: "Baseline", Role: roles.Baseline, Dir: filepath.Join(root, "b")}}
	for i, r := range runs {
		testRun(t, r.Dir, uint64(i))
	}
	cfg := Paper()
	cfg.Layer, cfg.Steps, cfg.Budgets, cfg.Images = "conv2_1", 5, []float64{5, 60}, 3
	cfg.CoTrained.LR = 50
	set := testSet(t, 3)
	nz := data.Normalize{Mean: 0.5, Std: 0.25}
	cor, err := corrupt.New(corrupt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := LoadImages(set, nz, 0, 3, &Noise{Corrupter: cor, Name: "gaussian_noise", Severity: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b := testBackend(t)
	dir := filepath.Join(root, "grid")
	g, xs, err := RunGrid(context.Background(), b, runs, imgs, cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Models) != 2 || len(xs[0]) != 2*3*32*32 || len(g.Models[0].Content) != 2 || len(g.Models[0].Share) != 2 {
		t.Fatalf("grid shapes: %d models, %d values, %d content rows", len(g.Models), len(xs[0]), len(g.Models[0].Content))
	}
	// Budgets are scaled by √(32·32/(64·64·3)) for one channel.
	if want := 60 * math.Sqrt(1024.0/12288); math.Abs(g.Models[0].Radii[1]-want) > 1e-12 {
		t.Errorf("radius %v, want %v", g.Models[0].Radii[1], want)
	}
	if g.Models[0].Settings.Optimizer != SGD || g.Models[1].Settings.Optimizer != Adam {
		t.Errorf("optimizers %s, %s; want sgd for MTL-Monkey, adam for the Baseline", g.Models[0].Settings.Optimizer, g.Models[1].Settings.Optimizer)
	}
	d, err := LoadGrid(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range d.X[1] {
		if v != xs[1][i] {
			t.Fatalf("reloaded x[%d] = %v, wrote %v", i, v, xs[1][i])
		}
	}
	// A second run reads the finished models back; other settings refuse.
	if _, _, err := RunGrid(context.Background(), b, runs, imgs, cfg, dir, nil); err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Steps = 6
	if _, _, err := RunGrid(context.Background(), b, runs, imgs, other, dir, nil); err == nil {
		t.Error("reconstructions of other settings were reused")
	}

	clean, err := LoadImages(set, nz, 0, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	sdir := filepath.Join(root, "saliency")
	if _, _, err := RunGrid(context.Background(), b, runs, clean, cfg, sdir, nil); err != nil {
		t.Fatal(err)
	}
	sd, err := LoadGrid(sdir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := AnalyzeSaliency(sd, SpectralResidualMaps, "spectral residual", DefaultMass, sdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Models) != 3 || s.Models[2].Name != ControlName || len(s.Above) != 2 {
		t.Fatalf("saliency: %d models, %d comparisons", len(s.Models), len(s.Above))
	}
	for _, c := range s.Above {
		for _, f := range c.Fraction {
			if f < 0 || f > 1 {
				t.Errorf("fraction %v above the diagonal against %s", f, c.Name)
			}
		}
	}
	ctl, err := sd.Control(0, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n, want := norm64(ctl), norm(sd.Reconstruction(0, 1, 2)); math.Abs(n-want) > 1e-5*want {
		t.Errorf("‖control‖ = %v, ‖reconstruction‖ = %v", n, want)
	}
	loaded, err := LoadSaliency(sdir)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Masks) != 3*32*32 || loaded.Above[0].Fraction[0] != s.Above[0].Fraction[0] {
		t.Error("saliency files do not read back")
	}
}
