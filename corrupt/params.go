package corrupt

import (
	"fmt"
	"strings"
)

// Table selects a parameter table: the severity → parameter mapping of every
// corruption. The zero value is TableImageNet.
type Table int

const (
	// TableImageNet holds the ImageNet-scale values of the bethgelab
	// imagecorruptions package v1.1.2, which the paper applied to 64-px
	// images. It is the default.
	TableImageNet Table = iota
	// TableTinyImageNet holds the 64-px values of hendrycks/robustness
	// make_tinyimagenet_c.py, which generated the published
	// Tiny-ImageNet-C.
	TableTinyImageNet
)

// tableNames are the canonical names, in Table order.
var tableNames = [...]string{"imagenet", "tinyimagenet"}

// String returns the canonical name of the table ("imagenet" or
// "tinyimagenet").
func (t Table) String() string {
	if t >= 0 && int(t) < len(tableNames) {
		return tableNames[t]
	}
	return fmt.Sprintf("Table(%d)", int(t))
}

// ParseTable parses a table name as given on a command line. Accepted
// (case-insensitive): "imagenet" (aliases "imagecorruptions", "default",
// "") and "tinyimagenet" (aliases "tiny", "tiny-imagenet",
// "tiny_imagenet", "tinyimagenet-c").
func ParseTable(s string) (Table, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "imagenet", "imagecorruptions", "default", "":
		return TableImageNet, nil
	case "tinyimagenet", "tiny", "tiny-imagenet", "tiny_imagenet", "tinyimagenet-c":
		return TableTinyImageNet, nil
	}
	return 0, fmt.Errorf("unknown corruption table %q: valid tables are %s", s, strings.Join(tableNames[:], ", "))
}

// MarshalText writes the table's canonical name.
func (t Table) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads a table name as ParseTable does, so that experiment
// files hold a parsed Table.
func (t *Table) UnmarshalText(text []byte) error {
	v, err := ParseTable(string(text))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// defocusParams is (disk radius, anti-alias Gaussian sigma).
type defocusParams struct{ radius, alias float64 }

// glassParams is (Gaussian sigma, maximum pixel displacement, iterations).
type glassParams struct {
	sigma        float64
	delta, iters int
}

// motionParams is (kernel radius, Gaussian sigma) of the motion kernel.
type motionParams struct {
	radius int
	sigma  float64
}

// arange describes numpy.arange(start, stop, step).
type arange struct{ start, stop, step float64 }

// snowParams is (loc, scale, zoom, threshold, blur radius, blur sigma,
// blend) as in the references.
type snowParams struct {
	loc, scale, zoom, thresh float64
	radius                   int
	sigma, blend             float64
}

// tinyElasticParams is (alpha, sigma, affine) in units of the image size,
// as make_tinyimagenet_c.py writes them (IMSIZE × factor).
type tinyElasticParams struct{ alpha, sigma, affine float64 }

// params holds one table.
type params struct {
	gaussian   [Severities]float64
	shot       [Severities]float64
	impulse    [Severities]float64
	defocus    [Severities]defocusParams
	glass      [Severities]glassParams
	motion     [Severities]motionParams
	zoom       [Severities]arange
	snow       [Severities]snowParams
	frost      [Severities][2]float64
	fog        [Severities][2]float64
	brightness [Severities]float64
	contrast   [Severities]float64
	// elasticAlpha multiplies 250 (imagecorruptions); tinyElastic is used
	// by the Tiny table instead.
	elasticAlpha [Severities]float64
	tinyElastic  [Severities]tinyElasticParams
	pixelate     [Severities]float64
	jpeg         [Severities]int
}

// tables holds the two parameter tables, indexed by Table.
var tables = [...]params{
	TableImageNet: {
		gaussian: [Severities]float64{.08, .12, 0.18, 0.26, 0.38},
		shot:     [Severities]float64{60, 25, 12, 5, 3},
		impulse:  [Severities]float64{.03, .06, .09, 0.17, 0.27},
		defocus:  [Severities]defocusParams{{3, 0.1}, {4, 0.5}, {6, 0.5}, {8, 0.5}, {10, 0.5}},
		glass:    [Severities]glassParams{{0.7, 1, 2}, {0.9, 2, 1}, {1, 2, 3}, {1.1, 3, 2}, {1.5, 4, 2}},
		motion:   [Severities]motionParams{{10, 3}, {15, 5}, {15, 8}, {15, 12}, {20, 15}},
		zoom: [Severities]arange{
			{1, 1.11, 0.01}, {1, 1.16, 0.01}, {1, 1.21, 0.02}, {1, 1.26, 0.02}, {1, 1.31, 0.03},
		},
		snow: [Severities]snowParams{
			{0.1, 0.3, 3, 0.5, 10, 4, 0.8},
			{0.2, 0.3, 2, 0.5, 12, 4, 0.7},
			{0.55, 0.3, 4, 0.9, 12, 8, 0.7},
			{0.55, 0.3, 4.5, 0.85, 12, 8, 0.65},
			{0.55, 0.3, 2.5, 0.85, 12, 12, 0.55},
		},
		frost:        [Severities][2]float64{{1, 0.4}, {0.8, 0.6}, {0.7, 0.7}, {0.65, 0.7}, {0.6, 0.75}},
		fog:          [Severities][2]float64{{1.5, 2}, {2., 2}, {2.5, 1.7}, {2.5, 1.5}, {3., 1.4}},
		brightness:   [Severities]float64{.1, .2, .3, .4, .5},
		contrast:     [Severities]float64{0.4, .3, .2, .1, .05},
		elasticAlpha: [Severities]float64{0.05, 0.065, 0.085, 0.1, 0.12},
		pixelate:     [Severities]float64{0.6, 0.5, 0.4, 0.3, 0.25},
		jpeg:         [Severities]int{25, 18, 15, 10, 7},
	},
	TableTinyImageNet: {
		gaussian: [Severities]float64{0.04, 0.08, .12, .15, .18},
		shot:     [Severities]float64{250, 100, 50, 30, 15},
		impulse:  [Severities]float64{.01, .02, .05, .08, .14},
		defocus:  [Severities]defocusParams{{0.5, 0.6}, {1, 0.1}, {1.5, 0.1}, {2.5, 0.01}, {3, 0.1}},
		glass:    [Severities]glassParams{{0.1, 1, 1}, {0.5, 1, 1}, {0.6, 1, 2}, {0.7, 2, 1}, {0.9, 2, 2}},
		motion:   [Severities]motionParams{{10, 1}, {10, 1.5}, {10, 2}, {10, 2.5}, {12, 3}},
		zoom: [Severities]arange{
			{1, 1.06, 0.01}, {1, 1.11, 0.01}, {1, 1.16, 0.01}, {1, 1.21, 0.01}, {1, 1.26, 0.01},
		},
		snow: [Severities]snowParams{
			{0.1, 0.2, 1, 0.6, 8, 3, 0.8},
			{0.1, 0.2, 1, 0.5, 10, 4, 0.8},
			{0.15, 0.3, 1.75, 0.55, 10, 4, 0.7},
			{0.25, 0.3, 2.25, 0.6, 12, 6, 0.65},
			{0.3, 0.3, 1.25, 0.65, 14, 12, 0.6},
		},
		frost:      [Severities][2]float64{{1, 0.3}, {0.9, 0.4}, {0.8, 0.45}, {0.75, 0.5}, {0.7, 0.55}},
		fog:        [Severities][2]float64{{.4, 3}, {.7, 3}, {1, 2.5}, {1.5, 2}, {2, 1.75}},
		brightness: [Severities]float64{.1, .2, .3, .4, .5},
		contrast:   [Severities]float64{.4, .3, .2, .1, 0.05},
		tinyElastic: [Severities]tinyElasticParams{
			{0, 0, 0.08}, {0.05, 0.3, 0.06}, {0.1, 0.08, 0.06}, {0.1, 0.03, 0.03}, {0.16, 0.03, 0.02},
		},
		pixelate: [Severities]float64{0.9, 0.8, 0.7, 0.6, 0.5},
		jpeg:     [Severities]int{65, 58, 50, 40, 25},
	},
}

// zoomFactors returns the values of numpy.arange(start, stop, step) exactly
// as numpy computes them: length ceil((stop-start)/step), values
// start + i*delta with delta = (start+step) - start. For example
// arange(1, 1.11, 0.01) has 12 values, 1.00 to 1.11.
func (a arange) zoomFactors() []float64 {
	start, stop, step := a.start, a.stop, a.step
	n := int(ceil((stop - start) / step))
	delta := (start + step) - start
	out := make([]float64, n)
	for i := range out {
		out[i] = start + float64(i)*delta
	}
	return out
}
