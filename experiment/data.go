package experiment

import (
	"fmt"

	"github.com/cotrain/cotrain/data"
)

// Splits are an experiment's classification images, ready for loaders.
type Splits struct {
	Train, Validation, Test data.Set
	// Normalize is the dataset's grayscale normalization.
	Normalize data.Normalize
	// TrainPipeline augments and normalizes training images.
	TrainPipeline data.Pipeline
	// Size is the image side after padding.
	Size int
}

// Open opens the dataset, its three splits with the configured limits and
// padding, and the training pipeline.
func (c DataConfig) Open() (*Splits, error) {
	spec := data.Spec{Dataset: c.Dataset, Root: c.Root}
	norm, err := spec.Normalization()
	if err != nil {
		return nil, err
	}
	ds, err := spec.OpenDataset(data.OpenOptions{Cache: c.Cache})
	if err != nil {
		return nil, err
	}
	s := &Splits{Normalize: norm}
	limits := map[string]int{data.SplitTrain: c.TrainLimit, data.SplitValidation: c.ValidationLimit, data.SplitTest: c.TestLimit}
	for _, split := range []string{data.SplitTrain, data.SplitValidation, data.SplitTest} {
		set, err := ds.Split(split)
		if err != nil {
			return nil, err
		}
		if n := limits[split]; n > 0 && n < set.Len() {
			idx := make([]int, n)
			for i := range idx {
				idx[i] = i
			}
			if set, err = data.Subset(set, idx); err != nil {
				return nil, err
			}
		}
		set = data.Padded(set, c.Pad)
		switch split {
		case data.SplitTrain:
			s.Train = set
		case data.SplitValidation:
			s.Validation = set
		default:
			s.Test = set
		}
	}
	img, _, err := s.Train.Example(0)
	if err != nil {
		return nil, fmt.Errorf("reading the first training image: %w", err)
	}
	if img.H != img.W {
		return nil, fmt.Errorf("%s has %d×%d images; cotrain expects square images", s.Train.Name(), img.H, img.W)
	}
	s.Size = img.H
	var geo []data.Transform
	if c.Augment.CropPadding > 0 {
		geo = append(geo, data.RandomCrop{Size: s.Size, Padding: c.Augment.CropPadding})
	}
	if c.Augment.Flip {
		geo = append(geo, data.RandomHorizontalFlip{P: 0.5})
	}
	if c.Augment.Rotation > 0 {
		geo = append(geo, data.RandomRotation{Degrees: c.Augment.Rotation})
	}
	s.TrainPipeline = data.Pipeline{Geometric: geo, Normalize: norm}
	return s, nil
}
