package robustness

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
)

var testNorm = data.Normalize{Mean: 0.4519, Std: 0.2221}

// collect runs a stream and returns the normalized planes per cell and
// image index, and the labels per cell.
func collect(t *testing.T, st *Stream) (planes [][][]float32, labels [][]int32) {
	t.Helper()
	n := st.NumImages()
	h, w := st.Size()
	planes = make([][][]float32, len(st.Cells()))
	labels = make([][]int32, len(st.Cells()))
	for i := range planes {
		planes[i] = make([][]float32, n)
		labels[i] = make([]int32, n)
	}
	for cb, err := range st.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		for j, k := range cb.Batch.Indices {
			if planes[cb.CellIndex][k] != nil {
				t.Fatalf("%s: image %d served twice", cb.Cell, k)
			}
			planes[cb.CellIndex][k] = slices.Clone(cb.Batch.X[j*h*w : (j+1)*h*w])
			labels[cb.CellIndex][k] = cb.Batch.Labels[j]
		}
	}
	for i := range planes {
		for k := range planes[i] {
			if planes[i][k] == nil {
				t.Fatalf("%s: image %d never served", st.Cells()[i], k)
			}
		}
	}
	return planes, labels
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"unknown corruption", Options{Corruptions: []string{"fog", "rain"}}, `unknown corruption "rain"`},
		{"twice", Options{Corruptions: []string{"fog", "fog"}}, "listed twice"},
		{"empty list", Options{Corruptions: []string{}}, "no corruptions"},
		{"severities", Options{Severities: 6}, "6 severity levels"},
		{"negative severities", Options{Severities: -1}, "-1 severity levels"},
		{"batch", Options{BatchSize: -2}, "batch size -2"},
		{"limit", Options{Limit: -1}, "limit -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Cells(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Cells: error %v, want one containing %q", err, tc.want)
			}
			if _, err := NewStream(stripeSet(t, "s", 4, 1, 32, 1), testNorm, tc.opts); err == nil {
				t.Fatal("NewStream accepted the options")
			}
		})
	}
}

func TestCellsDefault(t *testing.T) {
	cells, err := Cells(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 1+14*5 {
		t.Fatalf("%d cells, want 71", len(cells))
	}
	if !cells[0].Clean() || cells[0].String() != "clean" {
		t.Errorf("first cell %v, want clean", cells[0])
	}
	if got := cells[1]; got != (Cell{"gaussian_noise", 1}) {
		t.Errorf("cell 1 = %v, want gaussian_noise/1", got)
	}
	if got := cells[70].String(); got != "jpeg_compression/5" {
		t.Errorf("last cell %s, want jpeg_compression/5", got)
	}
	for _, c := range cells {
		if c.Corruption == "glass_blur" {
			t.Error("glass_blur is not among the paper's corruptions")
		}
	}
}

// TestStreamOrderOfOperations checks the streamed values against an
// independent computation: corrupt the uint8 image (RGB or gray), then
// Gray, then Normalize. The corruptions are deterministic, so the
// generator does not matter.
func TestStreamOrderOfOperations(t *testing.T) {
	c, err := corrupt.New(corrupt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"contrast", "brightness", "pixelate", "jpeg_compression", "defocus_blur"}
	for _, channels := range []int{3, 1} {
		set := stripeSet(t, "stripes", 5, channels, 32, 2)
		st, err := NewStream(set, testNorm, Options{Corruptions: names, Severities: 3, BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		planes, _ := collect(t, st)
		for i, cell := range st.Cells() {
			for k := range set.Len() {
				img, _, _ := set.Example(k)
				if !cell.Clean() {
					out, err := c.Apply(cell.Corruption, cell.Severity, corrupt.Image{W: img.W, H: img.H, C: img.C, Pix: img.Pix}, rand.New(rand.NewPCG(0, 0)))
					if err != nil {
						t.Fatal(err)
					}
					img = data.Image{H: out.H, W: out.W, C: out.C, Pix: out.Pix}
				}
				want := make([]float32, img.H*img.W)
				data.Gray(img, want)
				testNorm.Apply(want)
				if !slices.Equal(planes[i][k], want) {
					t.Fatalf("C=%d %s image %d: streamed values differ from corrupt → gray → normalize", channels, cell, k)
				}
			}
		}
	}
}

// TestStreamDeterminism checks that the images depend only on the
// corruption seed, the cell and the image index: not on the number of
// workers, the batch size, the limit or the other images.
func TestStreamDeterminism(t *testing.T) {
	set := stripeSet(t, "stripes", 12, 3, 32, 3)
	names := []string{"gaussian_noise", "shot_noise", "impulse_noise", "motion_blur", "zoom_blur", "snow", "frost", "fog", "elastic_transform"}
	ref, err := NewStream(set, testNorm, Options{Corruptions: names, Severities: 2, Workers: 1, BatchSize: 5, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	want, wantLabels := collect(t, ref)
	if got := ref.Setup(); got != (Setup{Data: "stripes", NumImages: 12, Table: "imagenet", Seed: 9}) {
		t.Errorf("setup %+v", got)
	}

	// Reverse the images: image k of the reversed set is image 11-k.
	rev := make([]int, set.Len())
	for i := range rev {
		rev[i] = set.Len() - 1 - i
	}
	for _, tc := range []struct {
		name    string
		opts    Options
		seed    uint64
		same    bool
		reverse bool
	}{
		{"3 workers, batch 4", Options{Workers: 3, BatchSize: 4}, 9, true, false},
		{"8 workers, batch 12", Options{Workers: 8, BatchSize: 12}, 9, true, false},
		{"limit 7", Options{Workers: 2, BatchSize: 3, Limit: 7}, 9, true, false},
		{"other seed", Options{Workers: 2}, 10, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			opts.Corruptions, opts.Severities, opts.Seed = names, 2, tc.seed
			st, err := NewStream(set, testNorm, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, gotLabels := collect(t, st)
			differ := 0
			for i, cell := range st.Cells() {
				for k := range got[i] {
					eq := slices.Equal(got[i][k], want[i][k])
					if tc.same && !eq {
						t.Fatalf("%s image %d differs from the 1-worker stream", cell, k)
					}
					if !eq {
						differ++
					}
					if gotLabels[i][k] != wantLabels[i][k] {
						t.Fatalf("%s image %d: label %d, want %d", cell, k, gotLabels[i][k], wantLabels[i][k])
					}
				}
			}
			if !tc.same && differ < len(names)*2*set.Len()/2 {
				t.Errorf("another corruption seed changed only %d corrupted images", differ)
			}
		})
	}
	t.Run("independent of the other images", func(t *testing.T) {
		// Image 0 alone, as the first image of a set of one.
		one, err := data.Subset(set, []int{0})
		if err != nil {
			t.Fatal(err)
		}
		st, err := NewStream(one, testNorm, Options{Corruptions: names, Severities: 2, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := collect(t, st)
		for i := range got {
			if !slices.Equal(got[i][0], want[i][0]) {
				t.Fatalf("%s: image 0 depends on the other images of the set", st.Cells()[i])
			}
		}
	})
	t.Run("CorruptedImage", func(t *testing.T) {
		c, err := corrupt.New(corrupt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i, cell := range ref.Cells() {
			for _, k := range []int{0, 5, 11} {
				img, _, _ := set.Example(k)
				m, err := CorruptedImage(c, cell, 9, img, k)
				if err != nil {
					t.Fatal(err)
				}
				p := make([]float32, m.H*m.W)
				data.Gray(m, p)
				testNorm.Apply(p)
				if !slices.Equal(p, want[i][k]) {
					t.Fatalf("%s image %d: CorruptedImage differs from the streamed image", cell, k)
				}
			}
		}
	})
}

// TestStreamCancel checks that a cancelled context ends the stream with
// its error and that breaking out of the loop returns.
func TestStreamCancel(t *testing.T) {
	st, err := NewStream(stripeSet(t, "stripes", 40, 1, 32, 4), testNorm, Options{BatchSize: 4, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var last error
	for _, err := range st.Batches(ctx) {
		if err != nil {
			last = err
			break
		}
		if n++; n == 3 {
			cancel()
		}
	}
	if !errors.Is(last, context.Canceled) {
		t.Fatalf("after cancel: error %v, want context.Canceled", last)
	}
	n = 0
	for _, err := range st.Batches(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 2 {
			break
		}
	}
}
