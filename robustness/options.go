package robustness

import (
	"fmt"
	"strings"

	"github.com/cotrain/cotrain/corrupt"
)

// DefaultBatchSize is the number of images per batch when Options.BatchSize
// is 0: the paper's evaluation batch.
const DefaultBatchSize = 128

// Options configures an evaluation. The zero value runs the paper's
// benchmark: the 14 corruptions of corrupt.Paper14 at severities 1 to 5,
// the ImageNet parameter table, corruption seed 0, batches of
// DefaultBatchSize, one loader worker per core, every test image.
type Options struct {
	// Table is the corruption parameter table (corrupt.TableImageNet, the
	// paper's, by default).
	Table corrupt.Table
	// FrostDir, if not empty, holds frost photographs used instead of the
	// procedural frost textures (see corrupt.Options).
	FrostDir string
	// FinalJPEGQuality, if not 0, saves every corrupted image as a JPEG of
	// this quality and decodes it again, as the published Tiny-ImageNet-C
	// files were saved (quality 85; see corrupt.Options).
	FinalJPEGQuality int
	// Corruptions lists the corruptions to test, in the order of the
	// results; nil means corrupt.Paper14().
	Corruptions []string
	// Severities is the number of severity levels tested, 1..Severities;
	// 0 means all corrupt.Severities (5).
	Severities int
	// Seed is the corruption seed: it fixes the noise of every corrupted
	// image. Keep it fixed within an experiment, so that every model is
	// tested on the same images.
	Seed uint64
	// BatchSize is the number of images per batch (DefaultBatchSize if 0).
	BatchSize int
	// Workers is the number of loader goroutines that read and corrupt
	// images; 0 means one per core. Results do not depend on it.
	Workers int
	// Limit, if positive, keeps only the first Limit test images.
	Limit int
	// Folder, if not nil, supplies precomputed corrupted images (e.g.
	// Tiny-ImageNet-C) instead of corrupting on the fly; Table, FrostDir
	// and Seed are then unused.
	Folder *Folder
	// Progress, if not nil, is called after every batch, from the
	// goroutine that called Evaluate.
	Progress func(Progress)
}

// Progress reports how far an evaluation has come.
type Progress struct {
	// Cell is the condition of the batch just classified.
	Cell Cell
	// CellIndex is its position among the Cells, from 0 (clean).
	CellIndex int
	// Cells is the number of cells (1 + corruptions × severities).
	Cells int
	// Images is the number of images classified so far, over all cells,
	// and Total the number there will be.
	Images, Total int
}

// Cell is one test condition: the clean images (Corruption "", Severity
// 0) or one corruption at one severity.
type Cell struct {
	Corruption string
	Severity   int
}

// Clean reports whether c is the clean condition.
func (c Cell) Clean() bool { return c.Corruption == "" }

// String returns "clean" or e.g. "fog/3".
func (c Cell) String() string {
	if c.Clean() {
		return "clean"
	}
	return fmt.Sprintf("%s/%d", c.Corruption, c.Severity)
}

// withDefaults returns opts with the zero fields filled in, after checking
// them.
func (opts Options) withDefaults() (Options, error) {
	if opts.Corruptions == nil {
		opts.Corruptions = corrupt.Paper14()
	} else {
		opts.Corruptions = append([]string(nil), opts.Corruptions...)
	}
	if err := CheckCorruptions(opts.Corruptions); err != nil {
		return opts, err
	}
	if opts.Severities == 0 {
		opts.Severities = corrupt.Severities
	}
	if opts.Severities < 1 || opts.Severities > corrupt.Severities {
		return opts, fmt.Errorf("%d severity levels: want 1 to %d (levels 1..n are tested)", opts.Severities, corrupt.Severities)
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.BatchSize < 0 {
		return opts, fmt.Errorf("batch size %d: want a positive number", opts.BatchSize)
	}
	if opts.Limit < 0 {
		return opts, fmt.Errorf("limit %d: want 0 (every image) or a positive number", opts.Limit)
	}
	return opts, nil
}

// CheckCorruptions reports an error for an empty list, an unknown name
// (listing the known ones) or a name given twice.
func CheckCorruptions(names []string) error {
	if len(names) == 0 {
		return fmt.Errorf("no corruptions to test")
	}
	known := make(map[string]bool)
	for _, n := range corrupt.Names() {
		known[n] = true
	}
	seen := make(map[string]bool)
	for _, n := range names {
		if !known[n] {
			return fmt.Errorf("unknown corruption %q (known: %s)", n, strings.Join(corrupt.Names(), ", "))
		}
		if seen[n] {
			return fmt.Errorf("corruption %q listed twice", n)
		}
		seen[n] = true
	}
	return nil
}

// Cells lists the test conditions of opts in evaluation order: clean,
// then every corruption of opts.Corruptions (default corrupt.Paper14) at
// severities 1..opts.Severities.
func Cells(opts Options) ([]Cell, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return opts.cells(), nil
}

func (opts Options) cells() []Cell {
	cells := []Cell{{}}
	for _, name := range opts.Corruptions {
		for s := 1; s <= opts.Severities; s++ {
			cells = append(cells, Cell{Corruption: name, Severity: s})
		}
	}
	return cells
}
