package v1sim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cotrain/cotrain/data/recordings"
)

// MouseConfig returns a population of mouse V1 neurons (docs/v1sim.md):
// the macaque model neuron with mouse receptive fields. Preferred spatial
// frequencies centre on 0.04 cycles/degree, the peak of mouse V1's
// spatial-frequency tuning (Niell & Stryker 2008), about a decade below
// the macaque's; receptive fields are 5–15° across (Niell & Stryker 2008),
// twenty times the macaque's parafoveal ones; orientations are uniform.
// The resolution is Li et al.'s: their 64×36 images spanned a monitor of
// about 120° × 70° (Walker et al. 2019), 0.5 pixels per degree. Responses
// count spikes in the 500 ms of an image presentation (Li et al. §2), with
// the stronger trial-to-trial variability of awake mouse cortex.
func MouseConfig() Config {
	c := DefaultConfig()
	c.Neurons = 2000
	c.SimpleFraction = 0.4
	c.PixelsPerDegree = 0.5
	c.CenterRegion = 0.7
	c.SF = &LogNormal{Median: 0.04, Sigma: 0.5, Min: 0.01, Max: 0.25}
	c.EnvelopeSigma = &LogNormal{Median: 3, Sigma: 0.3, Min: 1.25, Max: 5}
	c.MaxSigmaDegrees = 5
	c.MaxCyclesPerPixel = 0.25
	c.UniformOrientation = true
	c.PoolEnvelope = 1
	c.PeakRate = LogNormal{Median: 10, Sigma: 0.5, Min: 2, Max: 60}
	c.SpontRate = LogNormal{Median: 1, Sigma: 0.6, Min: 0.1, Max: 8}
	c.Window = 0.5
	c.GainVar = LogNormal{Median: 0.3, Sigma: 0.5, Min: 0.05, Max: 1}
	return c
}

// Behavior sets the simulated non-visual variables of a mouse scan and the
// gain they exert (docs/v1sim.md). Trials are one second apart (a 500 ms
// image and a gap), and every variable is a process over trials.
type Behavior struct {
	// RunStart and RunStop are the per-trial probabilities of starting and
	// stopping a running bout (defaults 0.05 and 0.1: running on a third of
	// the trials, in bouts of about ten).
	RunStart, RunStop float64
	// RunSpeed is the mean running speed in cm/s during a bout (15).
	RunSpeed float64
	// RunGain is the median gain of the visual response at the bout's mean
	// speed: locomotion roughly doubles mouse V1 responses (Niell & Stryker
	// 2010), default 2. Each neuron's log-gain per unit of speed/RunSpeed is
	// drawn around log(RunGain) with standard deviation RunGainSpread
	// (0.3), and the speed term is capped at twice the mean speed.
	RunGain, RunGainSpread float64
	// PupilGain is the median gain per standard deviation of arousal, the
	// slow process behind pupil size (Reimer et al. 2014): default 1.15,
	// drawn per neuron with log-spread PupilGainSpread (0.1).
	PupilGain, PupilGainSpread float64
	// EyeStd is the standard deviation of the horizontal and vertical eye
	// position in degrees (defaults 2 and 1), an AR(1) process over trials
	// with correlation EyeCorr (0.8). The image moves on the retina with the
	// eye, so every receptive field moves by the eye position.
	EyeStd  [2]float64
	EyeCorr float64
}

// DefaultBehavior returns the documented defaults.
func DefaultBehavior() Behavior {
	return Behavior{RunStart: 0.05, RunStop: 0.1, RunSpeed: 15, RunGain: 2, RunGainSpread: 0.3,
		PupilGain: 1.15, PupilGainSpread: 0.1, EyeStd: [2]float64{2, 1}, EyeCorr: 0.8}
}

func (b Behavior) validate() error {
	switch {
	case b.RunStart < 0 || b.RunStart > 1 || b.RunStop < 0 || b.RunStop > 1:
		return fmt.Errorf("v1sim behaviour: run start %v and stop %v must be probabilities", b.RunStart, b.RunStop)
	case !(b.RunSpeed > 0) || !(b.RunGain > 0) || !(b.PupilGain > 0) || b.RunGainSpread < 0 || b.PupilGainSpread < 0:
		return fmt.Errorf("v1sim behaviour: speed %v, gains %v and %v must be positive, spreads non-negative", b.RunSpeed, b.RunGain, b.PupilGain)
	case b.EyeStd[0] < 0 || b.EyeStd[1] < 0 || b.EyeCorr < 0 || b.EyeCorr >= 1:
		return fmt.Errorf("v1sim behaviour: eye std %v must be non-negative and correlation %v in [0, 1)", b.EyeStd, b.EyeCorr)
	}
	return nil
}

// LiProtocol is Li et al.'s (2019 §2) recording protocol, scan by scan: each
// scan records its own NeuronsPerScan neurons of one population, drawn at
// random (scans of one animal may share neurons, as repeated scans do), and
// shows the same images: every image once, except OracleImages images
// shown OracleRepeats times ("oracle images"), in a random order of its
// own, while the mouse runs, dilates its pupil and moves its eyes.
type LiProtocol struct {
	Scans          int
	NeuronsPerScan int
	// OracleImages and OracleRepeats: the paper's 100 × 10.
	OracleImages, OracleRepeats int
	Behavior                    Behavior
}

// PaperLiProtocol is the paper's protocol: 8 scans of about 8,000 neurons
// (here 5,000, drawn from a population of that size or more), 100 oracle
// images × 10 repeats; with 5,100 images, 6,000 trials a scan.
func PaperLiProtocol() LiProtocol {
	return LiProtocol{Scans: 8, NeuronsPerScan: 5000, OracleImages: 100, OracleRepeats: 10, Behavior: DefaultBehavior()}
}

// scanStream names a scan's random streams.
const (
	streamNeurons = iota + 1
	streamOrder
	streamBehavior
	streamGain
	streamNoise
	streamOracle
)

// RecordMouse simulates Li et al.'s protocol on a mouse population (images
// of the population's size, pixels in [0, 1]): one session per scan, with
// per-trial behaviour (pupil centre in eye-camera pixels, 10 per degree
// around (160, 120); pupil size in camera pixels; running speed in cm/s)
// and responses whose gain follows running and arousal and whose receptive
// fields move with the eye. Deterministic in seed, whatever the number of
// workers.
func RecordMouse(pop *Population, images [][]float32, proto LiProtocol, seed uint64) (*recordings.Recordings, error) {
	if err := proto.Behavior.validate(); err != nil {
		return nil, err
	}
	switch {
	case proto.Scans < 1 || proto.NeuronsPerScan < 1 || proto.NeuronsPerScan > len(pop.Neurons):
		return nil, fmt.Errorf("v1sim: %d scans of %d neurons from a population of %d", proto.Scans, proto.NeuronsPerScan, len(pop.Neurons))
	case proto.OracleImages < 2 || proto.OracleRepeats < 2:
		return nil, fmt.Errorf("v1sim: %d oracle images × %d repeats; Li's weights need at least 2 × 2", proto.OracleImages, proto.OracleRepeats)
	case proto.OracleImages >= len(images):
		return nil, fmt.Errorf("v1sim: %d oracle images leave none of the %d images for single trials", proto.OracleImages, len(images))
	}
	for i, img := range images {
		if len(img) != pop.H*pop.W {
			return nil, fmt.Errorf("v1sim: image %d has %d pixels, the population expects %d×%d", i, len(img), pop.H, pop.W)
		}
		for j, v := range img {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("v1sim: image %d pixel %d is %v, outside [0, 1]", i, j, v)
			}
		}
	}
	// The oracle images, shared by every scan.
	perm := rand.New(rand.NewPCG(seed, streamOracle)).Perm(len(images))
	oracle := make([]bool, len(images))
	for _, i := range perm[:proto.OracleImages] {
		oracle[i] = true
	}
	cfg := pop.cfg
	rec := &recordings.Recordings{
		Images:   packImages(images, pop.H, pop.W),
		ImageIDs: make([]int64, len(images)),
		Meta: recordings.Metadata{
			Source:          "v1sim mouse",
			PixelsPerDegree: cfg.PixelsPerDegree,
			ResponseWindow:  fmt.Sprintf("simulated spike count in a %.0f ms presentation", cfg.Window*1000),
			Notes: fmt.Sprintf("Li et al. 2019 protocol: %d scans × %d neurons of %d model mouse V1 neurons; %d oracle images × %d repeats, %d single-trial images; behaviour %+v; seed %d",
				proto.Scans, proto.NeuronsPerScan, len(pop.Neurons), proto.OracleImages, proto.OracleRepeats, len(images)-proto.OracleImages, proto.Behavior, seed),
		},
	}
	for i := range rec.ImageIDs {
		rec.ImageIDs[i] = int64(i + 1)
	}
	for h := 0; h < proto.Scans; h++ {
		rec.Sessions = append(rec.Sessions, recordScan(pop, images, oracle, proto, seed, h))
	}
	if err := rec.Validate(); err != nil {
		return nil, fmt.Errorf("v1sim: internal error, invalid recording: %w", err)
	}
	return rec, nil
}

// recordScan simulates scan h.
func recordScan(pop *Population, images [][]float32, oracle []bool, proto LiProtocol, seed uint64, h int) recordings.Session {
	rng := func(stream uint64) *rand.Rand { return rand.New(rand.NewPCG(mix(seed, uint64(h)), stream)) }
	neurons := rng(streamNeurons).Perm(len(pop.Neurons))[:proto.NeuronsPerScan]
	var schedule []int
	for i := range images {
		if oracle[i] {
			for r := 0; r < proto.OracleRepeats; r++ {
				schedule = append(schedule, i)
			}
		} else {
			schedule = append(schedule, i)
		}
	}
	order := rng(streamOrder)
	order.Shuffle(len(schedule), func(i, j int) { schedule[i], schedule[j] = schedule[j], schedule[i] })
	T, M := len(schedule), len(neurons)
	b := proto.Behavior
	beh, run, arousal, eye := simulateBehavior(b, T, rng(streamBehavior))
	// Per-neuron sensitivity to running and arousal.
	grng := rng(streamGain)
	runBeta := make([]float64, M)
	pupilBeta := make([]float64, M)
	for j := range neurons {
		runBeta[j] = math.Log(b.RunGain) + b.RunGainSpread*grng.NormFloat64()
		pupilBeta[j] = math.Log(b.PupilGain) + b.PupilGainSpread*grng.NormFloat64()
	}
	s := recordings.Session{
		Name: fmt.Sprintf("mouse_scan_%02d", h), Trials: T, Neurons: M,
		NeuronIDs: make([]int64, M), Responses: make([]float32, T*M),
		ImageIndex: schedule, Test: make([]bool, T), Behavior: beh,
	}
	for j, n := range neurons {
		s.NeuronIDs[j] = int64(n)
	}
	for t, img := range schedule {
		s.Test[t] = oracle[img]
	}
	ppd := pop.cfg.PixelsPerDegree
	pop.parallel(T, func(t int) {
		shifted := shiftImage(images[schedule[t]], pop.H, pop.W, eye[t][0]*ppd, eye[t][1]*ppd)
		src := rand.NewPCG(mix(seed, uint64(h), uint64(t)), streamNoise)
		row := s.Responses[t*M : (t+1)*M]
		for j, k := range neurons {
			n := &pop.Neurons[k]
			gain := math.Exp(runBeta[j]*run[t] + pupilBeta[j]*arousal[t])
			row[j] = float32(n.sample(gain*n.Rate(n.Drive(shifted, pop.W)), pop.cfg.Noise, src))
		}
	})
	return s
}

// simulateBehavior draws a scan's behaviour over T trials: the recorded
// variables, and the hidden causes of the gain (running speed relative to
// the bout speed, capped at 2; arousal in standard deviations) and of the
// receptive-field shift (eye position in degrees).
func simulateBehavior(b Behavior, T int, rng *rand.Rand) (rec *recordings.Behavior, run, arousal []float64, eye [][2]float64) {
	rec = &recordings.Behavior{PupilCenter: make([]float32, 2*T), PupilSize: make([]float32, T), Running: make([]float32, T)}
	run, arousal, eye = make([]float64, T), make([]float64, T), make([][2]float64, T)
	running := false
	speedAR, arousalAR := 0.0, rng.NormFloat64()
	ex, ey := b.EyeStd[0]*rng.NormFloat64(), b.EyeStd[1]*rng.NormFloat64()
	const speedCorr, arousalCorr = 0.9, 0.95
	innov := func(c float64) float64 { return math.Sqrt(1-c*c) * rng.NormFloat64() }
	for t := 0; t < T; t++ {
		if running && rng.Float64() < b.RunStop || !running && rng.Float64() < b.RunStart {
			running = !running
		}
		speedAR = speedCorr*speedAR + innov(speedCorr)
		arousalAR = arousalCorr*arousalAR + innov(arousalCorr)
		speed := math.Abs(0.3 * rng.NormFloat64()) // stationary: the wheel's jitter
		if running {
			speed = max(0, b.RunSpeed*(1+0.4*speedAR))
		}
		// Running raises arousal, and pupil size follows arousal.
		a := arousalAR
		if running {
			a += 1
		}
		ex = b.EyeCorr*ex + b.EyeStd[0]*innov(b.EyeCorr)
		ey = b.EyeCorr*ey + b.EyeStd[1]*innov(b.EyeCorr)
		run[t], arousal[t], eye[t] = min(speed/b.RunSpeed, 2), a, [2]float64{ex, ey}
		rec.Running[t] = float32(speed)
		rec.PupilSize[t] = float32(max(5, 20+4*a+0.5*rng.NormFloat64()))
		rec.PupilCenter[2*t] = float32(160 + 10*ex + 0.5*rng.NormFloat64())
		rec.PupilCenter[2*t+1] = float32(120 + 10*ey + 0.5*rng.NormFloat64())
	}
	return rec, run, arousal, eye
}

// shiftImage returns the image as seen with the receptive fields displaced
// by (dx, dy) pixels: out(x, y) = img(x − dx, y − dy), bilinear, with the
// border pixels extended.
func shiftImage(img []float32, h, w int, dx, dy float64) []float32 {
	out := make([]float32, h*w)
	clamp := func(v, n int) int { return min(max(v, 0), n-1) }
	for y := 0; y < h; y++ {
		sy := float64(y) - dy
		y0 := int(math.Floor(sy))
		fy := sy - float64(y0)
		for x := 0; x < w; x++ {
			sx := float64(x) - dx
			x0 := int(math.Floor(sx))
			fx := sx - float64(x0)
			at := func(yy, xx int) float64 { return float64(img[clamp(yy, h)*w+clamp(xx, w)]) }
			v := (1-fy)*((1-fx)*at(y0, x0)+fx*at(y0, x0+1)) + fy*((1-fx)*at(y0+1, x0)+fx*at(y0+1, x0+1))
			out[y*w+x] = float32(v)
		}
	}
	return out
}
