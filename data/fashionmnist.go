package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FashionMNISTDir is where the Debian package dataset-fashion-mnist installs
// the Fashion-MNIST files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// Fashion-MNIST normalization constants: the mean and standard deviation of
// the grayscale values (Gray's formula, so 0.9999·v/255 for a pixel value v)
// over every pixel of the 50,000 images of the training split, rounded to
// four decimals.
const (
	FashionMNISTMean = 0.2860
	FashionMNISTStd  = 0.3531
)

// fashionMNISTValidation is the size of the Fashion-MNIST validation split.
const fashionMNISTValidation = 10000

// FashionMNISTClasses returns the ten class names in label order.
func FashionMNISTClasses() []string {
	return []string{
		"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
		"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
	}
}

// FashionMNIST is the Fashion-MNIST data set held in memory: 60,000
// training and 10,000 test images of 28×28 gray pixels.
type FashionMNIST struct {
	train *idxSet
	test  *idxSet
}

// OpenFashionMNIST reads the four Fashion-MNIST files from dir (use
// FashionMNISTDir for the Debian package): {train,t10k}-images-idx3-ubyte
// and {train,t10k}-labels-idx1-ubyte, each gzip-compressed (".gz") or not.
func OpenFashionMNIST(dir string) (*FashionMNIST, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("fashion-mnist: %s is not a folder; install it with: apt-get install dataset-fashion-mnist", dir)
	}
	train, err := readIDXSet(dir, "train", "fashion-mnist:train-file")
	if err != nil {
		return nil, err
	}
	test, err := readIDXSet(dir, "t10k", "fashion-mnist:test")
	if err != nil {
		return nil, err
	}
	return &FashionMNIST{train: train, test: test}, nil
}

// Classes returns the class names in label order.
func (f *FashionMNIST) Classes() []string { return f.train.classes }

// Split returns one of the splits:
//
//   - "train": the 50,000 training-file images not in the validation split,
//     in the order of the shuffled indices;
//   - "validation": the first 10,000 indices of the NumPy seed-1000 shuffle
//     of 0..59,999, the same rule as Tiny ImageNet's held-out set;
//   - "test": the 10,000 t10k images, in file order.
func (f *FashionMNIST) Split(name string) (Set, error) {
	switch name {
	case SplitTrain, SplitValidation:
		train, val, err := HoldoutSplit(f.train.Len(), fashionMNISTValidation, SplitSeed)
		if err != nil {
			return nil, fmt.Errorf("fashion-mnist: %w", err)
		}
		if name == SplitTrain {
			return namedSubset(f.train, "fashion-mnist:train", train)
		}
		return namedSubset(f.train, "fashion-mnist:validation", val)
	case SplitTest:
		return f.test, nil
	}
	return nil, fmt.Errorf("fashion-mnist: unknown split %q; valid splits: %s, %s (10,000 held out of the training file), %s (the t10k file)",
		name, SplitTrain, SplitValidation, SplitTest)
}

// readIDXSet reads <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte.
func readIDXSet(dir, prefix, name string) (*idxSet, error) {
	images, err := readFashionFile(dir, prefix+"-images-idx3-ubyte")
	if err != nil {
		return nil, err
	}
	labels, err := readFashionFile(dir, prefix+"-labels-idx1-ubyte")
	if err != nil {
		return nil, err
	}
	if len(images.Dims) != 3 || len(labels.Dims) != 1 || images.Dims[0] != labels.Dims[0] {
		return nil, fmt.Errorf("fashion-mnist: %s files in %s have dimensions %v (images) and %v (labels); want [n 28 28] and [n]",
			prefix, dir, images.Dims, labels.Dims)
	}
	for i, l := range labels.Data {
		if l > 9 {
			return nil, fmt.Errorf("fashion-mnist: %s label %d is %d; want 0..9", prefix, i, l)
		}
	}
	return &idxSet{
		name:    name,
		classes: FashionMNISTClasses(),
		n:       images.Dims[0],
		h:       images.Dims[1],
		w:       images.Dims[2],
		pix:     images.Data,
		labels:  labels.Data,
	}, nil
}

// readFashionFile reads base.gz or, failing that, base from dir.
func readFashionFile(dir, base string) (IDX, error) {
	path := filepath.Join(dir, base+".gz")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, base)); err == nil {
			path = filepath.Join(dir, base)
		}
	}
	m, err := ReadIDXFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return IDX{}, fmt.Errorf("fashion-mnist: %s is missing; install it with: apt-get install dataset-fashion-mnist", path)
	}
	if err != nil {
		return IDX{}, fmt.Errorf("fashion-mnist: %w (reinstall it with: apt-get install --reinstall dataset-fashion-mnist)", err)
	}
	return m, nil
}

// idxSet is a Set of n gray h×w images held in one array.
type idxSet struct {
	name    string
	classes []string
	n, h, w int
	pix     []uint8
	labels  []uint8
}

func (s *idxSet) Len() int { return s.n }

func (s *idxSet) Classes() []string { return s.classes }

func (s *idxSet) Name() string { return s.name }

// Example returns image i without copying its pixels.
func (s *idxSet) Example(i int) (Image, int, error) {
	if i < 0 || i >= s.n {
		return Image{}, 0, fmt.Errorf("%s: example %d is outside 0..%d", s.name, i, s.n-1)
	}
	size := s.h * s.w
	return Image{H: s.h, W: s.w, C: 1, Pix: s.pix[i*size : (i+1)*size : (i+1)*size]}, int(s.labels[i]), nil
}
