package data

import (
	"fmt"

	"github.com/cotrain/cotrain/internal/nprand"
)

// SplitSeed is the NumPy seed of the original train/validation split. The
// original loaders hard-code it, so the split does not depend on the
// experiment seed.
const SplitSeed = 1000

// Names of the splits a dataset offers.
const (
	SplitTrain      = "train"
	SplitValidation = "validation"
	SplitTest       = "test"
)

// HoldoutSplit reproduces the original train/validation split of n
// examples: the indices 0..n-1 are shuffled with NumPy's legacy generator,
// as np.random.seed(seed); np.random.shuffle(indices) does, and the first
// nValidation shuffled indices form the validation set, the rest the
// training set (both in shuffled order).
func HoldoutSplit(n, nValidation int, seed uint32) (train, validation []int, err error) {
	if n < 0 || nValidation < 0 || nValidation > n {
		return nil, nil, fmt.Errorf("holdout split: %d validation examples out of %d is impossible", nValidation, n)
	}
	perm := nprand.New(seed).Permutation(n)
	return perm[nValidation:], perm[:nValidation], nil
}
