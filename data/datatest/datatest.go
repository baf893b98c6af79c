// Package datatest writes miniature data sets for tests of cotrain
// packages: a Tiny ImageNet folder and binary CIFAR-10/100 folders with the
// real layout, small enough to build in milliseconds.
package datatest

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// TinyImageNetOptions describes a miniature Tiny ImageNet.
type TinyImageNetOptions struct {
	// Classes is the number of wnid folders, PerClass the training images
	// in each, ValPerClass the official-validation (test) images of each.
	Classes, PerClass, ValPerClass int
	// Seed determines the wnids, the pixels and the val file assignment.
	Seed uint64
	// Size is the image side in pixels; 0 means 64.
	Size int
	// Corrupt truncates one training JPEG (the first image of the last
	// class in label order) to half its length.
	Corrupt bool
}

// TinyImageNetFixture tells what WriteTinyImageNetFixture wrote.
type TinyImageNetFixture struct {
	// Root is the folder holding train/, val/ and test/.
	Root string
	// WNIDs are the class folder names, sorted (so WNIDs[label]).
	WNIDs []string
	// ValWNID maps each val image file name to its wnid.
	ValWNID map[string]string
	// GrayFiles are the paths of the one-channel JPEGs (one in train, one
	// in val).
	GrayFiles []string
	// CorruptFile is the path of the truncated JPEG, or "".
	CorruptFile string
}

// WriteTinyImageNet writes a miniature Tiny ImageNet into dir: classes wnid
// folders train/<wnid>/images/<wnid>_<i>.JPEG with perClass images each
// (plus the <wnid>_boxes.txt file the real archive has), valPerClass images
// per class in val/images/val_<k>.JPEG listed in a shuffled
// val/val_annotations.txt, wnids.txt, and one unlabeled test/images file.
// Images are 64×64 RGB JPEGs except for one gray JPEG in train and one in
// val.
func WriteTinyImageNet(dir string, classes, perClass, valPerClass int, seed uint64) error {
	_, err := WriteTinyImageNetFixture(dir, TinyImageNetOptions{
		Classes: classes, PerClass: perClass, ValPerClass: valPerClass, Seed: seed,
	})
	return err
}

// WriteTinyImageNetFixture writes a miniature Tiny ImageNet as
// WriteTinyImageNet does, with the given options, and says what it wrote.
// Files are written directly rather than atomically: the fixture is test
// scaffolding in a fresh folder, and a failed write fails the test.
func WriteTinyImageNetFixture(dir string, opt TinyImageNetOptions) (*TinyImageNetFixture, error) {
	if opt.Classes <= 0 || opt.PerClass <= 0 || opt.ValPerClass < 0 {
		return nil, fmt.Errorf("tiny imagenet fixture: %d classes, %d per class, %d val per class: want positive, positive, non-negative",
			opt.Classes, opt.PerClass, opt.ValPerClass)
	}
	size := opt.Size
	if size == 0 {
		size = 64
	}
	rng := rand.New(rand.NewPCG(opt.Seed, 0x7469_6e79))
	fx := &TinyImageNetFixture{Root: dir, ValWNID: make(map[string]string)}

	// Distinct wnids, created in random order.
	seen := make(map[string]bool)
	var wnids []string
	for len(wnids) < opt.Classes {
		w := fmt.Sprintf("n%08d", rng.IntN(100000000))
		if !seen[w] {
			seen[w] = true
			wnids = append(wnids, w)
		}
	}
	fx.WNIDs = append([]string(nil), wnids...)
	sort.Strings(fx.WNIDs)
	labelOf := make(map[string]int)
	for i, w := range fx.WNIDs {
		labelOf[w] = i
	}

	write := func(path string, b []byte) error {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("tiny imagenet fixture: %w", err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("tiny imagenet fixture: %w", err)
		}
		return nil
	}
	writeJPEG := func(path string, label int, gray bool) error {
		b, err := encodeJPEG(size, label, gray, rng)
		if err != nil {
			return fmt.Errorf("tiny imagenet fixture: encoding %s: %w", path, err)
		}
		if gray {
			fx.GrayFiles = append(fx.GrayFiles, path)
		}
		return write(path, b)
	}

	if err := write(filepath.Join(dir, "wnids.txt"), []byte(strings.Join(wnids, "\n")+"\n")); err != nil {
		return nil, err
	}
	for _, w := range wnids {
		label := labelOf[w]
		var boxes strings.Builder
		for i := range opt.PerClass {
			name := fmt.Sprintf("%s_%d.JPEG", w, i)
			gray := label == 0 && i == min(1, opt.PerClass-1)
			if err := writeJPEG(filepath.Join(dir, "train", w, "images", name), label, gray); err != nil {
				return nil, err
			}
			fmt.Fprintf(&boxes, "%s\t0\t0\t%d\t%d\n", name, size-1, size-1)
		}
		if err := write(filepath.Join(dir, "train", w, w+"_boxes.txt"), []byte(boxes.String())); err != nil {
			return nil, err
		}
	}

	// Val: file k belongs to a class in a shuffled assignment.
	var valClass []int
	for c := range opt.Classes {
		for range opt.ValPerClass {
			valClass = append(valClass, c)
		}
	}
	rng.Shuffle(len(valClass), func(i, j int) { valClass[i], valClass[j] = valClass[j], valClass[i] })
	var ann strings.Builder
	for k, c := range valClass {
		name := fmt.Sprintf("val_%d.JPEG", k)
		w := fx.WNIDs[c]
		fx.ValWNID[name] = w
		if err := writeJPEG(filepath.Join(dir, "val", "images", name), c, k == 0); err != nil {
			return nil, err
		}
		fmt.Fprintf(&ann, "%s\t%s\t0\t0\t%d\t%d\n", name, w, size-1, size-1)
	}
	if err := write(filepath.Join(dir, "val", "val_annotations.txt"), []byte(ann.String())); err != nil {
		return nil, err
	}
	if err := writeJPEG(filepath.Join(dir, "test", "images", "test_0.JPEG"), 0, false); err != nil {
		return nil, err
	}

	if opt.Corrupt {
		last := fx.WNIDs[len(fx.WNIDs)-1]
		path := filepath.Join(dir, "train", last, "images", last+"_0.JPEG")
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("tiny imagenet fixture: %w", err)
		}
		if err := write(path, b[:len(b)/2]); err != nil {
			return nil, err
		}
		fx.CorruptFile = path
	}
	return fx, nil
}

// ClassColor is the base colour of the fixture's images of class label: a
// test can tell an image's class from its mean colour when there are few
// classes (the eight corners of the RGB cube, dimmed, for labels 0..7).
func ClassColor(label int) (r, g, b uint8) {
	level := func(bit int) uint8 {
		if label&(1<<bit) != 0 {
			return 200
		}
		return 40
	}
	return level(0), level(1), level(2)
}

// encodeJPEG draws a size×size image of class label: its class colour with
// a diagonal gradient and mild noise, and encodes it at quality 95.
func encodeJPEG(size, label int, gray bool, rng *rand.Rand) ([]byte, error) {
	cr, cg, cb := ClassColor(label)
	clamp := func(v int) uint8 { return uint8(max(0, min(255, v))) }
	var m image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, size, size))
		for y := range size {
			for x := range size {
				g.SetGray(x, y, color.Gray{Y: clamp(int(cr)/3 + int(cg)/3 + int(cb)/3 + (x+y)/4 + rng.IntN(9) - 4)})
			}
		}
		m = g
	} else {
		c := image.NewRGBA(image.Rect(0, 0, size, size))
		for y := range size {
			for x := range size {
				d := (x+y)/4 + rng.IntN(9) - 4
				c.SetRGBA(x, y, color.RGBA{R: clamp(int(cr) + d), G: clamp(int(cg) + d), B: clamp(int(cb) + d), A: 255})
			}
		}
		m = c
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 95}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
