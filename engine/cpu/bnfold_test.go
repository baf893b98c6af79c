package cpu

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// TestBatchNormFoldPlan compiles a convolution block's batch norm and its
// gradient with the builder and checks which neighbours foldIntoBatchNorm
// folds into them (TestBatchNormFolds checks the values).
func TestBatchNormFoldPlan(t *testing.T) {
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
	const c = 8
	tests := []struct {
		name string
		// Other readers of the biased operand, of the masked gradient and
		// of the normalized output; the op's dtype and feature axis.
		biasReaders, maskReaders, yReaders bool
		dtype                              dtypes.DType
		axis                               int
		want                               []backends.OpType // the steps' ops, in order (a lone float32 Add runs as a fused step)
	}{
		{"all folded", false, false, false, dtypes.Float32, 3, []backends.OpType{backends.OpTypeBatchNormForTraining, backends.OpTypeBatchNormGradient}},
		{"biased operand read elsewhere", true, false, false, dtypes.Float32, 3,
			[]backends.OpType{opFused, backends.OpTypeBatchNormForTraining, backends.OpTypeBatchNormGradient}},
		{"masked gradient read elsewhere", false, true, false, dtypes.Float32, 3,
			[]backends.OpType{backends.OpTypeBatchNormForTraining, backends.OpTypeWhere, backends.OpTypeBatchNormGradient}},
		{"channels first", false, false, false, dtypes.Float32, 1, // the bias Add; the ReLU and its gradient's Where fused
			[]backends.OpType{opFused, backends.OpTypeBatchNormForTraining, opFused, backends.OpTypeBatchNormGradient, backends.OpTypeReduceSum}},
		{"normalized output read elsewhere", false, false, true, dtypes.Float32, 3,
			[]backends.OpType{backends.OpTypeBatchNormForTraining, opFused, backends.OpTypeBatchNormGradient}},
		{"float64", false, false, false, dtypes.Float64, 3,
			[]backends.OpType{backends.OpTypeAdd, backends.OpTypeBatchNormForTraining, backends.OpTypeGreaterThan, backends.OpTypeWhere,
				backends.OpTypeWhere, backends.OpTypeBatchNormGradient, backends.OpTypeReduceSum}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bld := b.Builder(tc.name).(*Builder)
			dims := []int{2, 3, 4, 5}
			dims[tc.axis] = c
			bdims := []int{1, 1, 1, 1}
			bdims[tc.axis] = c
			reduced := slices.DeleteFunc([]int{0, 1, 2, 3}, func(a int) bool { return a == tc.axis })
			x := must(bld.Parameter("x", shapes.Make(tc.dtype, dims...), nil))
			g := must(bld.Parameter("g", shapes.Make(tc.dtype, dims...), nil))
			bias := must(bld.Parameter("bias", shapes.Make(tc.dtype, bdims...), nil))
			scale := must(bld.Parameter("scale", shapes.Make(tc.dtype, c), nil))
			offset := must(bld.Parameter("offset", shapes.Make(tc.dtype, c), nil))
			zero := must(bld.Constant(slices.Repeat([]float32{0}, 1)))
			if tc.dtype == dtypes.Float64 {
				zero = must(bld.Constant([]float64{0}))
			}
			v := must(bld.Add(x, bias))
			y, mean, variance, err := bld.BatchNormForTraining(v, scale, offset, 1e-5, tc.axis)
			if err != nil {
				t.Fatal(err)
			}
			mask := must(bld.GreaterThan(y, zero))
			r := must(bld.Where(mask, y, zero))
			dy := must(bld.Where(mask, g, zero))
			dx, ds, do, err := bld.BatchNormGradient(v, scale, mean, variance, dy, 1e-5, tc.axis)
			if err != nil {
				t.Fatal(err)
			}
			db := must(bld.ReduceSum(dx, reduced...))
			outs := []backends.Op{r, mean, dx, ds, do, db}
			if tc.biasReaders {
				outs = append(outs, v)
			}
			if tc.yReaders {
				outs = append(outs, y)
			}
			if tc.maskReaders {
				outs = append(outs, dy)
			}
			exe, err := bld.Compile(outs, nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []backends.OpType
			for _, st := range exe.(*Executable).steps {
				got = append(got, st.n.op)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps %v, want %v", got, tc.want)
			}
		})
	}
}
