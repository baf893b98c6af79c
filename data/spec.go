package data

import (
	"fmt"
	"strings"
)

// Dataset names used in spec strings.
const (
	DatasetTinyImageNet = "tinyimagenet"
	DatasetFashionMNIST = "fashion-mnist"
)

// specForms lists the valid spec forms for error messages.
const specForms = "valid forms: tinyimagenet:<folder>:<split>, fashion-mnist:<split>, fashion-mnist:<folder>:<split>, " +
	"cifar10:<folder>:<split>, cifar100:<folder>:<split>; " +
	"<split> is train, validation or test (e.g. tinyimagenet:/data/tiny-imagenet-200:validation, fashion-mnist:test, " +
	"cifar10:/data/cifar-10-batches-bin:test)"

// Spec names a split of a data set on the command line. Its grammar:
//
//	spec   = "tinyimagenet:" folder ":" split
//	       | "fashion-mnist:" [ folder ":" ] split
//	       | ( "cifar10:" | "cifar100:" ) folder ":" split
//	split  = "train" | "validation" | "test"
//
// The data set name is the text before the first colon and the split the
// text after the last one; the folder is everything in between, so it may
// itself hold colons. Tiny ImageNet needs its folder (the extracted
// tiny-imagenet-200), CIFAR-10 and CIFAR-100 theirs (any layout OpenCIFAR
// reads); Fashion-MNIST defaults to FashionMNISTDir.
type Spec struct {
	// Dataset is DatasetTinyImageNet, DatasetFashionMNIST,
	// DatasetCIFAR10 or DatasetCIFAR100.
	Dataset string
	// Root is the data set's folder ("" for Fashion-MNIST's default).
	Root string
	// Split is SplitTrain, SplitValidation or SplitTest.
	Split string
}

// ParseSpec parses a spec string (see Spec for the grammar).
func ParseSpec(s string) (Spec, error) {
	first, last := strings.Index(s, ":"), strings.LastIndex(s, ":")
	if first < 0 {
		return Spec{}, fmt.Errorf("dataset spec %q has no colon; %s", s, specForms)
	}
	sp := Spec{Dataset: s[:first], Split: s[last+1:]}
	if first < last {
		sp.Root = s[first+1 : last]
	}
	switch sp.Dataset {
	case DatasetTinyImageNet:
		if sp.Root == "" {
			return Spec{}, fmt.Errorf("dataset spec %q names no Tiny ImageNet folder; %s", s, specForms)
		}
	case DatasetCIFAR10, DatasetCIFAR100:
		if sp.Root == "" {
			return Spec{}, fmt.Errorf("dataset spec %q names no %s folder; %s", s, sp.Dataset, specForms)
		}
	case DatasetFashionMNIST:
		if first < last && sp.Root == "" {
			return Spec{}, fmt.Errorf("dataset spec %q has an empty folder; %s", s, specForms)
		}
	default:
		return Spec{}, fmt.Errorf("dataset spec %q: unknown data set %q; %s", s, sp.Dataset, specForms)
	}
	switch sp.Split {
	case SplitTrain, SplitValidation, SplitTest:
	case "val":
		return Spec{}, fmt.Errorf("dataset spec %q: split \"val\" is ambiguous: say validation (held out of the training data) or test (Tiny ImageNet's official val folder); %s", s, specForms)
	default:
		return Spec{}, fmt.Errorf("dataset spec %q: unknown split %q; %s", s, sp.Split, specForms)
	}
	return sp, nil
}

// String returns the spec in the form ParseSpec reads.
func (sp Spec) String() string {
	if sp.Root == "" {
		return sp.Dataset + ":" + sp.Split
	}
	return sp.Dataset + ":" + sp.Root + ":" + sp.Split
}

// OpenOptions configures Spec.Open.
type OpenOptions struct {
	// Cache keeps decoded images in memory (Tiny ImageNet only; see
	// TinyImageNetOptions).
	Cache bool
}

// Dataset is an opened data set whose splits can be taken.
type Dataset interface {
	// Split returns SplitTrain, SplitValidation or SplitTest.
	Split(name string) (Set, error)
}

// OpenDataset opens the data set (ignoring the split), reading its index
// or files once for all splits.
func (sp Spec) OpenDataset(opt OpenOptions) (Dataset, error) {
	switch sp.Dataset {
	case DatasetTinyImageNet:
		return OpenTinyImageNet(sp.Root, TinyImageNetOptions{Cache: opt.Cache})
	case DatasetFashionMNIST:
		dir := sp.Root
		if dir == "" {
			dir = FashionMNISTDir
		}
		return OpenFashionMNIST(dir)
	case DatasetCIFAR10, DatasetCIFAR100:
		return OpenCIFAR(sp.Dataset, sp.Root)
	}
	return nil, fmt.Errorf("dataset spec %s: unknown data set %q; %s", sp, sp.Dataset, specForms)
}

// Open opens the data set and returns the split.
func (sp Spec) Open(opt OpenOptions) (Set, error) {
	d, err := sp.OpenDataset(opt)
	if err != nil {
		return nil, err
	}
	return d.Split(sp.Split)
}

// Normalization returns the data set's grayscale normalization constants
// (measured on its training images). CIFAR has no published grayscale
// constants, so for CIFAR-10 and CIFAR-100 they are measured on the
// folder's training split when asked (CIFAR.GrayNormalization), which
// reads the folder.
func (sp Spec) Normalization() (Normalize, error) {
	switch sp.Dataset {
	case DatasetTinyImageNet:
		return Normalize{Mean: TinyImageNetMean, Std: TinyImageNetStd}, nil
	case DatasetFashionMNIST:
		return Normalize{Mean: FashionMNISTMean, Std: FashionMNISTStd}, nil
	case DatasetCIFAR10, DatasetCIFAR100:
		c, err := OpenCIFAR(sp.Dataset, sp.Root)
		if err != nil {
			return Normalize{}, err
		}
		return c.GrayNormalization()
	}
	return Normalize{}, fmt.Errorf("dataset spec %s: unknown data set %q; %s", sp, sp.Dataset, specForms)
}
