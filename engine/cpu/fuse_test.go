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
