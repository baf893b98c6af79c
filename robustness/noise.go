package robustness

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/predict"
)

// GaussianNoise tests a classifier on set under additive Gaussian noise
// (Li et al. 2019 Fig. 4) and returns its accuracy in percent at each
// level: every image, in cotrain's grayscale in [0, 1], gets independent
// N(0, σ²) noise on every pixel, is clipped to [0, 1] and normalized as
// the model was trained. Level 0 is the clean test. The noise of image i at
// level k depends only on (seed, k, i), so every model sees the same noisy
// images. batch images are classified at a time.
func GaussianNoise(ctx context.Context, clf *predict.Classifier, set data.Set, levels []float64, seed uint64, batch, workers int) ([]float64, error) {
	return gaussianNoise(ctx, clf, clf.Info.Normalize, set, levels, seed, batch, workers)
}

// gaussianNoise is GaussianNoise for any predictor with normalization norm.
func gaussianNoise(ctx context.Context, clf predictor, norm data.Normalize, set data.Set, levels []float64, seed uint64, batch, workers int) ([]float64, error) {
	for _, s := range levels {
		if s < 0 || math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("gaussian noise: level %v must be finite and not negative", s)
		}
	}
	loader, err := data.NewEvalLoader(set, batch, data.Normalize{Mean: 0, Std: 1}, workers)
	if err != nil {
		return nil, err
	}
	correct := make([]int, len(levels))
	total := 0
	var x []float32
	for b, err := range loader.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		size := b.H * b.W
		x = append(x[:0], b.X...) // sized like the batch; filled per level
		for k, sigma := range levels {
			for i := range b.N {
				img := x[i*size : (i+1)*size]
				copy(img, b.X[i*size:(i+1)*size])
				if sigma > 0 {
					rng := rand.New(rand.NewPCG(seed, uint64(k)<<40|uint64(b.Indices[i])))
					for p := range img {
						img[p] = float32(min(max(float64(img[p])+sigma*rng.NormFloat64(), 0), 1))
					}
				}
				norm.Apply(img)
			}
			pred, err := clf.Predict(x, b.N, b.H, b.W)
			if err != nil {
				return nil, err
			}
			for i, p := range pred {
				if p == int(b.Labels[i]) {
					correct[k]++
				}
			}
		}
		total += b.N
	}
	if total == 0 {
		return nil, fmt.Errorf("gaussian noise: the test set %s is empty", set.Name())
	}
	acc := make([]float64, len(levels))
	for k := range acc {
		acc[k] = 100 * float64(correct[k]) / float64(total)
	}
	return acc, nil
}
