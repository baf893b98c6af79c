package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/similarity"
)

// TestMouseCommands runs the Li et al. neural pipeline on a miniature
// experiment: simulate scans, train the denoising predictor, build the
// three targets and the Fig. 1 report.
func TestMouseCommands(t *testing.T) {
	dir := t.TempDir()
	tin := filepath.Join(dir, "tin")
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 2, PerClass: 40, ValPerClass: 2, Seed: 3, Size: 32}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "exp.toml")
	text := fmt.Sprintf(`name = "mouse"
[data]
dataset = "tinyimagenet"
root = %q
[mouse.simulate]
images = "tinyimagenet:%s:train"
count = 60
population = 40
scans = 2
neurons_per_scan = 20
oracle_images = 10
oracle_repeats = 3
pixels_per_degree = 1
seed = 1
[mouse.predictor]
shifter = true
modulator = true
[mouse.predictor.core]
channels = [4, 4]
kernels = [5, 3]
skip = 2
[mouse.predictor.recipe]
batch = 16
[mouse.predictor.recipe.stopping]
patience = 1
decay_steps = 1
max_epochs = 1
`, tin, tin)
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cotrain := func(args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := run(context.Background(), append(args, "--backend=cpu"), &out, &errOut); code != 0 {
			t.Fatalf("cotrain %v: exit %d\n%s%s", args, code, out.String(), errOut.String())
		}
		return out.String()
	}
	rec := filepath.Join(dir, "rec.npz")
	pred := filepath.Join(dir, "pred")
	if out := cotrainNoBackend(t, "mouse", "simulate", "--config", cfg, "--out", rec); !strings.Contains(out, "2 scans, 40 neurons, 60 images of 32×32") {
		t.Errorf("mouse simulate: %s", out)
	}
	if out := cotrain("mouse", "train", "--recordings", rec, "--config", cfg, "--out", pred); !strings.Contains(out, "test (oracle trials) correlation") {
		t.Errorf("mouse train: %s", out)
	}
	target := filepath.Join(dir, "S.npz")
	fig := filepath.Join(dir, "fig1")
	out := cotrain("similarity", "--recordings", rec, "--predictor", pred, "--out", target, "--report", fig)
	for _, want := range []string{"S_model over 50 images of 32×32 from 2 scans", "peak resident memory", "corr(S_data, S_oracle)", "corr(S_model, S_oracle)", "fig1d_scatter.png"} {
		if !strings.Contains(out, want) {
			t.Errorf("similarity output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"fig1a_s_oracle.png", "fig1b_s_model.png", "fig1c_fluctuations.png", "fig1d_scatter.png"} {
		if _, err := os.Stat(filepath.Join(fig, f)); err != nil {
			t.Error(err)
		}
	}
	tg, err := similarity.Load(target)
	if err != nil || tg.N != 50 || tg.Meta.Kind != similarity.KindModel || len(tg.Weights) != 2 || tg.Weights[0].Predictivity == nil {
		t.Fatalf("model target: %v", err)
	}
	for _, kind := range []struct {
		name string
		n    int
	}{{"data", 50}, {"oracle", 10}} {
		path := filepath.Join(dir, kind.name+".npz")
		cotrainNoBackend(t, "similarity", "--recordings", rec, "--kind", kind.name, "--out", path)
		if tg, err := similarity.Load(path); err != nil || tg.N != kind.n || string(tg.Meta.Kind) != kind.name {
			t.Errorf("%s target: %v (%d images)", kind.name, err, tg.N)
		}
	}
	shuffled := filepath.Join(dir, "shuffle.npz")
	cotrainNoBackend(t, "similarity", "--recordings", rec, "--kind", "oracle", "--shuffle", "1000", "--out", shuffled)
	if tg, err := similarity.Load(shuffled); err != nil || !tg.Meta.Shuffled || tg.Permutation == nil {
		t.Errorf("shuffled target: %v", err)
	}
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"similarity", "--recordings", rec, "--out", target}, &bytes.Buffer{}, &errOut); code != 2 || !strings.Contains(errOut.String(), "needs --predictor") {
		t.Errorf("model kind without a predictor: exit %d, %s", code, errOut.String())
	}
}

// cotrainNoBackend runs a command that opens no backend.
func cotrainNoBackend(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("cotrain %v: exit %d\n%s%s", args, code, out.String(), errOut.String())
	}
	return out.String()
}
