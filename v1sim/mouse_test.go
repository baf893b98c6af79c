package v1sim

import (
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/cotrain/cotrain/data/recordings"
)

// smallMouse records a small Li protocol on natural-like images.
func smallMouse(t *testing.T, seed uint64) (*Population, *recordings.Recordings) {
	t.Helper()
	cfg := MouseConfig()
	cfg.Neurons = 150
	pop, err := NewPopulation(cfg, 32, 32, 4)
	if err != nil {
		t.Fatal(err)
	}
	proto := LiProtocol{Scans: 3, NeuronsPerScan: 60, OracleImages: 12, OracleRepeats: 5, Behavior: DefaultBehavior()}
	rec, err := RecordMouse(pop, naturalLike(60, 32, 9), proto, seed)
	if err != nil {
		t.Fatal(err)
	}
	return pop, rec
}

func TestMousePopulation(t *testing.T) {
	cfg := MouseConfig()
	cfg.Neurons = 2000
	pop, err := NewPopulation(cfg, 36, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sf, sigma []float64
	for _, n := range pop.Neurons {
		sf = append(sf, n.SF*cfg.PixelsPerDegree)
		sigma = append(sigma, math.Sqrt(n.SigmaX*n.SigmaY)/cfg.PixelsPerDegree)
	}
	// Niell & Stryker 2008: spatial-frequency tuning peaks at 0.04 c/deg,
	// receptive fields 5–15° across (here 4σ).
	if m := quantiles(sf, 0.5)[0]; math.Abs(m-0.04) > 0.004 {
		t.Errorf("median preferred SF %.4f c/deg, want 0.04", m)
	}
	if m := 4 * quantiles(sigma, 0.5)[0]; m < 10 || m > 14 {
		t.Errorf("median receptive-field size %.1f°, want 10–14°", m)
	}
	// A tenth of the macaque's frequency in the same pixels.
	mac, err := NewPopulation(DefaultConfig(), 36, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	var macSF []float64
	for _, n := range mac.Neurons {
		macSF = append(macSF, n.SF*DefaultConfig().PixelsPerDegree)
	}
	if r := quantiles(macSF, 0.5)[0] / quantiles(sf, 0.5)[0]; r < 20 {
		t.Errorf("macaque/mouse preferred SF ratio %.1f, want ≥ 20", r)
	}
}

func TestRecordMouseProtocol(t *testing.T) {
	_, rec := smallMouse(t, 7)
	_, again := smallMouse(t, 7)
	if !reflect.DeepEqual(rec, again) {
		t.Fatal("the same seed gave different recordings")
	}
	_, other := smallMouse(t, 8)
	if reflect.DeepEqual(rec.Sessions[0].Responses, other.Sessions[0].Responses) {
		t.Fatal("seeds 7 and 8 gave the same responses")
	}
	if len(rec.Sessions) != 3 {
		t.Fatalf("%d scans, want 3", len(rec.Sessions))
	}
	var oracle0 []int
	for h, s := range rec.Sessions {
		if s.Trials != 48+12*5 || s.Neurons != 60 || s.Behavior == nil {
			t.Fatalf("scan %d: %d trials × %d neurons, behaviour %v", h, s.Trials, s.Neurons, s.Behavior != nil)
		}
		count := map[int]int{}
		for tr, img := range s.ImageIndex {
			count[img]++
			if s.Test[tr] != (count[img] > 1 || slices.Contains(oracleRows(&s), img)) {
				t.Fatalf("scan %d trial %d: test flag %v for image %d", h, tr, s.Test[tr], img)
			}
		}
		for img, c := range count {
			if c != 1 && c != 5 {
				t.Fatalf("scan %d: image %d shown %d times", h, img, c)
			}
		}
		rows := oracleRows(&s)
		if h == 0 {
			oracle0 = rows
		} else if !reflect.DeepEqual(rows, oracle0) {
			t.Errorf("scan %d: oracle images %v, scan 0 %v", h, rows, oracle0)
		}
		ids := slices.Clone(s.NeuronIDs)
		slices.Sort(ids)
		if len(slices.Compact(ids)) != 60 {
			t.Errorf("scan %d: repeated neuron ids", h)
		}
	}
	if reflect.DeepEqual(rec.Sessions[0].NeuronIDs, rec.Sessions[1].NeuronIDs) {
		t.Error("scans 0 and 1 recorded the same neurons")
	}
	if reflect.DeepEqual(rec.Sessions[0].ImageIndex, rec.Sessions[1].ImageIndex) {
		t.Error("scans 0 and 1 showed the images in the same order")
	}
}

func oracleRows(s *recordings.Session) []int {
	var rows []int
	for _, g := range s.TestByImage() {
		rows = append(rows, g.Image)
	}
	return rows
}

// TestMouseRunningGain checks the modulation: on the same oracle images,
// responses while running are about RunGain (and the arousal that comes
// with running) times those at rest.
func TestMouseRunningGain(t *testing.T) {
	_, rec := smallMouse(t, 3)
	var run, rest float64
	var nRun, nRest int
	for _, s := range rec.Sessions {
		for tr := 0; tr < s.Trials; tr++ {
			var sum float64
			for _, v := range s.Response(tr) {
				sum += float64(v)
			}
			switch speed := s.Behavior.Running[tr]; {
			case speed > 10:
				run += sum
				nRun++
			case speed < 1:
				rest += sum
				nRest++
			}
		}
	}
	if nRun < 10 || nRest < 10 {
		t.Fatalf("%d running and %d resting trials", nRun, nRest)
	}
	ratio := (run / float64(nRun)) / (rest / float64(nRest))
	t.Logf("running/rest response ratio %.2f over %d and %d trials", ratio, nRun, nRest)
	if ratio < 1.6 || ratio > 3.2 {
		t.Errorf("running/rest response ratio %.2f, want about 2–2.5", ratio)
	}
}

func TestShiftImage(t *testing.T) {
	img := make([]float32, 5*6)
	img[2*6+2] = 1
	got := shiftImage(img, 5, 6, 1, 0)
	if got[2*6+3] != 1 || got[2*6+2] != 0 {
		t.Errorf("shift by one pixel right: %v", got)
	}
	half := shiftImage(img, 5, 6, 0, 0.5)
	if half[2*6+2] != 0.5 || half[3*6+2] != 0.5 {
		t.Errorf("half a pixel down: %v", half)
	}
	// Border pixels extend.
	edge := make([]float32, 4)
	edge[0], edge[1] = 1, 1 // top row of a 2×2 image
	if s := shiftImage(edge, 2, 2, 0, 1); !reflect.DeepEqual(s, []float32{1, 1, 1, 1}) {
		t.Errorf("shift down, the top row extended: %v", s)
	}
}

func TestRecordMouseErrors(t *testing.T) {
	pop, err := NewPopulation(MouseConfig(), 16, 16, 1)
	if err != nil {
		t.Fatal(err)
	}
	images := naturalLike(20, 16, 1)
	for _, p := range []LiProtocol{
		{Scans: 0, NeuronsPerScan: 10, OracleImages: 4, OracleRepeats: 3, Behavior: DefaultBehavior()},
		{Scans: 1, NeuronsPerScan: 10, OracleImages: 20, OracleRepeats: 3, Behavior: DefaultBehavior()},
		{Scans: 1, NeuronsPerScan: 10, OracleImages: 4, OracleRepeats: 1, Behavior: DefaultBehavior()},
		{Scans: 1, NeuronsPerScan: 10, OracleImages: 4, OracleRepeats: 3},
	} {
		if _, err := RecordMouse(pop, images, p, 1); err == nil {
			t.Errorf("protocol %+v: no error", p)
		}
	}
}
