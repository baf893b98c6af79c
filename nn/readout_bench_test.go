package nn

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/cpu"
)

// BenchmarkGaussianReadout times one training step of the Gaussian readout
// (forward and the gradients with respect to the feature map, μ, σ and the
// feature weights) for a batch of 128 images: the demo's map (8×8×32) and
// the paper's conv3_1 map (16×16×256), with the paper's 458 neurons.
func BenchmarkGaussianReadout(b *testing.B) {
	for _, tc := range []struct{ h, c int }{{8, 32}, {16, 256}} {
		b.Run(fmt.Sprintf("%dx%dx%d", tc.h, tc.h, tc.c), func(b *testing.B) {
			be, err := cpu.New("")
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.New()
			exec, err := context.NewExec(be, ctx, func(ctx *context.Context, x *Node) []*Node {
				ctx.SetTraining(x.Graph(), true)
				y := GaussianReadout(ctx, x, 458, ReadoutOptions{})
				loss := graph.ReduceAllSum(graph.Square(y))
				return append(Gradients(x.Graph(), loss, TrainableVars(ctx, x.Graph())), graph.Gradient(loss, x)...)
			})
			if err != nil {
				b.Fatal(err)
			}
			x := tensors.FromShape(shapes.Make(dtypes.Float32, 128, tc.h, tc.h, tc.c))
			for i := 0; i <= b.N; i++ {
				if i == 1 {
					b.ResetTimer() // the first call compiles
				}
				out, err := exec.Exec(x)
				if err != nil {
					b.Fatal(err)
				}
				for _, t := range out {
					t.FinalizeAll()
				}
			}
		})
	}
}
