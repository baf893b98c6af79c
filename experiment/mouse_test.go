package experiment

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/v1sim"
)

func TestMouseSettings(t *testing.T) {
	demo, err := Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	m := demo.Mouse
	if !m.Used() || m.Simulate.Scans != 4 || m.Simulate.OracleImages != 100 || m.Simulate.OracleRepeats != 10 || !m.Predictor.Shifter || m.Predictor.Core.Skip != 3 {
		t.Errorf("demo [mouse]: %+v", m)
	}
	// The paper's defaults: 8 scans of 5,000 neurons, 5,100 images, 100 × 10,
	// Sensorium images downsampled to 64×36; without recordings or images
	// nothing is validated.
	p := Paper().Mouse
	if p.Used() || p.Simulate.Scans != 8 || p.Simulate.NeuronsPerScan != 5000 || p.Simulate.Count != 5100 || p.Downsample != 4 {
		t.Errorf("paper [mouse]: %+v", p)
	}
	for _, tc := range []struct{ text, want string }{
		{"[mouse.simulate]\nimages = \"fashion-mnist:train\"\nscans = -1\n", "[mouse.simulate]: counts must not be negative"},
		{"[mouse]\nrecordings = \"x.npz\"\n[mouse.predictor.core]\nkernels = [4, 3, 3]\n", "[mouse.predictor.core]"},
		{"[mouse]\nrecordings = \"x.npz\"\n[mouse.predictor.recipe]\nbatch = 0\n", "[mouse.predictor.recipe]"},
	} {
		_, err := Parse("test.toml", []byte("[data]\ndataset = \"fashion-mnist\"\n"+tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

// TestMouseOpenTestOnly opens a saved mouse recording with and without the
// non-oracle trials.
func TestMouseOpenTestOnly(t *testing.T) {
	cfg := v1sim.MouseConfig()
	cfg.Neurons = 20
	pop, err := v1sim.NewPopulation(cfg, 16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	images := make([][]float32, 14)
	for i := range images {
		images[i] = make([]float32, 256)
		for j := range images[i] {
			images[i][j] = float32((i*j)%7) / 7
		}
	}
	rec, err := v1sim.RecordMouse(pop, images, v1sim.LiProtocol{Scans: 2, NeuronsPerScan: 10, OracleImages: 4, OracleRepeats: 3, Behavior: v1sim.DefaultBehavior()}, 2)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.npz")
	if err := recordings.Save(path, rec); err != nil {
		t.Fatal(err)
	}
	mc := MouseConfig{Recordings: path}
	all, err := mc.Open(context.Background())
	if err != nil || all.Sessions[0].Trials != 10+12 {
		t.Fatalf("full: %v, %d trials", err, all.Sessions[0].Trials)
	}
	test, err := mc.OpenWith(context.Background(), true)
	if err != nil || test.Sessions[1].Trials != 12 || test.Images.N != 14 || test.Sessions[1].Behavior == nil {
		t.Fatalf("test only: %v, %d trials, %d images", err, test.Sessions[1].Trials, test.Images.N)
	}
}
