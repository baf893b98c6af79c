package predict

import (
	"context"
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/nn"
)

// LayerFeatures runs the classifier trained in dir (a Baseline, an Oracle,
// a co-trained or a similarity-regularized model) on n grayscale images of
// h×w pixels (pixels: n·h·w bytes, 0 black … 255 white; preprocessed with
// cotrain's grayscale formula and the model's normalization) in evaluation
// mode, and returns the activations of layer, flattened per image: n×m
// values, row-major, and m. Batches of batch images; the last is padded to
// the same shape.
func LayerFeatures(ctx context.Context, b backends.Backend, dir, layer string, pixels []uint8, n, h, w, batch int) ([]float32, int, error) {
	if n < 1 || h < 1 || w < 1 || len(pixels) != n*h*w || batch < 1 {
		return nil, 0, fmt.Errorf("layer features: %d pixels for %d images of %d×%d (batch %d)", len(pixels), n, h, w, batch)
	}
	info, g, err := checkpoint.LoadRun(dir, checkpoint.KindClassifier, checkpoint.KindMTL, checkpoint.KindSimilarity)
	if err != nil {
		return nil, 0, err
	}
	net, err := info.Network()
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", dir, err)
	}
	if !slices.Contains(net.Layers(), layer) {
		return nil, 0, fmt.Errorf("%s: the model has no layer %q (layers: %v)", dir, layer, net.Layers())
	}
	exec, err := nn.Compile(b, g, func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		return net.Features(ctx, x, layer)[0]
	})
	if err != nil {
		return nil, 0, err
	}
	size := h * w
	batch = min(batch, n)
	x := make([]float32, batch*size)
	var out []float32
	m := 0
	for start := 0; start < n; start += batch {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		k := min(batch, n-start)
		clear(x)
		for i := range k {
			dst := x[i*size : (i+1)*size]
			data.Gray(data.Image{H: h, W: w, C: 1, Pix: pixels[(start+i)*size : (start+i+1)*size]}, dst)
			info.Normalize.Apply(dst)
		}
		res, err := nn.Call(exec, tensors.FromFlatDataAndDimensions(x, batch, h, w, 1))
		if err != nil {
			return nil, 0, fmt.Errorf("layer %s of %s: %w", layer, dir, err)
		}
		f := tensors.MustCopyFlatData[float32](res[0])
		res[0].FinalizeAll()
		m = len(f) / batch
		out = append(out, f[:k*m]...)
	}
	return out, m, nil
}
