package v1sim

import (
	"bytes"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/recordings"
)

const size = 64

// testNeuron builds one neuron at the image centre.
func testNeuron(complex bool, sf, nx, ny float64) *Neuron {
	n := &Neuron{
		Complex: complex, X: 31.5, Y: 31.5, Orientation: 0.6, SF: sf, Phase: 1.1,
		SigmaX: nx / sf, SigmaY: ny / sf, PoolSigma: 0.35 / sf,
		Exponent: 2, C50: 0.2, Peak: 8, Spont: 0.2, GainVar: 0.1,
	}
	n.build(size, size, 6)
	return n
}

// gratingImage is a full-field sinusoid of contrast c.
func gratingImage(theta, f, phase, c float64) []float32 {
	img := make([]float32, size*size)
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			v := grating(float64(x), float64(y), 31.5, 31.5, theta, f, phase)
			img[y*size+x] = float32(0.5 + c*(v-0.5))
		}
	}
	return img
}

// evoked is the response above spontaneous to a grating, maximized over
// 16 phases for simple cells.
func evoked(n *Neuron, theta, f, c float64) float64 {
	best := 0.0
	for k := 0; k < 16; k++ {
		r := n.Rate(n.Drive(gratingImage(theta, f, 2*math.Pi*float64(k)/16, c), size)) - n.Spont
		best = max(best, r)
		if n.Complex {
			break
		}
	}
	return best
}

func angleDiff(a, b float64) float64 {
	d := math.Mod(math.Abs(a-b), math.Pi)
	return min(d, math.Pi-d)
}

func TestOrientationTuning(t *testing.T) {
	for _, complex := range []bool{false, true} {
		n := testNeuron(complex, 0.12, 0.4, 0.6)
		bestTheta, best := 0.0, -1.0
		for k := 0; k < 24; k++ {
			theta := math.Pi * float64(k) / 24
			if r := evoked(n, theta, n.SF, 1); r > best {
				best, bestTheta = r, theta
			}
		}
		if d := angleDiff(bestTheta, n.Orientation); d > math.Pi/24 {
			t.Errorf("complex=%v: peak at %.2f rad, preferred %.2f", complex, bestTheta, n.Orientation)
		}
		if ortho := evoked(n, n.Orientation+math.Pi/2, n.SF, 1); ortho > 0.05*best {
			t.Errorf("complex=%v: orthogonal response %.3f vs peak %.3f", complex, ortho, best)
		}
	}
	// Neurons of a default population peak near their preferred
	// orientation.
	pop, err := NewPopulation(DefaultConfig(), size, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	for j := 0; j < len(pop.Neurons); j += 23 {
		n := &pop.Neurons[j]
		bestTheta, best := 0.0, -1.0
		for k := 0; k < 12; k++ {
			theta := n.Orientation + math.Pi*float64(k)/12
			if r := evoked(n, theta, n.SF, 1); r > best {
				best, bestTheta = r, theta
			}
		}
		if d := angleDiff(bestTheta, n.Orientation); d > 0.01 {
			t.Errorf("neuron %d: peak %.2f rad from preferred", j, d)
		}
	}
}

func TestSpatialFrequencyTuning(t *testing.T) {
	for _, complex := range []bool{false, true} {
		n := testNeuron(complex, 0.1, 0.5, 0.5)
		var resp []float64
		bestK, best := 0, -1.0
		for k := -4; k <= 4; k++ {
			r := evoked(n, n.Orientation, n.SF*math.Pow(2, float64(k)/2), 1)
			resp = append(resp, r)
			if r > best {
				best, bestK = r, k
			}
		}
		if bestK < -1 || bestK > 1 {
			t.Errorf("complex=%v: SF tuning peaks at 2^(%d/2)·preferred: %v", complex, bestK, resp)
		}
		if resp[8] > 0.1*best || resp[0] > 0.5*best {
			t.Errorf("complex=%v: SF tuning too broad: %v", complex, resp)
		}
	}
}

func TestPhase(t *testing.T) {
	cases := []struct {
		complex       bool
		minRatio      float64 // bounds on min/max of the drive over phases
		maxRatio      float64
		wantPeakPhase bool
	}{
		{false, 0, 0, true},      // simple: rectified, silent at the anti-preferred phase
		{true, 0.85, 1.0, false}, // complex: nearly phase invariant
	}
	for _, c := range cases {
		n := testNeuron(c.complex, 0.12, 0.5, 0.6)
		lo, hi, hiPhase := math.Inf(1), 0.0, 0.0
		for k := 0; k < 32; k++ {
			ph := 2 * math.Pi * float64(k) / 32
			d, _ := n.Drive(gratingImage(n.Orientation, n.SF, ph, 1), size)
			lo = min(lo, d)
			if d > hi {
				hi, hiPhase = d, ph
			}
		}
		if r := lo / hi; r < c.minRatio || r > c.maxRatio {
			t.Errorf("complex=%v: min/max drive over phase %.3f, want within [%v, %v]", c.complex, r, c.minRatio, c.maxRatio)
		}
		if c.wantPeakPhase && angleDiff(hiPhase/2, n.Phase/2) > math.Pi/32+1e-9 {
			t.Errorf("simple cell peaks at phase %.2f, preferred %.2f", hiPhase, n.Phase)
		}
		if math.Abs(hi-1) > 0.1 {
			t.Errorf("complex=%v: drive of an optimal unit-contrast grating %.3f, want ≈ 1", c.complex, hi)
		}
	}
}

// TestContrastSaturation checks that the response to an optimal grating
// follows the Naka–Rushton function Peak·(1 + c50ⁿ)·cⁿ/(c50ⁿ + cⁿ): it is
// half of its maximum (reached as c → ∞ relative to c50) at c50, and its
// reciprocal is linear in c⁻ⁿ.
func TestContrastSaturation(t *testing.T) {
	for _, complex := range []bool{false, true} {
		n := testNeuron(complex, 0.12, 0.5, 0.6)
		n.Exponent, n.C50 = 2.5, 0.15
		nr := func(c float64) float64 {
			cn := math.Pow(n.C50, n.Exponent)
			return n.Peak * (1 + cn) * math.Pow(c, n.Exponent) / (cn + math.Pow(c, n.Exponent))
		}
		tol := 1e-6
		if complex {
			tol = 0.05 // the quadrature pair is not exactly phase invariant
		}
		prev := 0.0
		for _, c := range []float64{0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 1} {
			r := n.Rate(n.Drive(gratingImage(n.Orientation, n.SF, n.Phase, c), size)) - n.Spont
			if math.Abs(r-nr(c)) > tol*nr(c) {
				t.Errorf("complex=%v c=%v: response %.5f, Naka–Rushton %.5f", complex, c, r, nr(c))
			}
			if r <= prev {
				t.Errorf("complex=%v: response not increasing at c=%v", complex, c)
			}
			prev = r
		}
		// Saturation: doubling contrast from 0.5 to 1 raises the response
		// far less than the 2ⁿ an unnormalized cell would give.
		r5 := n.Rate(n.Drive(gratingImage(n.Orientation, n.SF, n.Phase, 0.5), size)) - n.Spont
		r10 := n.Rate(n.Drive(gratingImage(n.Orientation, n.SF, n.Phase, 1), size)) - n.Spont
		if r10/r5 > 1.2 {
			t.Errorf("complex=%v: R(1)/R(0.5) = %.3f, want saturation (< 1.2)", complex, r10/r5)
		}
		// Half of the asymptote Peak·(1 + c50ⁿ) at c = c50.
		rc := n.Rate(n.Drive(gratingImage(n.Orientation, n.SF, n.Phase, n.C50), size)) - n.Spont
		if half := n.Peak * (1 + math.Pow(n.C50, n.Exponent)) / 2; math.Abs(rc-half) > 0.1*half {
			t.Errorf("complex=%v: R(c50) = %.3f, want half-maximum %.3f", complex, rc, half)
		}
	}
}

// TestCrossOrientationSuppression: adding an orthogonal mask lowers the
// response to the preferred grating (the normalization pool is untuned).
func TestCrossOrientationSuppression(t *testing.T) {
	n := testNeuron(true, 0.12, 0.5, 0.6)
	test := gratingImage(n.Orientation, n.SF, 0, 0.25)
	mask := gratingImage(n.Orientation+math.Pi/2, n.SF, 0, 0.25)
	plaid := make([]float32, len(test))
	for i := range plaid {
		plaid[i] = test[i] + mask[i] - 0.5
	}
	alone := n.Rate(n.Drive(test, size))
	both := n.Rate(n.Drive(plaid, size))
	if !(both < 0.8*alone) {
		t.Errorf("plaid response %.3f, grating alone %.3f: want suppression", both, alone)
	}
}

func TestNoiseStatistics(t *testing.T) {
	const draws = 40000
	cases := []struct {
		model NoiseModel
		rate  float64
	}{{Poisson, 0.4}, {Poisson, 3}, {Poisson, 25}, {GammaPoisson, 0.4}, {GammaPoisson, 3}, {GammaPoisson, 25}}
	for _, c := range cases {
		n := &Neuron{GainVar: 0.2}
		src := rand.NewPCG(1, 2)
		var sum, sumSq float64
		for i := 0; i < draws; i++ {
			v := n.sample(c.rate, c.model, src)
			if v != math.Trunc(v) || v < 0 {
				t.Fatalf("count %v is not a non-negative integer", v)
			}
			sum += v
			sumSq += v * v
		}
		mean := sum / draws
		variance := (sumSq - sum*mean) / (draws - 1)
		wantVar := c.rate
		if c.model == GammaPoisson {
			wantVar += n.GainVar * c.rate * c.rate
		}
		if math.Abs(mean-c.rate) > 4*math.Sqrt(wantVar/draws) {
			t.Errorf("%v rate %v: mean %.4f", c.model, c.rate, mean)
		}
		if math.Abs(variance/wantVar-1) > 0.06 {
			t.Errorf("%v rate %v: variance %.4f, want %.4f", c.model, c.rate, variance, wantVar)
		}
	}
	if v := (&Neuron{GainVar: 0.2}).sample(0, GammaPoisson, rand.NewPCG(1, 1)); v != 0 {
		t.Errorf("rate 0 gave count %v", v)
	}
}

func TestRecordProtocolAndDeterminism(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Neurons = 30
	images := naturalLike(60, 32, 1)
	proto := Protocol{TestImages: 10, TestRepeats: 5, TrainRepeats: 1, Sessions: 3}
	record := func(workers int, seed uint64) *recordings.Recordings {
		c := cfg
		c.Workers = workers
		pop, err := NewPopulation(c, 32, 32, 9)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := Record(pop, images, proto, seed)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	a, b, c, d := record(1, 4), record(2, 4), record(5, 4), record(2, 5)
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, c) {
		t.Error("recordings depend on the number of workers")
	}
	if reflect.DeepEqual(a.Sessions[0].Responses, d.Sessions[0].Responses) {
		t.Error("different seeds gave identical responses")
	}
	dir := t.TempDir()
	p1, p2 := filepath.Join(dir, "a.npz"), filepath.Join(dir, "b.npz")
	if err := recordings.Save(p1, a); err != nil {
		t.Fatal(err)
	}
	if err := recordings.Save(p2, record(2, 4)); err != nil {
		t.Fatal(err)
	}
	b1, _ := os.ReadFile(p1)
	b2, _ := os.ReadFile(p2)
	if !bytes.Equal(b1, b2) {
		t.Error("same seed gave different files")
	}
	back, err := recordings.Load(p1)
	if err != nil || !reflect.DeepEqual(back, a) {
		t.Errorf("round trip through the file changed the recording (err %v)", err)
	}

	if len(a.Sessions) != 3 || a.NumNeurons() != 30 || a.Images.F32 == nil {
		t.Fatalf("%d sessions, %d neurons, float images %v", len(a.Sessions), a.NumNeurons(), a.Images.F32 != nil)
	}
	var ids []int64
	for _, s := range a.Sessions {
		ids = append(ids, s.NeuronIDs...)
		if s.Trials != 50+10*5 || len(s.TrainTrials()) != 50 {
			t.Errorf("session %s: %d trials, %d training", s.Name, s.Trials, len(s.TrainTrials()))
		}
		groups := s.TestByImage()
		if len(groups) != 10 {
			t.Errorf("session %s: %d test images", s.Name, len(groups))
		}
		for _, g := range groups {
			if len(g.Trials) != 5 {
				t.Errorf("image %d: %d repeats", g.Image, len(g.Trials))
			}
		}
		seen := map[int]bool{}
		for _, tr := range s.TrainTrials() {
			seen[s.ImageIndex[tr]] = true
		}
		if len(seen) != 50 {
			t.Errorf("session %s: %d distinct training images", s.Name, len(seen))
		}
	}
	for i, id := range ids {
		if id != int64(i) {
			t.Fatalf("neuron ids %v, want 0..29 across sessions", ids)
		}
	}
	if a.Images.Pixels(7)[100] != images[7][100] {
		t.Error("stored images differ from the inputs")
	}
}

// TestRecordMatchesRates checks that trial-averaged simulated counts
// converge to the noiseless rates.
func TestRecordMatchesRates(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Neurons = 20
	images := naturalLike(4, 32, 2)
	pop, err := NewPopulation(cfg, 32, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	rates, err := pop.Rates(images)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Record(pop, images, Protocol{TestImages: 4, TestRepeats: 3000, Sessions: 1}, 3)
	if err != nil {
		t.Fatal(err)
	}
	s := &rec.Sessions[0]
	for _, g := range s.TestByImage() {
		for j := 0; j < s.Neurons; j++ {
			var sum float64
			for _, tr := range g.Trials {
				sum += float64(s.Response(tr)[j])
			}
			mean, want := sum/float64(len(g.Trials)), float64(rates[g.Image][j])
			sd := math.Sqrt((want + pop.Neurons[j].GainVar*want*want) / float64(len(g.Trials)))
			if math.Abs(mean-want) > 5*sd {
				t.Errorf("image %d neuron %d: mean count %.3f, rate %.3f", g.Image, j, mean, want)
			}
		}
	}
}

func TestUint8ImagesStoredExactly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Neurons = 5
	images := make([][]float32, 3)
	for i := range images {
		images[i] = make([]float32, 28*28)
		for j := range images[i] {
			images[i][j] = float32((i*7+j)%256) / 255
		}
	}
	pop, _ := NewPopulation(cfg, 28, 28, 1)
	rec, err := Record(pop, images, Protocol{TestImages: 1, TestRepeats: 2, TrainRepeats: 1, Sessions: 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Images.U8 == nil || rec.Images.U8[28*28+5] != 12 {
		t.Fatal("8-bit images were not stored as uint8")
	}
	for i := range images {
		if !reflect.DeepEqual(rec.Images.Pixels(i), images[i]) {
			t.Errorf("image %d changed in storage", i)
		}
	}
}

func TestPopulationParameters(t *testing.T) {
	cfg := DefaultConfig()
	pop, err := NewPopulation(cfg, size, size, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(pop.Neurons) != 458 {
		t.Fatalf("%d neurons", len(pop.Neurons))
	}
	simple := 0
	sfMax := min(cfg.SFMax, cfg.MaxCyclesPerPixel*cfg.PixelsPerDegree) / cfg.PixelsPerDegree
	var cardinal, oblique int
	for _, n := range pop.Neurons {
		if !n.Complex {
			simple++
		}
		if n.X < 15.5 || n.X > 47.5 || n.Y < 15.5 || n.Y > 47.5 {
			t.Errorf("RF centre (%.1f, %.1f) outside the central half", n.X, n.Y)
		}
		if n.SF < cfg.SFMin/cfg.PixelsPerDegree-1e-12 || n.SF > sfMax+1e-12 {
			t.Errorf("SF %.3f c/px outside [%.3f, %.3f]", n.SF, cfg.SFMin/cfg.PixelsPerDegree, sfMax)
		}
		for _, s := range []float64{n.SigmaX, n.SigmaY} {
			if s < cfg.MinSigmaPixels || s > cfg.MaxSigmaDegrees*cfg.PixelsPerDegree {
				t.Errorf("envelope σ %.2f px outside the clamp", s)
			}
		}
		if n.Orientation < 0 || n.Orientation >= math.Pi || n.Exponent < 1 || n.Exponent > 4 || n.C50 < 0.04 || n.C50 > 0.9 {
			t.Errorf("parameters out of range: %+v", n)
		}
		deg := n.Orientation * 180 / math.Pi
		if d := math.Mod(deg+22.5, 90); d < 45 {
			cardinal++
		} else {
			oblique++
		}
	}
	if simple != 229 {
		t.Errorf("%d simple cells, want 229", simple)
	}
	// De Valois 1982: (66 + 77) / (49 + 54) ≈ 1.39 more cardinal than
	// oblique preferences.
	if r := float64(cardinal) / float64(oblique); r < 1.1 || r > 1.8 {
		t.Errorf("cardinal/oblique ratio %.2f, want about 1.39", r)
	}
	again, _ := NewPopulation(cfg, size, size, 7)
	if !reflect.DeepEqual(pop.Neurons, again.Neurons) {
		t.Error("the same seed gave different populations")
	}
}

func TestErrors(t *testing.T) {
	bad := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"neurons", func(c *Config) { c.Neurons = 0 }, "Neurons"},
		{"fraction", func(c *Config) { c.SimpleFraction = 2 }, "SimpleFraction"},
		{"ppd", func(c *Config) { c.PixelsPerDegree = 0 }, "PixelsPerDegree"},
		{"sf", func(c *Config) { c.SFMin = 20 }, "SFMin"},
		{"exponent", func(c *Config) { c.Exponent.Median = 0 }, "Exponent"},
		{"window", func(c *Config) { c.Window = 0 }, "Window"},
		{"noise", func(c *Config) { c.Noise = 7 }, "noise model"},
		{"pool", func(c *Config) { c.PoolOrientations = 0 }, "PoolOrientations"},
	}
	for _, b := range bad {
		cfg := DefaultConfig()
		b.change(&cfg)
		if _, err := NewPopulation(cfg, 32, 32, 1); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: error %v should mention %q", b.name, err, b.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Neurons = 4
	pop, err := NewPopulation(cfg, 32, 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	imgs := naturalLike(5, 32, 1)
	if _, err := pop.Rates([][]float32{make([]float32, 10)}); err == nil {
		t.Error("wrong image size accepted")
	}
	for _, p := range []Protocol{
		{TestImages: 6, TestRepeats: 2, Sessions: 1},
		{TestImages: 2, TestRepeats: 0, Sessions: 1},
		{TestImages: 2, TestRepeats: 2, Sessions: 5},
	} {
		if _, err := Record(pop, imgs, p, 1); err == nil {
			t.Errorf("protocol %+v accepted", p)
		}
	}
	imgs[2][3] = 1.5
	if _, err := Record(pop, imgs, Protocol{TestImages: 1, TestRepeats: 1, Sessions: 1}, 1); err == nil || !strings.Contains(err.Error(), "image 2 pixel 3") {
		t.Errorf("out-of-range pixel: error %v", err)
	}
}

// BenchmarkRates measures the default population on 64×64 images.
func BenchmarkRates(b *testing.B) {
	pop, err := NewPopulation(DefaultConfig(), size, size, 1)
	if err != nil {
		b.Fatal(err)
	}
	images := naturalLike(64, size, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := pop.Rates(images); err != nil {
			b.Fatal(err)
		}
	}
}
