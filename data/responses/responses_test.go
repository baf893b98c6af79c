package responses

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func sample() *Set {
	s := &Set{Source: "fashion-mnist:train", Images: 10, Neurons: 3, Meta: Metadata{Predictor: "runs/x"}}
	for i := 0; i < s.Images; i++ {
		for n := 0; n < s.Neurons; n++ {
			s.Responses = append(s.Responses, float32(10*i+n))
		}
	}
	return s
}

func TestSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.npz")
	s := sample().Shuffled(1000)
	if err := Save(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Source != s.Source || got.Images != s.Images || got.Neurons != s.Neurons || got.Meta != s.Meta ||
		!slices.Equal(got.Responses, s.Responses) || !slices.Equal(got.Permutation, s.Permutation) {
		t.Errorf("loaded %+v, saved %+v", got, s)
	}
}

// TestShuffled checks the shuffled control: whole response vectors move,
// with numpy.random.RandomState(1000).permutation(10) as the order.
func TestShuffled(t *testing.T) {
	s := sample()
	sh := s.Shuffled(1000)
	want := []int{2, 6, 5, 1, 4, 9, 0, 8, 7, 3} // numpy, seed 1000
	if !slices.Equal(sh.Permutation, want) {
		t.Errorf("permutation %v, want numpy's %v", sh.Permutation, want)
	}
	for i, p := range sh.Permutation {
		if !slices.Equal(sh.Row(i), s.Row(p)) {
			t.Errorf("row %d is %v, want image %d's %v", i, sh.Row(i), p, s.Row(p))
		}
	}
	if !sh.Meta.Shuffled || sh.Meta.ShuffleSeed != 1000 || s.Meta.Shuffled {
		t.Errorf("metadata %+v (original %+v)", sh.Meta, s.Meta)
	}
	if again := s.Shuffled(1000); !slices.Equal(again.Responses, sh.Responses) {
		t.Error("the same seed gave another shuffle")
	}
	if other := s.Shuffled(1001); slices.Equal(other.Permutation, sh.Permutation) {
		t.Error("another seed gave the same shuffle")
	}
	// Shuffling a shuffled set composes the permutations.
	twice := sh.Shuffled(7)
	for i, p := range twice.Permutation {
		if !slices.Equal(twice.Row(i), s.Row(p)) {
			t.Errorf("twice shuffled row %d does not hold image %d's responses", i, p)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *Set)
		want   string
	}{
		{"short", func(s *Set) { s.Responses = s.Responses[1:] }, "29 values"},
		{"nan", func(s *Set) { s.Responses[4] = float32(nan()) }, "image 1, neuron 1"},
		{"permutation", func(s *Set) { s.Permutation = []int{0, 0, 1, 2, 3, 4, 5, 6, 7, 8} }, "not a permutation"},
		{"empty", func(s *Set) { s.Images = 0 }, "positive"},
	} {
		s := sample()
		tc.change(s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
}

func nan() float64 {
	var zero float64
	return zero / zero
}
