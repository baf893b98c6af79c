package robustness

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/experiments"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
)

// benchImages is the number of test images per cell in the benchmarks:
// with the 71 cells of the paper's benchmark, 14,200 images per iteration.
const benchImages = 200

// demoClassifier trains the demo experiment's network (two classes) for
// one epoch on 32×32 stripes: its speed is that of the demo Baseline.
func demoClassifier(b *testing.B) *predict.Classifier {
	b.Helper()
	text, _ := experiments.Builtin("demo")
	cfg, err := experiment.Parse("demo", text)
	if err != nil {
		b.Fatal(err)
	}
	be, err := engine.Open(engine.CPU)
	if err != nil {
		b.Fatal(err)
	}
	model := cfg.Model
	model.Classes = 2
	dir := filepath.Join(b.TempDir(), "run")
	norm := data.Normalize{Mean: data.FashionMNISTMean, Std: data.FashionMNISTStd}
	recipe := cfg.Classifier
	recipe.Stopping.MaxEpochs = 1
	job := recipes.ClassifierJob{Dir: dir, Model: model, Recipe: recipe, Seed: 1,
		Data: recipes.ClassifierData{
			Train:         stripeSet(b, "stripes:train", 256, 1, 32, 1),
			Validation:    stripeSet(b, "stripes:validation", 128, 1, 32, 2),
			TrainPipeline: data.Pipeline{Normalize: norm},
			Normalize:     norm,
		}}
	if _, err := recipes.TrainClassifier(context.Background(), recipes.Env{Backend: be}, job); err != nil {
		b.Fatal(err)
	}
	clf, err := predict.LoadClassifier(be, dir)
	if err != nil {
		b.Fatal(err)
	}
	return clf
}

// BenchmarkEvaluate measures a whole corruption evaluation (clean + 14
// corruptions × 5 severities) of the demo network on 32×32 gray images,
// from the creation of the Corrupter (and its frost textures) to the
// results.
func BenchmarkEvaluate(b *testing.B) {
	clf := demoClassifier(b)
	set := stripeSet(b, "stripes:test", benchImages, 1, 32, 3)
	b.ResetTimer()
	images := 0
	for b.Loop() {
		res, err := Evaluate(context.Background(), clf, set, Options{})
		if err != nil {
			b.Fatal(err)
		}
		images += benchImages * (1 + len(res.Corruptions)*res.Severities)
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkPredict measures the demo network alone on ready batches of 128
// gray 32×32 images: the upper bound of BenchmarkEvaluate.
func BenchmarkPredict(b *testing.B) {
	clf := demoClassifier(b)
	set := stripeSet(b, "stripes:test", 128, 1, 32, 3)
	idx := make([]int, 128)
	for i := range idx {
		idx[i] = i
	}
	batch, err := data.Images(set, idx, clf.Info.Normalize)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := clf.Predict(batch.X, batch.N, batch.H, batch.W); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	images := 0
	for b.Loop() {
		if _, err := clf.Predict(batch.X, batch.N, batch.H, batch.W); err != nil {
			b.Fatal(err)
		}
		images += batch.N
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkStream measures the generation of the test batches alone (no
// model): reading, corrupting, gray conversion and normalization of the
// 71 cells, for Fashion-MNIST-sized gray images (padded to 32×32) and Tiny
// ImageNet-sized RGB images.
func BenchmarkStream(b *testing.B) {
	for _, tc := range []struct {
		name           string
		channels, side int
	}{
		{"gray32", 1, 32},
		{"rgb64", 3, 64},
	} {
		b.Run(tc.name, func(b *testing.B) {
			set := stripeSet(b, "stripes", benchImages, tc.channels, tc.side, 4)
			st, err := NewStream(set, testNorm, Options{})
			if err != nil {
				b.Fatal(err)
			}
			// Untimed first pass: the frost textures are made on first
			// use (once per Corrupter and image size).
			for _, err := range st.Batches(context.Background()) {
				if err != nil {
					b.Fatal(err)
				}
			}
			images := 0
			for b.Loop() {
				for cb, err := range st.Batches(context.Background()) {
					if err != nil {
						b.Fatal(err)
					}
					images += cb.Batch.N
				}
			}
			b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
