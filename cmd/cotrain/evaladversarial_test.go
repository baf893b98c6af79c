package main

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/predict"
)

// TestEvalAdversarialCommand attacks a tiny trained classifier in both
// norms and checks what it saved through cotrain's ordinary prediction
// path: every reported adversarial image is classified differently from
// its label by predict.Classifier, every image reported at distance 0 is
// misclassified clean, and the distances recomputed from the saved images
// match the reported ones (CSV and .npz).
func TestEvalAdversarialCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	runDir := filepath.Join(dir, "run")
	fx := trainTinyClassifiers(t, dir, datatest.TinyImageNetOptions{Classes: 2, PerClass: 8, ValPerClass: 6, Seed: 3}, 2, map[string]int64{runDir: 4})
	b, err := engine.Open(engine.CPU)
	if err != nil {
		t.Fatal(err)
	}
	clf, err := predict.LoadClassifier(b, runDir)
	if err != nil {
		t.Fatal(err)
	}
	spec := "tinyimagenet:" + fx.Root + ":test"
	for _, norm := range []string{"linf", "l2"} {
		t.Run(norm, func(t *testing.T) {
			csvPath, npzPath := filepath.Join(dir, norm+".csv"), filepath.Join(dir, norm+".npz")
			out, stderr, code := execCommand(t, evalAdversarialCommand(), "--checkpoint", runDir, "--data", spec, "--norm", norm, "--images", "12",
				"--pgd-iterations", "5,10", "--pgd-step-sizes", "0.03,0.3", "--bb-steps", "20", "--bb-lrs", "0.01,0.1", "--batch", "5",
				"--bootstrap", "50", "--out", csvPath, "--save", npzPath, "--backend", "cpu")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(out, "median minimal "+norm+" perturbation") || !strings.Contains(out, "over 12 images") {
				t.Errorf("output:\n%s", out)
			}
			z, err := npy.ReadNPZ(npzPath)
			if err != nil {
				t.Fatal(err)
			}
			adv, orig := z["adversarial"].Data.([]float32), z["original"].Data.([]float32)
			labels, dists := z["labels"].Data.([]int32), z["distances"].Float64s()
			n, px := len(labels), 64*64
			if n != 12 || len(adv) != n*px {
				t.Fatalf("saved %d labels and %d values", n, len(adv))
			}
			normalized := func(x []float32) []float32 {
				y := append([]float32(nil), x...)
				clf.Info.Normalize.Apply(y)
				return y
			}
			predAdv, err := clf.Predict(normalized(adv), n, 64, 64)
			if err != nil {
				t.Fatal(err)
			}
			predClean, err := clf.Predict(normalized(orig), n, 64, 64)
			if err != nil {
				t.Fatal(err)
			}
			rows := readCSV(t, csvPath)
			flipped := 0
			for i := range n {
				var d float64
				for j := range px {
					v := float64(adv[i*px+j]) - float64(orig[i*px+j])
					if norm == "linf" {
						d = max(d, math.Abs(v))
					} else {
						d += v * v
					}
				}
				if norm == "l2" {
					d = math.Sqrt(d)
				}
				reported, err := strconv.ParseFloat(rows[i+1][2], 64)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case math.IsInf(dists[i], 1):
					if rows[i+1][3] != "none" || !math.IsInf(reported, 1) {
						t.Errorf("image %d: never flipped but the CSV says %v", i, rows[i+1])
					}
				case dists[i] == 0:
					if predClean[i] == int(labels[i]) {
						t.Errorf("image %d: distance 0 but the clean image is classified correctly", i)
					}
				default:
					flipped++
					if predAdv[i] == int(labels[i]) {
						t.Errorf("image %d: the saved adversarial is classified as its label %d", i, labels[i])
					}
					if math.Abs(d-dists[i]) > 1e-9*dists[i] || math.Abs(reported-dists[i]) > 1e-9*dists[i] {
						t.Errorf("image %d: distance %v recomputed from the images, %v saved, %v in the CSV", i, d, dists[i], reported)
					}
				}
			}
			if flipped == 0 {
				t.Error("no image was flipped")
			}
		})
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
