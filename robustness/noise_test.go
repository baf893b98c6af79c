package robustness

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/cotrain/cotrain/data"
)

// TestGaussianNoise checks the noise test with a fake model that records
// its inputs: level 0 is the normalized clean image; at σ > 0 the pixels
// (in [0, 1] before normalization) move by about σ and stay in [0, 1]; the
// noise depends only on the seed, the level and the image, not on the
// batch size; and the accuracy of an orientation rule falls toward chance
// as the noise drowns the stripes' difference.
func TestGaussianNoise(t *testing.T) {
	set := stripeSet(t, "stripes", 40, 1, 16, 3)
	norm := data.Normalize{Mean: 0.5, Std: 0.25}
	levels := []float64{0, 0.1, 2}
	run := func(batch int) (*recorder, []float64) {
		r := &recorder{rule: orientationRule(16)}
		acc, err := gaussianNoise(context.Background(), r, norm, set, levels, 7, batch, 2)
		if err != nil {
			t.Fatal(err)
		}
		return r, acc
	}
	r, acc := run(40)
	_, acc2 := run(16)
	if !slices.Equal(acc, acc2) {
		t.Errorf("batch 40: accuracy %v, batch 16: %v", acc, acc2)
	}
	size := 16 * 16
	clean, err := data.Images(set, rangeN(40), data.Normalize{Mean: 0, Std: 1})
	if err != nil {
		t.Fatal(err)
	}
	n := 40 * size
	var dev float64
	for i := range n {
		got := r.x[i]*norm.Std + norm.Mean // level 0, back in [0, 1]
		if math.Abs(float64(got-clean.X[i])) > 1e-6 {
			t.Fatalf("level 0 pixel %d is %v, want the clean %v", i, got, clean.X[i])
		}
		noisy := float64(r.x[n+i]*norm.Std + norm.Mean)
		if noisy < -1e-6 || noisy > 1+1e-6 {
			t.Fatalf("noisy pixel %v outside [0, 1]", noisy)
		}
		dev += (noisy - float64(clean.X[i])) * (noisy - float64(clean.X[i]))
	}
	if rms := math.Sqrt(dev / float64(n)); rms < 0.07 || rms > 0.1 {
		t.Errorf("rms change at σ = 0.1: %.3f (clipping makes it a little less than 0.1)", rms)
	}
	if acc[0] < 90 || acc[2] > 75 {
		t.Errorf("accuracy %v: want the orientation rule near 100 %% clean and near chance at σ = 2", acc)
	}
	if _, err := gaussianNoise(context.Background(), r, norm, set, []float64{-1}, 7, 16, 2); err == nil {
		t.Error("a negative level gave no error")
	}
}

func rangeN(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
