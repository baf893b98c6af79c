package corrupt

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
)

// Options configures a Corrupter. The zero value uses the ImageNet table
// and procedural frost textures.
type Options struct {
	// Table is the parameter table (TableImageNet by default).
	Table Table
	// FrostDir, if not empty, is a directory of frost photographs used by
	// the frost corruption instead of the procedural textures: the first
	// five PNG/JPEG files in sorted name order (the ImageNet-C set is
	// frost1.png … frost6.jpg; like the references, the sixth is never
	// used).
	FrostDir string
	// FinalJPEGQuality, if not 0, re-encodes every corrupted image as a
	// JPEG of this quality (1–100) and decodes it again, as the published
	// Tiny-ImageNet-C files were saved (quality 85).
	FinalJPEGQuality int
}

// Corrupter applies corruptions with one parameter table. It holds the
// per-severity kernels and the frost textures, and is safe for concurrent
// use.
type Corrupter struct {
	opts Options
	p    *params
	tiny bool

	disk    [Severities]*diskKernel
	glassK  [Severities][]float64
	motion  [Severities]*motionKernel
	snowK   [Severities]*motionKernel
	zooms   [Severities][]float64
	poisson [Severities]*poissonTable
	frost   *frostSource

	pool sync.Pool
}

// New returns a Corrupter for the given options. It fails on an unknown
// table, an invalid final JPEG quality or an unreadable frost directory.
func New(opts Options) (*Corrupter, error) {
	if opts.Table < 0 || int(opts.Table) >= len(tables) {
		return nil, fmt.Errorf("unknown corruption table %d: valid tables are TableImageNet and TableTinyImageNet", int(opts.Table))
	}
	if opts.FinalJPEGQuality < 0 || opts.FinalJPEGQuality > 100 {
		return nil, fmt.Errorf("final JPEG quality %d out of range: use 1–100, or 0 for none", opts.FinalJPEGQuality)
	}
	fs, err := newFrostSource(opts.FrostDir)
	if err != nil {
		return nil, err
	}
	c := &Corrupter{opts: opts, p: &tables[opts.Table], tiny: opts.Table == TableTinyImageNet, frost: fs}
	c.pool.New = func() any { return new(workspace) }
	for s := 0; s < Severities; s++ {
		d := c.p.defocus[s]
		c.disk[s] = newDiskKernel(d.radius, d.alias)
		c.glassK[s] = scipyGaussianKernel(c.p.glass[s].sigma, 4)
		m, sn := c.p.motion[s], c.p.snow[s]
		if c.tiny {
			c.motion[s] = newMotionKernelMagick(m.radius, m.sigma)
			c.snowK[s] = newMotionKernelMagick(sn.radius, sn.sigma)
		} else {
			c.motion[s] = newMotionKernelNumpy(m.radius, m.sigma)
			c.snowK[s] = newMotionKernelNumpy(sn.radius, sn.sigma)
		}
		c.zooms[s] = c.p.zoom[s].zoomFactors()
		c.poisson[s] = newPoissonTable(c.p.shot[s])
	}
	return c, nil
}

// Options returns the options the Corrupter was created with.
func (c *Corrupter) Options() Options { return c.opts }

// Table returns the parameter table in use.
func (c *Corrupter) Table() Table { return c.opts.Table }

// Apply returns img corrupted by the named corruption at the given
// severity (1–5), drawing all randomness from rng. img is not modified.
// The result has the size and channel count of img.
func (c *Corrupter) Apply(name string, severity int, img Image, rng *rand.Rand) (Image, error) {
	out := Image{W: img.W, H: img.H, C: img.C, Pix: make([]uint8, len(img.Pix))}
	if err := c.ApplyInto(out.Pix, name, severity, img, rng); err != nil {
		return Image{}, err
	}
	return out, nil
}

// ApplySeed is Apply with a fresh generator: ImageRNG(seed, 0).
func (c *Corrupter) ApplySeed(name string, severity int, img Image, seed uint64) (Image, error) {
	return c.Apply(name, severity, img, ImageRNG(seed, 0))
}

// ApplyInto is Apply writing into dst, which must hold len(img.Pix) values
// and must not overlap img.Pix. It does not allocate for most corruptions.
func (c *Corrupter) ApplyInto(dst []uint8, name string, severity int, img Image, rng *rand.Rand) error {
	id, err := lookup(name)
	if err != nil {
		return err
	}
	if err := checkSeverity(severity); err != nil {
		return err
	}
	if err := img.Validate(); err != nil {
		return fmt.Errorf("corrupting with %s: %w", name, err)
	}
	if len(dst) != len(img.Pix) {
		return fmt.Errorf("corrupting with %s: destination holds %d values, want %d", name, len(dst), len(img.Pix))
	}
	if rng == nil {
		return fmt.Errorf("corrupting with %s: nil random generator (pass rand.New(rand.NewPCG(seed, stream)) or use ApplySeed)", name)
	}
	ws := c.pool.Get().(*workspace)
	defer c.pool.Put(ws)
	c.apply(id, severity-1, img, dst, rng, ws)
	if q := c.opts.FinalJPEGQuality; q > 0 {
		tmp := ws.u8b(len(dst))
		copy(tmp, dst)
		libjpegRoundTrip(q, Image{W: img.W, H: img.H, C: img.C, Pix: tmp}, dst, &ws.jpg)
	}
	return nil
}

// apply dispatches one corruption; s is the 0-based severity.
func (c *Corrupter) apply(id, s int, img Image, dst []uint8, rng *rand.Rand, ws *workspace) {
	p := c.p
	switch id {
	case idGaussian:
		gaussianNoise(p.gaussian[s], img.Pix, dst, rng)
	case idShot:
		shotNoise(c.poisson[s], img.Pix, dst, rng)
	case idImpulse:
		impulseNoise(p.impulse[s], img.Pix, dst, rng)
	case idDefocus:
		defocusBlur(c.disk[s], img, dst, ws)
	case idGlass:
		glassBlur(p.glass[s], c.glassK[s], img, dst, rng, ws)
	case idMotion:
		if c.tiny {
			motionBlurMagick(c.motion[s], img, dst, rng, ws)
		} else {
			motionBlurNumpy(c.motion[s], img, dst, rng, ws)
		}
	case idZoom:
		zoomBlur(c.zooms[s], c.tiny, img, dst, ws)
	case idSnow:
		if c.tiny {
			snowTiny(p.snow[s], c.snowK[s], img, dst, rng, ws)
		} else {
			snowImageNet(p.snow[s], c.snowK[s], img, dst, rng, ws)
		}
	case idFrost:
		c.frost.frost(p.frost[s][0], p.frost[s][1], c.tiny, img, dst, rng)
	case idFog:
		fog(p.fog[s][0], p.fog[s][1], c.tiny, img, dst, rng, ws)
	case idBrightness:
		brightness(p.brightness[s], img, dst)
	case idContrast:
		contrast(p.contrast[s], img, dst)
	case idElastic:
		if c.tiny {
			elasticTiny(p.tinyElastic[s], img, dst, rng, ws)
		} else {
			elasticImageNet(p.elasticAlpha[s], img, dst, rng, ws)
		}
	case idPixelate:
		pixelate(p.pixelate[s], c.tiny, img, dst)
	case idJPEG:
		libjpegRoundTrip(p.jpeg[s], img, dst, &ws.jpg)
	}
}

// ApplyBatch corrupts every image of imgs with the named corruption and
// severity using workers goroutines (runtime.GOMAXPROCS(0) if workers ≤ 0).
// Image i draws its randomness from ImageRNG(seed, i), so the result does
// not depend on the number of workers. It stops early, returning the
// context's error, when ctx is cancelled.
func (c *Corrupter) ApplyBatch(ctx context.Context, name string, severity int, imgs []Image, seed uint64, workers int) ([]Image, error) {
	if _, err := lookup(name); err != nil {
		return nil, err
	}
	if err := checkSeverity(severity); err != nil {
		return nil, err
	}
	for i, m := range imgs {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("image %d of the batch: %w", i, err)
		}
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, max(len(imgs), 1))
	out := make([]Image, len(imgs))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res, err := c.Apply(name, severity, imgs[i], ImageRNG(seed, i))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("image %d of the batch: %w", i, err)
					}
					mu.Unlock()
					continue
				}
				out[i] = res
			}
		}()
	}
	var ctxErr error
feed:
	for i := range imgs {
		select {
		case next <- i:
		case <-ctx.Done():
			ctxErr = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if ctxErr != nil {
		return nil, ctxErr
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}
