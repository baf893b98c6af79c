package data

import (
	"slices"
	"testing"
)

func TestHoldoutSplitMatchesNumPy(t *testing.T) {
	// np.random.seed(1000); idx = list(range(100000)); np.random.shuffle(idx)
	// gives idx[:4] = [81768, 72785, 16208, 39960] and
	// idx[9998:10002] = [13937, 72321, 70178, 97174].
	train, val, err := HoldoutSplit(100000, 10000, SplitSeed)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 90000 || len(val) != 10000 {
		t.Fatalf("sizes %d/%d; want 90000/10000", len(train), len(val))
	}
	if got := val[:4]; !slices.Equal(got, []int{81768, 72785, 16208, 39960}) {
		t.Errorf("validation[:4] = %v", got)
	}
	if got := []int{val[9998], val[9999], train[0], train[1]}; !slices.Equal(got, []int{13937, 72321, 70178, 97174}) {
		t.Errorf("shuffled[9998:10002] = %v", got)
	}
	all := append(slices.Clone(train), val...)
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("train ∪ validation is not a partition of 0..99999 (position %d holds %d)", i, v)
		}
	}
	if _, _, err := HoldoutSplit(10, 11, SplitSeed); err == nil {
		t.Error("11 of 10 accepted")
	}
}
