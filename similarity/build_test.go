package similarity

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/internal/npy"
)

// fixturePredictor serves the fixture's predictions: image rows of
// s{k}_pred_images and the oracle trials of s{k}_pred_trials.
type fixturePredictor struct {
	t    *testing.T
	want map[string]*npy.Array
	rec  *recordings.Recordings
}

func (p fixturePredictor) ScanIndex(name string) (int, error) {
	for k, s := range p.rec.Sessions {
		if s.Name == name {
			return k, nil
		}
	}
	return 0, fmt.Errorf("no scan %q", name)
}

func (p fixturePredictor) PredictImages(_ context.Context, rec *recordings.Recordings, k int, rows []int) ([]float32, error) {
	all := f32(p.want[fmt.Sprintf("s%d_pred_images", k)])
	m := rec.Sessions[k].Neurons
	var out []float32
	for _, r := range rows {
		out = append(out, all[r*m:(r+1)*m]...)
	}
	return out, nil
}

func (p fixturePredictor) PredictTrials(_ context.Context, _ *recordings.Recordings, s *recordings.Session, k int, trials []int) ([]float32, error) {
	order := ints(p.t, p.want[fmt.Sprintf("s%d_oracle_trials", k)])
	all := f32(p.want[fmt.Sprintf("s%d_pred_trials", k)])
	var out []float32
	for _, tr := range trials {
		i := slices.Index(order, tr)
		if i < 0 {
			return nil, fmt.Errorf("trial %d is not an oracle trial", tr)
		}
		out = append(out, all[i*s.Neurons:(i+1)*s.Neurons]...)
	}
	return out, nil
}

// TestModelTargetMatchesNumPy builds the scan-averaged S_model target of
// the fixture and compares it, and the stored weights, with NumPy's.
func TestModelTargetMatchesNumPy(t *testing.T) {
	rec, want := loadFixture(t)
	pred := fixturePredictor{t: t, want: want, rec: rec}
	if got := NonOracleImages(rec); !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Fatalf("non-oracle images %v", got)
	}
	tgt, err := ModelTarget(context.Background(), rec, pred, Options{Source: "small_rec.npz", PredictorDir: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "target S_model", tgt.S, want["target_model"].Float64s())
	for k, w := range tgt.Weights {
		near(t, fmt.Sprintf("scan %d w", k), w.SNR, want[fmt.Sprintf("s%d_w", k)].Float64s())
		near(t, fmt.Sprintf("scan %d v", k), w.Predictivity, want[fmt.Sprintf("s%d_v", k)].Float64s())
	}
	if tgt.H != 4 || tgt.W != 4 || !slices.Equal(tgt.ImageIDs, []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) ||
		!slices.Equal(tgt.Pixels, rec.Images.U8[:10*16]) || tgt.Meta.Kind != KindModel || !slices.Equal(tgt.Meta.Scans, []string{"scan0", "scan1"}) {
		t.Errorf("target images, ids or metadata wrong: %v %v %+v", tgt.ImageIDs, tgt.H, tgt.Meta)
	}
	path := filepath.Join(t.TempDir(), "S.npz")
	if err := Save(path, tgt); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil || !slices.Equal(back.S, tgt.S) {
		t.Fatalf("round trip: %v", err)
	}
}

func TestOracleAndDataTargets(t *testing.T) {
	rec, want := loadFixture(t)
	o, err := OracleTarget(rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	exp := make([]float64, 16)
	for k := 0; k < 2; k++ {
		for i, v := range want[fmt.Sprintf("s%d_s_oracle", k)].Float64s() {
			exp[i] += v / 2
		}
	}
	for i := 0; i < 4; i++ {
		exp[i*4+i] = 1
	}
	near(t, "oracle target", o.S, exp)
	if !slices.Equal(o.ImageIDs, []int64{11, 12, 13, 14}) {
		t.Errorf("oracle target ids %v", o.ImageIDs)
	}
	// S_data of scan 0 alone is the fixture's s0_s_data; the target
	// averages both scans' S_data.
	d, err := DataTarget(rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	single := &recordings.Recordings{Images: rec.Images, ImageIDs: rec.ImageIDs, Sessions: rec.Sessions[:1], Meta: rec.Meta}
	d0, err := DataTarget(single, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "scan 0 S_data", d0.S, want["s0_s_data"].Float64s())
	if d.N != 10 || d.Meta.Kind != KindData {
		t.Errorf("data target over %d images, kind %s", d.N, d.Meta.Kind)
	}
}

func TestAnalyze(t *testing.T) {
	rec, want := loadFixture(t)
	a, err := Analyze(context.Background(), rec, fixturePredictor{t: t, want: want, rec: rec})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 2; k++ {
		near(t, fmt.Sprintf("scan %d r(S_data, S_oracle)", k), a.DataR[k:k+1], want[fmt.Sprintf("s%d_r_data_oracle", k)].Float64s())
		near(t, fmt.Sprintf("scan %d r(S_model, S_oracle)", k), a.ModelR[k:k+1], want[fmt.Sprintf("s%d_r_model_oracle", k)].Float64s())
	}
	sorted := slices.Clone(a.Images)
	slices.Sort(sorted)
	if !slices.Equal(sorted, []int{10, 11, 12, 13}) || len(a.Oracle) != 2 || len(a.Model) != 2 || len(a.DeltaScan) != 12 {
		t.Fatalf("analysis: images %v, %d oracle and %d model matrices, %d ΔS_scan", a.Images, len(a.Oracle), len(a.Model), len(a.DeltaScan))
	}
	if math.IsNaN(a.MeanDataR()) || math.IsNaN(a.MeanModelR()) {
		t.Error("mean correlations are NaN")
	}
}

// TestClusterOrder checks that two blocks of mutually similar images end up
// contiguous.
func TestClusterOrder(t *testing.T) {
	block := []int{0, 1, 0, 1, 0, 1} // image i belongs to block[i]
	n := len(block)
	s := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			switch {
			case i == j:
				s[i*n+j] = 1
			case block[i] == block[j]:
				s[i*n+j] = 0.8 - 0.01*float64(i+j)
			default:
				s[i*n+j] = -0.2
			}
		}
	}
	order := ClusterOrder(s, n)
	var seq []string
	for _, o := range order {
		seq = append(seq, fmt.Sprint(block[o]))
	}
	if got := strings.Join(seq, ""); got != "000111" && got != "111000" {
		t.Errorf("order %v puts blocks as %s", order, got)
	}
}
