package nprand

import (
	"slices"
	"testing"
)

// The expected values were printed by NumPy 1.24.2 (Debian python3-numpy):
//
//	np.random.seed(1000); np.random.random_sample(3)
//	np.random.seed(1000); np.random.permutation(10)
//	idx = list(range(100000)); np.random.seed(1000); np.random.shuffle(idx)
func TestMatchesNumPy(t *testing.T) {
	t.Run("random_sample", func(t *testing.T) {
		r := New(1000)
		want := []float64{0.6535895854646095, 0.11500694312440574, 0.9502828643490245}
		for i, w := range want {
			if got := r.Float64(); got != w {
				t.Errorf("draw %d = %v, want %v", i, got, w)
			}
		}
	})
	t.Run("permutation", func(t *testing.T) {
		got := New(1000).Permutation(10)
		want := []int{2, 6, 5, 1, 4, 9, 0, 8, 7, 3}
		if !slices.Equal(got, want) {
			t.Errorf("Permutation(10) = %v, want %v", got, want)
		}
	})
	t.Run("shuffle 100000", func(t *testing.T) {
		idx := New(1000).Permutation(100000)
		checks := []struct{ at, want int }{
			{0, 81768}, {1, 72785}, {2, 16208}, {7, 42004},
			{9998, 13937}, {9999, 72321}, {10000, 70178}, {10001, 97174},
			{99997, 3776}, {99998, 71751}, {99999, 70231},
		}
		for _, c := range checks {
			if idx[c.at] != c.want {
				t.Errorf("idx[%d] = %d, want %d", c.at, idx[c.at], c.want)
			}
		}
	})
}
