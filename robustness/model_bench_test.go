package robustness_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/predict"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/robustness"
)

// The model benchmarks live in an external test package: they build the
// demo experiment's network, and the experiment package imports this one.

// demoClassifier trains the demo experiment's network (two classes) for
// one epoch on 32×32 stripes: its speed is that of the demo Baseline.
func demoClassifier(b *testing.B) *predict.Classifier {
	b.Helper()
	text, _ := experiment.Preset("demo")
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
			Train:         robustness.StripeSet(b, "stripes:train", 256, 1, 32, 1),
			Validation:    robustness.StripeSet(b, "stripes:validation", 128, 1, 32, 2),
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
	set := robustness.StripeSet(b, "stripes:test", robustness.BenchImages, 1, 32, 3)
	b.ResetTimer()
	images := 0
	for b.Loop() {
		res, err := robustness.Evaluate(context.Background(), clf, set, robustness.Options{})
		if err != nil {
			b.Fatal(err)
		}
		images += robustness.BenchImages * (1 + len(res.Corruptions)*res.Severities)
	}
	b.ReportMetric(float64(images)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkPredict measures the demo network alone on ready batches of 128
// gray 32×32 images: the upper bound of BenchmarkEvaluate.
func BenchmarkPredict(b *testing.B) {
	clf := demoClassifier(b)
	set := robustness.StripeSet(b, "stripes:test", 128, 1, 32, 3)
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
