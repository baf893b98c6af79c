package predict

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/nn"
)

// TestLayerFeatures checks the features read from a run folder against
// the layer run directly on the preprocessed images, with a batch that
// leaves a padded last batch.
func TestLayerFeatures(t *testing.T) {
	b := backend(t)
	dir, g, _ := writeRun(t, b, checkpoint.KindClassifier)
	const n = 5
	rng := rand.New(rand.NewPCG(3, 4))
	pixels := make([]uint8, n*side*side)
	for i := range pixels {
		pixels[i] = uint8(rng.IntN(256))
	}
	got, m, err := LayerFeatures(context.Background(), b, dir, "conv1_1", pixels, n, side, side, 2)
	if err != nil {
		t.Fatal(err)
	}
	if m != side*side*4 || len(got) != n*m {
		t.Fatalf("%d features of %d values, want %d of %d", len(got)/max(m, 1), m, n, side*side*4)
	}
	x := make([]float32, n*side*side)
	norm := data.Normalize{Mean: 0.5, Std: 0.25}
	for i := range n {
		dst := x[i*side*side : (i+1)*side*side]
		data.Gray(data.Image{H: side, W: side, C: 1, Pix: pixels[i*side*side : (i+1)*side*side]}, dst)
		norm.Apply(dst)
	}
	exec, err := nn.Compile(b, g, func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		return testModel.Features(ctx, x, "conv1_1")[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := nn.Call(exec, tensors.FromFlatDataAndDimensions(x, n, side, side, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := tensors.MustCopyFlatData[float32](out[0])
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 {
			t.Fatalf("feature %d: %v, want %v", i, got[i], want[i])
		}
	}
	if _, _, err := LayerFeatures(context.Background(), b, dir, "conv9_1", pixels, n, side, side, 2); err == nil {
		t.Error("an unknown layer gave no error")
	}
}
