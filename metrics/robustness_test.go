package metrics

import (
	"strings"
	"testing"
)

// markFirst sets the first k results to correct.
func markFirst(res []bool, k int) {
	for i := range res {
		res[i] = i < k
	}
}

// countMatrix builds a 4-image matrix from numbers of correct images:
// clean[seed] and corrupted[seed][corruption][severity-1].
func countMatrix(t *testing.T, model string, corruptions []string, clean []int, corrupted [][][]int) *AccuracyMatrix {
	t.Helper()
	seeds := make([]int64, len(clean))
	for k := range seeds {
		seeds[k] = int64(k + 1)
	}
	m, err := NewAccuracyMatrix(model, 4, corruptions, len(corrupted[0][0]), seeds)
	if err != nil {
		t.Fatal(err)
	}
	for k, sc := range m.Seeds {
		markFirst(sc.Clean, clean[k])
		for c := range sc.Corrupted {
			for s := range sc.Corrupted[c] {
				markFirst(sc.Corrupted[c][s], corrupted[k][c][s])
			}
		}
	}
	return m
}

// handExample is the worked example of TestRobustnessByHand.
func handExample(t *testing.T) (model, baseline *AccuracyMatrix) {
	names := []string{"gaussian_noise", "shot_noise", "snow"}
	model = countMatrix(t, "model", names, []int{3, 4}, [][][]int{
		{{3, 2}, {4, 2}, {2, 1}}, // seed 1
		{{3, 1}, {2, 2}, {2, 1}}, // seed 2
	})
	baseline = countMatrix(t, "baseline", names, []int{2}, [][][]int{
		{{2, 1}, {4, 1}, {3, 2}},
	})
	return model, baseline
}

// TestRobustnessByHand checks the score on an example worked by hand: 4 test
// images, 2 severities, a model with 2 seeds and a Baseline with 1 seed.
// Numbers of correct images per (seed, severity 1, severity 2):
//
//	                 model seed 1   model seed 2   baseline
//	gaussian_noise   3, 2           3, 1           2, 1
//	shot_noise       4, 2           2, 2           4, 1
//	snow             2, 1           2, 1           3, 2
//	clean            3              4              2
//
// Ā_c averages the accuracies over severities and seeds:
//
//	gaussian_noise  model (75+50+75+25)/4 = 56.25   baseline (50+25)/2 = 37.5   ratio 1.5
//	shot_noise      model (100+50+50+50)/4 = 62.5   baseline (100+25)/2 = 62.5  ratio 1
//	snow            model (50+25+50+25)/4 = 37.5    baseline (75+50)/2 = 62.5   ratio 0.6
//
// score = (1.5 + 1 + 0.6)/3 = 31/30; noise = (1.5 + 1)/2 = 1.25; weather = 0.6.
// Clean accuracy: model (75+100)/2 = 87.5 %, baseline 50 %.
func TestRobustnessByHand(t *testing.T) {
	model, baseline := handExample(t)
	mt, err := model.MeanTable()
	if err != nil {
		t.Fatal(err)
	}
	bt, err := baseline.MeanTable()
	if err != nil {
		t.Fatal(err)
	}
	if mt.Clean != 87.5 || bt.Clean != 50 {
		t.Errorf("clean accuracies %g, %g; want 87.5, 50", mt.Clean, bt.Clean)
	}
	checkSlice(t, "model gaussian_noise by severity", mt.Accuracy[0], []float64{75, 37.5}, 1e-12)
	r, err := Robustness(mt, bt, nil, imagenetC)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.Score, 31.0/30, 1e-12) {
		t.Errorf("score %.15g, want 31/30", r.Score)
	}
	checkSlice(t, "ratios", r.Ratios, []float64{1.5, 1, 0.6}, 1e-12)
	if len(r.Categories) != 2 {
		t.Fatalf("categories %+v, want noise and weather", r.Categories)
	}
	cases := []struct {
		name  string
		score float64
		n     int
	}{{"noise", 1.25, 2}, {"weather", 0.6, 1}}
	for i, c := range cases {
		got := r.Categories[i]
		if got.Name != c.name || len(got.Corruptions) != c.n || !near(got.Score, c.score, 1e-12) {
			t.Errorf("category %d = %+v, want %s with %d corruptions scoring %g", i, got, c.name, c.n, c.score)
		}
	}
	// Scoring a subset changes the mean to the subset's.
	sub, err := Robustness(mt, bt, []string{"snow", "gaussian_noise"}, imagenetC)
	if err != nil {
		t.Fatal(err)
	}
	if !near(sub.Score, (0.6+1.5)/2, 1e-12) || sub.Categories[0].Name != "noise" {
		t.Errorf("subset score %+v, want 1.05 with noise first", sub)
	}
	// The Baseline against itself scores exactly 1.
	self, err := Robustness(bt, bt, nil, imagenetC)
	if err != nil {
		t.Fatal(err)
	}
	if self.Score != 1 {
		t.Errorf("baseline self-score %g, want 1", self.Score)
	}
}

// TestUncategorizedCorruption: a scored corruption the taxonomy does not
// know is an error naming it.
func TestUncategorizedCorruption(t *testing.T) {
	if _, _, err := categoryGroups([]string{"gaussian_noise", "gaussian_blur"}, imagenetC); err == nil ||
		!strings.Contains(err.Error(), `"gaussian_blur" has no category`) {
		t.Errorf("unknown corruption error %v", err)
	}
	if _, _, err := categoryGroups([]string{"gaussian_noise"}, nil); err == nil {
		t.Error("scoring without a taxonomy gave no error")
	}
}

// TestCorruptionErrorByHand: model clean 80, gaussian_noise 60, 40, snow
// 70, 50; reference clean 70, gaussian_noise 40, 20, snow 60, 30 (all %).
//
//	CE gaussian = (40+60)/(60+80) = 5/7;    CE snow = (30+50)/(40+70) = 8/11
//	mCE = (5/7 + 8/11)/2 = 111/154
//	relative gaussian = (20+40)/(30+50) = 0.75;  relative snow = (10+30)/(10+40) = 0.8
//	relative mCE = 0.775
func TestCorruptionErrorByHand(t *testing.T) {
	names := []string{"gaussian_noise", "snow"}
	model := AccuracyTable{Clean: 80, Corruptions: names, Accuracy: [][]float64{{60, 40}, {70, 50}}}
	ref := AccuracyTable{Clean: 70, Corruptions: []string{"snow", "gaussian_noise"}, Accuracy: [][]float64{{60, 30}, {40, 20}}}
	ce, err := CorruptionError(model, ref, names)
	if err != nil {
		t.Fatal(err)
	}
	checkSlice(t, "CE", ce.CE, []float64{5.0 / 7, 8.0 / 11}, 1e-12)
	checkSlice(t, "relative CE", ce.RelativeCE, []float64{0.75, 0.8}, 1e-12)
	if !near(ce.MCE, 111.0/154, 1e-12) || !near(ce.RelativeMCE, 0.775, 1e-12) {
		t.Errorf("mCE %g relative %g, want %g and 0.775", ce.MCE, ce.RelativeMCE, 111.0/154)
	}
	flat := AccuracyTable{Clean: 50, Corruptions: names, Accuracy: [][]float64{{50, 50}, {40, 20}}}
	if _, err := CorruptionError(model, flat, names); err == nil || !strings.Contains(err.Error(), "gaussian_noise") {
		t.Errorf("error %v, want one about the reference losing no accuracy on gaussian_noise", err)
	}
}

func TestRobustnessErrors(t *testing.T) {
	names := []string{"gaussian_noise", "snow"}
	good := AccuracyTable{Clean: 50, Corruptions: names, Accuracy: [][]float64{{40, 30}, {20, 10}}}
	cases := []struct {
		name            string
		model, baseline AccuracyTable
		corruptions     []string
		want            string
	}{
		{"severities", AccuracyTable{Clean: 50, Corruptions: names, Accuracy: [][]float64{{40}, {20}}}, good, nil,
			"model has 1 severities but baseline has 2"},
		{"rows", AccuracyTable{Clean: 50, Corruptions: names, Accuracy: [][]float64{{40, 30}}}, good, nil,
			"1 rows for 2 corruptions"},
		{"ragged", AccuracyTable{Clean: 50, Corruptions: names, Accuracy: [][]float64{{40, 30}, {20}}}, good, nil,
			"snow has 1 severities, gaussian_noise has 2"},
		{"range", AccuracyTable{Clean: 50, Corruptions: names, Accuracy: [][]float64{{40, 130}, {20, 10}}}, good, nil,
			"gaussian_noise severity 2 accuracy 130"},
		{"missing", good, AccuracyTable{Clean: 50, Corruptions: []string{"gaussian_noise", "fog"}, Accuracy: [][]float64{{40, 30}, {20, 10}}}, nil,
			`model: accuracy table has no corruption "fog"`},
		{"zero baseline", good, AccuracyTable{Clean: 50, Corruptions: names, Accuracy: [][]float64{{0, 0}, {20, 10}}}, nil,
			"baseline accuracy on gaussian_noise is 0"},
		{"no category", AccuracyTable{Clean: 50, Corruptions: []string{"speckle_noise"}, Accuracy: [][]float64{{40, 30}}},
			AccuracyTable{Clean: 50, Corruptions: []string{"speckle_noise"}, Accuracy: [][]float64{{40, 30}}}, nil,
			`"speckle_noise" has no category`},
		{"duplicate", good, good, []string{"snow", "snow"}, `corruption "snow" listed twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Robustness(c.model, c.baseline, c.corruptions, imagenetC)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestAccuracyMatrixValidate(t *testing.T) {
	model, _ := handExample(t)
	cases := []struct {
		name   string
		change func(m *AccuracyMatrix)
		want   string
	}{
		{"clean length", func(m *AccuracyMatrix) { m.Seeds[1].Clean = m.Seeds[1].Clean[:3] }, "seed 2: 3 clean results for 4 test images"},
		{"corruption count", func(m *AccuracyMatrix) { m.Seeds[0].Corrupted = m.Seeds[0].Corrupted[:2] }, "seed 1: results for 2 corruptions, 3 corruptions listed"},
		{"severity count", func(m *AccuracyMatrix) { m.Seeds[0].Corrupted[2] = m.Seeds[0].Corrupted[2][:1] }, "seed 1 snow: 1 severities, want 2"},
		{"image count", func(m *AccuracyMatrix) { m.Seeds[1].Corrupted[1][1] = nil }, "seed 2 shot_noise severity 2: 0 results for 4 test images"},
		{"duplicate seed", func(m *AccuracyMatrix) { m.Seeds[1].Seed = 1 }, "seed 1 listed twice"},
		{"no seeds", func(m *AccuracyMatrix) { m.Seeds = nil }, "has no seeds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, _ := handExample(t)
			c.change(m)
			err := m.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, err := model.SeedTable(2); err == nil || !strings.Contains(err.Error(), "seed index 2 out of range") {
		t.Errorf("SeedTable(2) error %v", err)
	}
	st, err := model.SeedTable(1)
	if err != nil {
		t.Fatal(err)
	}
	if st.Clean != 100 || st.Accuracy[1][0] != 50 {
		t.Errorf("seed 2 table %+v, want clean 100 and shot_noise severity 1 at 50", st)
	}
}
