package v1sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Neuron holds one model neuron's parameters. Coordinates are in pixels,
// x to the right (columns) and y down (rows); angles in radians.
type Neuron struct {
	// Complex is true for a complex (energy) cell, false for a simple cell.
	Complex bool
	// X, Y is the receptive-field centre.
	X, Y float64
	// Orientation is the direction of the preferred grating's wave vector
	// (the bars are perpendicular to it), in [0, π).
	Orientation float64
	// SF is the preferred spatial frequency in cycles per pixel.
	SF float64
	// Phase is the simple cell's preferred phase (unused for complex
	// cells).
	Phase float64
	// SigmaX and SigmaY are the Gaussian envelope's standard deviations
	// across and along the bars, in pixels.
	SigmaX, SigmaY float64
	// PoolSigma is the normalization pool's Gaussian radius in pixels.
	PoolSigma float64
	// Exponent and C50 are the Naka–Rushton exponent and semi-saturation
	// contrast.
	Exponent, C50 float64
	// Peak is the expected count evoked above spontaneous by an optimal
	// full-contrast grating, and Spont the spontaneous count, both in the
	// counting window.
	Peak, Spont float64
	// GainVar is the gamma-Poisson gain variance.
	GainVar float64

	filters
}

// filters are a neuron's sampled weights over its bounding boxes.
type filters struct {
	box        rect      // support of even and odd
	even, odd  []float32 // unit-gain Gabor pair (odd nil for simple cells)
	poolBox    rect
	pool       [][]float32 // quadrature pairs of the pool's Gabors, 2 per orientation
	poolFactor float64     // scales p to 1 for an optimal unit-contrast grating
}

type rect struct{ x0, y0, x1, y1 int } // half-open

func (r rect) w() int { return r.x1 - r.x0 }

// Population is a fixed set of model neurons for images of one size.
type Population struct {
	// H and W are the image height and width the population was built for.
	H, W    int
	Neurons []Neuron
	cfg     Config
}

// Config returns the configuration the population was built with.
func (p *Population) Config() Config { return p.cfg }

// NewPopulation draws cfg.Neurons neurons for H×W images from the
// configured distributions, deterministically from seed.
func NewPopulation(cfg Config, h, w int, seed uint64) (*Population, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if h < 4 || w < 4 {
		return nil, fmt.Errorf("v1sim: image size %d×%d is too small (want at least 4×4)", h, w)
	}
	rng := rand.New(rand.NewPCG(seed, 0x76317369_6d706f70)) // "v1simpop"
	p := &Population{H: h, W: w, cfg: cfg}
	ppd := cfg.PixelsPerDegree
	sfHi := min(cfg.SFMax, cfg.MaxCyclesPerPixel*ppd)
	uLo := histCDF(cfg.SFMin, sfBins, sfCounts, true)
	uHi := histCDF(sfHi, sfBins, sfCounts, true)
	nb := nBins()
	var nxCounts [5]float64
	for i := range nJoint {
		for _, c := range nJoint[i] {
			nxCounts[i] += c
		}
	}
	nSimple := int(math.Round(cfg.SimpleFraction * float64(cfg.Neurons)))
	for i := 0; i < cfg.Neurons; i++ {
		var n Neuron
		n.Complex = i >= nSimple
		region := cfg.CenterRegion
		n.X = (float64(w)-1)/2 + (rng.Float64()-0.5)*region*float64(w)
		n.Y = (float64(h)-1)/2 + (rng.Float64()-0.5)*region*float64(h)
		u := rng.Float64()
		ori := histQuantile(u, oriBins, oriCounts[:], false)
		if cfg.UniformOrientation {
			ori = 180 * u
		}
		if ori < 0 {
			ori += 180
		}
		n.Orientation = ori * math.Pi / 180
		u = rng.Float64()
		if cfg.SF != nil {
			n.SF = min(cfg.SF.sample(rng)/ppd, cfg.MaxCyclesPerPixel)
		} else {
			n.SF = histQuantile(uLo+u*(uHi-uLo), sfBins, sfCounts, true) / ppd
		}
		n.Phase = 2 * math.Pi * rng.Float64()
		row := 0
		nx := histQuantile(rng.Float64(), nb, nxCounts[:], true)
		for row < 4 && nx >= nb[row+1] {
			row++
		}
		ny := histQuantile(rng.Float64(), nb, nJoint[row][:], true)
		sx, sy := nx/n.SF, ny/n.SF
		if cfg.EnvelopeSigma != nil {
			sx, sy = cfg.EnvelopeSigma.sample(rng)*ppd, cfg.EnvelopeSigma.sample(rng)*ppd
		}
		maxSigma := cfg.MaxSigmaDegrees * ppd
		n.SigmaX = min(max(sx, cfg.MinSigmaPixels), maxSigma)
		n.SigmaY = min(max(sy, cfg.MinSigmaPixels), maxSigma)
		n.PoolSigma = max(cfg.PoolCycles/n.SF, cfg.MinSigmaPixels)
		if cfg.PoolEnvelope > 0 {
			n.PoolSigma = max(cfg.PoolEnvelope*math.Sqrt(n.SigmaX*n.SigmaY), cfg.MinSigmaPixels)
		}
		n.Exponent = cfg.Exponent.sample(rng)
		n.C50 = cfg.C50.sample(rng)
		n.Peak = cfg.PeakRate.sample(rng) * cfg.Window
		n.Spont = cfg.SpontRate.sample(rng) * cfg.Window
		n.GainVar = cfg.GainVar.sample(rng)
		n.build(h, w, cfg.PoolOrientations)
		p.Neurons = append(p.Neurons, n)
	}
	return p, nil
}

// grating returns a unit-contrast sinusoid 0.5 + 0.5·cos(2π·f·x' + phase)
// at pixel (x, y), x' being the coordinate along the wave vector through
// (cx, cy).
func grating(x, y, cx, cy, theta, f, phase float64) float64 {
	xr := (x-cx)*math.Cos(theta) + (y-cy)*math.Sin(theta)
	return 0.5 + 0.5*math.Cos(2*math.Pi*f*xr+phase)
}

// build samples the neuron's Gabor pair and its pool filters on an h×w
// grid. Filters have zero sum over their (clipped) support, so responses
// ignore the mean luminance. The drive filters are scaled so that an
// optimal unit-contrast grating drives them to exactly 1, and the pool so
// that the same grating gives p = 1.
func (n *Neuron) build(h, w, poolOrientations int) {
	clip := func(c, r float64, size int) (int, int) {
		return max(0, int(math.Floor(c-r))), min(size, int(math.Ceil(c+r))+1)
	}
	half := 3 * max(n.SigmaX, n.SigmaY)
	n.box.x0, n.box.x1 = clip(n.X, half, w)
	n.box.y0, n.box.y1 = clip(n.Y, half, h)
	if n.Complex {
		n.even = gabor(n.box, n.X, n.Y, n.Orientation, n.SF, 0, n.SigmaX, n.SigmaY)
		n.odd = gabor(n.box, n.X, n.Y, n.Orientation, n.SF, -math.Pi/2, n.SigmaX, n.SigmaY)
	} else {
		n.even = gabor(n.box, n.X, n.Y, n.Orientation, n.SF, n.Phase, n.SigmaX, n.SigmaY)
	}
	n.poolBox.x0, n.poolBox.x1 = clip(n.X, 3*n.PoolSigma, w)
	n.poolBox.y0, n.poolBox.y1 = clip(n.Y, 3*n.PoolSigma, h)
	n.pool = nil
	for k := 0; k < poolOrientations; k++ {
		theta := n.Orientation + math.Pi*float64(k)/float64(poolOrientations)
		for _, phase := range []float64{0, -math.Pi / 2} {
			n.pool = append(n.pool, gabor(n.poolBox, n.X, n.Y, theta, n.SF, phase, n.PoolSigma, n.PoolSigma))
		}
	}
	n.poolFactor = 1
	img := make([]float32, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img[y*w+x] = float32(grating(float64(x), float64(y), n.X, n.Y, n.Orientation, n.SF, n.Phase))
		}
	}
	_, p := n.Drive(img, w)
	n.poolFactor = 1 / p
}

// gabor samples env·(cos(2π·f·x' + phase) − dc) over box, x' being the
// coordinate along the wave vector at angle theta through (cx, cy), with
// dc chosen for a zero sum, scaled so that the matching unit-contrast
// grating 0.5 + 0.5·cos(2π·f·x' + phase) gives a response of 1.
func gabor(box rect, cx, cy, theta, f, phase, sx, sy float64) []float32 {
	ct, st := math.Cos(theta), math.Sin(theta)
	size := box.w() * (box.y1 - box.y0)
	env := make([]float64, size)
	car := make([]float64, size)
	var sumEnv, sumEC float64
	k := 0
	for y := box.y0; y < box.y1; y++ {
		for x := box.x0; x < box.x1; x++ {
			dx, dy := float64(x)-cx, float64(y)-cy
			xr, yr := dx*ct+dy*st, -dx*st+dy*ct
			env[k] = math.Exp(-0.5 * (xr*xr/(sx*sx) + yr*yr/(sy*sy)))
			car[k] = math.Cos(2*math.Pi*f*xr + phase)
			sumEnv += env[k]
			sumEC += env[k] * car[k]
			k++
		}
	}
	dc := sumEC / sumEnv
	g := make([]float64, size)
	var gain float64
	k = 0
	for y := box.y0; y < box.y1; y++ {
		for x := box.x0; x < box.x1; x++ {
			g[k] = env[k] * (car[k] - dc)
			gain += g[k] * grating(float64(x), float64(y), cx, cy, theta, f, phase)
			k++
		}
	}
	out := make([]float32, size)
	for i, v := range g {
		out[i] = float32(v / gain)
	}
	return out
}

// Drive returns the neuron's contrast drive d (1 for an optimal
// unit-contrast grating) and its normalization signal p (the square root of
// the pooled Gabor energy at the neuron's position and spatial frequency
// over all orientations, 1 for an optimal unit-contrast grating) for an
// image of the population's size with pixels in [0, 1]. Drive is defined
// for the neurons of a Population, whose filters NewPopulation samples.
func (n *Neuron) Drive(img []float32, w int) (d, p float64) {
	e := dot(n.box, n.even, img, w)
	if n.Complex {
		o := dot(n.box, n.odd, img, w)
		d = math.Sqrt(e*e + o*o)
	} else {
		d = max(e, 0)
	}
	var energy float64
	for k := 0; k < len(n.pool); k++ {
		v := dot(n.poolBox, n.pool[k], img, w)
		energy += v * v
	}
	p = math.Sqrt(2*energy/float64(len(n.pool))) * n.poolFactor
	return d, p
}

// dot returns the inner product of filter f over box with the image.
func dot(box rect, f []float32, img []float32, w int) float64 {
	var s float64
	k := 0
	for y := box.y0; y < box.y1; y++ {
		row := img[y*w+box.x0 : y*w+box.x1]
		for _, v := range row {
			s += float64(f[k]) * float64(v)
			k++
		}
	}
	return s
}

// Rate returns the expected spike count in the window for a contrast drive
// d and normalization signal p: Spont + Peak·(1 + c50ⁿ)·dⁿ/(c50ⁿ + pⁿ),
// which for a grating of contrast c (d = p = c) is the Naka–Rushton curve
// Spont + Peak·(1 + c50ⁿ)·cⁿ/(c50ⁿ + cⁿ), equal to Spont + Peak at c = 1.
func (n *Neuron) Rate(d, p float64) float64 {
	cn := math.Pow(n.C50, n.Exponent)
	return n.Spont + n.Peak*(1+cn)*math.Pow(d, n.Exponent)/(cn+math.Pow(p, n.Exponent))
}

// Rates returns the noiseless expected spike counts, images × neurons. Each
// image holds H·W pixels in [0, 1], row-major. Work is spread over
// cfg.Workers goroutines; the result does not depend on their number.
func (p *Population) Rates(images [][]float32) ([][]float32, error) {
	for i, img := range images {
		if len(img) != p.H*p.W {
			return nil, fmt.Errorf("v1sim: image %d has %d pixels, the population expects %d×%d", i, len(img), p.H, p.W)
		}
	}
	out := make([][]float32, len(images))
	p.parallel(len(images), func(i int) {
		r := make([]float32, len(p.Neurons))
		for j := range p.Neurons {
			n := &p.Neurons[j]
			r[j] = float32(n.Rate(n.Drive(images[i], p.W)))
		}
		out[i] = r
	})
	return out, nil
}

// parallel calls f(0..n-1) on the configured number of workers.
func (p *Population) parallel(n int, f func(i int)) {
	workers := p.cfg.Workers
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = max(1, min(workers, n))
	var wg sync.WaitGroup
	next := make(chan int, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}
