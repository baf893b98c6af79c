package robustness

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/predict"
)

func stripeInfo(seed int64) checkpoint.RunInfo {
	return checkpoint.RunInfo{Kind: "classifier", Normalize: testNorm, Classes: []string{"horizontal", "vertical"}, Seed: seed, Input: [2]int{32, 32}}
}

// TestSameImagesForEveryModel evaluates two different (fake) models in
// separate runs with different worker counts and batch sizes: both must be
// given exactly the same input values, in the same order.
func TestSameImagesForEveryModel(t *testing.T) {
	set := stripeSet(t, "stripes", 20, 3, 32, 5)
	names := []string{"gaussian_noise", "snow", "elastic_transform", "contrast"}
	a := &recorder{rule: orientationRule(32)}
	b := &recorder{rule: meanRule(0)}
	ra, err := evaluateWith(context.Background(), []predictor{a}, []checkpoint.RunInfo{stripeInfo(1)}, set,
		Options{Corruptions: names, Severities: 3, Seed: 4, Workers: 1, BatchSize: 20})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := evaluateWith(context.Background(), []predictor{b}, []checkpoint.RunInfo{stripeInfo(2)}, set,
		Options{Corruptions: names, Severities: 3, Seed: 4, Workers: 4, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.x) != 20*32*32*(1+4*3) || !slices.Equal(a.x, b.x) {
		t.Fatalf("the two models were given different images (%d and %d values)", len(a.x), len(b.x))
	}
	if ra[0].Setup != rb[0].Setup {
		t.Errorf("setups differ: %+v and %+v", ra[0].Setup, rb[0].Setup)
	}
	if reflect.DeepEqual(ra[0].Corrupted, rb[0].Corrupted) {
		t.Error("two different rules gave the same results")
	}
}

// TestResultsAlignedWithSetOrder checks that result k is the answer for
// set example k: the fake model predicts the right class only for images
// whose top-left pixel is bright, which the test sets for chosen indices.
func TestResultsAlignedWithSetOrder(t *testing.T) {
	const n = 23
	base := stripeSet(t, "stripes", n, 1, 32, 6)
	imgs := make([]data.Image, n)
	labels := make([]int, n)
	want := make([]bool, n)
	for k := range n {
		img, label, _ := base.Example(k)
		img = img.Clone()
		// Mark: a bright 4×4 corner for k ≡ 0, 1 (mod 3).
		want[k] = k%3 != 2
		for y := range 4 {
			for x := range 4 {
				img.Pix[y*32+x] = 0
				if want[k] {
					img.Pix[y*32+x] = 255
				}
			}
		}
		imgs[k], labels[k] = img, label
	}
	set, err := data.NewMemorySet("marked", base.Classes(), imgs, labels)
	if err != nil {
		t.Fatal(err)
	}
	// The model answers the true class (known from the orientation of the
	// stripes, which the corner does not disturb) when the corner is
	// bright, and the other class when it is dark.
	orient := orientationRule(32)
	rule := func(p []float32) int {
		q := slices.Clone(p)
		for y := range 4 {
			for x := range 4 {
				q[y*32+x] = q[4*32+4]
			}
		}
		c := orient(q)
		if p[0] < 1 {
			c = 1 - c
		}
		return c
	}
	for _, workers := range []int{1, 3} {
		res, err := evaluateWith(context.Background(), []predictor{&recorder{rule: rule}}, []checkpoint.RunInfo{stripeInfo(1)}, set,
			Options{Corruptions: []string{"brightness"}, Severities: 1, BatchSize: 4, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(res[0].Clean, want) {
			t.Fatalf("%d workers: clean results %v, want %v", workers, res[0].Clean, want)
		}
		if !slices.Equal(res[0].Corrupted[0][0], want) {
			t.Fatalf("%d workers: brightness results %v, want %v", workers, res[0].Corrupted[0][0], want)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	set := stripeSet(t, "stripes", 4, 1, 32, 7)
	wrongClasses := stripeInfo(1)
	wrongClasses.Classes = []string{"a", "b", "c"}
	wrongSize := stripeInfo(1)
	wrongSize.Input = [2]int{64, 64}
	otherNorm := stripeInfo(2)
	otherNorm.Normalize = data.Normalize{Mean: 0.5, Std: 0.5}
	for _, tc := range []struct {
		name  string
		infos []checkpoint.RunInfo
		want  string
	}{
		{"classes", []checkpoint.RunInfo{wrongClasses}, "3 classes"},
		{"input size", []checkpoint.RunInfo{wrongSize}, "the model takes 64×64"},
		{"mixed models", []checkpoint.RunInfo{stripeInfo(1), otherNorm}, "differ in input size, classes or normalization"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := make([]predictor, len(tc.infos))
			for i := range ps {
				ps[i] = &recorder{rule: meanRule(0)}
			}
			_, err := evaluateWith(context.Background(), ps, tc.infos, set, Options{Corruptions: []string{"fog"}, Severities: 1})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCombine(t *testing.T) {
	set := stripeSet(t, "stripes", 6, 1, 32, 8)
	opts := Options{Corruptions: []string{"fog", "pixelate"}, Severities: 2, Seed: 3}
	res, err := evaluateWith(context.Background(), []predictor{&recorder{rule: meanRule(0)}, &recorder{rule: orientationRule(32)}},
		[]checkpoint.RunInfo{stripeInfo(1), stripeInfo(2)}, set, opts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Combine("fake", res...)
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != "fake" || m.NumImages != 6 || m.Severities != 2 || !slices.Equal(m.Corruptions, opts.Corruptions) || len(m.Seeds) != 2 {
		t.Fatalf("matrix shape %q %d images %v × %d, %d seeds", m.Model, m.NumImages, m.Corruptions, m.Severities, len(m.Seeds))
	}
	for i, r := range res {
		if m.Seeds[i].Seed != r.Seed || !slices.Equal(m.Seeds[i].Clean, r.Clean) || !reflect.DeepEqual(m.Seeds[i].Corrupted, r.Corrupted) {
			t.Fatalf("seed entry %d does not hold result %d", i, i)
		}
	}

	otherSeed := *res[0]
	otherSeed.Setup.Seed = 4
	otherCorr := *res[0]
	otherCorr.Seed = 5
	otherCorr.Corruptions = []string{"fog", "snow"}
	for _, tc := range []struct {
		name string
		rs   []*Result
		want string
	}{
		{"none", nil, "no results"},
		{"same seed twice", []*Result{res[0], res[0]}, "seed 1 listed twice"},
		{"other corruption seed", []*Result{res[1], &otherSeed}, "same data, limit, table, corruption seed"},
		{"other corruptions", []*Result{res[0], &otherCorr}, "was tested on"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Combine("fake", tc.rs...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestEvaluateTrainedClassifier runs a really trained (tiny) classifier end
// to end: its clean results must match predict's own evaluation, and the
// matrix must survive a JSON round trip.
func TestEvaluateTrainedClassifier(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	clf, _ := tinyClassifier(t, 32)
	test := stripeSet(t, "stripes:test", 50, 3, 32, 13)
	var calls int
	opts := Options{Corruptions: []string{"gaussian_noise", "contrast", "zoom_blur"}, Severities: 2, Seed: 1, BatchSize: 16,
		Progress: func(p Progress) {
			calls++
			if p.Cells != 7 || p.Total != 350 || p.Images > p.Total {
				t.Errorf("progress %+v", p)
			}
		}}
	res, err := Evaluate(context.Background(), clf, test, opts)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 7*4 {
		t.Errorf("%d progress calls, want 28 (7 cells of 4 batches)", calls)
	}
	loader, err := data.NewEvalLoader(test, 16, clf.Info.Normalize, 2)
	if err != nil {
		t.Fatal(err)
	}
	clean, err := clf.Correct(context.Background(), loader)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Clean, clean) {
		t.Fatal("clean results differ from predict.Classifier.Correct")
	}
	t.Logf("tiny classifier: clean accuracy %.0f%%, %s", predict.Accuracy(clean), res.Elapsed)
	if acc := predict.Accuracy(clean); acc < 75 {
		t.Errorf("the tiny classifier has %.0f%% clean accuracy; it should learn stripe orientation", acc)
	}
	if res.Seed != 7 {
		t.Errorf("result seed %d, want the training seed 7", res.Seed)
	}
	m, err := res.Matrix("tiny")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.json")
	if err := m.SaveJSON(path); err != nil {
		t.Fatal(err)
	}
	back, err := metrics.LoadAccuracyMatrix(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Fatal("the matrix changed in a JSON round trip")
	}
	tab, err := back.MeanTable()
	if err != nil {
		t.Fatal(err)
	}
	if tab.Clean != predict.Accuracy(clean) {
		t.Errorf("table clean accuracy %.2f, want %.2f", tab.Clean, predict.Accuracy(clean))
	}
	// Other workers and batch size: the same results.
	again, err := Evaluate(context.Background(), clf, test, Options{Corruptions: opts.Corruptions, Severities: 2, Seed: 1, Workers: 1, BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(again.Corrupted, res.Corrupted) {
		t.Error("a second evaluation with other workers and batch size gave other results")
	}
}
