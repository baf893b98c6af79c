package metrics

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Distance is a minimal adversarial perturbation's norm: 0 for an image
// the model already misclassifies, +Inf for one no attack flipped. In JSON
// +Inf is null (JSON has no infinity).
type Distance float64

// MarshalJSON writes +Inf as null.
func (d Distance) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(d), 1) {
		return []byte("null"), nil
	}
	if math.IsNaN(float64(d)) || math.IsInf(float64(d), -1) {
		return nil, fmt.Errorf("distance %v is not a norm", float64(d))
	}
	return json.Marshal(float64(d))
}

// UnmarshalJSON reads null as +Inf.
func (d *Distance) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*d = Distance(math.Inf(1))
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*d = Distance(v)
	return nil
}

// Median is the median of x (the mean of the two middle values for an
// even count; +Inf values sort last, so a median stays finite while fewer
// than half the images are never flipped). NaN for no values.
func Median(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	s := slices.Clone(x)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	a, b := s[n/2-1], s[n/2]
	if math.IsInf(b, 1) {
		return b
	}
	return (a + b) / 2
}

// MedianEstimate is a median with its bootstrap percentile interval.
type MedianEstimate struct {
	Median Distance `json:"median"`
	// Low and High bound the central 95 % of the bootstrap replicates'
	// medians (the percentile interval).
	Low  Distance `json:"low"`
	High Distance `json:"high"`
	// Replicates resamples of the images with replacement, seeded by Seed.
	Replicates int    `json:"replicates"`
	Seed       uint64 `json:"seed"`
}

// BootstrapMedian returns the median of x with a 95 % percentile interval
// over replicates resamples of x with replacement (PCG seeded by seed; 0
// replicates means DefaultReplicates).
func BootstrapMedian(x []float64, replicates int, seed uint64) (MedianEstimate, error) {
	if len(x) == 0 {
		return MedianEstimate{}, fmt.Errorf("bootstrap median: no values")
	}
	if replicates == 0 {
		replicates = DefaultReplicates
	}
	if replicates < 2 {
		return MedianEstimate{}, fmt.Errorf("bootstrap median: %d replicates, need at least 2", replicates)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	meds := make([]float64, replicates)
	res := make([]float64, len(x))
	for r := range meds {
		for i := range res {
			res[i] = x[rng.IntN(len(x))]
		}
		meds[r] = Median(res)
	}
	slices.Sort(meds)
	q := func(p float64) float64 { return meds[min(int(p*float64(replicates)), replicates-1)] }
	return MedianEstimate{Median: Distance(Median(x)), Low: Distance(q(0.025)), High: Distance(q(0.975)), Replicates: replicates, Seed: seed}, nil
}

// AdversarialImage is one image's minimal perturbation.
type AdversarialImage struct {
	// Index is the image's index in its data set.
	Index    int      `json:"index"`
	Label    int      `json:"label"`
	Distance Distance `json:"distance"`
	// Attack names the attack that found it ("misclassified" when the
	// clean image already is, "none" when nothing flipped it).
	Attack string `json:"attack"`
}

// Adversarial is a model's adversarial robustness in one norm (Li et al.
// 2019 §4.2): the median minimal perturbation over test images, and per
// attack budget for Fig. 5.
type Adversarial struct {
	Norm   string         `json:"norm"`
	Data   string         `json:"data"`
	Median MedianEstimate `json:"median"`
	// Misclassified counts the images wrong before any attack (distance
	// 0), Unflipped those no attack flipped (+Inf).
	Misclassified int `json:"misclassified"`
	Unflipped     int `json:"unflipped"`
	// Budgets are the attack budgets (PGD iterations for L∞, boundary
	// attack steps for L2) and BudgetMedians the median of the smallest
	// perturbation found within each.
	Budgets       []int      `json:"budgets"`
	BudgetMedians []Distance `json:"budget_medians"`
	// Seconds is the attack's wall-clock time.
	Seconds float64            `json:"seconds"`
	Images  []AdversarialImage `json:"images"`
}

// NewAdversarial summarizes per-image distances (with their indices,
// labels and attacks) and per-budget distances ([budget][image]).
func NewAdversarial(norm, data string, images []AdversarialImage, budgets []int, perBudget [][]float64, replicates int, seed uint64) (*Adversarial, error) {
	if len(perBudget) != len(budgets) {
		return nil, fmt.Errorf("adversarial: %d budgets but %d per-budget rows", len(budgets), len(perBudget))
	}
	d := make([]float64, len(images))
	a := &Adversarial{Norm: norm, Data: data, Budgets: budgets, Images: images}
	for i, im := range images {
		d[i] = float64(im.Distance)
		switch {
		case d[i] == 0:
			a.Misclassified++
		case math.IsInf(d[i], 1):
			a.Unflipped++
		}
	}
	var err error
	if a.Median, err = BootstrapMedian(d, replicates, seed); err != nil {
		return nil, err
	}
	for _, row := range perBudget {
		a.BudgetMedians = append(a.BudgetMedians, Distance(Median(row)))
	}
	return a, nil
}
