package nn

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// TestOptimizerVariableSettings checks the per-variable settings of the
// optimizers on one SGD step of L = Σ w²/2 (gradient w): a learning-rate
// scale k moves w by k·lr·w, weight decay adds wd·w unless exempted, and a
// clamp projects the result.
func TestOptimizerVariableSettings(t *testing.T) {
	b := testBackends(t)[0]
	const lr, wd = 0.1, 0.5
	w0 := []float64{1, -2, 4}
	for _, tc := range []struct {
		name  string
		setup func(ctx *context.Context)
		want  func(w float64) float64
	}{
		{"plain", func(*context.Context) {}, func(w float64) float64 { return w - lr*(w+wd*w) }},
		{"lr scale 3", func(ctx *context.Context) { ScaleLearningRate(ctx, "w", 3) }, func(w float64) float64 { return w - 3*lr*(w+wd*w) }},
		{"no weight decay", func(ctx *context.Context) { NoWeightDecay(ctx, "w") }, func(w float64) float64 { return w - lr*w }},
		{"clamp", func(ctx *context.Context) { Clamp(ctx, "w", -1.5, 1.5) }, func(w float64) float64 { return math.Max(-1.5, math.Min(1.5, w-lr*(w+wd*w))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.New()
			v := ctx.In("m").VariableWithValue("w", tensors.FromValue(w0))
			opt := &SGD{LR: lr, WeightDecay: wd}
			_, err := context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) []*graph.Node {
				tc.setup(ctx.In("m"))
				w := v.ValueGraph(g)
				opt.UpdateGraph(ctx, g, graph.MulScalar(graph.ReduceAllSum(graph.Square(w)), 0.5))
				return []*graph.Node{w}
			})
			if err != nil {
				t.Fatal(err)
			}
			got := tensors.MustCopyFlatData[float64](v.MustValue())
			for i, w := range w0 {
				if math.Abs(got[i]-tc.want(w)) > 1e-12 {
					t.Errorf("w[%d] = %v after the step, want %v", i, got[i], tc.want(w))
				}
			}
		})
	}
}
