package similarity

import (
	"fmt"
	"math"
	"testing"

	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/metrics"
)

// fixtureTol is the agreement the acceptance asks for between cotrain and
// the independent NumPy computation of testdata/gen_fixture.py.
const fixtureTol = 1e-5

// loadFixture reads the recording and the NumPy results.
func loadFixture(t *testing.T) (*recordings.Recordings, map[string]*npy.Array) {
	t.Helper()
	rec, err := recordings.Load("testdata/small_rec.npz")
	if err != nil {
		t.Fatal(err)
	}
	want, err := npy.ReadNPZ("testdata/small_expected.npz")
	if err != nil {
		t.Fatal(err)
	}
	return rec, want
}

func f32(a *npy.Array) []float32 {
	out := make([]float32, a.Len())
	for i, v := range a.Float64s() {
		out[i] = float32(v)
	}
	return out
}

func ints(t *testing.T, a *npy.Array) []int {
	v, err := a.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

// near fails unless got and want agree element-wise within fixtureTol.
func near[T float32 | float64](t *testing.T, name string, got []T, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if worst > fixtureTol || math.IsNaN(worst) {
		t.Errorf("%s: element %d = %v, NumPy %v (|Δ| = %.3g > %g)", name, at, got[at], want[at], worst, fixtureTol)
	}
}

// TestMetricsMatchNumPy checks w, v, S_data, S_oracle, S_model and the
// Fig. 1D correlations against testdata/gen_fixture.py.
func TestMetricsMatchNumPy(t *testing.T) {
	rec, want := loadFixture(t)
	for k := range rec.Sessions {
		s := &rec.Sessions[k]
		q := fmt.Sprintf("s%d_", k)
		t.Run(s.Name, func(t *testing.T) {
			w, err := SNRWeights(s)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "w", w, want[q+"w"].Float64s())

			trials := ints(t, want[q+"oracle_trials"])
			v, err := Predictivity(s, trials, f32(want[q+"pred_trials"]))
			if err != nil {
				t.Fatal(err)
			}
			near(t, "v", v, want[q+"v"].Float64s())
			if v[0] != 0 {
				t.Errorf("a constant prediction has v = %v, want 0", v[0])
			}

			// S_data over the single trials of the ten non-oracle images.
			var x []float32
			for img := 0; img < 10; img++ {
				for tr, row := range s.ImageIndex {
					if row == img {
						x = append(x, s.Response(tr)...)
						break
					}
				}
			}
			sData, err := Matrix(x, 10, s.Neurons, w)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "S_data", sData, want[q+"s_data"].Float64s())

			o, err := OracleSimilarity(s, w)
			if err != nil {
				t.Fatal(err)
			}
			if got := o.Trials; fmt.Sprint(got) != fmt.Sprint(trials) {
				t.Fatalf("oracle trial order %v, NumPy %v", got, trials)
			}
			near(t, "trial-level S_data", o.Data, want[q+"s_trial"].Float64s())
			near(t, "S_oracle", o.S, want[q+"s_oracle"].Float64s())

			pred := f32(want[q+"pred_images"])
			scale := ModelScale(w, v)
			sModel, err := Matrix(append([]float32(nil), pred[:10*s.Neurons]...), 10, s.Neurons, scale)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "S_model", sModel, want[q+"s_model"].Float64s())
			sModelOracle, err := Matrix(append([]float32(nil), pred[10*s.Neurons:]...), 4, s.Neurons, scale)
			if err != nil {
				t.Fatal(err)
			}
			near(t, "S_model on the oracle images", sModelOracle, want[q+"s_model_oracle"].Float64s())

			d, or := o.DataVersusOracle()
			rData := metrics.Pearson(d, or)
			rModel := metrics.Pearson(Pairs(sModelOracle, 4), Pairs(o.S, 4))
			near(t, "r(S_data, S_oracle)", []float64{rData}, want[q+"r_data_oracle"].Float64s())
			near(t, "r(S_model, S_oracle)", []float64{rModel}, want[q+"r_model_oracle"].Float64s())
		})
	}
}

func TestFluctuations(t *testing.T) {
	rec, _ := loadFixture(t)
	var scans []*Oracle
	for k := range rec.Sessions {
		w, err := SNRWeights(&rec.Sessions[k])
		if err != nil {
			t.Fatal(err)
		}
		o, err := OracleSimilarity(&rec.Sessions[k], w)
		if err != nil {
			t.Fatal(err)
		}
		scans = append(scans, o)
	}
	// Eq. 5: 4 images × C(3, 2) pairs in scan 0, 4 × C(4, 2) in scan 1;
	// they average to 0 within each image (S_oracle_ii is their mean).
	for h, o := range scans {
		d := o.RepeatFluctuations()
		r := len(o.Repeats[0])
		if len(d) != 4*r*(r-1)/2 {
			t.Errorf("scan %d: %d ΔS_repeat values", h, len(d))
		}
		var sum float64
		for _, v := range d {
			sum += v
		}
		if math.Abs(sum) > 1e-6 {
			t.Errorf("scan %d: ΔS_repeat sums to %v, want 0", h, sum)
		}
	}
	// Eq. 4: 6 pairs × 2 scans, the two scans' values opposite.
	d, err := ScanFluctuations(scans)
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != 12 {
		t.Fatalf("%d ΔS_scan values, want 12", len(d))
	}
	for p := 0; p < 6; p++ {
		want := (scans[0].S[pairIndex(p)] - scans[1].S[pairIndex(p)]) / 2
		if math.Abs(d[2*p]-want) > 1e-12 || math.Abs(d[2*p]+d[2*p+1]) > 1e-12 {
			t.Errorf("pair %d: ΔS_scan %v, %v; want ±%v", p, d[2*p], d[2*p+1], want)
		}
	}
	if _, err := ScanFluctuations(scans[:1]); err == nil {
		t.Error("one scan: no error")
	}
}

// pairIndex is the index in a 4×4 matrix of the p-th pair i < j.
func pairIndex(p int) int {
	k := 0
	for i := 0; i < 4; i++ {
		for j := i + 1; j < 4; j++ {
			if k == p {
				return i*4 + j
			}
			k++
		}
	}
	panic("pair out of range")
}

func TestMetricErrors(t *testing.T) {
	s := &recordings.Session{Name: "x", Trials: 3, Neurons: 1, Responses: []float32{1, 2, 3}, ImageIndex: []int{0, 0, 1}, Test: []bool{true, true, true}, NeuronIDs: []int64{1}}
	if _, err := SNRWeights(s); err == nil {
		t.Error("one repeated oracle image: no error")
	}
	if _, err := Predictivity(s, []int{0, 1}, []float32{1}); err == nil {
		t.Error("wrong prediction count: no error")
	}
	if err := UnitVectors(make([]float32, 5), 2, 3, nil); err == nil {
		t.Error("wrong vector size: no error")
	}
	// The third vector equals the mean: it gets similarity 0 to the others and 1 to itself.
	m, err := Matrix([]float32{1, 2, 3, 4, 2, 3}, 3, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if m[2*3+2] != 1 || m[2*3+0] != 0 || m[0*3+1] > -0.999 {
		t.Errorf("matrix %v", m)
	}
}
