package cpu_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"

	"github.com/cotrain/cotrain/engine/cpu"
)

// readoutMaps are the feature maps of nn's readout benchmark: the demo's
// (8×8×32) and the paper's conv3_1 (16×16×256), at batch 128 with 458
// neurons.
var readoutMaps = []struct{ h, c int }{{8, 32}, {16, 256}}

const (
	readoutBatch   = 128
	readoutNeurons = 458
)

// benchKernel compiles the graph that build makes from parameters of the
// given shapes and times its execution on fixed device buffers, so only
// the kernels are measured.
func benchKernel(b *testing.B, build func(bld backends.Builder, xs []backends.Op) (backends.Op, error), inputs ...any) {
	b.Helper()
	be, err := cpu.New("")
	if err != nil {
		b.Fatal(err)
	}
	bld := be.Builder(b.Name())
	var params []backends.Op
	var bufs []backends.Buffer
	for i, in := range inputs {
		var shape shapes.Shape
		var flat any
		switch v := in.(type) {
		case shapes.Shape:
			shape, flat = v, make([]float32, v.Size())
		case indexInput:
			shape, flat = shapes.Make(dtypes.Int32, v.dims...), v.flat
		}
		p, err := bld.Parameter(fmt.Sprintf("x%d", i), shape, nil)
		if err != nil {
			b.Fatal(err)
		}
		buf, err := be.BufferFromFlatData(0, flat, shape)
		if err != nil {
			b.Fatal(err)
		}
		params, bufs = append(params, p), append(bufs, buf)
	}
	out, err := build(bld, params)
	if err != nil {
		b.Fatal(err)
	}
	exe, err := bld.Compile([]backends.Op{out}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i <= b.N; i++ {
		if i == 1 {
			b.ResetTimer() // the first run fills the buffer pool
		}
		res, err := exe.Execute(bufs, nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		if err := be.BufferFinalize(res[0]); err != nil {
			b.Fatal(err)
		}
	}
}

// indexInput is an int32 parameter of a kernel benchmark.
type indexInput struct {
	dims []int
	flat []int32
}

// readoutIndices returns random (image, y, x) rows [N, n, 3] into an
// [N, h, h, C] map, each image reading its own map.
func readoutIndices(h int) indexInput {
	rng := rand.New(rand.NewPCG(1, 2))
	flat := make([]int32, 0, readoutBatch*readoutNeurons*3)
	for i := range readoutBatch {
		for range readoutNeurons {
			flat = append(flat, int32(i), int32(rng.IntN(h)), int32(rng.IntN(h)))
		}
	}
	return indexInput{[]int{readoutBatch, readoutNeurons, 3}, flat}
}

// BenchmarkReadoutKernels times the kernels of the Gaussian readout's
// training step on its shapes: a Gather of C-channel rows, the same rows
// multiplied and summed over the channels in one fused step (read straight
// from the map), the ScatterSum of its gradient (into zeros), the bilinear combination of four corners
// with [N, n, 1] weights broadcast along the channels (a fused step), one
// product with such weights, a product summed over the channels (a fused
// ReduceSum), and ReduceSum over the trailing and the leading axis.
func BenchmarkReadoutKernels(b *testing.B) {
	f32 := func(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
	for _, m := range readoutMaps {
		mapShape := f32(readoutBatch, m.h, m.h, m.c)
		rowsShape := f32(readoutBatch, readoutNeurons, m.c)
		weights := f32(readoutBatch, readoutNeurons, 1)
		idx := readoutIndices(m.h)
		name := fmt.Sprintf("%dx%dx%d/", m.h, m.h, m.c)
		b.Run(name+"Gather", func(b *testing.B) {
			benchKernel(b, func(bld backends.Builder, xs []backends.Op) (backends.Op, error) {
				return bld.Gather(xs[0], xs[1], 2, []int{2}, []int{0, 1, 2}, []int{0, 1, 2}, []int{1, 1, 1, m.c}, false)
			}, mapShape, idx)
		})
		b.Run(name+"GatherMulReduceSum2", func(b *testing.B) {
			benchKernel(b, func(bld backends.Builder, xs []backends.Op) (backends.Op, error) {
				g, err := bld.Gather(xs[0], xs[1], 2, []int{2}, []int{0, 1, 2}, []int{0, 1, 2}, []int{1, 1, 1, m.c}, false)
				if err != nil {
					return nil, err
				}
				prod, err := bld.Mul(g, xs[2])
				if err != nil {
					return nil, err
				}
				return bld.ReduceSum(prod, 2)
			}, mapShape, idx, rowsShape)
		})
		b.Run(name+"ScatterSum", func(b *testing.B) {
			benchKernel(b, func(bld backends.Builder, xs []backends.Op) (backends.Op, error) {
				zero, err := bld.Constant([]float32{0})
				if err != nil {
					return nil, err
				}
				zeros, err := bld.BroadcastInDim(zero, mapShape, nil)
				if err != nil {
					return nil, err
				}
				return bld.ScatterSum(zeros, xs[0], xs[1], 2, []int{2}, []int{0, 1, 2}, []int{0, 1, 2}, false, false)
			}, idx, rowsShape)
		})
		b.Run(name+"FusedBroadcast", func(b *testing.B) {
			benchKernel(b, func(bld backends.Builder, xs []backends.Op) (backends.Op, error) {
				var sum backends.Op
				for k := range 4 {
					t, err := bld.Mul(xs[k], xs[4+k])
					if err != nil {
						return nil, err
					}
					if sum == nil {
						sum = t
					} else if sum, err = bld.Add(sum, t); err != nil {
						return nil, err
					}
				}
				return sum, nil
			}, rowsShape, rowsShape, rowsShape, rowsShape, weights, weights, weights, weights)
		})
		b.Run(name+"MulRepeated", func(b *testing.B) {
			benchKernel(b, func(bld backends.Builder, xs []backends.Op) (backends.Op, error) {
				return bld.Mul(xs[0], xs[1])
			}, rowsShape, weights)
		})
		b.Run(name+"MulReduceSum2", func(b *testing.B) {
			benchKernel(b, func(bld backends.Builder, xs []backends.Op) (backends.Op, error) {
				prod, err := bld.Mul(xs[0], xs[1])
				if err != nil {
					return nil, err
				}
				return bld.ReduceSum(prod, 2)
			}, rowsShape, rowsShape)
		})
		for _, axis := range []int{2, 0} {
			b.Run(fmt.Sprintf("%sReduceSum%d", name, axis), func(b *testing.B) {
				benchKernel(b, func(bld backends.Builder, xs []backends.Op) (backends.Op, error) {
					return bld.ReduceSum(xs[0], axis)
				}, rowsShape)
			})
		}
	}
}
