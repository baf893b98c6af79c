package torchfile

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/cotrain/cotrain/internal/pickle"
)

// The values a state dict's pickle builds, beyond internal/pickle's plain
// ones: *storageRef and *tensorRef.
type (
	// storageRef is a persistent id: a storage the file holds elsewhere
	// (a zip entry, or a record after the legacy pickle).
	storageRef struct {
		dtype dtypeInfo
		key   string
		numel int64
	}
	// tensorRef is a tensor rebuilt from a storage: its data is filled in
	// once the storages have been read.
	tensorRef struct {
		storage *storageRef
		offset  int64
		size    []int64
		stride  []int64
	}
)

// allowedGlobals are the callables a state dict's pickle may name.
var allowedGlobals = []string{
	"collections.OrderedDict",
	"torch._utils._rebuild_tensor_v2",
	"torch._utils._rebuild_tensor",
	"torch._utils._rebuild_parameter",
}

// newMachine returns a pickle machine for data that allows the globals of
// a state dict: allowedGlobals and the torch.*Storage classes (arguments
// of persistent ids, never called).
func newMachine(data []byte) *pickle.Machine {
	globals := map[string]pickle.Func{
		"collections.OrderedDict":         orderedDict,
		"torch._utils._rebuild_tensor_v2": rebuildTensorV2,
		"torch._utils._rebuild_tensor":    rebuildTensorPre04,
		"torch._utils._rebuild_parameter": rebuildParameter,
	}
	for _, info := range dtypes {
		globals["torch."+info.storage] = nil
	}
	return &pickle.Machine{
		Data:    data,
		Globals: globals,
		Hint: "a state dict needs only " + strings.Join(allowedGlobals, ", ") + " and the torch.*Storage classes " +
			"(this file holds other Python objects or code; it is not a plain state_dict)",
		Build: build,
	}
}

// build accepts BUILD on an OrderedDict (its _metadata attribute) and on a
// tensor (its attributes), ignoring the state.
func build(obj, _ any) error {
	switch obj.(type) {
	case *pickle.Dict, *tensorRef:
		return nil
	}
	return fmt.Errorf("BUILD on a %s", typeName(obj))
}

// orderedDict is collections.OrderedDict([pairs]).
func orderedDict(a pickle.Tuple) (any, error) {
	d := &pickle.Dict{}
	if len(a) == 0 {
		return d, nil
	}
	l, ok := a[0].(*pickle.List)
	if len(a) != 1 || !ok {
		return nil, errors.New("OrderedDict takes no arguments or one list of pairs")
	}
	for _, item := range l.Items {
		// Pairs are tuples, or [key, value] lists as Python 2 pickled them.
		kv, ok := item.(pickle.Tuple)
		if il, isList := item.(*pickle.List); isList {
			kv, ok = pickle.Tuple(il.Items), true
		}
		if !ok || len(kv) != 2 {
			return nil, errors.New("OrderedDict's list holds something other than pairs")
		}
		if err := d.Set(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func rebuildTensorV2(a pickle.Tuple) (any, error) {
	if len(a) != 6 && len(a) != 7 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 takes 6 or 7 arguments, got %d", len(a))
	}
	return rebuildTensor(a)
}

// rebuildTensorPre04 is _rebuild_tensor, of PyTorch before 0.4.
func rebuildTensorPre04(a pickle.Tuple) (any, error) {
	if len(a) != 4 {
		return nil, fmt.Errorf("_rebuild_tensor takes 4 arguments, got %d", len(a))
	}
	return rebuildTensor(a)
}

func rebuildParameter(a pickle.Tuple) (any, error) {
	if len(a) != 3 {
		return nil, fmt.Errorf("_rebuild_parameter takes 3 arguments, got %d", len(a))
	}
	t, ok := a[0].(*tensorRef)
	if !ok {
		return nil, fmt.Errorf("_rebuild_parameter of a %s, not a tensor", typeName(a[0]))
	}
	return t, nil
}

// rebuildTensor checks the arguments of _rebuild_tensor_v2(storage,
// storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
// or _rebuild_tensor(storage, storage_offset, size, stride); the first four
// are what a tensor needs.
func rebuildTensor(a pickle.Tuple) (any, error) {
	s, ok := a[0].(*storageRef)
	if !ok {
		return nil, fmt.Errorf("a tensor rebuilt from a %s, not a storage", typeName(a[0]))
	}
	offset, ok := a[1].(int64)
	if !ok || offset < 0 {
		return nil, fmt.Errorf("tensor storage offset %v is not a non-negative integer", a[1])
	}
	size, err := intTuple(a[2], "size")
	if err != nil {
		return nil, err
	}
	stride, err := intTuple(a[3], "stride")
	if err != nil {
		return nil, err
	}
	if len(size) != len(stride) {
		return nil, fmt.Errorf("tensor size %v and stride %v differ in length", size, stride)
	}
	return &tensorRef{storage: s, offset: offset, size: size, stride: stride}, nil
}

func intTuple(v any, what string) ([]int64, error) {
	t, ok := v.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("tensor %s is a %s, not a tuple", what, typeName(v))
	}
	if len(t) > 64 {
		return nil, fmt.Errorf("tensor %s has %d dimensions", what, len(t))
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok || n < 0 {
			return nil, fmt.Errorf("tensor %s %v holds %v, not a non-negative integer", what, t, x)
		}
		out[i] = n
	}
	return out, nil
}

// storagePID turns the persistent id ('storage', torch.XStorage, key,
// location, numel[, view_metadata]) into a storageRef.
func storagePID(pid any) (*storageRef, error) {
	t, ok := pid.(pickle.Tuple)
	if !ok || (len(t) != 5 && len(t) != 6) {
		return nil, fmt.Errorf("persistent id %v is not a storage tuple", describe(pid))
	}
	if tag, _ := t[0].(string); tag != "storage" {
		return nil, fmt.Errorf("persistent id of kind %v, not 'storage'", describe(t[0]))
	}
	g, ok := t[1].(pickle.Global)
	if !ok || g.Module != "torch" {
		return nil, fmt.Errorf("storage of type %v, not a torch.*Storage class", describe(t[1]))
	}
	info, ok := lookupDType(func(i dtypeInfo) bool { return i.storage == g.Name })
	if !ok {
		return nil, fmt.Errorf("unknown storage class torch.%s", g.Name)
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("storage key %v is not a string", describe(t[2]))
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("storage %s size %v is not a non-negative integer", key, describe(t[4]))
	}
	if len(t) == 6 && t[5] != nil {
		return nil, fmt.Errorf("storage %s is a view of another storage (view metadata %v); save the state dict with PyTorch ≥ 1.6 or clone the tensors first", key, describe(t[5]))
	}
	return &storageRef{dtype: info, key: key, numel: numel}, nil
}

func typeName(v any) string {
	switch v.(type) {
	case *storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	}
	return pickle.TypeName(v)
}

// describe renders a value briefly for error messages.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 40 {
			x = x[:40] + "…"
		}
		return fmt.Sprintf("%q", x)
	case int64, float64, bool, *big.Int:
		return fmt.Sprint(x)
	case pickle.Global:
		return x.String()
	}
	return "a " + typeName(v)
}
