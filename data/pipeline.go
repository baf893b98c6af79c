package data

import (
	"fmt"
	"math/rand/v2"
)

// Pipeline is the per-sample preprocessing of a Loader:
//
//  1. the Geometric transforms, in order, on the uint8 image — drawn once per
//     sample, so every view shares the same crop, flip and rotation;
//  2. for each view, its Photometric function on a private copy of that
//     image (the Oracle: view 1 clean or corrupted with p = 0.5, view 2
//     always corrupted);
//  3. Gray (one formula for every path) and Normalize.
//
// Each view yields one H×W plane of float32.
type Pipeline struct {
	// Geometric transforms run in order on the uint8 image.
	Geometric []Transform
	// Views holds one photometric function per output view; a nil function
	// leaves its view unchanged. No entries means one unchanged view.
	Views []Photometric
	// Normalize is applied to the grayscale values; {0, 1} keeps them in
	// [0, 1]. A zero Std is an error.
	Normalize Normalize
}

// TinyImageNetTrainPipeline returns the paper's training augmentation:
// RandomCrop(64, padding 4) → RandomHorizontalFlip(0.5) →
// RandomRotation(±15°) → grayscale → Normalize(0.4519, 0.2221), one view.
func TinyImageNetTrainPipeline() Pipeline {
	return Pipeline{
		Geometric: []Transform{
			RandomCrop{Size: 64, Padding: 4},
			RandomHorizontalFlip{P: 0.5},
			RandomRotation{Degrees: 15},
		},
		Normalize: Normalize{Mean: TinyImageNetMean, Std: TinyImageNetStd},
	}
}

// EvalPipeline returns the evaluation preprocessing: grayscale and
// normalization only, one view.
func EvalPipeline(n Normalize) Pipeline {
	return Pipeline{Normalize: n}
}

// NumViews is the number of views the pipeline produces (at least 1).
func (p Pipeline) NumViews() int {
	return max(1, len(p.Views))
}

// Process runs the pipeline on one image exactly as a Loader with the given
// seed does for the sample with set index index in epoch epoch, and returns
// one normalized grayscale h×w plane per view.
func (p Pipeline) Process(img Image, seed uint64, epoch, index int) (planes [][]float32, h, w int, err error) {
	if err := p.Normalize.validate(); err != nil {
		return nil, 0, 0, err
	}
	views, err := p.views(img, seed, epoch, index)
	if err != nil {
		return nil, 0, 0, err
	}
	h, w = views[0].H, views[0].W
	for v, m := range views {
		if m.H != h || m.W != w {
			return nil, 0, 0, fmt.Errorf("view %d is %d×%d but view 0 is %d×%d", v, m.H, m.W, h, w)
		}
		plane := make([]float32, h*w)
		Gray(m, plane)
		p.Normalize.Apply(plane)
		planes = append(planes, plane)
	}
	return planes, h, w, nil
}

// views runs the geometric and photometric steps and returns one uint8
// image per view. Geometry draws from the sample's stream 0, view v from
// stream v+1, so a view's draws do not depend on the geometry's or on
// another view's.
func (p Pipeline) views(img Image, seed uint64, epoch, index int) ([]Image, error) {
	if err := img.Validate(); err != nil {
		return nil, fmt.Errorf("input image: %w", err)
	}
	if len(p.Geometric) > 0 {
		rng := sampleRNG(seed, epoch, index, 0)
		for k, t := range p.Geometric {
			out, err := t.Apply(img, rng)
			if err != nil {
				return nil, fmt.Errorf("geometric transform %d (%T): %w", k, t, err)
			}
			img = out
		}
	}
	out := make([]Image, p.NumViews())
	for v := range out {
		var f Photometric
		if v < len(p.Views) {
			f = p.Views[v]
		}
		if f == nil {
			out[v] = img
			continue
		}
		m, err := f(img.Clone(), sampleRNG(seed, epoch, index, uint64(v)+1))
		if err != nil {
			return nil, fmt.Errorf("photometric function of view %d: %w", v, err)
		}
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("photometric function of view %d returned a bad image: %w", v, err)
		}
		if m.H != img.H || m.W != img.W {
			return nil, fmt.Errorf("photometric function of view %d changed the size from %d×%d to %d×%d", v, img.H, img.W, m.H, m.W)
		}
		out[v] = m
	}
	return out, nil
}

// orderStream is the second PCG seed word of the epoch-order generator.
const orderStream = 0x6f726465722d2d31

// sampleRNG returns the generator of one random stream of one sample: it
// depends only on (seed, epoch, index, stream).
func sampleRNG(seed uint64, epoch, index int, stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed, uint64(epoch)), mix(uint64(index), stream)))
}

// orderRNG returns the generator of an epoch's sample order.
func orderRNG(seed uint64, epoch int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed, uint64(epoch)), orderStream))
}

// mix combines two words into a well-mixed seed word; for a fixed a it is a
// bijection of b.
func mix(a, b uint64) uint64 {
	return splitmix64(splitmix64(a) ^ b)
}

// splitmix64 is the SplitMix64 output function, a bijection of 64-bit words.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
