package similarity

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/metrics"
)

// recorded reports whether neuron a has a response on trial t.
func recorded(s *recordings.Session, t, a int) bool {
	return s.Valid == nil || s.Valid[t*s.Neurons+a]
}

// OracleGroups returns a session's oracle (test) trials grouped by image,
// ordered by image row, keeping the images shown at least twice.
func OracleGroups(s *recordings.Session) []recordings.TestGroup {
	var out []recordings.TestGroup
	for _, g := range s.TestByImage() {
		if len(g.Trials) >= 2 {
			out = append(out, g)
		}
	}
	return out
}

// SNRWeights returns Li et al.'s signal-to-noise weight w_a = σ_a/η_a
// (Eq. 1) of every neuron of s from its repeated oracle (test) trials: σ_a²
// is the variance over oracle images of the neuron's mean response over
// repeats, η_a² the mean over images of the variance over repeats (both
// with ddof 1). Where a session marks entries as unrecorded, each neuron
// uses its recorded repeats, and images with fewer than two of them are
// left out of its η and σ. A neuron without noise (η = 0) gets w = 0.
func SNRWeights(s *recordings.Session) ([]float64, error) {
	groups := OracleGroups(s)
	if len(groups) < 2 {
		return nil, fmt.Errorf("session %q has %d oracle images shown at least twice; the SNR weights need at least 2", s.Name, len(groups))
	}
	w := make([]float64, s.Neurons)
	means := make([]float64, 0, len(groups))
	for a := range w {
		means = means[:0]
		var noise float64
		for _, g := range groups {
			var sum, sumSq float64
			n := 0
			for _, t := range g.Trials {
				if recorded(s, t, a) {
					v := float64(s.Responses[t*s.Neurons+a])
					sum += v
					sumSq += v * v
					n++
				}
			}
			if n < 2 {
				continue
			}
			m := sum / float64(n)
			means = append(means, m)
			noise += max(sumSq-float64(n)*m*m, 0) / float64(n-1)
		}
		if len(means) < 2 {
			continue
		}
		eta2 := noise / float64(len(means))
		sigma2 := variance(means)
		if eta2 > 0 {
			w[a] = math.Sqrt(sigma2 / eta2)
		}
	}
	return w, nil
}

// variance is the sample variance (ddof 1) of x, by two passes.
func variance(x []float64) float64 {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return ss / float64(len(x)-1)
}

// Predictivity returns v_a (Li et al. §2.2): for every neuron of s, the
// Pearson correlation (metrics.Pearson) between its recorded responses on
// the given trials and a model's predictions of those trials, pred being
// len(trials)×Neurons row-major.
func Predictivity(s *recordings.Session, trials []int, pred []float32) ([]float64, error) {
	if len(pred) != len(trials)*s.Neurons {
		return nil, fmt.Errorf("session %q: %d predictions for %d trials × %d neurons", s.Name, len(pred), len(trials), s.Neurons)
	}
	v := make([]float64, s.Neurons)
	resp := make([]float64, 0, len(trials))
	p := make([]float64, 0, len(trials))
	for a := range v {
		resp, p = resp[:0], p[:0]
		for k, t := range trials {
			if recorded(s, t, a) {
				resp = append(resp, float64(s.Responses[t*s.Neurons+a]))
				p = append(p, float64(pred[k*s.Neurons+a]))
			}
		}
		v[a] = metrics.Pearson(resp, p)
	}
	return v, nil
}

// ModelScale returns the per-neuron factor of the scaled model response
// r̂_a = w_a·v_a·ρ̂_a (§2.2). A negative predictivity, a neuron the model
// predicts worse than a constant, counts as 0 so that it drops out instead
// of entering with its sign flipped (docs/similarity.md).
func ModelScale(w, v []float64) []float64 {
	out := make([]float64, len(w))
	for a := range w {
		out[a] = w[a] * max(v[a], 0)
	}
	return out
}

// UnitVectors turns population responses x (n vectors of m neurons,
// row-major) into Li et al.'s centred unit vectors, in place: each neuron's
// response is multiplied by scale[a] (nil: 1), the mean over the n vectors
// is subtracted (ē = E_i[r_i]), and each vector is divided by its length. A
// vector of length 0 (an image whose scaled response equals the mean) stays
// 0. Sums run in float64.
func UnitVectors(x []float32, n, m int, scale []float64) error {
	if n < 1 || m < 1 || len(x) != n*m {
		return fmt.Errorf("similarity: %d values for %d vectors of %d neurons", len(x), n, m)
	}
	if scale != nil && len(scale) != m {
		return fmt.Errorf("similarity: %d scale factors for %d neurons", len(scale), m)
	}
	mean := make([]float64, m)
	for i := 0; i < n; i++ {
		for a, v := range x[i*m : (i+1)*m] {
			mean[a] += float64(v)
		}
	}
	for a := range mean {
		mean[a] /= float64(n)
	}
	f := func(a int) float64 {
		if scale == nil {
			return 1
		}
		return scale[a]
	}
	for i := 0; i < n; i++ {
		row := x[i*m : (i+1)*m]
		var ss float64
		for a, v := range row {
			d := f(a) * (float64(v) - mean[a])
			ss += d * d
		}
		norm := math.Sqrt(ss)
		for a, v := range row {
			if norm == 0 {
				row[a] = 0
				continue
			}
			row[a] = float32(f(a) * (float64(v) - mean[a]) / norm)
		}
	}
	return nil
}

// AddGram adds alpha·E·Eᵀ to the n×n matrix dst (row-major), E being n
// unit vectors of m values (UnitVectors). Only the upper triangle of dst
// is written; Symmetrize completes it. It runs as a single-precision BLAS
// rank-m update (gonum's Ssyrk, blocked and parallel).
func AddGram(dst, e []float32, n, m int, alpha float32) error {
	if len(dst) != n*n || len(e) != n*m {
		return fmt.Errorf("similarity: Gram of %d×%d vectors into %d values", n, m, len(dst))
	}
	var impl gonum.Implementation
	impl.Ssyrk(blas.Upper, blas.NoTrans, n, m, alpha, e, m, 1, dst, n)
	return nil
}

// Symmetrize copies the upper triangle of the n×n matrix s into the lower
// and sets the diagonal to 1 (the similarity of an image with itself, also
// for an image whose centred vector is 0).
func Symmetrize(s []float32, n int) {
	for i := 0; i < n; i++ {
		s[i*n+i] = 1
		for j := i + 1; j < n; j++ {
			s[j*n+i] = s[i*n+j]
		}
	}
}

// Matrix returns the similarity matrix S_ij = e_i·e_j (Eqs. 2 and 6) of n
// population vectors x (row-major, m neurons, scaled by scale): n×n,
// symmetric, 1 on the diagonal. x is turned into the unit vectors.
func Matrix(x []float32, n, m int, scale []float64) ([]float32, error) {
	if err := UnitVectors(x, n, m, scale); err != nil {
		return nil, err
	}
	s := make([]float32, n*n)
	if err := AddGram(s, x, n, m, 1); err != nil {
		return nil, err
	}
	Symmetrize(s, n)
	return s, nil
}

// Oracle holds one scan's similarities on its oracle images (§2.1).
type Oracle struct {
	// Images are the oracle image rows, in order; Repeats[i] lists the
	// positions in Trials of image i's repeats.
	Images  []int
	Repeats [][]int
	// Trials are the session's oracle trials in matrix order (grouped by
	// image).
	Trials []int
	// Data is S_data over the oracle trials, each trial treated as an image
	// (T×T, T = len(Trials)): the unit vectors are centred across all
	// oracle trials.
	Data []float32
	// S is S_oracle (Eq. 3), len(Images)² row-major: the mean of Data over
	// all pairs of a repeat of image i and a repeat of image j, the pairs of
	// a trial with itself excluded when i = j.
	S []float64
}

// OracleSimilarity computes S_data over the oracle trials of s and S_oracle
// (Eq. 3) from the responses scaled by w (SNRWeights). Unrecorded entries
// count as 0, so sessions with a Valid mask should be restricted to fully
// recorded neurons first.
func OracleSimilarity(s *recordings.Session, w []float64) (*Oracle, error) {
	groups := OracleGroups(s)
	if len(groups) < 2 {
		return nil, fmt.Errorf("session %q has %d oracle images shown at least twice; S_oracle needs at least 2", s.Name, len(groups))
	}
	o := &Oracle{}
	for _, g := range groups {
		o.Images = append(o.Images, g.Image)
		var pos []int
		for _, t := range g.Trials {
			pos = append(pos, len(o.Trials))
			o.Trials = append(o.Trials, t)
		}
		o.Repeats = append(o.Repeats, pos)
	}
	x := make([]float32, 0, len(o.Trials)*s.Neurons)
	for _, t := range o.Trials {
		x = append(x, s.Response(t)...)
	}
	var err error
	if o.Data, err = Matrix(x, len(o.Trials), s.Neurons, w); err != nil {
		return nil, err
	}
	nt, ni := len(o.Trials), len(o.Images)
	o.S = make([]float64, ni*ni)
	for i := 0; i < ni; i++ {
		for j := i; j < ni; j++ {
			var sum float64
			count := 0
			for _, ti := range o.Repeats[i] {
				for _, tj := range o.Repeats[j] {
					if ti == tj {
						continue
					}
					sum += float64(o.Data[ti*nt+tj])
					count++
				}
			}
			o.S[i*ni+j] = sum / float64(count)
			o.S[j*ni+i] = o.S[i*ni+j]
		}
	}
	return o, nil
}

// Pairs returns the strict upper triangle (i < j) of an n×n matrix, the
// pairs of distinct images the Fig. 1 comparisons use.
func Pairs[T float32 | float64](s []T, n int) []float64 {
	out := make([]float64, 0, n*(n-1)/2)
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			out = append(out, float64(s[i*n+j]))
		}
	}
	return out
}

// DataVersusOracle returns the pairs of Fig. 1D's noisy cloud: for every
// pair of distinct oracle images i < j and every repeat t of i and t′ of j,
// the single-trial similarity S_data(i_t, j_t′) and the S_oracle_ij it
// enters.
func (o *Oracle) DataVersusOracle() (data, oracle []float64) {
	nt, ni := len(o.Trials), len(o.Images)
	for i := 0; i < ni; i++ {
		for j := i + 1; j < ni; j++ {
			for _, ti := range o.Repeats[i] {
				for _, tj := range o.Repeats[j] {
					data = append(data, float64(o.Data[ti*nt+tj]))
					oracle = append(oracle, o.S[i*ni+j])
				}
			}
		}
	}
	return data, oracle
}

// RepeatFluctuations returns ΔS_repeat (Eq. 5) of the scan: for every
// oracle image i and every pair of distinct repeats t1 < t2,
// S_data(i_t1, i_t2) − S_oracle_ii.
func (o *Oracle) RepeatFluctuations() []float64 {
	nt, ni := len(o.Trials), len(o.Images)
	var out []float64
	for i, rep := range o.Repeats {
		for a := 0; a < len(rep); a++ {
			for b := a + 1; b < len(rep); b++ {
				out = append(out, float64(o.Data[rep[a]*nt+rep[b]])-o.S[i*ni+i])
			}
		}
	}
	return out
}

// ScanFluctuations returns ΔS_scan (Eq. 4): for every scan h and pair of
// distinct oracle images i < j shown in all scans, S_oracle^h_ij minus the
// mean of S_oracle_ij over scans. The scans' oracle images are matched by
// image row; images some scan lacks are left out.
func ScanFluctuations(scans []*Oracle) ([]float64, error) {
	if len(scans) < 2 {
		return nil, errors.New("similarity: ΔS_scan needs at least two scans")
	}
	common := CommonImages(scans)
	if len(common) < 2 {
		return nil, fmt.Errorf("similarity: the scans share %d oracle images; ΔS_scan needs at least 2", len(common))
	}
	mats := make([][]float64, len(scans))
	for h, o := range scans {
		mats[h] = o.Restrict(common)
	}
	n := len(common)
	var out []float64
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			var mean float64
			for _, m := range mats {
				mean += m[i*n+j]
			}
			mean /= float64(len(mats))
			for _, m := range mats {
				out = append(out, m[i*n+j]-mean)
			}
		}
	}
	return out, nil
}

// CommonImages returns the oracle image rows all scans share, in
// increasing order.
func CommonImages(scans []*Oracle) []int {
	count := map[int]int{}
	for _, o := range scans {
		for _, img := range o.Images {
			count[img]++
		}
	}
	var out []int
	for img, c := range count {
		if c == len(scans) {
			out = append(out, img)
		}
	}
	sort.Ints(out)
	return out
}

// Restrict returns S_oracle on the given image rows (all of them oracle
// images of the scan), in that order.
func (o *Oracle) Restrict(images []int) []float64 {
	pos := map[int]int{}
	for i, img := range o.Images {
		pos[img] = i
	}
	n, ni := len(images), len(o.Images)
	out := make([]float64, n*n)
	for a, ia := range images {
		for b, ib := range images {
			out[a*n+b] = o.S[pos[ia]*ni+pos[ib]]
		}
	}
	return out
}
