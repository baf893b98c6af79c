package v1sim

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/cotrain/cotrain/data/recordings"
	"gonum.org/v1/gonum/stat/distuv"
)

// Protocol describes a simulated experiment, mirroring the paper's: every
// training image is shown once (single trials) and a small set of test
// images is shown many times.
type Protocol struct {
	// TestImages is the number of images held out as the repeated test set
	// (default 75). They are drawn from the given images by a seeded
	// permutation; the rest are training images.
	TestImages int
	// TestRepeats is the number of presentations of each test image
	// (default 40; the paper reports 40–50).
	TestRepeats int
	// TrainRepeats is the number of presentations of each training image
	// (default 1).
	TrainRepeats int
	// Sessions splits the neurons into this many recording sessions of
	// nearly equal size (default 1). Every session sees all images with
	// its own independent noise.
	Sessions int
}

// DefaultProtocol returns the paper's protocol: 75 test images × 40
// repeats, single training trials, one session.
func DefaultProtocol() Protocol {
	return Protocol{TestImages: 75, TestRepeats: 40, TrainRepeats: 1, Sessions: 1}
}

// Record simulates a recording of pop on images (each H·W pixels in
// [0, 1]) under proto. The result is deterministic in seed and independent
// of the number of workers. Images whose pixels are all multiples of 1/255
// are stored as uint8, others as float32 in [0, 1].
func Record(pop *Population, images [][]float32, proto Protocol, seed uint64) (*recordings.Recordings, error) {
	if proto.TestImages < 0 || proto.TestRepeats < 0 || proto.TrainRepeats < 0 || (proto.TestImages > 0) != (proto.TestRepeats > 0) {
		return nil, fmt.Errorf("v1sim: protocol %+v: want non-negative counts, and test repeats exactly when there are test images", proto)
	}
	if proto.TestImages > len(images) {
		return nil, fmt.Errorf("v1sim: protocol asks for %d test images but only %d images were given", proto.TestImages, len(images))
	}
	if proto.Sessions < 1 || proto.Sessions > len(pop.Neurons) {
		return nil, fmt.Errorf("v1sim: protocol asks for %d sessions of %d neurons", proto.Sessions, len(pop.Neurons))
	}
	for i, img := range images {
		for j, v := range img {
			if !(v >= 0 && v <= 1) {
				return nil, fmt.Errorf("v1sim: image %d pixel %d is %v, outside [0, 1]", i, j, v)
			}
		}
	}
	rates, err := pop.Rates(images)
	if err != nil {
		return nil, err
	}
	// Which images are test images: the first TestImages of a seeded
	// permutation, in increasing order.
	perm := rand.New(rand.NewPCG(seed, 0x74657374)).Perm(len(images)) // "test"
	isTest := make([]bool, len(images))
	for _, i := range perm[:proto.TestImages] {
		isTest[i] = true
	}
	var schedule []int // image of each trial, training trials first
	for r := 0; r < proto.TrainRepeats; r++ {
		for i := range images {
			if !isTest[i] {
				schedule = append(schedule, i)
			}
		}
	}
	for r := 0; r < proto.TestRepeats; r++ {
		for i := range images {
			if isTest[i] {
				schedule = append(schedule, i)
			}
		}
	}
	cfg := pop.cfg
	rec := &recordings.Recordings{
		Images:   packImages(images, pop.H, pop.W),
		ImageIDs: make([]int64, len(images)),
		Meta: recordings.Metadata{
			Source:          "v1sim",
			PixelsPerDegree: cfg.PixelsPerDegree,
			ResponseWindow:  fmt.Sprintf("simulated spike count in a %.0f ms window", cfg.Window*1000),
			Notes: fmt.Sprintf("%d model V1 neurons (%.0f%% simple), %s noise; %d test images × %d repeats, training images × %d; seed %d",
				len(pop.Neurons), 100*cfg.SimpleFraction, cfg.Noise, proto.TestImages, proto.TestRepeats, proto.TrainRepeats, seed),
		},
	}
	for i := range rec.ImageIDs {
		rec.ImageIDs[i] = int64(i + 1)
	}
	nNeu := len(pop.Neurons)
	for s := 0; s < proto.Sessions; s++ {
		lo, hi := s*nNeu/proto.Sessions, (s+1)*nNeu/proto.Sessions
		sess := recordings.Session{
			Name:       fmt.Sprintf("v1sim_%02d", s),
			Trials:     len(schedule),
			Neurons:    hi - lo,
			NeuronIDs:  make([]int64, hi-lo),
			Responses:  make([]float32, len(schedule)*(hi-lo)),
			ImageIndex: append([]int{}, schedule...),
			Test:       make([]bool, len(schedule)),
		}
		for j := range sess.NeuronIDs {
			sess.NeuronIDs[j] = int64(lo + j)
		}
		for t, img := range schedule {
			sess.Test[t] = isTest[img]
		}
		pop.parallel(len(schedule), func(t int) {
			src := rand.NewPCG(mix(seed, uint64(s), uint64(t)), 0x6e6f697365) // "noise"
			row := sess.Responses[t*(hi-lo) : (t+1)*(hi-lo)]
			for j := range row {
				n := &pop.Neurons[lo+j]
				row[j] = float32(n.sample(float64(rates[schedule[t]][lo+j]), cfg.Noise, src))
			}
		})
		rec.Sessions = append(rec.Sessions, sess)
	}
	if err := rec.Validate(); err != nil {
		return nil, fmt.Errorf("v1sim: internal error, invalid recording: %w", err)
	}
	return rec, nil
}

// sample draws one spike count with mean rate.
func (n *Neuron) sample(rate float64, model NoiseModel, src rand.Source) float64 {
	if model == GammaPoisson {
		shape := 1 / n.GainVar
		rate *= distuv.Gamma{Alpha: shape, Beta: shape, Src: src}.Rand()
	}
	if !(rate > 0) {
		return 0
	}
	return distuv.Poisson{Lambda: rate, Src: src}.Rand()
}

// mix derives a per-trial seed from the recording seed, the session and
// the trial with SplitMix64 steps, so trials get independent streams and
// the result does not depend on scheduling.
func mix(vals ...uint64) uint64 {
	var h uint64 = 0x9e3779b97f4a7c15
	for _, v := range vals {
		h ^= v
		h += 0x9e3779b97f4a7c15
		z := h
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		h = z ^ (z >> 31)
	}
	return h
}

// packImages stores the images as uint8 when every pixel is a multiple of
// 1/255 (as for 8-bit sources) and as float32 in [0, 1] otherwise.
func packImages(images [][]float32, h, w int) recordings.Images {
	im := recordings.Images{N: len(images), H: h, W: w}
	exact := true
	for _, img := range images {
		for _, v := range img {
			q := math.Round(float64(v) * 255)
			if float32(q/255) != v {
				exact = false
				break
			}
		}
		if !exact {
			break
		}
	}
	if exact {
		im.U8 = make([]uint8, 0, len(images)*h*w)
		for _, img := range images {
			for _, v := range img {
				im.U8 = append(im.U8, uint8(math.Round(float64(v)*255)))
			}
		}
		im.Range = [2]float64{0, 255}
		return im
	}
	im.F32 = make([]float32, 0, len(images)*h*w)
	for _, img := range images {
		im.F32 = append(im.F32, img...)
	}
	im.Range = [2]float64{0, 1}
	return im
}
