package cpu

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// TestFusionPlan compiles small graphs with the builder and checks which
// steps they become.
func TestFusionPlan(t *testing.T) {
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	must := func(op backends.Op, err error) backends.Op {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	tests := []struct {
		name      string
		build     func(bld *Builder, x backends.Op) []backends.Op
		wantSteps int
		wantFused int
	}{
		{"one chain", func(bld *Builder, x backends.Op) []backends.Op {
			a := must(bld.Mul(x, x))
			return []backends.Op{must(bld.Exp(must(bld.Add(a, x))))}
		}, 1, 1},
		{"two exports", func(bld *Builder, x backends.Op) []backends.Op {
			a := must(bld.Mul(x, x))
			return []backends.Op{must(bld.Add(a, x)), a}
		}, 1, 1},
		{"reduction splits the chain", func(bld *Builder, x backends.Op) []backends.Op {
			a := must(bld.Mul(x, x))
			s := must(bld.ReduceSum(a, 0))
			sb := must(bld.BroadcastInDim(s, shapes.Make(dtypes.Float32, 3), nil))
			return []backends.Op{must(bld.Add(must(bld.Add(a, sb)), a))}
		}, 3, 1}, // a; the reduction; the two adds fused (the scalar broadcast is read directly)
		{"float64 is not fused", func(bld *Builder, x backends.Op) []backends.Op {
			d := must(bld.ConvertDType(x, dtypes.Float64))
			return []backends.Op{must(bld.Add(must(bld.Mul(d, d)), d))}
		}, 3, 0},
		{"sum epilogue", func(bld *Builder, x backends.Op) []backends.Op {
			y := must(bld.Parameter("y", shapes.Make(dtypes.Float32, 16, 3), nil))
			xb := must(bld.BroadcastInDim(x, shapes.Make(dtypes.Float32, 16, 3), []int{1}))
			return []backends.Op{must(bld.ReduceSum(must(bld.Mul(xb, y)), 0))}
		}, 2, 1}, // the broadcast; the product summed as it is computed
		{"sum epilogue of a chain, one value exported", func(bld *Builder, x backends.Op) []backends.Op {
			y := must(bld.Parameter("y", shapes.Make(dtypes.Float32, 8, 3), nil))
			a := must(bld.Mul(y, y))
			return []backends.Op{must(bld.ReduceSum(must(bld.Add(a, y)), 0)), a}
		}, 1, 1},
		{"too little reduction for an epilogue", func(bld *Builder, x backends.Op) []backends.Op {
			y := must(bld.Parameter("y", shapes.Make(dtypes.Float32, 8, 3), nil))
			return []backends.Op{must(bld.ReduceSum(must(bld.Mul(y, y)), 1))}
		}, 2, 0},
		{"short repeated operand", func(bld *Builder, x backends.Op) []backends.Op {
			y := must(bld.Parameter("y", shapes.Make(dtypes.Float32, 5, 3), nil))
			xr := must(bld.Reshape(must(bld.Slice(y, []int{0, 0}, []int{5, 1}, []int{1, 1})), 5, 1))
			return []backends.Op{must(bld.Mul(y, xr))}
		}, 3, 1}, // slice, reshape, the product as a fused step
		{"sum of scatters into zeros", func(bld *Builder, x backends.Op) []backends.Op {
			shape := shapes.Make(dtypes.Float32, 4, 3)
			zeros := must(bld.BroadcastInDim(must(bld.Constant([]float32{0})), shape, nil))
			scatter := func(idx []int32) backends.Op {
				i := must(bld.Constant(idx, len(idx), 1))
				u := must(bld.BroadcastInDim(x, shapes.Make(dtypes.Float32, len(idx), 3), []int{1}))
				return must(bld.ScatterSum(zeros, i, u, 1, []int{1}, []int{0}, []int{0}, false, false))
			}
			return []backends.Op{must(bld.Add(scatter([]int32{0, 2}), scatter([]int32{2, 3, 2})))}
		}, 4, 0}, // two broadcasts, the second scatter, the first scatter into its result
		{"long repeated operand", func(bld *Builder, x backends.Op) []backends.Op {
			y := must(bld.Parameter("y", shapes.Make(dtypes.Float32, 2, 100), nil))
			return []backends.Op{must(bld.Mul(y, must(bld.Reshape(must(bld.Slice(y, []int{0, 0}, []int{2, 1}, []int{1, 1})), 2, 1))))}
		}, 3, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bld := b.Builder(tc.name).(*Builder)
			x := must(bld.Parameter("x", shapes.Make(dtypes.Float32, 3), nil))
			exe, err := bld.Compile(tc.build(bld, x), nil)
			if err != nil {
				t.Fatal(err)
			}
			steps := exe.(*Executable).steps
			fused := 0
			for _, st := range steps {
				if _, ok := st.n.attr.(*fusedGroup); ok {
					fused++
				}
			}
			if len(steps) != tc.wantSteps || fused != tc.wantFused {
				t.Errorf("%d steps (%d fused), want %d (%d fused)", len(steps), fused, tc.wantSteps, tc.wantFused)
			}
		})
	}
}
