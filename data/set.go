package data

import "fmt"

// Set is a labelled image dataset. Implementations are safe for concurrent
// use: a Loader calls Example from several goroutines at once.
type Set interface {
	// Len is the number of examples.
	Len() int
	// Example returns example i (0 <= i < Len()) and its class label, an
	// index into Classes(). The returned pixels may be shared with the set
	// (a cache, an in-memory array) and must not be modified.
	Example(i int) (Image, int, error)
	// Classes returns the class names; a label indexes this slice.
	Classes() []string
	// Name identifies the set in messages, e.g. "tinyimagenet:train".
	Name() string
}

// subset is a Set made of some examples of another Set.
type subset struct {
	parent  Set
	indices []int
	name    string
}

// Subset returns the examples indices[0], indices[1], ... of set as a new
// Set: its example i is set's example indices[i]. Indices may repeat. The
// indices slice is copied.
func Subset(set Set, indices []int) (Set, error) {
	return namedSubset(set, fmt.Sprintf("%s[subset of %d]", set.Name(), len(indices)), indices)
}

func namedSubset(set Set, name string, indices []int) (Set, error) {
	n := set.Len()
	for k, i := range indices {
		if i < 0 || i >= n {
			return nil, fmt.Errorf("subset of %s: index %d (position %d) is outside 0..%d", set.Name(), i, k, n-1)
		}
	}
	return &subset{parent: set, indices: append([]int(nil), indices...), name: name}, nil
}

func (s *subset) Len() int { return len(s.indices) }

func (s *subset) Example(i int) (Image, int, error) {
	if i < 0 || i >= len(s.indices) {
		return Image{}, 0, fmt.Errorf("%s: example %d is outside 0..%d", s.name, i, len(s.indices)-1)
	}
	return s.parent.Example(s.indices[i])
}

func (s *subset) Classes() []string { return s.parent.Classes() }

func (s *subset) Name() string { return s.name }

// MemorySet is a Set held in memory, for small data made by a program or a
// test.
type MemorySet struct {
	name    string
	classes []string
	images  []Image
	labels  []int
}

// NewMemorySet returns a Set of the given images and labels. Every image must
// be valid and every label must index classes. The slices are not copied.
func NewMemorySet(name string, classes []string, images []Image, labels []int) (*MemorySet, error) {
	if len(images) != len(labels) {
		return nil, fmt.Errorf("memory set %s: %d images but %d labels", name, len(images), len(labels))
	}
	for i, m := range images {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("memory set %s: image %d: %w", name, i, err)
		}
		if labels[i] < 0 || labels[i] >= len(classes) {
			return nil, fmt.Errorf("memory set %s: label %d of image %d is outside 0..%d", name, labels[i], i, len(classes)-1)
		}
	}
	return &MemorySet{name: name, classes: classes, images: images, labels: labels}, nil
}

// Len is the number of images.
func (s *MemorySet) Len() int { return len(s.images) }

// Example returns image i and its label.
func (s *MemorySet) Example(i int) (Image, int, error) {
	if i < 0 || i >= len(s.images) {
		return Image{}, 0, fmt.Errorf("%s: example %d is outside 0..%d", s.name, i, len(s.images)-1)
	}
	return s.images[i], s.labels[i], nil
}

// Classes returns the class names.
func (s *MemorySet) Classes() []string { return s.classes }

// Name returns the set's name.
func (s *MemorySet) Name() string { return s.name }
