package data

import "fmt"

// paddedSet adds zero borders to every image of a set.
type paddedSet struct {
	Set
	n int
}

// Padded returns set with n zero pixels added on every side of each image
// (Fashion-MNIST's 28×28 images become 32×32 with n = 2, deep enough for
// five 2×2 poolings).
func Padded(set Set, n int) Set {
	if n == 0 {
		return set
	}
	return paddedSet{Set: set, n: n}
}

// Example implements Set.
func (p paddedSet) Example(i int) (Image, int, error) {
	img, label, err := p.Set.Example(i)
	if err != nil {
		return img, label, err
	}
	return PadImage(img, p.n), label, nil
}

// Name implements Set.
func (p paddedSet) Name() string { return fmt.Sprintf("%s+pad%d", p.Set.Name(), p.n) }
