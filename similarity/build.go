package similarity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/cotrain/cotrain/data/recordings"
)

// Predictor is a trained denoising predictor with one readout per scan
// (predict.Mouse).
type Predictor interface {
	// ScanIndex returns the readout of the scan named name.
	ScanIndex(name string) (int, error)
	// PredictImages returns readout k's responses to image rows of rec at
	// the reference behaviour: len(rows)×neurons.
	PredictImages(ctx context.Context, rec *recordings.Recordings, k int, rows []int) ([]float32, error)
	// PredictTrials returns readout k's responses on trials of session s,
	// each with its own behaviour: len(trials)×neurons.
	PredictTrials(ctx context.Context, rec *recordings.Recordings, s *recordings.Session, k int, trials []int) ([]float32, error)
}

// Options describe a target for its metadata and progress.
type Options struct {
	// Source names the recordings (a path); PredictorDir the predictor's
	// run folder.
	Source, PredictorDir string
	// Images, if not nil, are the image rows of the target (kind model);
	// nil takes the non-oracle images.
	Images []int
	// Progress receives one line per scan; nil is quiet.
	Progress io.Writer
}

func (o Options) logf(format string, args ...any) {
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, format, args...)
	}
}

// NonOracleImages returns the image rows of rec that no scan shows in a
// test trial, in increasing order: Li et al.'s 5,000 single-presentation
// images. (Recordings loaded with their test trials only keep every image,
// so this is the same set.)
func NonOracleImages(rec *recordings.Recordings) []int {
	oracle := make([]bool, rec.Images.N)
	for k := range rec.Sessions {
		s := &rec.Sessions[k]
		for t, test := range s.Test {
			if test {
				oracle[s.ImageIndex[t]] = true
			}
		}
	}
	var rows []int
	for r, o := range oracle {
		if !o {
			rows = append(rows, r)
		}
	}
	return rows
}

// testTrials lists a session's oracle (test) trials grouped by image.
func testTrials(s *recordings.Session) []int {
	var out []int
	for _, g := range OracleGroups(s) {
		out = append(out, g.Trials...)
	}
	return out
}

// Weights returns scan s's SNR weights and, with a predictor, the
// predictivity of readout k on the scan's oracle trials (each trial
// predicted with its own behaviour).
func Weights(ctx context.Context, rec *recordings.Recordings, s *recordings.Session, pred Predictor, k int) (ScanWeights, error) {
	w, err := SNRWeights(s)
	if err != nil {
		return ScanWeights{}, err
	}
	out := ScanWeights{Scan: s.Name, SNR: toF32(w)}
	if pred == nil {
		return out, nil
	}
	trials := testTrials(s)
	p, err := pred.PredictTrials(ctx, rec, s, k, trials)
	if err != nil {
		return ScanWeights{}, err
	}
	v, err := Predictivity(s, trials, p)
	if err != nil {
		return ScanWeights{}, err
	}
	out.Predictivity = toF32(v)
	return out, nil
}

func toF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func toF64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// ModelTarget builds Li et al.'s regularization target S_neural: for every
// scan of rec, S_model (Eq. 6) of the predictor's responses to the target
// images at the reference behaviour, scaled by w_a·v_a, averaged over
// scans. Memory: one scan's predictions (images × neurons float32, turned
// into unit vectors in place) and the n×n float32 accumulator are held at
// a time; the Gram matrices are single-precision BLAS rank-k updates.
func ModelTarget(ctx context.Context, rec *recordings.Recordings, pred Predictor, opt Options) (*Target, error) {
	rows := opt.Images
	if rows == nil {
		rows = NonOracleImages(rec)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("similarity: %d target images; need at least 2 (are all images oracle images?)", len(rows))
	}
	n := len(rows)
	acc := make([]float32, n*n)
	t := &Target{N: n, S: acc, Meta: Metadata{Kind: KindModel, Recordings: opt.Source, Predictor: opt.PredictorDir,
		Notes: "S_model (Li et al. Eq. 6) at the scans' mean behaviour, r̂ = w·max(v, 0)·ρ̂, averaged over scans"}}
	for i := range rec.Sessions {
		s := &rec.Sessions[i]
		start := time.Now()
		k, err := pred.ScanIndex(s.Name)
		if err != nil {
			return nil, err
		}
		w, err := Weights(ctx, rec, s, pred, k)
		if err != nil {
			return nil, err
		}
		x, err := pred.PredictImages(ctx, rec, k, rows)
		if err != nil {
			return nil, err
		}
		if err := UnitVectors(x, n, s.Neurons, ModelScale(toF64(w.SNR), toF64(w.Predictivity))); err != nil {
			return nil, err
		}
		if err := AddGram(acc, x, n, s.Neurons, 1/float32(len(rec.Sessions))); err != nil {
			return nil, err
		}
		t.Weights = append(t.Weights, w)
		t.Meta.Scans = append(t.Meta.Scans, s.Name)
		opt.logf("scan %s: %d neurons, S_model over %d images in %.1f s\n", s.Name, s.Neurons, n, time.Since(start).Seconds())
	}
	Symmetrize(acc, n)
	if err := t.setImages(rec, rows); err != nil {
		return nil, err
	}
	return t, nil
}

// DataTarget builds S_data (Eq. 2) over the single-trial images every scan
// showed, averaged over scans: each scan's responses (the mean of its
// trials of an image, one trial in Li et al.'s protocol) scaled by w_a.
func DataTarget(rec *recordings.Recordings, opt Options) (*Target, error) {
	rows := commonSingleImages(rec)
	if opt.Images != nil {
		rows = opt.Images
	}
	if len(rows) < 2 {
		return nil, errors.New("similarity: the scans share fewer than 2 single-trial images; S_data averages over scans on common images")
	}
	n := len(rows)
	acc := make([]float32, n*n)
	t := &Target{N: n, S: acc, Meta: Metadata{Kind: KindData, Recordings: opt.Source,
		Notes: "S_data (Li et al. Eq. 2) of single trials scaled by w, averaged over scans"}}
	for i := range rec.Sessions {
		s := &rec.Sessions[i]
		w, err := SNRWeights(s)
		if err != nil {
			return nil, err
		}
		x, err := imageMeans(s, rows)
		if err != nil {
			return nil, err
		}
		if err := UnitVectors(x, n, s.Neurons, w); err != nil {
			return nil, err
		}
		if err := AddGram(acc, x, n, s.Neurons, 1/float32(len(rec.Sessions))); err != nil {
			return nil, err
		}
		t.Weights = append(t.Weights, ScanWeights{Scan: s.Name, SNR: toF32(w)})
		t.Meta.Scans = append(t.Meta.Scans, s.Name)
		opt.logf("scan %s: %d neurons, S_data over %d images\n", s.Name, s.Neurons, n)
	}
	Symmetrize(acc, n)
	if err := t.setImages(rec, rows); err != nil {
		return nil, err
	}
	return t, nil
}

// OracleTarget builds S_oracle (Eq. 3) on the oracle images all scans
// share, averaged over scans. The diagonal is set to 1, the convention of
// a Target; S_oracle_ii itself (the mean similarity of an image's repeats,
// below 1) is what the Fig. 1 analyses report.
func OracleTarget(rec *recordings.Recordings, opt Options) (*Target, error) {
	var scans []*Oracle
	t := &Target{Meta: Metadata{Kind: KindOracle, Recordings: opt.Source,
		Notes: "S_oracle (Li et al. Eq. 3) on the oracle images, averaged over scans; diagonal set to 1"}}
	for i := range rec.Sessions {
		s := &rec.Sessions[i]
		w, err := SNRWeights(s)
		if err != nil {
			return nil, err
		}
		o, err := OracleSimilarity(s, w)
		if err != nil {
			return nil, err
		}
		scans = append(scans, o)
		t.Weights = append(t.Weights, ScanWeights{Scan: s.Name, SNR: toF32(w)})
		t.Meta.Scans = append(t.Meta.Scans, s.Name)
	}
	rows := CommonImages(scans)
	if len(rows) < 2 {
		return nil, fmt.Errorf("similarity: the scans share %d oracle images; need at least 2", len(rows))
	}
	n := len(rows)
	t.N, t.S = n, make([]float32, n*n)
	for _, o := range scans {
		m := o.Restrict(rows)
		for i, v := range m {
			t.S[i] += float32(v / float64(len(scans)))
		}
	}
	Symmetrize(t.S, n)
	if err := t.setImages(rec, rows); err != nil {
		return nil, err
	}
	return t, nil
}

// commonSingleImages returns the image rows every scan showed in non-test
// trials and no scan in test trials.
func commonSingleImages(rec *recordings.Recordings) []int {
	count := make([]int, rec.Images.N)
	for k := range rec.Sessions {
		s := &rec.Sessions[k]
		seen := make([]bool, rec.Images.N)
		for t, test := range s.Test {
			if r := s.ImageIndex[t]; !test && !seen[r] {
				seen[r] = true
				count[r]++
			}
		}
	}
	var rows []int
	for _, r := range NonOracleImages(rec) {
		if count[r] == len(rec.Sessions) {
			rows = append(rows, r)
		}
	}
	return rows
}

// imageMeans returns each image's mean response over the session's
// non-test trials of it, rows×neurons.
func imageMeans(s *recordings.Session, rows []int) ([]float32, error) {
	pos := map[int]int{}
	for i, r := range rows {
		pos[r] = i
	}
	sum := make([]float64, len(rows)*s.Neurons)
	count := make([]int, len(rows))
	for t, test := range s.Test {
		i, ok := pos[s.ImageIndex[t]]
		if test || !ok {
			continue
		}
		count[i]++
		for a, v := range s.Response(t) {
			sum[i*s.Neurons+a] += float64(v)
		}
	}
	x := make([]float32, len(sum))
	for i, c := range count {
		if c == 0 {
			return nil, fmt.Errorf("session %q never shows image row %d in a non-test trial", s.Name, rows[i])
		}
		for a := 0; a < s.Neurons; a++ {
			x[i*s.Neurons+a] = float32(sum[i*s.Neurons+a] / float64(c))
		}
	}
	return x, nil
}

// setImages stores the target's images as 8-bit grayscale in matrix order.
func (t *Target) setImages(rec *recordings.Recordings, rows []int) error {
	im := &rec.Images
	t.H, t.W = im.H, im.W
	t.Pixels = make([]uint8, 0, len(rows)*im.H*im.W)
	t.ImageIDs = make([]int64, len(rows))
	for i, r := range rows {
		if r < 0 || r >= im.N {
			return fmt.Errorf("similarity: image row %d outside the recordings' %d images", r, im.N)
		}
		t.ImageIDs[i] = rec.ImageIDs[r]
		if im.U8 != nil && im.Range == [2]float64{0, 255} {
			t.Pixels = append(t.Pixels, im.U8[r*im.H*im.W:(r+1)*im.H*im.W]...)
			continue
		}
		for _, v := range im.Pixels(r) {
			t.Pixels = append(t.Pixels, uint8(math.Round(float64(min(max(v, 0), 1))*255)))
		}
	}
	return nil
}

// Analysis holds the Fig. 1 analyses of Li et al. on the oracle images.
type Analysis struct {
	// Scans names the scans; Images are the oracle image rows all scans
	// share, in the order of a clustering of the scan-averaged S_oracle
	// (ClusterOrder), the order of every matrix below.
	Scans  []string
	Images []int
	// Oracle[h] is scan h's S_oracle (Eq. 3); Model[h] its S_model (Eq. 6)
	// on the same images (nil without a predictor). Both n×n row-major.
	Oracle [][]float64
	Model  [][]float64
	// DeltaScan and DeltaRepeat are the fluctuations of Eqs. 4 and 5 (Fig.
	// 1C).
	DeltaScan, DeltaRepeat []float64
	// DataR[h] is the correlation of the single-trial similarities
	// S_data(i_t, j_t′) with the S_oracle_ij they average to, over all
	// pairs of distinct images (Fig. 1D, paper r = 0.39); ModelR[h] that of
	// S_model_ij with S_oracle_ij (paper r = 0.73).
	DataR, ModelR []float64
	// DataPairs and ModelPairs are scan 0's (x = S_oracle, y = S_data or
	// S_model) points behind DataR[0] and ModelR[0], for the scatter plot.
	DataPairs, ModelPairs [2][]float64
}

// MeanDataR and MeanModelR average the correlations over scans.
func (a *Analysis) MeanDataR() float64 { return mean(a.DataR) }

// MeanModelR averages ModelR over scans (NaN without a predictor).
func (a *Analysis) MeanModelR() float64 { return mean(a.ModelR) }

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// Analyze computes the Fig. 1 analyses: per scan S_oracle, S_data on the
// oracle trials and, with a predictor (may be nil), S_model on the oracle
// images; ΔS_scan and ΔS_repeat; and the correlations with S_oracle.
func Analyze(ctx context.Context, rec *recordings.Recordings, pred Predictor) (*Analysis, error) {
	a := &Analysis{}
	var scans []*Oracle
	var weights []ScanWeights
	for i := range rec.Sessions {
		s := &rec.Sessions[i]
		k := 0
		if pred != nil {
			var err error
			if k, err = pred.ScanIndex(s.Name); err != nil {
				return nil, err
			}
		}
		w, err := Weights(ctx, rec, s, pred, k)
		if err != nil {
			return nil, err
		}
		o, err := OracleSimilarity(s, toF64(w.SNR))
		if err != nil {
			return nil, err
		}
		scans = append(scans, o)
		weights = append(weights, w)
		a.Scans = append(a.Scans, s.Name)
		a.DeltaRepeat = append(a.DeltaRepeat, o.RepeatFluctuations()...)
		d, or := o.DataVersusOracle()
		a.DataR = append(a.DataR, pearson(d, or))
		if i == 0 {
			a.DataPairs = [2][]float64{or, d}
		}
	}
	common := CommonImages(scans)
	if len(common) < 3 {
		return nil, fmt.Errorf("similarity: the scans share %d oracle images; the analyses need at least 3", len(common))
	}
	if len(scans) > 1 {
		var err error
		if a.DeltaScan, err = ScanFluctuations(scans); err != nil {
			return nil, err
		}
	}
	n := len(common)
	avg := make([]float64, n*n)
	for _, o := range scans {
		for i, v := range o.Restrict(common) {
			avg[i] += v / float64(len(scans))
		}
	}
	order := ClusterOrder(avg, n)
	a.Images = make([]int, n)
	for i, o := range order {
		a.Images[i] = common[o]
	}
	for h, o := range scans {
		a.Oracle = append(a.Oracle, o.Restrict(a.Images))
		if pred == nil {
			continue
		}
		s := &rec.Sessions[h]
		k, _ := pred.ScanIndex(s.Name)
		x, err := pred.PredictImages(ctx, rec, k, a.Images)
		if err != nil {
			return nil, err
		}
		m, err := Matrix(x, n, s.Neurons, ModelScale(toF64(weights[h].SNR), toF64(weights[h].Predictivity)))
		if err != nil {
			return nil, err
		}
		a.Model = append(a.Model, toF64(m))
		mp, op := Pairs(m, n), Pairs(a.Oracle[h], n)
		a.ModelR = append(a.ModelR, pearson(mp, op))
		if h == 0 {
			a.ModelPairs = [2][]float64{op, mp}
		}
	}
	return a, nil
}

// SD is the population standard deviation of v (NaN for no values).
func SD(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	m := mean(v)
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(v)))
}

// pearson is the plain sample correlation of x and y (np.corrcoef).
func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx /= n
	my /= n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	return sxy / math.Sqrt(sxx*syy)
}

// ClusterOrder returns an order of the n images of a similarity matrix s
// (row-major) that puts similar images next to each other, for display
// (Li et al. Fig. 1A: "ordered for better visualization"): the leaf order
// of average-linkage agglomerative clustering on the distance 1 − s_ij,
// merging the two closest clusters and placing the smaller-index cluster
// first. Deterministic.
func ClusterOrder(s []float64, n int) []int {
	type cluster struct {
		leaves []int
	}
	clusters := make([]*cluster, n)
	for i := range clusters {
		clusters[i] = &cluster{leaves: []int{i}}
	}
	// dist[i][j]: average distance between live clusters i and j.
	dist := make([][]float64, n)
	for i := range dist {
		dist[i] = make([]float64, n)
		for j := range dist[i] {
			dist[i][j] = 1 - s[i*n+j]
		}
	}
	alive := make([]bool, n)
	for i := range alive {
		alive[i] = true
	}
	for remaining := n; remaining > 1; remaining-- {
		bi, bj, best := -1, -1, math.Inf(1)
		for i := 0; i < n; i++ {
			if !alive[i] {
				continue
			}
			for j := i + 1; j < n; j++ {
				if alive[j] && dist[i][j] < best {
					bi, bj, best = i, j, dist[i][j]
				}
			}
		}
		a, b := clusters[bi], clusters[bj]
		na, nb := float64(len(a.leaves)), float64(len(b.leaves))
		for k := 0; k < n; k++ {
			if alive[k] && k != bi && k != bj {
				d := (na*dist[bi][k] + nb*dist[bj][k]) / (na + nb)
				dist[bi][k], dist[k][bi] = d, d
			}
		}
		a.leaves = append(a.leaves, b.leaves...)
		alive[bj] = false
	}
	for i := range alive {
		if alive[i] {
			return slices.Clone(clusters[i].leaves)
		}
	}
	return nil
}
