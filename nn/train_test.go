package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// TestSmallCNNTrains trains a small CNN with batch norm, max-pool, dropout,
// a classification head and a Gaussian-readout head on the SimpleGo
// wrapper and the cpu backend, and checks that the joint loss falls.
func TestSmallCNNTrains(t *testing.T) {
	for _, b := range testBackends(t) {
		t.Run(b.Name(), func(t *testing.T) { smallCNNTrains(t, b) })
	}
}

func smallCNNTrains(t *testing.T, b backends.Backend) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, size, classes, neurons = 16, 8, 3, 4
	// Images whose class sets a bright quadrant; "neurons" respond to quadrant brightness.
	images := make([]float32, n*size*size)
	labels := make([]int32, n)
	responses := make([]float32, n*neurons)
	for i := range n {
		labels[i] = int32(i % classes)
		for y := range size {
			for x := range size {
				v := float32(rng.NormFloat64() * 0.3)
				if (y < size/2) == (labels[i] != 1) && (x < size/2) == (labels[i] != 2) {
					v += 1
				}
				images[(i*size+y)*size+x] = v
			}
		}
		for j := range neurons {
			responses[i*neurons+j] = float32(1 + float64((int(labels[i])+j)%classes))
		}
	}
	xs := tensors.FromFlatDataAndDimensions(images, n, size, size, 1)
	ys := tensors.FromFlatDataAndDimensions(labels, n)
	rs := tensors.FromFlatDataAndDimensions(responses, n, neurons)

	ctx := context.New()
	if err := SetSeed(ctx, 3); err != nil {
		t.Fatal(err)
	}
	opt := &SGD{LR: 0.05, Momentum: 0.75, WeightDecay: 5e-4}
	step, err := context.NewExec(b, ctx, func(ctx *context.Context, x, labels, resp *Node) *Node {
		g := x.Graph()
		ctx.SetTraining(g, true)
		h := ReLU(BatchNorm(ctx.In("bn1"), Conv2D(ctx.In("conv1"), x, 8, 3, ConvOptions{})))
		h = MaxPool2(h)
		h = ReLU(BatchNorm(ctx.In("bn2"), Conv2D(ctx.In("conv2"), h, 8, 3, ConvOptions{})))
		neural := ELUPlusOne(GaussianReadout(ctx.In("readout"), h, neurons, ReadoutOptions{}))
		c := Dropout(ctx, ReLU(Conv2D(ctx.In("fc"), h, 16, 1, ConvOptions{})), 0.2)
		logits := GlobalMaxPool(Conv2D(ctx.In("cls"), c, classes, 1, ConvOptions{}))
		loss := graph.Add(CrossEntropy(logits, labels), MSE(neural, resp))
		opt.UpdateGraph(ctx, g, loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	var losses []float32
	for range 40 {
		out, err := step.Exec(xs, ys, rs)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, out[0].Value().(float32))
	}
	first, last := mean32(losses[:5]), mean32(losses[len(losses)-5:])
	t.Logf("loss: first five steps %.3f, last five %.3f", first, last)
	if !(last < 0.5*first) {
		t.Errorf("loss did not fall by half: %.3f -> %.3f", first, last)
	}
}

func mean32(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}
