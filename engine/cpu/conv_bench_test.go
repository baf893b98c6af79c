package cpu_test

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cotrain/cotrain/engine/cpu"
)

// BenchmarkConv times the three convolutions of a VGG-19 layer (forward,
// gradient with respect to the input, gradient with respect to the kernel)
// at batch 32 and reports GFLOP/s, once per supported GEMM micro-kernel
// (adjacent in time, so that a loaded machine affects them alike).
func BenchmarkConv(b *testing.B) {
	benchConvs(b, 32, []convLayer{
		{64, 64, 64, 3}, {32, 128, 128, 3}, {16, 256, 256, 3}, {8, 512, 512, 3}, {4, 512, 512, 3}, {2, 4096, 4096, 1},
	})
}

// BenchmarkConvDemo does the same for the demo network's layers
// (experiments/demo.toml) at its batch of 128.
func BenchmarkConvDemo(b *testing.B) {
	benchConvs(b, 128, []convLayer{
		{32, 1, 16, 3}, {16, 16, 32, 3}, {8, 32, 32, 3}, {4, 32, 64, 3}, {2, 64, 64, 3},
	})
}

// BenchmarkConvResNet does the same for the 3×3 layers of Li et al.'s
// CIFAR ResNet-18 (the bench train default, width 64) and of the demo's
// narrow one (width 8), at batch 64.
func BenchmarkConvResNet(b *testing.B) {
	benchConvs(b, 64, []convLayer{
		{32, 64, 64, 3}, {16, 128, 128, 3}, {8, 256, 256, 3}, {4, 512, 512, 3},
		{32, 8, 8, 3}, {16, 16, 16, 3}, {8, 32, 32, 3}, {4, 64, 64, 3},
	})
}

// convLayer is a square convolution: input size, channels in and out, kernel size.
type convLayer struct{ hw, cin, cout, k int }

func benchConvs(b *testing.B, batch int, layers []convLayer) {
	kernels := cpu.SupportedKernels()[1:] // the portable kernel is far slower; TestConv checks it
	bes := make([]*cpu.Backend, len(kernels))
	for i, kern := range kernels {
		be, err := cpu.New("kernel=" + kern)
		if err != nil {
			b.Fatal(err)
		}
		bes[i] = be
	}
	for _, l := range layers {
		flops := 2.0 * float64(batch) * float64(l.hw*l.hw*l.k*l.k*l.cin*l.cout)
		kinds := map[string]func(x, k *graph.Node) *graph.Node{
			"fwd": func(x, k *graph.Node) *graph.Node { return graph.Convolve(x, k).PadSame().Done() },
			"dx": func(x, k *graph.Node) *graph.Node {
				y := graph.Convolve(x, k).PadSame().Done()
				return graph.Gradient(graph.ReduceAllSum(y), x)[0]
			},
			"dk": func(x, k *graph.Node) *graph.Node {
				y := graph.Convolve(x, k).PadSame().Done()
				return graph.Gradient(graph.ReduceAllSum(y), k)[0]
			},
		}
		for _, kind := range []string{"fwd", "dx", "dk"} {
			for i, be := range bes {
				b.Run(fmt.Sprintf("%dx%dx%d-%d/%s/%s", l.hw, l.hw, l.cin, l.cout, kind, kernels[i]), func(b *testing.B) {
					// A tensor stays on the backend it was first used on.
					x := tensors.FromShape(shapes.Make(dtypes.Float32, batch, l.hw, l.hw, l.cin))
					k := tensors.FromShape(shapes.Make(dtypes.Float32, l.k, l.k, l.cin, l.cout))
					e, err := graph.NewExec(be, kinds[kind])
					if err != nil {
						b.Fatal(err)
					}
					if _, err := e.Exec(x, k); err != nil {
						b.Fatal(err)
					}
					b.ResetTimer()
					for range b.N {
						out, err := e.Exec(x, k)
						if err != nil {
							b.Fatal(err)
						}
						out[0].FinalizeAll()
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
