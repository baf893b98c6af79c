package metrics

import (
	"errors"
	"fmt"
	"math"
)

// corrEps is added to each standard deviation in Correlation, as in the
// nnvision/neuralpredictors corr function, so that a constant signal yields
// a correlation of (nearly) zero instead of a division by zero.
const corrEps = 1e-8

// finiteOrZero returns v, or 0 when v is NaN or ±Inf. It implements the
// package-wide convention that an undefined per-neuron metric is reported as
// 0 (nnvision sets NaN correlations to 0).
func finiteOrZero(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// checkMatrix verifies that m is a non-empty rows×cols matrix with at least
// one column and returns the column count. name is used in error messages.
func checkMatrix(name string, m [][]float64) (int, error) {
	if len(m) == 0 {
		return 0, fmt.Errorf("%s has no rows", name)
	}
	cols := len(m[0])
	if cols == 0 {
		return 0, fmt.Errorf("%s row 0 has no columns (neurons)", name)
	}
	for i, row := range m {
		if len(row) != cols {
			return 0, fmt.Errorf("%s row %d has %d columns, row 0 has %d", name, i, len(row), cols)
		}
	}
	return cols, nil
}

// constant reports whether all values of x are identical.
func constant(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}

// Pearson returns the correlation of the paired samples x[k], y[k] with the
// nnvision convention: each signal is centred and divided by its population
// standard deviation (ddof 0) plus 1e-8, and the mean of the product is
// returned. A constant signal (or fewer than two samples) gives exactly 0
// (the convention would give a value within about 1e-9 of 0, set by the
// rounding of its mean), and NaN or ±Inf results become 0.
func Pearson(x, y []float64) float64 {
	if len(x) < 2 || constant(x) || constant(y) {
		return 0
	}
	n := float64(len(x))
	var mx, my float64
	for k := range x {
		mx += x[k]
		my += y[k]
	}
	mx /= n
	my /= n
	var vx, vy float64
	for k := range x {
		dx, dy := x[k]-mx, y[k]-my
		vx += dx * dx
		vy += dy * dy
	}
	sx := math.Sqrt(vx/n) + corrEps
	sy := math.Sqrt(vy/n) + corrEps
	var s float64
	for k := range x {
		s += (x[k] - mx) / sx * ((y[k] - my) / sy)
	}
	return finiteOrZero(s / n)
}

// Correlation returns, per neuron (column), the Pearson correlation between
// responses and predictions over the rows (trials), with the nnvision
// convention described in docs/metrics.md: population standard deviations
// plus 1e-8 in the denominator, and NaN results set to 0. Both arguments are
// trials × neurons and must have the same shape.
func Correlation(responses, predictions [][]float64) ([]float64, error) {
	nr, err := checkMatrix("responses", responses)
	if err != nil {
		return nil, err
	}
	np, err := checkMatrix("predictions", predictions)
	if err != nil {
		return nil, err
	}
	if len(responses) != len(predictions) || nr != np {
		return nil, fmt.Errorf("responses are %d trials × %d neurons but predictions are %d × %d",
			len(responses), nr, len(predictions), np)
	}
	x := make([]float64, len(responses))
	y := make([]float64, len(responses))
	out := make([]float64, nr)
	for n := range out {
		for k := range responses {
			x[k] = responses[k][n]
			y[k] = predictions[k][n]
		}
		out[n] = Pearson(x, y)
	}
	return out, nil
}

// NeuralTest holds the responses of a neural test set grouped by image:
// every test image was shown several times (repeats), and the model makes a
// single prediction per image. Build one from flat per-trial arrays with
// GroupTrials, or fill the fields directly.
type NeuralTest struct {
	// ImageIDs[i] identifies image i. It may be nil; when set it has one
	// entry per image.
	ImageIDs []int
	// Responses[i][r][n] is neuron n's response on repeat r of image i.
	// Images may have different numbers of repeats.
	Responses [][][]float64
	// Predictions[i][n] is the model's prediction of neuron n's response to
	// image i. It may be nil for the response-only statistics (FEV without
	// FEVe, the oracle correlations).
	Predictions [][]float64
}

// GroupTrials builds a NeuralTest from flat per-trial arrays: imageIDs[k] is
// the image shown on trial k, responses[k] the trial's response vector
// (one entry per neuron) and predictions[k] the model's prediction for that
// trial (may be nil). Images appear in the order of their first trial and
// repeats in trial order. An image's prediction is the mean of its trials'
// predictions, which equals each of them for a deterministic model.
func GroupTrials(imageIDs []int, responses, predictions [][]float64) (NeuralTest, error) {
	neurons, err := checkMatrix("responses", responses)
	if err != nil {
		return NeuralTest{}, err
	}
	if len(imageIDs) != len(responses) {
		return NeuralTest{}, fmt.Errorf("%d image ids for %d response trials; give one image id per trial",
			len(imageIDs), len(responses))
	}
	if predictions != nil {
		np, err := checkMatrix("predictions", predictions)
		if err != nil {
			return NeuralTest{}, err
		}
		if len(predictions) != len(responses) || np != neurons {
			return NeuralTest{}, fmt.Errorf("responses are %d trials × %d neurons but predictions are %d × %d",
				len(responses), neurons, len(predictions), np)
		}
	}
	index := make(map[int]int)
	var t NeuralTest
	var counts []int
	for k, id := range imageIDs {
		i, ok := index[id]
		if !ok {
			i = len(t.ImageIDs)
			index[id] = i
			t.ImageIDs = append(t.ImageIDs, id)
			t.Responses = append(t.Responses, nil)
			counts = append(counts, 0)
			if predictions != nil {
				t.Predictions = append(t.Predictions, make([]float64, neurons))
			}
		}
		t.Responses[i] = append(t.Responses[i], append([]float64(nil), responses[k]...))
		counts[i]++
		if predictions != nil {
			for n, v := range predictions[k] {
				t.Predictions[i][n] += v
			}
		}
	}
	for i := range t.Predictions {
		for n := range t.Predictions[i] {
			t.Predictions[i][n] /= float64(counts[i])
		}
	}
	return t, nil
}

// validate checks the shapes of t and returns the neuron count. When
// needPredictions is set, Predictions must be present.
func (t NeuralTest) validate(needPredictions bool) (int, error) {
	if len(t.Responses) == 0 {
		return 0, errors.New("neural test set has no images")
	}
	if t.ImageIDs != nil && len(t.ImageIDs) != len(t.Responses) {
		return 0, fmt.Errorf("neural test set has %d image ids for %d images", len(t.ImageIDs), len(t.Responses))
	}
	neurons := -1
	for i, reps := range t.Responses {
		if len(reps) == 0 {
			return 0, fmt.Errorf("image %d has no repeats", i)
		}
		for r, row := range reps {
			if neurons < 0 {
				neurons = len(row)
				if neurons == 0 {
					return 0, errors.New("image 0 repeat 0 has no neurons")
				}
			}
			if len(row) != neurons {
				return 0, fmt.Errorf("image %d repeat %d has %d neurons, image 0 repeat 0 has %d", i, r, len(row), neurons)
			}
		}
	}
	if t.Predictions == nil {
		if needPredictions {
			return 0, errors.New("neural test set has no predictions")
		}
		return neurons, nil
	}
	if len(t.Predictions) != len(t.Responses) {
		return 0, fmt.Errorf("neural test set has %d prediction rows for %d images", len(t.Predictions), len(t.Responses))
	}
	for i, p := range t.Predictions {
		if len(p) != neurons {
			return 0, fmt.Errorf("prediction for image %d has %d neurons, responses have %d", i, len(p), neurons)
		}
	}
	return neurons, nil
}

// constantNeuron reports whether neuron n has the same response on every
// trial of t.
func (t NeuralTest) constantNeuron(n int) bool {
	first := t.Responses[0][0][n]
	for _, reps := range t.Responses {
		for _, row := range reps {
			if row[n] != first {
				return false
			}
		}
	}
	return true
}

// repeated returns the indices of the images with at least two repeats,
// the ones that the repeat-based statistics use, or an error if there are
// none.
func (t NeuralTest) repeated() ([]int, error) {
	var idx []int
	for i, reps := range t.Responses {
		if len(reps) >= 2 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, errors.New("no test image has two or more repeats; repeat-based metrics are undefined")
	}
	return idx, nil
}

// SingleTrialCorrelation returns, per neuron, the Correlation between every
// test trial's response and the prediction for its image (all trials of all
// images, each image's prediction repeated for its trials).
func (t NeuralTest) SingleTrialCorrelation() ([]float64, error) {
	neurons, err := t.validate(true)
	if err != nil {
		return nil, err
	}
	var x, y []float64
	out := make([]float64, neurons)
	for n := range out {
		x, y = x[:0], y[:0]
		for i, reps := range t.Responses {
			for _, row := range reps {
				x = append(x, row[n])
				y = append(y, t.Predictions[i][n])
			}
		}
		out[n] = Pearson(x, y)
	}
	return out, nil
}

// AverageCorrelation returns, per neuron, the Correlation across images
// between the repeat-averaged response and the prediction (all images,
// whatever their number of repeats).
func (t NeuralTest) AverageCorrelation() ([]float64, error) {
	neurons, err := t.validate(true)
	if err != nil {
		return nil, err
	}
	x := make([]float64, len(t.Responses))
	y := make([]float64, len(t.Responses))
	out := make([]float64, neurons)
	for n := range out {
		if t.constantNeuron(n) {
			// Rounding in the repeat means could make a constant neuron
			// look (very slightly) variable; it is 0 by convention.
			continue
		}
		for i, reps := range t.Responses {
			var s float64
			for _, row := range reps {
				s += row[n]
			}
			x[i] = s / float64(len(reps))
			y[i] = t.Predictions[i][n]
		}
		out[n] = Pearson(x, y)
	}
	return out, nil
}

// FEVResult holds the per-neuron variance statistics of a neural test set,
// over the images with at least two repeats.
type FEVResult struct {
	// TotalVariance is the variance (ddof 1) of all pooled trials.
	TotalVariance []float64
	// NoiseVariance is the mean over images of the across-repeat variance
	// (ddof 1).
	NoiseVariance []float64
	// FEV is the fraction of explainable variance,
	// (TotalVariance − NoiseVariance)/TotalVariance; 0 where undefined.
	FEV []float64
	// MSE is the mean over trials of (response − prediction)²; nil when the
	// test set has no predictions.
	MSE []float64
	// FEVe is the fraction of explainable variance explained,
	// 1 − (MSE − NoiseVariance)/(TotalVariance − NoiseVariance); 0 where
	// undefined, nil when the test set has no predictions.
	FEVe []float64
}

// FEV computes the explainable-variance statistics of Cadena et al. 2019
// per neuron over the images with at least two repeats: FEV always, and MSE
// and FEVe when t has predictions. A zero denominator makes the ratio 0
// (docs/metrics.md).
func (t NeuralTest) FEV() (FEVResult, error) {
	neurons, err := t.validate(false)
	if err != nil {
		return FEVResult{}, err
	}
	idx, err := t.repeated()
	if err != nil {
		return FEVResult{}, err
	}
	res := FEVResult{
		TotalVariance: make([]float64, neurons),
		NoiseVariance: make([]float64, neurons),
		FEV:           make([]float64, neurons),
	}
	if t.Predictions != nil {
		res.MSE = make([]float64, neurons)
		res.FEVe = make([]float64, neurons)
	}
	var pooled []float64
	for n := range neurons {
		pooled = pooled[:0]
		var sum float64
		for _, i := range idx {
			for _, row := range t.Responses[i] {
				sum += row[n]
				pooled = append(pooled, row[n])
			}
		}
		trials := len(pooled)
		if constant(pooled) {
			// A zero-variance neuron: both variances are exactly 0 and
			// the ratios are undefined, reported as 0.
			if t.Predictions != nil {
				res.MSE[n] = meanSquaredError(t, idx, n)
			}
			continue
		}
		mean := sum / float64(trials)
		var ss, noise float64
		for _, i := range idx {
			reps := t.Responses[i]
			var si float64
			for _, row := range reps {
				d := row[n] - mean
				ss += d * d
				si += row[n]
			}
			mi := si / float64(len(reps))
			var vi float64
			for _, row := range reps {
				d := row[n] - mi
				vi += d * d
			}
			noise += vi / float64(len(reps)-1)
		}
		vTot := ss / float64(trials-1)
		vNoise := noise / float64(len(idx))
		res.TotalVariance[n] = vTot
		res.NoiseVariance[n] = vNoise
		res.FEV[n] = finiteOrZero((vTot - vNoise) / vTot)
		if t.Predictions != nil {
			mse := meanSquaredError(t, idx, n)
			res.MSE[n] = mse
			res.FEVe[n] = finiteOrZero(1 - (mse-vNoise)/(vTot-vNoise))
		}
	}
	return res, nil
}

// meanSquaredError returns the mean over all trials of the images idx of
// (response − prediction)² for neuron n.
func meanSquaredError(t NeuralTest, idx []int, n int) float64 {
	var s float64
	var trials int
	for _, i := range idx {
		for _, row := range t.Responses[i] {
			e := row[n] - t.Predictions[i][n]
			s += e * e
			trials++
		}
	}
	return s / float64(trials)
}

// OracleCorrelation returns, per neuron, the jackknife oracle correlation:
// the Correlation, over all trials of the images with at least two repeats,
// between each trial's response and the mean of the other repeats of the
// same image.
func (t NeuralTest) OracleCorrelation() ([]float64, error) {
	neurons, err := t.validate(false)
	if err != nil {
		return nil, err
	}
	idx, err := t.repeated()
	if err != nil {
		return nil, err
	}
	var x, y []float64
	out := make([]float64, neurons)
	for n := range out {
		x, y = x[:0], y[:0]
		for _, i := range idx {
			reps := t.Responses[i]
			var s float64
			for _, row := range reps {
				s += row[n]
			}
			for _, row := range reps {
				x = append(x, row[n])
				y = append(y, (s-row[n])/float64(len(reps)-1))
			}
		}
		out[n] = Pearson(x, y)
	}
	return out, nil
}

// ConservativeOracleCorrelation returns, per neuron, the "conservative"
// oracle correlation of neuralpredictors, √(Vm/(Vm+Vn)) written as
// Vm/√(Vm·(Vm+Vn)), where Vm is the population variance (ddof 0) across
// images of the repeat means and Vn the mean over images of the population
// variance across repeats, over the images with at least two repeats. It is
// 0 where undefined (a neuron with no variance).
func (t NeuralTest) ConservativeOracleCorrelation() ([]float64, error) {
	neurons, err := t.validate(false)
	if err != nil {
		return nil, err
	}
	idx, err := t.repeated()
	if err != nil {
		return nil, err
	}
	means := make([]float64, len(idx))
	var pooled []float64
	out := make([]float64, neurons)
	for n := range out {
		pooled = pooled[:0]
		for _, i := range idx {
			for _, row := range t.Responses[i] {
				pooled = append(pooled, row[n])
			}
		}
		if constant(pooled) {
			continue // zero-variance neuron: 0 by convention
		}
		var vNoise, grand float64
		for k, i := range idx {
			reps := t.Responses[i]
			var s float64
			for _, row := range reps {
				s += row[n]
			}
			m := s / float64(len(reps))
			var v float64
			for _, row := range reps {
				d := row[n] - m
				v += d * d
			}
			vNoise += v / float64(len(reps))
			means[k] = m
			grand += m
		}
		vNoise /= float64(len(idx))
		grand /= float64(len(idx))
		var vMean float64
		for _, m := range means {
			d := m - grand
			vMean += d * d
		}
		vMean /= float64(len(idx))
		out[n] = finiteOrZero(vMean / math.Sqrt(vMean*(vMean+vNoise)))
	}
	return out, nil
}

// NeuronSelection chooses the neurons that enter the summary means of
// EvaluateNeural. The zero value selects every neuron.
type NeuronSelection struct {
	// UseMinFEV enables the FEV threshold.
	UseMinFEV bool
	// MinFEV: with UseMinFEV, only neurons with FEV > MinFEV are selected.
	MinFEV float64
}

// NeuralMeans holds metrics averaged over the selected neurons.
type NeuralMeans struct {
	// SingleTrialCorrelation is the mean single-trial correlation.
	SingleTrialCorrelation float64 `json:"single_trial_correlation"`
	// AverageCorrelation is the mean correlation to the repeat average.
	AverageCorrelation float64 `json:"average_correlation"`
	// FEV is the mean fraction of explainable variance.
	FEV float64 `json:"fev"`
	// FEVe is the mean fraction of explainable variance explained.
	FEVe float64 `json:"feve"`
	// OracleCorrelation is the mean jackknife oracle correlation.
	OracleCorrelation float64 `json:"oracle_correlation"`
	// ConservativeOracleCorrelation is the mean conservative oracle
	// correlation.
	ConservativeOracleCorrelation float64 `json:"conservative_oracle_correlation"`
}

// NeuralReport holds every neural metric per neuron, which neurons were
// selected, and the means over the selected neurons.
type NeuralReport struct {
	// SingleTrialCorrelation is NeuralTest.SingleTrialCorrelation.
	SingleTrialCorrelation []float64 `json:"single_trial_correlation"`
	// AverageCorrelation is NeuralTest.AverageCorrelation.
	AverageCorrelation []float64 `json:"average_correlation"`
	// FEV is FEVResult.FEV.
	FEV []float64 `json:"fev"`
	// FEVe is FEVResult.FEVe.
	FEVe []float64 `json:"feve"`
	// OracleCorrelation is NeuralTest.OracleCorrelation.
	OracleCorrelation []float64 `json:"oracle_correlation"`
	// ConservativeOracleCorrelation is
	// NeuralTest.ConservativeOracleCorrelation.
	ConservativeOracleCorrelation []float64 `json:"conservative_oracle_correlation"`
	// Selected[n] reports whether neuron n enters Mean.
	Selected []bool `json:"selected"`
	// NumSelected is the number of selected neurons.
	NumSelected int `json:"num_selected"`
	// Mean holds the means over the selected neurons.
	Mean NeuralMeans `json:"mean"`
}

// EvaluateNeural computes every neural metric of t per neuron and their
// means over the neurons chosen by sel. It is an error when no neuron is
// selected.
func EvaluateNeural(t NeuralTest, sel NeuronSelection) (NeuralReport, error) {
	var rep NeuralReport
	var err error
	if rep.SingleTrialCorrelation, err = t.SingleTrialCorrelation(); err != nil {
		return NeuralReport{}, fmt.Errorf("single-trial correlation: %w", err)
	}
	if rep.AverageCorrelation, err = t.AverageCorrelation(); err != nil {
		return NeuralReport{}, fmt.Errorf("correlation to average: %w", err)
	}
	fev, err := t.FEV()
	if err != nil {
		return NeuralReport{}, fmt.Errorf("FEV: %w", err)
	}
	rep.FEV, rep.FEVe = fev.FEV, fev.FEVe
	if rep.OracleCorrelation, err = t.OracleCorrelation(); err != nil {
		return NeuralReport{}, fmt.Errorf("oracle correlation: %w", err)
	}
	if rep.ConservativeOracleCorrelation, err = t.ConservativeOracleCorrelation(); err != nil {
		return NeuralReport{}, fmt.Errorf("conservative oracle correlation: %w", err)
	}
	if err := rep.summarize(sel); err != nil {
		return NeuralReport{}, err
	}
	return rep, nil
}

// summarize selects the neurons sel chooses and averages their metrics.
func (rep *NeuralReport) summarize(sel NeuronSelection) error {
	rep.Selected = make([]bool, len(rep.FEV))
	rep.NumSelected = 0
	var sum NeuralMeans
	for n, f := range rep.FEV {
		if sel.UseMinFEV && !(f > sel.MinFEV) {
			continue
		}
		rep.Selected[n] = true
		rep.NumSelected++
		sum.SingleTrialCorrelation += rep.SingleTrialCorrelation[n]
		sum.AverageCorrelation += rep.AverageCorrelation[n]
		sum.FEV += rep.FEV[n]
		sum.FEVe += rep.FEVe[n]
		sum.OracleCorrelation += rep.OracleCorrelation[n]
		sum.ConservativeOracleCorrelation += rep.ConservativeOracleCorrelation[n]
	}
	if rep.NumSelected == 0 {
		return fmt.Errorf("no neuron has FEV > %g; lower the FEV threshold", sel.MinFEV)
	}
	k := float64(rep.NumSelected)
	rep.Mean = NeuralMeans{
		SingleTrialCorrelation:        sum.SingleTrialCorrelation / k,
		AverageCorrelation:            sum.AverageCorrelation / k,
		FEV:                           sum.FEV / k,
		FEVe:                          sum.FEVe / k,
		OracleCorrelation:             sum.OracleCorrelation / k,
		ConservativeOracleCorrelation: sum.ConservativeOracleCorrelation / k,
	}
	return nil
}
