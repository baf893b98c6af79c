package corrupt

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// GridOptions configures Grid. The zero value shows the clean image and all
// 15 corruptions, four tiles per row, with labels.
type GridOptions struct {
	// Names are the corruptions to show, in order (default Names()).
	Names []string
	// Columns is the number of tiles per row (default 4).
	Columns int
	// Gap is the white space between tiles in pixels (default 4).
	Gap int
	// Scale enlarges every tile by pixel replication; 0 picks the smallest
	// factor that fits the labels (1 without labels).
	Scale int
	// NoLabels leaves out the name under each tile.
	NoLabels bool
}

// Grid corrupts img with every corruption in opts.Names at one severity
// and lays the results out as a labelled contact sheet, the clean image
// first — the layout of the paper's Fig. 9. Tile i uses the generator
// ImageRNG(StreamSeed(seed, name, severity), 0), so a tile equals
// ApplySeed(name, severity, img, StreamSeed(seed, name, severity)). The
// result has the channel count of img on a white background.
func (c *Corrupter) Grid(img Image, severity int, seed uint64, opts GridOptions) (Image, error) {
	if err := checkSeverity(severity); err != nil {
		return Image{}, err
	}
	if err := img.Validate(); err != nil {
		return Image{}, fmt.Errorf("grid: %w", err)
	}
	names := opts.Names
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		if _, err := lookup(n); err != nil {
			return Image{}, err
		}
	}
	cols := opts.Columns
	if cols <= 0 {
		cols = 4
	}
	gap := opts.Gap
	if gap <= 0 {
		gap = 4
	}
	labels := append([]string{"clean"}, names...)
	face := basicfont.Face7x13
	const charW, labelH = 7, 15
	scale := opts.Scale
	if scale <= 0 {
		scale = 1
		if !opts.NoLabels {
			longest := 0
			for _, l := range labels {
				longest = max(longest, len(l))
			}
			scale = max(1, (longest*charW+img.W-1)/img.W)
		}
	}
	tiles := make([]Image, 0, len(labels))
	tiles = append(tiles, img)
	for _, n := range names {
		out, err := c.ApplySeed(n, severity, img, StreamSeed(seed, n, severity))
		if err != nil {
			return Image{}, err
		}
		tiles = append(tiles, out)
	}
	tw, th := img.W*scale, img.H*scale
	lh := 0
	if !opts.NoLabels {
		lh = labelH
	}
	cols = min(cols, len(tiles))
	rows := (len(tiles) + cols - 1) / cols
	W := cols*tw + (cols+1)*gap
	H := rows*(th+lh) + (rows+1)*gap
	canvas := image.NewRGBA(image.Rect(0, 0, W, H))
	draw.Draw(canvas, canvas.Rect, image.White, image.Point{}, draw.Src)
	d := &font.Drawer{Dst: canvas, Src: image.Black, Face: face}
	for i, t := range tiles {
		x0 := gap + (i%cols)*(tw+gap)
		y0 := gap + (i/cols)*(th+lh+gap)
		for y := 0; y < th; y++ {
			for x := 0; x < tw; x++ {
				p := t.Pix[((y/scale)*t.W+x/scale)*t.C:]
				c := color.RGBA{p[0], p[0], p[0], 255}
				if t.C == 3 {
					c = color.RGBA{p[0], p[1], p[2], 255}
				}
				canvas.SetRGBA(x0+x, y0+y, c)
			}
		}
		if lh > 0 {
			text := labels[i]
			if n := tw / charW; len(text) > n {
				text = text[:n]
			}
			d.Dot = fixed.P(x0+(tw-len(text)*charW)/2, y0+th+lh-3)
			d.DrawString(text)
		}
	}
	out := FromImage(canvas)
	if img.C == 1 {
		out = out.Luminance()
	}
	return out, nil
}
