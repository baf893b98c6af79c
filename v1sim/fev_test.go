package v1sim

import (
	"testing"
)

// fevCase simulates the paper's protocol (75 test images × 40 repeats,
// single training trials) and returns per-neuron FEV.
func fevRun(t *testing.T, images [][]float32, size int) []float64 {
	t.Helper()
	pop, err := NewPopulation(DefaultConfig(), size, size, 1)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := Record(pop, images, DefaultProtocol(), 2)
	if err != nil {
		t.Fatal(err)
	}
	return fev(&rec.Sessions[0])
}

// TestFEVDistribution checks that the default population's explainable
// variance is in the range of real V1 recordings (most neurons 0.1–0.7,
// median 0.3–0.5) on Fashion-MNIST padded to 32×32 and on natural-like
// 1/f images. FEV depends only on the test repeats, so 200 training images
// suffice here; docs/v1sim.md reports runs with 2,000.
func TestFEVDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	cases := []struct {
		name   string
		images func() [][]float32
		size   int
	}{
		{"fashion-mnist 32", func() [][]float32 { return loadFashion(t, "train-images-idx3-ubyte.gz", 275, 32) }, 32},
		{"natural-like 64", func() [][]float32 { return naturalLike(275, 64, 5) }, 64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := fevRun(t, c.images(), c.size)
			t.Log(summarize(f))
			q := quantiles(f, 0.5)
			above := 0
			for _, v := range f {
				if v > 0.15 {
					above++
				}
			}
			if q[0] < 0.25 || q[0] > 0.6 {
				t.Errorf("median FEV %.3f outside [0.25, 0.6]", q[0])
			}
			if frac := float64(above) / float64(len(f)); frac < 0.6 {
				t.Errorf("only %.2f of neurons have FEV > 0.15", frac)
			}
		})
	}
}
