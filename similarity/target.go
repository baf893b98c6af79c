package similarity

import (
	"fmt"
	"math"

	"github.com/cotrain/cotrain/internal/nprand"
	"github.com/cotrain/cotrain/internal/npy"
)

// FormatName and FormatVersion identify similarity-target files.
const (
	FormatName    = "cotrain-similarity"
	FormatVersion = 1
)

// Kind says which of Li et al.'s similarity matrices a Target holds.
type Kind string

// The kinds of similarity matrix.
const (
	// KindModel is S_model (Eq. 6): the similarity of the denoising
	// predictor's scaled responses, the paper's regularization target.
	KindModel Kind = "model"
	// KindData is S_data (Eq. 2): the similarity of single-trial responses.
	KindData Kind = "data"
	// KindOracle is S_oracle (Eq. 3): the mean similarity over all pairs of
	// repeats of two oracle images.
	KindOracle Kind = "oracle"
	// KindFeatures is the similarity of a network layer's features (Li et
	// al.'s "VGG" control: VGG-19's conv3_1), computed like S_data with the
	// layer's units as the neurons.
	KindFeatures Kind = "features"
)

func (k Kind) valid() bool {
	return k == KindModel || k == KindData || k == KindOracle || k == KindFeatures
}

// Tolerances Load applies to a stored matrix: |S_ij − S_ji| ≤ symmetryTol,
// |S_ii − 1| ≤ diagonalTol and |S_ij| ≤ 1 + rangeTol.
const (
	symmetryTol = 1e-6
	diagonalTol = 1e-4
	rangeTol    = 1e-4
)

// Target is a representational similarity matrix over a set of stimulus
// images, with the images themselves, so that a similarity regularizer can
// be trained from the file alone (Li et al. 2019 §3). The matrix is the
// scan average of the per-scan matrices.
type Target struct {
	// N is the number of images; S is N×N, row-major and symmetric, with 1
	// on the diagonal: S[i*N+j] is the similarity of images i and j.
	N int
	S []float32
	// H and W are the image size; Pixels holds the N grayscale images in
	// matrix order, N×H×W row-major, 0 black and 255 white.
	H, W   int
	Pixels []uint8
	// ImageIDs holds the id of each image in the recordings it came from
	// (the recordings' image_ids; Sensorium folders: the trial index of
	// the image's first presentation).
	ImageIDs []int64
	// Weights holds the per-neuron weights of each scan that entered the
	// matrix (nil for kinds that use none).
	Weights []ScanWeights
	// Permutation, if not nil, records the Shuffle control: row i of S is
	// row Permutation[i] of the unshuffled matrix, with columns permuted
	// alike, while the images stay in place.
	Permutation []int
	Meta        Metadata
}

// ScanWeights holds Li et al.'s per-neuron weights of one scan: the SNR
// weight w_a = σ_a/η_a (Eq. 1) and the predictivity v_a (§2.2).
type ScanWeights struct {
	// Scan names the scan (the recordings' session name).
	Scan string `json:"scan"`
	// SNR holds w_a for every neuron of the scan.
	SNR []float32 `json:"-"`
	// Predictivity holds v_a for every neuron (nil when no predictor was
	// used).
	Predictivity []float32 `json:"-"`
}

// Metadata records how a Target was made.
type Metadata struct {
	// Kind is the similarity matrix held.
	Kind Kind `json:"kind"`
	// Recordings is the recordings source (a file or a Sensorium folder
	// list).
	Recordings string `json:"recordings"`
	// Predictor is the run folder of the denoising predictor (KindModel).
	Predictor string `json:"predictor,omitempty"`
	// Scans names the scans averaged, in order.
	Scans []string `json:"scans"`
	// Shuffled reports the Shuffle control; ShuffleSeed is its seed.
	Shuffled    bool   `json:"shuffled,omitempty"`
	ShuffleSeed uint32 `json:"shuffle_seed,omitempty"`
	// Notes is free text.
	Notes string `json:"notes,omitempty"`
}

type fileMeta struct {
	Format  string   `json:"format"`
	Version int      `json:"version"`
	Meta    Metadata `json:"metadata"`
	// ScanNeurons holds the number of neurons of each entry of Weights, in
	// order; the weight arrays are their concatenation.
	ScanNeurons []int    `json:"scan_neurons,omitempty"`
	WeightScans []string `json:"weight_scans,omitempty"`
}

// At returns S_ij.
func (t *Target) At(i, j int) float32 { return t.S[i*t.N+j] }

// Row returns row i of S (shared with t).
func (t *Target) Row(i int) []float32 { return t.S[i*t.N : (i+1)*t.N] }

// Image returns the pixels of image i (shared with t).
func (t *Target) Image(i int) []uint8 { return t.Pixels[i*t.H*t.W : (i+1)*t.H*t.W] }

// Validate checks sizes, finiteness, symmetry, the unit diagonal and the
// range [-1, 1] of S, and the weights.
func (t *Target) Validate() error {
	n := t.N
	if n < 2 {
		return fmt.Errorf("similarity target has %d images; it needs at least 2", n)
	}
	if len(t.S) != n*n {
		return fmt.Errorf("similarity matrix has %d values, want %d×%d", len(t.S), n, n)
	}
	if t.H < 1 || t.W < 1 || len(t.Pixels) != n*t.H*t.W {
		return fmt.Errorf("images: %d pixels for %d images of %d×%d", len(t.Pixels), n, t.H, t.W)
	}
	if len(t.ImageIDs) != n {
		return fmt.Errorf("image_ids has %d entries for %d images", len(t.ImageIDs), n)
	}
	if !t.Meta.Kind.valid() {
		return fmt.Errorf("kind %q is not one of model, data, oracle, features", t.Meta.Kind)
	}
	for i := 0; i < n; i++ {
		row := t.S[i*n : (i+1)*n]
		if d := float64(row[i]); math.IsNaN(d) || math.Abs(d-1) > diagonalTol {
			return fmt.Errorf("similarity matrix: S[%d,%d] = %v, want 1 on the diagonal", i, i, row[i])
		}
		for j, v := range row {
			x := float64(v)
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Errorf("similarity matrix: S[%d,%d] is %v", i, j, v)
			}
			if math.Abs(x) > 1+rangeTol {
				return fmt.Errorf("similarity matrix: S[%d,%d] = %v is outside [-1, 1]", i, j, v)
			}
			if j > i && math.Abs(x-float64(t.S[j*n+i])) > symmetryTol {
				return fmt.Errorf("similarity matrix is not symmetric: S[%d,%d] = %v but S[%d,%d] = %v", i, j, v, j, i, t.S[j*n+i])
			}
		}
	}
	for k, w := range t.Weights {
		if len(w.SNR) == 0 {
			return fmt.Errorf("weights of scan %d (%q): no neurons", k, w.Scan)
		}
		if w.Predictivity != nil && len(w.Predictivity) != len(w.SNR) {
			return fmt.Errorf("weights of scan %d (%q): %d predictivities for %d SNR weights", k, w.Scan, len(w.Predictivity), len(w.SNR))
		}
		for _, vs := range [][]float32{w.SNR, w.Predictivity} {
			for a, v := range vs {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					return fmt.Errorf("weights of scan %d (%q): neuron %d is %v", k, w.Scan, a, v)
				}
			}
		}
	}
	if t.Permutation != nil {
		if err := checkPermutation(t.Permutation, n); err != nil {
			return err
		}
	}
	return nil
}

func checkPermutation(p []int, n int) error {
	if len(p) != n {
		return fmt.Errorf("permutation has %d entries for %d images", len(p), n)
	}
	seen := make([]bool, n)
	for _, v := range p {
		if v < 0 || v >= n || seen[v] {
			return fmt.Errorf("permutation is not a permutation of 0..%d", n-1)
		}
		seen[v] = true
	}
	return nil
}

// Shuffled returns the Shuffle control of Li et al. Fig. 4: the images stay
// in place and the similarities move, S'_ij = S_{p(i),p(j)} with p =
// numpy.random.RandomState(seed).permutation(N), so that S' is a valid
// similarity matrix (symmetric, unit diagonal, the same distribution of
// values) that no longer belongs to the images. Same seed, same result.
func (t *Target) Shuffled(seed uint32) *Target {
	n := t.N
	p := nprand.New(seed).Permutation(n)
	out := *t
	out.S = make([]float32, n*n)
	for i, pi := range p {
		src := t.S[pi*n : (pi+1)*n]
		dst := out.S[i*n : (i+1)*n]
		for j, pj := range p {
			dst[j] = src[pj]
		}
	}
	out.Permutation = make([]int, n)
	for i, pi := range p {
		out.Permutation[i] = pi
		if t.Permutation != nil {
			out.Permutation[i] = t.Permutation[pi]
		}
	}
	out.Meta.Shuffled, out.Meta.ShuffleSeed = true, seed
	return &out
}

// Save validates t and writes it atomically to path as an uncompressed .npz
// archive with the members "similarity" (float32 [N,N]), "images" (uint8
// [N,H,W]), "image_ids" (int64 [N]), "metadata" (uint8 JSON bytes), and,
// where present, "snr" and "predictivity" (float32, the scans' neurons
// concatenated) and "permutation" (int64 [N]).
func Save(path string, t *Target) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	fm := fileMeta{Format: FormatName, Version: FormatVersion, Meta: t.Meta}
	var snr, pred []float32
	withPred := len(t.Weights) > 0
	for _, w := range t.Weights {
		fm.ScanNeurons = append(fm.ScanNeurons, len(w.SNR))
		fm.WeightScans = append(fm.WeightScans, w.Scan)
		snr = append(snr, w.SNR...)
		pred = append(pred, w.Predictivity...)
		withPred = withPred && w.Predictivity != nil
	}
	if !withPred && len(pred) > 0 {
		return fmt.Errorf("saving %s: some scans have predictivities and some do not", path)
	}
	meta, err := npy.JSONEntry("metadata", fm)
	if err != nil {
		return fmt.Errorf("saving %s: %w", path, err)
	}
	entries := []npy.Entry{
		meta,
		{Name: "similarity", Array: &npy.Array{DType: npy.Float32, Shape: []int{t.N, t.N}, Data: t.S}},
		{Name: "images", Array: &npy.Array{DType: npy.Uint8, Shape: []int{t.N, t.H, t.W}, Data: t.Pixels}},
		{Name: "image_ids", Array: &npy.Array{DType: npy.Int64, Shape: []int{t.N}, Data: t.ImageIDs}},
	}
	if len(snr) > 0 {
		entries = append(entries, npy.Entry{Name: "snr", Array: &npy.Array{DType: npy.Float32, Shape: []int{len(snr)}, Data: snr}})
	}
	if withPred {
		entries = append(entries, npy.Entry{Name: "predictivity", Array: &npy.Array{DType: npy.Float32, Shape: []int{len(pred)}, Data: pred}})
	}
	if t.Permutation != nil {
		entries = append(entries, npy.IndexEntry("permutation", t.Permutation))
	}
	// Stored, not deflated: float32 similarities barely compress, and a
	// stored member is read in one pass.
	return npy.WriteNPZ(path, entries, false)
}

// Load reads a similarity target written by Save (or by NumPy with the same
// members) and validates it: the matrix must be float32 [N,N], finite,
// symmetric, with 1 on the diagonal and values in [-1, 1]; the images
// uint8 [N,H,W]; the ids [N].
func Load(path string) (*Target, error) {
	arrays, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, fmt.Errorf("loading similarity target: %w", err)
	}
	t, err := fromArrays(arrays)
	if err != nil {
		return nil, fmt.Errorf("loading similarity target %s: %w (make it with \"cotrain similarity\")", path, err)
	}
	return t, nil
}

func fromArrays(arrays map[string]*npy.Array) (*Target, error) {
	var fm fileMeta
	if err := npy.DecodeJSON(arrays, "metadata", &fm); err != nil {
		return nil, err
	}
	if fm.Format != FormatName || fm.Version != FormatVersion {
		return nil, fmt.Errorf("format %q version %d, want %q version %d", fm.Format, fm.Version, FormatName, FormatVersion)
	}
	sa, ok := arrays["similarity"]
	if !ok {
		return nil, fmt.Errorf("array similarity is missing")
	}
	s, ok := sa.Data.([]float32)
	if !ok || len(sa.Shape) != 2 || sa.Shape[0] != sa.Shape[1] {
		return nil, fmt.Errorf("array similarity: %s of shape %v, want float32 [n, n]", sa.DType, sa.Shape)
	}
	n := sa.Shape[0]
	ia, ok := arrays["images"]
	if !ok {
		return nil, fmt.Errorf("array images is missing")
	}
	px, ok := ia.Data.([]uint8)
	if !ok || len(ia.Shape) != 3 || ia.Shape[0] != n {
		return nil, fmt.Errorf("array images: %s of shape %v, want uint8 [%d, H, W]", ia.DType, ia.Shape, n)
	}
	da, ok := arrays["image_ids"]
	if !ok {
		return nil, fmt.Errorf("array image_ids is missing")
	}
	if len(da.Shape) != 1 || da.Shape[0] != n {
		return nil, fmt.Errorf("array image_ids: shape %v, want [%d]", da.Shape, n)
	}
	ids, err := da.Int64s()
	if err != nil {
		return nil, fmt.Errorf("array image_ids: %w", err)
	}
	t := &Target{N: n, S: s, H: ia.Shape[1], W: ia.Shape[2], Pixels: px, ImageIDs: ids, Meta: fm.Meta}
	if err := t.weightsFrom(arrays, fm); err != nil {
		return nil, err
	}
	if pa, ok := arrays["permutation"]; ok {
		var err error
		if t.Permutation, err = pa.Indices(); err != nil {
			return nil, fmt.Errorf("array permutation: %w", err)
		}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// weightsFrom splits the concatenated weight arrays into scans.
func (t *Target) weightsFrom(arrays map[string]*npy.Array, fm fileMeta) error {
	total := 0
	for _, c := range fm.ScanNeurons {
		total += c
	}
	if len(fm.WeightScans) != len(fm.ScanNeurons) {
		return fmt.Errorf("array metadata: %d weight scans for %d neuron counts", len(fm.WeightScans), len(fm.ScanNeurons))
	}
	get := func(name string) ([]float32, error) {
		a, ok := arrays[name]
		if !ok {
			return nil, nil
		}
		v, ok := a.Data.([]float32)
		if !ok || len(a.Shape) != 1 || a.Shape[0] != total {
			return nil, fmt.Errorf("array %s: %s of shape %v, want float32 [%d] (the neurons of %d scans)", name, a.DType, a.Shape, total, len(fm.ScanNeurons))
		}
		return v, nil
	}
	snr, err := get("snr")
	if err != nil {
		return err
	}
	pred, err := get("predictivity")
	if err != nil {
		return err
	}
	if total > 0 && snr == nil {
		return fmt.Errorf("array snr is missing (metadata lists weights of %d scans)", len(fm.ScanNeurons))
	}
	off := 0
	for k, c := range fm.ScanNeurons {
		w := ScanWeights{Scan: fm.WeightScans[k], SNR: snr[off : off+c]}
		if pred != nil {
			w.Predictivity = pred[off : off+c]
		}
		t.Weights = append(t.Weights, w)
		off += c
	}
	return nil
}
