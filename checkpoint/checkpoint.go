// Package checkpoint saves and restores a model's variables as NumPy .npz
// archives, one array per variable named by its scope path (for example
// "/core/conv1_1/weights"). Files are written atomically and hold plain
// host arrays, so a model trained on one backend (a GPU) loads on any other
// (the CPU), and numpy.load reads them.
package checkpoint

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/nn"
)

// Filter selects the variables to save; nil saves all.
type Filter func(v *context.Variable) bool

// Model selects the variables a trained model needs for inference and
// further training: everything except optimizer state and the RNG state.
func Model(v *context.Variable) bool {
	return !strings.HasPrefix(v.Scope(), nn.OptimizerScope) && v.Name() != context.RNGStateVariableName
}

// Save writes the selected variables of ctx to path.
func Save(path string, ctx *context.Context, keep Filter) error {
	var entries []npy.Entry
	for v := range ctx.IterVariables() {
		if keep != nil && !keep(v) {
			continue
		}
		t, err := v.Value()
		if err != nil {
			return fmt.Errorf("saving %s: variable %s has no value: %w", path, v.ScopeAndName(), err)
		}
		a, err := toArray(t)
		if err != nil {
			return fmt.Errorf("saving %s: variable %s: %w", path, v.ScopeAndName(), err)
		}
		entries = append(entries, npy.Entry{Name: v.ScopeAndName(), Array: a})
	}
	return npy.WriteNPZ(path, entries, false)
}

// Load sets ctx's variables from the archive at path, creating variables
// that do not exist yet. Optimizer state and the RNG state are loaded as
// non-trainable; model layers mark their own non-trainable statistics when
// the graph is built.
func Load(path string, ctx *context.Context) error {
	arrays, err := npy.ReadNPZ(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("checkpoint %s does not exist: %w", path, err)
		}
		return fmt.Errorf("reading checkpoint: %w", err)
	}
	for _, name := range npy.SortedNames(arrays) {
		t, err := toTensor(arrays[name])
		if err != nil {
			return fmt.Errorf("checkpoint %s: variable %s: %w", path, name, err)
		}
		scope, vname := context.SplitScope(name)
		if scope == "" || vname == "" {
			return fmt.Errorf("checkpoint %s: %q is not a variable path (/scope/name)", path, name)
		}
		if v := ctx.GetVariableByScopeAndName(scope, vname); v != nil {
			if !v.Shape().Equal(t.Shape()) {
				return fmt.Errorf("checkpoint %s: variable %s has shape %s, the model has %s; "+
					"was it written for another architecture?", path, name, t.Shape(), v.Shape())
			}
			if err := v.SetValue(t); err != nil {
				return fmt.Errorf("checkpoint %s: setting %s: %w", path, name, err)
			}
			continue
		}
		v := ctx.InAbsPath(scope).Checked(false).VariableWithValue(vname, t)
		if strings.HasPrefix(scope, nn.OptimizerScope) || vname == context.RNGStateVariableName {
			v.SetTrainable(false)
		}
	}
	return nil
}

func toArray(t *tensors.Tensor) (*npy.Array, error) {
	dims := t.Shape().Dimensions
	var data any
	switch t.DType() {
	case dtypes.Float32:
		data = tensors.MustCopyFlatData[float32](t)
	case dtypes.Float64:
		data = tensors.MustCopyFlatData[float64](t)
	case dtypes.Int32:
		data = tensors.MustCopyFlatData[int32](t)
	case dtypes.Int64:
		data = tensors.MustCopyFlatData[int64](t)
	case dtypes.Uint64:
		data = tensors.MustCopyFlatData[uint64](t)
	default:
		return nil, fmt.Errorf("unsupported dtype %s", t.DType())
	}
	return npy.New(data, dims...)
}

func toTensor(a *npy.Array) (*tensors.Tensor, error) {
	if err := a.Check(); err != nil {
		return nil, err
	}
	switch d := a.Data.(type) {
	case []float32:
		return tensors.FromFlatDataAndDimensions(d, a.Shape...), nil
	case []float64:
		return tensors.FromFlatDataAndDimensions(d, a.Shape...), nil
	case []int32:
		return tensors.FromFlatDataAndDimensions(d, a.Shape...), nil
	case []int64:
		return tensors.FromFlatDataAndDimensions(d, a.Shape...), nil
	case []uint64:
		return tensors.FromFlatDataAndDimensions(d, a.Shape...), nil
	}
	return nil, fmt.Errorf("unsupported dtype %s", a.DType)
}
