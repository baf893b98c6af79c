package data

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// memorySet returns n h×w RGB images whose pixels encode their index, with
// labels i mod 3.
func memorySet(t testing.TB, n, h, w int) *MemorySet {
	t.Helper()
	images := make([]Image, n)
	labels := make([]int, n)
	for i := range images {
		m := NewImage(h, w, 3)
		for p := range m.Pix {
			m.Pix[p] = uint8(i*7 + p)
		}
		images[i] = m
		labels[i] = i % 3
	}
	s, err := NewMemorySet("memory", []string{"a", "b", "c"}, images, labels)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// collect runs one epoch and returns its batches.
func collect(t testing.TB, l *Loader, epoch int) []*Batch {
	t.Helper()
	var out []*Batch
	for b, err := range l.Epoch(context.Background(), epoch) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func newLoader(t testing.TB, set Set, cfg LoaderConfig) *Loader {
	t.Helper()
	l, err := NewLoader(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// noise is a photometric function that adds random values, so that its
// output depends on the view's generator.
func noise(img Image, rng *rand.Rand) (Image, error) {
	for i := range img.Pix {
		img.Pix[i] = uint8(int(img.Pix[i]) + rng.IntN(16))
	}
	return img, nil
}

// invert is a photometric function: 255 − v.
func invert(img Image, _ *rand.Rand) (Image, error) {
	for i := range img.Pix {
		img.Pix[i] = 255 - img.Pix[i]
	}
	return img, nil
}

func sameBatches(a, b []*Batch) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d batches vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.N != y.N || x.H != y.H || x.W != y.W || x.Views != y.Views || x.Number != y.Number {
			return fmt.Errorf("batch %d: shapes differ", i)
		}
		if !slices.Equal(x.Indices, y.Indices) || !slices.Equal(x.Labels, y.Labels) {
			return fmt.Errorf("batch %d: indices or labels differ", i)
		}
		if !slices.Equal(x.X, y.X) {
			return fmt.Errorf("batch %d: pixels differ", i)
		}
	}
	return nil
}

func TestLoaderDeterministicAcrossWorkers(t *testing.T) {
	fx := writeFixture(t, false)
	train, err := openFixture(t, fx.Root, false).Split(SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	p := TinyImageNetTrainPipeline()
	p.Views = []Photometric{WithProbability(0.5, noise), noise}
	cfg := LoaderConfig{BatchSize: 8, Shuffle: true, Seed: 11, Pipeline: p}
	var ref [2][]*Batch
	for _, w := range []struct{ workers, prefetch int }{{1, 1}, {4, 0}, {3, 1}, {2, 7}} {
		cfg.Workers, cfg.Prefetch = w.workers, w.prefetch
		l := newLoader(t, train, cfg)
		for epoch := range 2 {
			got := collect(t, l, epoch)
			if ref[epoch] == nil {
				ref[epoch] = got
				continue
			}
			if err := sameBatches(ref[epoch], got); err != nil {
				t.Errorf("%d workers, prefetch %d, epoch %d: %v", w.workers, w.prefetch, epoch, err)
			}
		}
	}
	// A cached set (decoded once, shared by the workers) gives the same.
	cached, err := openFixture(t, fx.Root, true).Split(SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Workers, cfg.Prefetch = 4, 0
	lc := newLoader(t, cached, cfg)
	for epoch := range 2 {
		if err := sameBatches(ref[epoch], collect(t, lc, epoch)); err != nil {
			t.Errorf("cached set, epoch %d: %v", epoch, err)
		}
	}
	if slices.Equal(ref[0][0].Indices, ref[1][0].Indices) {
		t.Error("epochs 0 and 1 start with the same order")
	}
	// Same sample in two epochs: a different augmentation.
	x0 := sampleView(ref[0], 0, 0)
	var x1 []float32
	for _, b := range ref[1] {
		if j := slices.Index(b.Indices, ref[0][0].Indices[0]); j >= 0 {
			x1 = b.X[j*b.H*b.W : (j+1)*b.H*b.W]
		}
	}
	if slices.Equal(x0, x1) {
		t.Error("a sample got the same augmentation in epochs 0 and 1")
	}
	// Another seed: another order.
	cfg.Seed = 12
	if other := collect(t, newLoader(t, train, cfg), 0); slices.Equal(other[0].Indices, ref[0][0].Indices) {
		t.Error("seeds 11 and 12 give the same order")
	}
}

// sampleView returns view 0 of sample j of the first batch.
func sampleView(batches []*Batch, b, j int) []float32 {
	x := batches[b]
	return x.X[j*x.H*x.W : (j+1)*x.H*x.W]
}

func TestLoaderEpochCoverage(t *testing.T) {
	set := memorySet(t, 37, 2, 3)
	tests := []struct {
		name     string
		shuffle  bool
		dropLast bool
		batches  int
		lastN    int
		covered  int
	}{
		{"shuffled", true, false, 8, 2, 37},
		{"shuffled, drop last", true, true, 7, 5, 35},
		{"in order", false, false, 8, 2, 37},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoader(t, set, LoaderConfig{BatchSize: 5, Shuffle: tc.shuffle, DropLast: tc.dropLast, Seed: 3, Workers: 3,
				Pipeline: EvalPipeline(Normalize{0, 1})})
			if l.NumBatches() != tc.batches {
				t.Errorf("NumBatches = %d; want %d", l.NumBatches(), tc.batches)
			}
			for epoch := range 3 {
				batches := collect(t, l, epoch)
				if len(batches) != tc.batches || batches[len(batches)-1].N != tc.lastN {
					t.Fatalf("%d batches, last of %d; want %d, last of %d", len(batches), batches[len(batches)-1].N, tc.batches, tc.lastN)
				}
				count := make(map[int]int)
				var order []int
				for bi, b := range batches {
					if b.Number != bi || len(b.Indices) != b.N || len(b.Labels) != b.N || len(b.X) != b.N*2*3 {
						t.Fatalf("batch %d is malformed", bi)
					}
					for j, i := range b.Indices {
						count[i]++
						order = append(order, i)
						if int(b.Labels[j]) != i%3 {
							t.Errorf("index %d has label %d", i, b.Labels[j])
						}
						// Pixel 0 of image i: gray of (7i, 7i+1, 7i+2).
						r, g, bl := float32(uint8(7*i))/255, float32(uint8(7*i+1))/255, float32(uint8(7*i+2))/255
						if want := 0.2989*r + 0.587*g + 0.114*bl; math.Abs(float64(b.X[j*6]-want)) > 1e-6 {
							t.Errorf("index %d: pixel 0 = %v; want %v", i, b.X[j*6], want)
						}
					}
				}
				if len(count) != tc.covered {
					t.Errorf("epoch %d covers %d indices; want %d", epoch, len(count), tc.covered)
				}
				for i, c := range count {
					if c != 1 {
						t.Errorf("epoch %d serves index %d %d times", epoch, i, c)
					}
				}
				if !tc.shuffle && !slices.IsSorted(order) {
					t.Errorf("unshuffled order %v", order)
				}
				if full := l.Order(epoch); !slices.Equal(order, full[:len(order)]) {
					t.Errorf("served order differs from Order(%d)", epoch)
				}
			}
		})
	}
}

func TestLoaderOriginalBatchCount(t *testing.T) {
	// 90,000 training images in batches of 128: 704 batches, the last of 16.
	images := make([]Image, 90000)
	labels := make([]int, len(images))
	for i := range images {
		images[i] = Image{H: 1, W: 1, C: 1, Pix: []uint8{uint8(i)}}
	}
	set, err := NewMemorySet("90k", []string{"x"}, images, labels)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dropLast       bool
		batches, lastN int
	}{{false, 704, 16}, {true, 703, 128}} {
		l := newLoader(t, set, LoaderConfig{BatchSize: 128, Shuffle: true, DropLast: tc.dropLast, Pipeline: EvalPipeline(Normalize{0, 1})})
		batches := collect(t, l, 0)
		if len(batches) != tc.batches || batches[len(batches)-1].N != tc.lastN {
			t.Errorf("drop last %v: %d batches, last of %d; want %d, last of %d",
				tc.dropLast, len(batches), batches[len(batches)-1].N, tc.batches, tc.lastN)
		}
	}
}

func TestLoaderMultiViewSharesGeometry(t *testing.T) {
	fx := writeFixture(t, false)
	train, err := openFixture(t, fx.Root, false).Split(SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	p := TinyImageNetTrainPipeline()
	p.Normalize = Normalize{0, 1}
	p.Views = []Photometric{nil, invert}
	l := newLoader(t, train, LoaderConfig{BatchSize: 16, Shuffle: true, Seed: 5, Pipeline: p, Workers: 2})
	if v, h, w := l.Size(); v != 2 || h != 64 || w != 64 {
		t.Fatalf("Size = %d views of %dx%d", v, h, w)
	}
	augmented := 0
	for _, b := range collect(t, l, 0) {
		v0, v1 := b.View(0), b.View(1)
		// Inverting after the shared geometry: gray(255 − p) = 0.9999 − gray(p)
		// everywhere, the zero-filled border included.
		for k := range v0 {
			if d := float64(v0[k]+v1[k]) - 0.9999; math.Abs(d) > 2e-6 {
				t.Fatalf("batch %d value %d: views %v and %v are not the same geometry", b.Number, k, v0[k], v1[k])
			}
		}
		clean, err := Images(train, b.Indices, Normalize{0, 1})
		if err != nil {
			t.Fatal(err)
		}
		for j := range b.N {
			if !slices.Equal(v0[j*4096:(j+1)*4096], clean.X[j*4096:(j+1)*4096]) {
				augmented++
			}
		}
		// Pipeline.Process reproduces the loader's sample.
		img, _, err := train.Example(b.Indices[0])
		if err != nil {
			t.Fatal(err)
		}
		planes, _, _, err := p.Process(img, 5, 0, b.Indices[0])
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(planes[0], v0[:4096]) || !slices.Equal(planes[1], v1[:4096]) {
			t.Errorf("Process differs from the loader for index %d", b.Indices[0])
		}
	}
	if augmented < 40 {
		t.Errorf("only %d of 54 samples differ from the clean image", augmented)
	}
}

func TestLoaderViewsDrawIndependently(t *testing.T) {
	set := memorySet(t, 4, 8, 8)
	p := Pipeline{Views: []Photometric{noise, noise}, Normalize: Normalize{0, 1}}
	b := collect(t, newLoader(t, set, LoaderConfig{BatchSize: 4, Pipeline: p}), 0)[0]
	if slices.Equal(b.View(0), b.View(1)) {
		t.Error("two views with the same photometric function got the same draws")
	}
}

func TestLoaderReportsFirstError(t *testing.T) {
	base := memorySet(t, 40, 4, 4)
	set := &failingSet{Set: base, fail: map[int]bool{23: true, 31: true}}
	for _, workers := range []int{1, 4} {
		l := newLoader(t, set, LoaderConfig{BatchSize: 16, Workers: workers, Pipeline: EvalPipeline(Normalize{0, 1})})
		var got []error
		n := 0
		for b, err := range l.Epoch(context.Background(), 0) {
			if err != nil {
				got = append(got, err)
				continue
			}
			n += b.N
		}
		if n != 16 || len(got) != 1 || !strings.Contains(got[0].Error(), "example 23 is broken") {
			t.Errorf("%d workers: %d samples then errors %v; want 16 samples then example 23's error", workers, n, got)
		}
	}
}

// failingSet fails on some examples.
type failingSet struct {
	Set
	fail map[int]bool
}

func (s *failingSet) Example(i int) (Image, int, error) {
	if s.fail[i] {
		return Image{}, 0, fmt.Errorf("example %d is broken", i)
	}
	return s.Set.Example(i)
}

func TestLoaderSizeMismatch(t *testing.T) {
	images := []Image{NewImage(4, 4, 3), NewImage(4, 4, 3), NewImage(5, 4, 3)}
	set, err := NewMemorySet("mixed", []string{"a"}, images, []int{0, 0, 0})
	if err != nil {
		t.Fatal(err)
	}
	l := newLoader(t, set, LoaderConfig{BatchSize: 3, Pipeline: EvalPipeline(Normalize{0, 1})})
	for _, err := range l.Epoch(context.Background(), 0) {
		if err == nil || !strings.Contains(err.Error(), "example 2") || !strings.Contains(err.Error(), "5×4") {
			t.Errorf("error %v; want one naming example 2 and its size", err)
		}
	}
}

func TestNewLoaderErrors(t *testing.T) {
	set := memorySet(t, 3, 4, 4)
	empty, _ := NewMemorySet("empty", []string{"a"}, nil, nil)
	tests := []struct {
		name string
		set  Set
		cfg  LoaderConfig
		want string
	}{
		{"zero batch size", set, LoaderConfig{Pipeline: EvalPipeline(Normalize{0, 1})}, "batch size"},
		{"empty set", empty, LoaderConfig{BatchSize: 2, Pipeline: EvalPipeline(Normalize{0, 1})}, "empty"},
		{"zero std", set, LoaderConfig{BatchSize: 2}, "std must be positive"},
		{"crop too large", set, LoaderConfig{BatchSize: 2, Pipeline: Pipeline{
			Geometric: []Transform{RandomCrop{Size: 64, Padding: 4}}, Normalize: Normalize{0, 1}}}, "larger than the padded"},
		{"photometric resizes", set, LoaderConfig{BatchSize: 2, Pipeline: Pipeline{
			Views:     []Photometric{func(img Image, _ *rand.Rand) (Image, error) { return NewImage(2, 2, 3), nil }},
			Normalize: Normalize{0, 1}}}, "changed the size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewLoader(tc.set, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v; want one containing %q", err, tc.want)
			}
		})
	}
}

func TestLoaderStops(t *testing.T) {
	set := memorySet(t, 200, 8, 8)
	cfg := LoaderConfig{BatchSize: 4, Shuffle: true, Workers: 3, Pipeline: TinyImageNetTrainPipeline()}
	cfg.Pipeline.Geometric = cfg.Pipeline.Geometric[1:] // no 64-pixel crop on 8×8 images
	l := newLoader(t, set, cfg)
	before := runtime.NumGoroutine()

	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		n := 0
		var last error
		for _, err := range l.Epoch(ctx, 0) {
			if err != nil {
				last = err
				break
			}
			if n++; n == 3 {
				cancel()
			}
		}
		if !errors.Is(last, context.Canceled) {
			t.Errorf("after cancel: error %v; want context.Canceled", last)
		}
	})
	t.Run("break", func(t *testing.T) {
		for range l.Epoch(context.Background(), 1) {
			break
		}
	})
	t.Run("already cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for b, err := range l.Epoch(ctx, 2) {
			if b != nil || !errors.Is(err, context.Canceled) {
				t.Errorf("got batch %v, error %v; want only context.Canceled", b, err)
			}
		}
	})
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("%d goroutines left running (%d before)", n, before)
	}
}

func TestImages(t *testing.T) {
	set := memorySet(t, 10, 2, 2)
	norm := Normalize{Mean: 0.5, Std: 0.25}
	b, err := Images(set, []int{7, 2, 7}, norm)
	if err != nil {
		t.Fatal(err)
	}
	if b.N != 3 || b.Views != 1 || !slices.Equal(b.Indices, []int{7, 2, 7}) || !slices.Equal(b.Labels, []int32{1, 2, 1}) {
		t.Fatalf("batch %+v", b)
	}
	for j, i := range b.Indices {
		img, _, _ := set.Example(i)
		want := make([]float32, 4)
		Gray(img, want)
		for k := range want {
			if w := (want[k] - 0.5) / 0.25; b.X[j*4+k] != w {
				t.Errorf("sample %d value %d = %v; want %v", j, k, b.X[j*4+k], w)
			}
		}
	}
	if _, err := Images(set, []int{10}, norm); err == nil {
		t.Error("index 10 of 10 accepted")
	}
}

func TestSubset(t *testing.T) {
	set := memorySet(t, 5, 1, 1)
	sub, err := Subset(set, []int{4, 0, 4})
	if err != nil {
		t.Fatal(err)
	}
	if sub.Len() != 3 || !slices.Equal(sub.Classes(), set.Classes()) {
		t.Fatalf("subset has %d examples", sub.Len())
	}
	for k, i := range []int{4, 0, 4} {
		a, la, _ := sub.Example(k)
		b, lb, _ := set.Example(i)
		if la != lb || !slices.Equal(a.Pix, b.Pix) {
			t.Errorf("subset example %d is not example %d", k, i)
		}
	}
	if _, _, err := sub.Example(3); err == nil {
		t.Error("example 3 of 3 accepted")
	}
	if _, err := Subset(set, []int{5}); err == nil {
		t.Error("index 5 of 5 accepted")
	}
}
