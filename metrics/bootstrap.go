package metrics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// DefaultReplicates is the number of bootstrap resamples used by
// Safarani et al. 2021 for their error bars.
const DefaultReplicates = 250

// BootstrapOptions configure BootstrapRobustness.
type BootstrapOptions struct {
	// Replicates is the number of resamples; 0 means DefaultReplicates.
	// At least 2 are needed for a standard deviation.
	Replicates int
	// Seed seeds the PCG generator (math/rand/v2 NewPCG(Seed, 0)); the
	// same seed gives the same result.
	Seed uint64
	// Corruptions lists the corruptions to score; nil means every
	// corruption of the Baseline (pass corrupt.Paper14() for the paper's
	// 14).
	Corruptions []string
	// Taxonomy groups the corruptions into categories.
	Taxonomy Taxonomy `json:"-"`
}

// Estimate summarises a bootstrapped statistic.
type Estimate struct {
	// Point is the statistic on the full test set.
	Point float64 `json:"point"`
	// Mean is the mean over the bootstrap replicates.
	Mean float64 `json:"mean"`
	// Std is the standard deviation over the replicates (divisor B − 1),
	// the bootstrap standard error of Point.
	Std float64 `json:"std"`
}

// CategoryEstimate is the bootstrapped score of one corruption category.
type CategoryEstimate struct {
	// Name is the category name.
	Name string `json:"name"`
	// Corruptions lists the scored corruptions in the category.
	Corruptions []string `json:"corruptions"`
	// Score is the category score (mean of its corruption ratios).
	Score Estimate `json:"score"`
}

// RobustnessBootstrap holds bootstrap error bars of a robustness score.
type RobustnessBootstrap struct {
	// Replicates is the number of resamples.
	Replicates int `json:"replicates"`
	// Seed is the generator seed.
	Seed uint64 `json:"seed"`
	// NumImages is the number of test images resampled.
	NumImages int `json:"num_images"`
	// Score is the overall robustness score (fraction; Baseline = 1).
	Score Estimate `json:"score"`
	// Corruptions lists the scored corruptions.
	Corruptions []string `json:"corruptions"`
	// Ratios holds Ā_c(model)/Ā_c(Baseline) per corruption.
	Ratios []Estimate `json:"ratios"`
	// Categories holds the per-category scores.
	Categories []CategoryEstimate `json:"categories"`
	// Clean is the model's clean accuracy in %, averaged over seeds.
	Clean Estimate `json:"clean"`
	// Scores holds the overall score of every replicate, in order.
	Scores []float64 `json:"scores"`
}

// imageCounts holds, per test image, how many (seed, severity) results were
// correct for each scored corruption, and how many seeds were correct on
// the clean image.
type imageCounts struct {
	perCorruption []int32 // [image*C + c]
	clean         []int32 // [image]
	trials        float64 // seeds × severities behind each per-corruption count
	seeds         float64
}

func countCorrect(m *AccuracyMatrix, corruptions []string) (imageCounts, error) {
	col := make([]int, len(corruptions))
	for i, c := range corruptions {
		col[i] = -1
		for j, name := range m.Corruptions {
			if name == c {
				col[i] = j
			}
		}
		if col[i] < 0 {
			return imageCounts{}, fmt.Errorf("model %q has no results for corruption %q", m.Model, c)
		}
	}
	nc := len(corruptions)
	ic := imageCounts{
		perCorruption: make([]int32, m.NumImages*nc),
		clean:         make([]int32, m.NumImages),
		trials:        float64(len(m.Seeds) * m.Severities),
		seeds:         float64(len(m.Seeds)),
	}
	for _, sc := range m.Seeds {
		for k, ok := range sc.Clean {
			if ok {
				ic.clean[k]++
			}
		}
		for i, j := range col {
			for _, res := range sc.Corrupted[j] {
				for k, ok := range res {
					if ok {
						ic.perCorruption[k*nc+i]++
					}
				}
			}
		}
	}
	return ic, nil
}

// BootstrapRobustness returns bootstrap error bars for the robustness score
// of model relative to baseline (Robustness on their MeanTables).
//
// The resampling unit is the test image: each replicate draws NumImages
// image indices uniformly with replacement, and the same drawn indices are
// used for every seed, corruption and severity of both the model and the
// Baseline. All of them were evaluated on the same test images, so the
// shared draw keeps the pairing: a replicate is "the same experiment on a
// different test set", and image difficulty, which affects model and
// Baseline alike, largely cancels in the ratio. Seed-to-seed variation is
// not resampled (it enters only through the mean over seeds). See
// docs/metrics.md.
func BootstrapRobustness(model, baseline *AccuracyMatrix, opts BootstrapOptions) (RobustnessBootstrap, error) {
	reps := opts.Replicates
	if reps == 0 {
		reps = DefaultReplicates
	}
	if reps < 2 {
		return RobustnessBootstrap{}, fmt.Errorf("%d bootstrap replicates; need at least 2", reps)
	}
	if model == nil || baseline == nil {
		return RobustnessBootstrap{}, errors.New("bootstrap needs both a model and a baseline accuracy matrix")
	}
	if err := model.Validate(); err != nil {
		return RobustnessBootstrap{}, fmt.Errorf("model: %w", err)
	}
	if err := baseline.Validate(); err != nil {
		return RobustnessBootstrap{}, fmt.Errorf("baseline: %w", err)
	}
	if model.NumImages != baseline.NumImages {
		return RobustnessBootstrap{}, fmt.Errorf("model %q has %d test images but baseline %q has %d; both must be tested on the same images",
			model.Model, model.NumImages, baseline.Model, baseline.NumImages)
	}
	modelMean := model.meanTable()
	point, err := Robustness(modelMean, baseline.meanTable(), opts.Corruptions, opts.Taxonomy)
	if err != nil {
		return RobustnessBootstrap{}, err
	}
	corruptions := point.Corruptions
	s, err := newScorer(corruptions, opts.Taxonomy)
	if err != nil {
		return RobustnessBootstrap{}, err
	}
	mc, err := countCorrect(model, corruptions)
	if err != nil {
		return RobustnessBootstrap{}, err
	}
	bc, err := countCorrect(baseline, corruptions)
	if err != nil {
		return RobustnessBootstrap{}, err
	}

	n := model.NumImages
	nc := len(corruptions)
	rng := rand.New(rand.NewPCG(opts.Seed, 0))
	mSum := make([]int64, nc)
	bSum := make([]int64, nc)
	mAcc := make([]float64, nc)
	bAcc := make([]float64, nc)
	scores := make([]float64, reps)
	ratios := make([][]float64, nc)
	cats := make([][]float64, len(s.cats))
	clean := make([]float64, reps)
	for c := range ratios {
		ratios[c] = make([]float64, reps)
	}
	for k := range cats {
		cats[k] = make([]float64, reps)
	}
	for r := range reps {
		clear(mSum)
		clear(bSum)
		var cleanSum int64
		for range n {
			i := rng.IntN(n)
			row := i * nc
			for c := range nc {
				mSum[c] += int64(mc.perCorruption[row+c])
				bSum[c] += int64(bc.perCorruption[row+c])
			}
			cleanSum += int64(mc.clean[i])
		}
		for c := range nc {
			mAcc[c] = 100 * float64(mSum[c]) / (float64(n) * mc.trials)
			bAcc[c] = 100 * float64(bSum[c]) / (float64(n) * bc.trials)
		}
		rs, err := s.score(mAcc, bAcc)
		if err != nil {
			return RobustnessBootstrap{}, fmt.Errorf("bootstrap replicate %d: %w", r, err)
		}
		scores[r] = rs.Score
		for c, v := range rs.Ratios {
			ratios[c][r] = v
		}
		for k, cs := range rs.Categories {
			cats[k][r] = cs.Score
		}
		clean[r] = 100 * float64(cleanSum) / (float64(n) * mc.seeds)
	}

	out := RobustnessBootstrap{
		Replicates:  reps,
		Seed:        opts.Seed,
		NumImages:   n,
		Score:       estimate(point.Score, scores),
		Corruptions: corruptions,
		Ratios:      make([]Estimate, nc),
		Clean:       estimate(modelMean.Clean, clean),
		Scores:      scores,
	}
	for c := range nc {
		out.Ratios[c] = estimate(point.Ratios[c], ratios[c])
	}
	for k, cs := range point.Categories {
		out.Categories = append(out.Categories, CategoryEstimate{Name: cs.Name, Corruptions: cs.Corruptions, Score: estimate(cs.Score, cats[k])})
	}
	return out, nil
}

// estimate summarises replicate values x of a statistic whose full-data
// value is point.
func estimate(point float64, x []float64) Estimate {
	m := mean(x)
	var ss float64
	for _, v := range x {
		d := v - m
		ss += d * d
	}
	return Estimate{Point: point, Mean: m, Std: math.Sqrt(ss / float64(len(x)-1))}
}
