package similarity

import (
	"math"
	"testing"
)

// TestFeatureTarget checks the feature similarity against a closed form:
// three 2-d feature vectors with mean 0, (1, 0), (0, 1), (−1, −1), have
// cosines 0, −1/√2, −1/√2.
func TestFeatureTarget(t *testing.T) {
	base := &Target{N: 3, H: 1, W: 2, Pixels: []uint8{1, 2, 3, 4, 5, 6}, ImageIDs: []int64{7, 8, 9}, Meta: Metadata{Kind: KindModel}}
	got, err := FeatureTarget(base, []float32{1, 0, 0, 1, -1, -1}, 2, "vgg")
	if err != nil {
		t.Fatal(err)
	}
	r := -1 / math.Sqrt2
	want := []float64{1, 0, r, 0, 1, r, r, r, 1}
	for i, w := range want {
		if math.Abs(float64(got.S[i])-w) > 1e-6 {
			t.Errorf("S[%d] = %v, want %v", i, got.S[i], w)
		}
	}
	if err := got.Validate(); err != nil || got.Meta.Kind != KindFeatures || got.ImageIDs[2] != 9 {
		t.Errorf("target: %v, kind %s, ids %v", err, got.Meta.Kind, got.ImageIDs)
	}
	if _, err := FeatureTarget(base, []float32{1, 2, 3}, 2, "vgg"); err == nil {
		t.Error("3 values for 3 images of 2 features: no error")
	}
}
