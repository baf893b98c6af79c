package analysis

import (
	"context"
	"testing"
	"time"

	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// BenchmarkReconstructPaper times projected SGD steps of the paper's
// reconstruction on the cpu backend: VGG-19-BN (random weights) up to
// conv3_1, 64×64 images broadcast to 3 channels, a batch of 63
// reconstructions (a tenth of one model's 70 images × 9 budgets). One op is
// one step of the batch; the paper's grid is 5 models × 630
// reconstructions × 8,000 steps, so it takes 5·10·8000 = 400,000 ops
// (docs/analysis.md).
func BenchmarkReconstructPaper(b *testing.B) {
	be, err := cpuBackend()
	if err != nil {
		b.Fatal(err)
	}
	v := models.VGG19BN(200)
	ctx := gctx.New()
	exec, err := nn.Compile(be, ctx, func(ctx *gctx.Context, x *Node) *Node { return v.Features(ctx, x, "conv3_1")[0] })
	if err != nil {
		b.Fatal(err)
	}
	if _, err := nn.Call(exec, make4(1, 64, 64)); err != nil {
		b.Fatal(err)
	}
	const n = 63
	radii := make([]float64, n)
	for i := range radii {
		radii[i] = ChannelRadius(15, 3)
	}
	p := Problem{H: 64, W: 64, Targets: randomImages(n, 64*64, 1), Radii: radii}
	s := Settings{Layer: "conv3_1", Steps: 1, Optimizer: SGD, LR: 5, Loss: LossMean, BlurSigma: 1, Seed: 1}
	m := Model{Name: "vgg19bn", Core: v, Vars: ctx.Reuse()}
	// The first step compiles the graphs: time the b.N steps after it.
	s.Steps = b.N + 1
	var start time.Time
	var elapsed time.Duration
	if _, err := Reconstruct(context.Background(), be, m, p, s, RunOptions{Progress: func(step, steps int) {
		switch step {
		case 1:
			b.ResetTimer()
			start = time.Now()
		case steps:
			b.StopTimer()
			elapsed = time.Since(start)
		}
	}}); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(elapsed.Seconds()/float64(b.N)/n*1000, "ms/reconstruction-step")
}
