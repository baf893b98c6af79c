package robustness

import (
	"context"
	"fmt"
	"iter"
	"math/rand/v2"
	"runtime"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
)

// Setup identifies the test images of an evaluation: results with equal
// Setups were computed on the same images (clean and corrupted), so they
// can be paired and combined.
type Setup struct {
	// Data names the clean test set (data.Set.Name).
	Data string `json:"data"`
	// NumImages is the number of test images.
	NumImages int `json:"num_images"`
	// Table is the corruption table ("imagenet" or "tinyimagenet"), or ""
	// when the corrupted images come from a Folder.
	Table string `json:"table,omitempty"`
	// Seed is the corruption seed (0 with a Folder).
	Seed uint64 `json:"seed"`
	// FrostDir is the frost photograph folder, "" for procedural frost.
	FrostDir string `json:"frost_dir,omitempty"`
	// FinalJPEGQuality is the quality of the JPEG round trip after each
	// corruption, 0 for none.
	FinalJPEGQuality int `json:"final_jpeg_quality,omitempty"`
	// Folder is the root of the precomputed corrupted images, or "".
	Folder string `json:"folder,omitempty"`
}

// CellBatch is one batch of preprocessed test images of one cell.
type CellBatch struct {
	// Cell is the batch's test condition and CellIndex its position in
	// Stream.Cells.
	Cell      Cell
	CellIndex int
	// Batch holds the images (one view: N×H×W×1 gray, normalized), their
	// labels and their indices in the test set.
	Batch *data.Batch
}

// Stream produces the test batches of every cell of an evaluation, clean
// first, ready for a model: gray, normalized, in test-set order. It does
// not depend on any model, only on the test set, the normalization and the
// Options, so every model with the same normalization receives identical
// batches.
type Stream struct {
	cells   []Cell
	loaders []*data.Loader
	setup   Setup
	depth   int
	h, w    int
}

// NewStream checks opts and prepares the loaders of every cell of the
// evaluation of set with normalization norm. Corrupted images are made by
// each loader's photometric view (Photometric), whose generator for test
// image k of cell (corruption, severity) is the loader's generator of
// sample k with seed corrupt.StreamSeed(opts.Seed, corruption, severity):
// it depends only on those four values. With opts.Folder, each cell is
// read from its folder instead and must hold as many images as set (with
// the same labels in the same order, which Evaluate checks).
func NewStream(set data.Set, norm data.Normalize, opts Options) (*Stream, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	set, err = limit(set, opts.Limit)
	if err != nil {
		return nil, err
	}
	st := &Stream{cells: opts.cells(), setup: Setup{Data: set.Name(), NumImages: set.Len()}}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	st.depth = max(2, workers)
	cfg := data.LoaderConfig{BatchSize: opts.BatchSize, Pipeline: data.EvalPipeline(norm), Workers: workers}
	clean, err := data.NewLoader(set, cfg)
	if err != nil {
		return nil, fmt.Errorf("clean test images: %w", err)
	}
	_, st.h, st.w = clean.Size()
	st.loaders = append(st.loaders, clean)

	var c *corrupt.Corrupter
	if opts.Folder != nil {
		st.setup.Folder = opts.Folder.Root()
	} else {
		c, err = corrupt.New(corrupt.Options{Table: opts.Table, FrostDir: opts.FrostDir, FinalJPEGQuality: opts.FinalJPEGQuality})
		if err != nil {
			return nil, err
		}
		st.setup.Table, st.setup.Seed, st.setup.FrostDir = opts.Table.String(), opts.Seed, opts.FrostDir
		st.setup.FinalJPEGQuality = opts.FinalJPEGQuality
	}
	for _, cell := range st.cells[1:] {
		var l *data.Loader
		if opts.Folder != nil {
			l, err = folderLoader(opts.Folder, cell, set, opts.Limit, cfg)
		} else {
			cc := cfg
			cc.Seed = corrupt.StreamSeed(opts.Seed, cell.Corruption, cell.Severity)
			cc.Pipeline.Views = []data.Photometric{Photometric(c, cell.Corruption, cell.Severity)}
			l, err = data.NewLoader(set, cc)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", cell, err)
		}
		if _, h, w := l.Size(); h != st.h || w != st.w {
			return nil, fmt.Errorf("%s: images are %d×%d but the clean images of %s are %d×%d", cell, h, w, set.Name(), st.h, st.w)
		}
		st.loaders = append(st.loaders, l)
	}
	return st, nil
}

// folderLoader returns the loader of one cell read from a folder, checking
// that it matches the clean set image for image.
func folderLoader(f *Folder, cell Cell, clean data.Set, n int, cfg data.LoaderConfig) (*data.Loader, error) {
	cs, err := f.Set(cell.Corruption, cell.Severity)
	if err != nil {
		return nil, err
	}
	if cs, err = limit(cs, n); err != nil {
		return nil, err
	}
	if cs.Len() != clean.Len() {
		return nil, fmt.Errorf("%s holds %d images but the clean test set %s has %d; the folders must hold the same test images",
			cs.Name(), cs.Len(), clean.Name(), clean.Len())
	}
	return data.NewLoader(cs, cfg)
}

// limit returns the first n examples of set (all of them if n is 0 or at
// least set.Len()).
func limit(set data.Set, n int) (data.Set, error) {
	if set.Len() == 0 {
		return nil, fmt.Errorf("test set %s is empty", set.Name())
	}
	if n <= 0 || n >= set.Len() {
		return set, nil
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return data.Subset(set, idx)
}

// Cells returns the test conditions in the order they are streamed.
func (st *Stream) Cells() []Cell { return append([]Cell(nil), st.cells...) }

// Setup describes the stream's test images.
func (st *Stream) Setup() Setup { return st.setup }

// NumImages is the number of test images per cell.
func (st *Stream) NumImages() int { return st.setup.NumImages }

// Size returns the height and width of the images.
func (st *Stream) Size() (h, w int) { return st.h, st.w }

// Batches returns every batch of every cell, cell by cell in the order of
// Cells and in test-set order within a cell. The loaders' workers prepare
// batches ahead of the caller, and the next cell starts loading as soon as
// the last batch of the previous one has been produced, so the caller is
// never left waiting at a cell boundary. Iteration stops at the first error
// (yielded with a zero CellBatch) or when ctx is done; breaking out of the
// loop stops the workers.
func (st *Stream) Batches(ctx context.Context) iter.Seq2[CellBatch, error] {
	return func(yield func(CellBatch, error) bool) {
		inner, cancel := context.WithCancel(ctx)
		type item struct {
			b   CellBatch
			err error
		}
		ch := make(chan item, st.depth)
		finished := false
		go func() {
			defer close(ch)
			for i, l := range st.loaders {
				for b, err := range l.Epoch(inner, 0) {
					select {
					case ch <- item{CellBatch{Cell: st.cells[i], CellIndex: i, Batch: b}, err}:
					case <-inner.Done():
						return
					}
					if err != nil {
						return
					}
				}
			}
			finished = true
		}()
		defer func() {
			cancel()
			for range ch {
			}
		}()
		for it := range ch {
			if it.err != nil {
				yield(CellBatch{}, fmt.Errorf("%s: %w", it.b.Cell, it.err))
				return
			}
			if !yield(it.b, nil) {
				return
			}
		}
		// The channel is closed: finished was written before, and an
		// unfinished producer stopped because ctx is done.
		if !finished {
			err := ctx.Err()
			if err == nil {
				err = context.Canceled
			}
			yield(CellBatch{}, err)
		}
	}
}

// Photometric returns the data.Photometric view that corrupts a uint8
// image (gray or RGB) with the named corruption at the given severity,
// drawing its noise from the view's generator. In a data.Pipeline it runs
// before the grayscale conversion, as in the paper.
func Photometric(c *corrupt.Corrupter, name string, severity int) data.Photometric {
	return func(img data.Image, rng *rand.Rand) (data.Image, error) {
		out := data.Image{H: img.H, W: img.W, C: img.C, Pix: make([]uint8, len(img.Pix))}
		if err := c.ApplyInto(out.Pix, name, severity, corrupt.Image{W: img.W, H: img.H, C: img.C, Pix: img.Pix}, rng); err != nil {
			return data.Image{}, err
		}
		return out, nil
	}
}

// CorruptedImage returns img, the test image at index index of an
// evaluation's test set, corrupted exactly as a Stream with corruption
// seed seed corrupts it in cell (before the grayscale conversion): use it
// to look at what a model was shown. The clean cell returns a copy of img.
func CorruptedImage(c *corrupt.Corrupter, cell Cell, seed uint64, img data.Image, index int) (data.Image, error) {
	if cell.Clean() {
		return img.Clone(), nil
	}
	view := Photometric(c, cell.Corruption, cell.Severity)
	var out data.Image
	capture := func(m data.Image, rng *rand.Rand) (data.Image, error) {
		var err error
		out, err = view(m, rng)
		return out, err
	}
	p := data.Pipeline{Views: []data.Photometric{capture}, Normalize: data.Normalize{Mean: 0, Std: 1}}
	if _, _, _, err := p.Process(img, corrupt.StreamSeed(seed, cell.Corruption, cell.Severity), 0, index); err != nil {
		return data.Image{}, fmt.Errorf("%s: %w", cell, err)
	}
	return out, nil
}
