package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	_ "image/jpeg" // JPEG input
	"image/png"
	"io"
	"os"
	"strings"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/robustness"
)

func corruptCommand() command {
	return command{
		name:    "corrupt",
		summary: "corrupt an image, or show every corruption side by side",
		usage:   "(--corruption NAME | --grid) --severity S [--table T] [--seed N] [--index K] [--frost-dir DIR] [--gray] IN OUT.png",
		help: `Reads the PNG or JPEG image IN and writes OUT as PNG: IN under the named
corruption at severity S (1 to 5), or with --grid a sheet of the clean image
and every corruption at severity S, like Fig. 9 of Safarani et al. 2021.
Gray images stay gray, colour images stay RGB; --gray converts the result to
gray as the evaluation does before the model sees it. Images need sides of
at least 32 pixels.

The noise is that "cotrain eval corruptions --seed N" draws for test image
K (--index, default 0): run on test image K of a data set (at the model's
input size), the result is exactly the image that evaluation corrupted.
Grid tiles use corrupt.Grid's streams, one per corruption derived from
--seed.

Corruptions: ` + strings.Join(corrupt.Names(), ", ") + `.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			name := fs.String("corruption", "", "corruption name")
			grid := fs.Bool("grid", false, "write every corruption side by side instead")
			names := fs.String("corruptions", "all", "with --grid: comma-separated corruptions, \"all\" or \"paper\" (the paper's 14)")
			columns := fs.Int("columns", 4, "with --grid: tiles per row")
			severity := fs.Int("severity", 0, "severity, 1 to 5")
			table := fs.String("table", "imagenet", "corruption parameter table: imagenet or tinyimagenet")
			seed := fs.Uint64("seed", 0, "corruption seed")
			index := fs.Int("index", 0, "draw the noise of this test image index")
			frost := fs.String("frost-dir", "", "folder of frost photographs (default: procedural frost)")
			gray := fs.Bool("gray", false, "convert the result to gray, as the evaluation does")
			jpegQ := fs.Int("jpeg-quality", 0, "save the result as a JPEG of this quality and decode it first, like Tiny-ImageNet-C (85); 0: no")
			return func(_ context.Context, args []string, w io.Writer) error {
				if len(args) != 2 {
					return usagef("want an input and an output file, got %d arguments", len(args))
				}
				in, out := args[0], args[1]
				if *grid == (*name != "") {
					return usagef("give either --corruption NAME or --grid")
				}
				if *severity < 1 || *severity > corrupt.Severities {
					return usagef("--severity %d: want 1 to %d", *severity, corrupt.Severities)
				}
				if *index < 0 {
					return usagef("--index %d: want a test image index ≥ 0", *index)
				}
				if *columns < 1 {
					return usagef("--columns %d: want at least 1", *columns)
				}
				tab, err := corrupt.ParseTable(*table)
				if err != nil {
					return usageError{err}
				}
				img, err := readImage(in)
				if err != nil {
					return err
				}
				c, err := corrupt.New(corrupt.Options{Table: tab, FrostDir: *frost, FinalJPEGQuality: *jpegQ})
				if err != nil {
					return usageError{err}
				}
				var res corrupt.Image
				if *grid {
					list, err := gridCorruptions(*names)
					if err != nil {
						return usageError{err}
					}
					if res, err = c.Grid(img, *severity, *seed, corrupt.GridOptions{Names: list, Columns: *columns}); err != nil {
						return fmt.Errorf("%s: %w", in, err)
					}
				} else {
					if err := robustness.CheckCorruptions([]string{*name}); err != nil {
						return usageError{fmt.Errorf("--corruption: %w", err)}
					}
					if err := img.Validate(); err != nil {
						return fmt.Errorf("%s: %w", in, err)
					}
					cell := robustness.Cell{Corruption: *name, Severity: *severity}
					m, err := robustness.CorruptedImage(c, cell, *seed, data.Image{H: img.H, W: img.W, C: img.C, Pix: img.Pix}, *index)
					if err != nil {
						return fmt.Errorf("%s: %w", in, err)
					}
					res = corrupt.Image{W: m.W, H: m.H, C: m.C, Pix: m.Pix}
				}
				if *gray {
					res = res.Luminance()
				}
				if err := atomicfile.Write(out, func(f io.Writer) error { return png.Encode(f, res.ToImage()) }); err != nil {
					return fmt.Errorf("writing %s: %w", out, err)
				}
				fmt.Fprintf(w, "wrote %s (%d×%d)\n", out, res.W, res.H)
				return nil
			}
		},
	}
}

// readImage decodes a PNG or JPEG file: gray images become one channel,
// others RGB.
func readImage(path string) (corrupt.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return corrupt.Image{}, err
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return corrupt.Image{}, fmt.Errorf("decoding %s (want a PNG or JPEG image): %w", path, err)
	}
	return corrupt.FromImage(src), nil
}

// gridCorruptions parses the grid's --corruptions.
func gridCorruptions(s string) ([]string, error) {
	if s == "paper" {
		return corrupt.Paper14(), nil
	}
	return parseCorruptions(s)
}
