package cpu

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/notimplemented"
	"github.com/gomlx/gomlx/backends/shapeinference"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// node is one operation of a graph; most produce one value, a few several.
type node struct {
	id     int
	op     backends.OpType
	inputs []*value
	outs   []*value
	attr   any // op-specific parameters
}

// value is one output of a node: what backends.Op handles point to.
type value struct {
	node  *node
	idx   int
	shape shapes.Shape
}

// Builder builds a computation graph for the cpu backend.
type Builder struct {
	notimplemented.Builder
	backend  *Backend
	name     string
	nodes    []*node
	params   []*value
	compiled bool
}

var _ backends.Builder = (*Builder)(nil)

func newBuilder(b *Backend, name string) *Builder {
	bld := &Builder{backend: b, name: name}
	bld.ErrFn = func(op backends.OpType) error {
		return fmt.Errorf("backend cpu: op %s is not implemented (graph %q); run this computation on --backend simplego or xla", op, name)
	}
	return bld
}

// Name implements backends.Builder.
func (b *Builder) Name() string { return b.name }

// OpShape implements backends.Builder.
func (b *Builder) OpShape(op backends.Op) (shapes.Shape, error) {
	v, err := b.val(op)
	if err != nil {
		return shapes.Invalid(), err
	}
	return v.shape, nil
}

func (b *Builder) val(op backends.Op) (*value, error) {
	v, ok := op.(*value)
	if !ok || v == nil {
		return nil, fmt.Errorf("backend cpu: %T is not an op of this backend", op)
	}
	return v, nil
}

// vals converts op handles, checking they belong to this builder.
func (b *Builder) vals(opType backends.OpType, ops ...backends.Op) ([]*value, error) {
	if b.compiled {
		return nil, fmt.Errorf("backend cpu: graph %q is already compiled; %s cannot be added", b.name, opType)
	}
	out := make([]*value, len(ops))
	for i, op := range ops {
		v, err := b.val(op)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", opType, err)
		}
		if v.node.id >= len(b.nodes) || b.nodes[v.node.id] != v.node {
			return nil, fmt.Errorf("backend cpu: %s: input %d belongs to another graph", opType, i)
		}
		out[i] = v
	}
	return out, nil
}

func (b *Builder) add(op backends.OpType, attr any, inputs []*value, outs ...shapes.Shape) *node {
	n := &node{id: len(b.nodes), op: op, inputs: inputs, attr: attr}
	for i, s := range outs {
		n.outs = append(n.outs, &value{node: n, idx: i, shape: s})
	}
	b.nodes = append(b.nodes, n)
	return n
}

func (b *Builder) add1(op backends.OpType, attr any, inputs []*value, out shapes.Shape) (backends.Op, error) {
	if !isSupported(out.DType) {
		return nil, fmt.Errorf("backend cpu: %s: dtype %s is not supported", op, out.DType)
	}
	return b.add(op, attr, inputs, out).outs[0], nil
}

// Parameter implements backends.Builder.
func (b *Builder) Parameter(name string, shape shapes.Shape, sharding *backends.ShardingSpec) (backends.Op, error) {
	if sharding != nil {
		return nil, fmt.Errorf("backend cpu: sharding is not supported")
	}
	op, err := b.add1(backends.OpTypeParameter, name, nil, shape)
	if err != nil {
		return nil, err
	}
	b.params = append(b.params, op.(*value))
	return op, nil
}

// Constant implements backends.Builder.
func (b *Builder) Constant(flat any, dims ...int) (backends.Op, error) {
	rv := reflect.ValueOf(flat)
	if rv.Kind() != reflect.Slice {
		return nil, fmt.Errorf("backend cpu: Constant needs a flat slice, got %T", flat)
	}
	dtype := dtypes.FromGoType(rv.Type().Elem())
	shape := shapes.Make(dtype, dims...)
	if shape.Size() != rv.Len() {
		return nil, fmt.Errorf("backend cpu: Constant has %d values for shape %s", rv.Len(), shape)
	}
	data := reflect.MakeSlice(rv.Type(), rv.Len(), rv.Len())
	reflect.Copy(data, rv)
	return b.add1(backends.OpTypeConstant, data.Interface(), nil, shape)
}

// Identity implements backends.Builder.
func (b *Builder) Identity(x backends.Op) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeIdentity, x)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeIdentity, nil, in, in[0].shape)
}

// DistributedSPMD implements backends.Builder.
func (b *Builder) DistributedSPMD(int) error {
	return fmt.Errorf("backend cpu: distributed execution is not supported")
}

// DistributedAutoSharding implements backends.Builder.
func (b *Builder) DistributedAutoSharding(...backends.Mesh) error {
	return fmt.Errorf("backend cpu: distributed execution is not supported")
}

// DeviceAssignment implements backends.Builder.
func (b *Builder) DeviceAssignment(devices ...backends.DeviceNum) error {
	if len(devices) > 1 || (len(devices) == 1 && devices[0] != 0) {
		return fmt.Errorf("backend cpu: only device 0 exists")
	}
	return nil
}

// ---- element-wise ops ----

func (b *Builder) unary(op backends.OpType, x backends.Op) (backends.Op, error) {
	in, err := b.vals(op, x)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.UnaryOp(op, in[0].shape)
	if err != nil {
		return nil, err
	}
	return b.add1(op, nil, in, shape)
}

func (b *Builder) binary(op backends.OpType, lhs, rhs backends.Op) (backends.Op, error) {
	in, err := b.vals(op, lhs, rhs)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.BinaryOp(op, in[0].shape, in[1].shape)
	if err != nil {
		return nil, err
	}
	return b.add1(op, nil, in, shape)
}

func (b *Builder) compare(op backends.OpType, lhs, rhs backends.Op) (backends.Op, error) {
	in, err := b.vals(op, lhs, rhs)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.ComparisonOp(op, in[0].shape, in[1].shape)
	if err != nil {
		return nil, err
	}
	return b.add1(op, nil, in, shape)
}

// Abs implements backends.Builder.
func (b *Builder) Abs(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeAbs, x) }

// Neg implements backends.Builder.
func (b *Builder) Neg(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeNeg, x) }

// Exp implements backends.Builder.
func (b *Builder) Exp(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeExp, x) }

// Expm1 implements backends.Builder.
func (b *Builder) Expm1(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeExpm1, x) }

// Log implements backends.Builder.
func (b *Builder) Log(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeLog, x) }

// Log1p implements backends.Builder.
func (b *Builder) Log1p(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeLog1p, x) }

// Sqrt implements backends.Builder.
func (b *Builder) Sqrt(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeSqrt, x) }

// Rsqrt implements backends.Builder.
func (b *Builder) Rsqrt(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeRsqrt, x) }

// Floor implements backends.Builder.
func (b *Builder) Floor(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeFloor, x) }

// Ceil implements backends.Builder.
func (b *Builder) Ceil(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeCeil, x) }

// Round implements backends.Builder.
func (b *Builder) Round(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeRound, x) }

// Sign implements backends.Builder.
func (b *Builder) Sign(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeSign, x) }

// Logistic implements backends.Builder.
func (b *Builder) Logistic(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLogistic, x)
}

// Tanh implements backends.Builder.
func (b *Builder) Tanh(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeTanh, x) }

// Erf implements backends.Builder.
func (b *Builder) Erf(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeErf, x) }

// Cos implements backends.Builder.
func (b *Builder) Cos(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeCos, x) }

// Sin implements backends.Builder.
func (b *Builder) Sin(x backends.Op) (backends.Op, error) { return b.unary(backends.OpTypeSin, x) }

// LogicalNot implements backends.Builder.
func (b *Builder) LogicalNot(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeLogicalNot, x)
}

// BitwiseNot implements backends.Builder.
func (b *Builder) BitwiseNot(x backends.Op) (backends.Op, error) {
	return b.unary(backends.OpTypeBitwiseNot, x)
}

// IsFinite implements backends.Builder.
func (b *Builder) IsFinite(x backends.Op) (backends.Op, error) {
	return b.floatPredicate(backends.OpTypeIsFinite, x)
}

// IsNaN implements backends.Builder.
func (b *Builder) IsNaN(x backends.Op) (backends.Op, error) {
	return b.floatPredicate(backends.OpTypeIsNaN, x)
}

func (b *Builder) floatPredicate(op backends.OpType, x backends.Op) (backends.Op, error) {
	in, err := b.vals(op, x)
	if err != nil {
		return nil, err
	}
	if !in[0].shape.DType.IsFloat() {
		return nil, fmt.Errorf("%s needs a float operand, got %s", op, in[0].shape)
	}
	shape := in[0].shape.Clone()
	shape.DType = dtypes.Bool
	return b.add1(op, nil, in, shape)
}

// Add implements backends.Builder.
func (b *Builder) Add(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeAdd, l, r)
}

// Sub implements backends.Builder.
func (b *Builder) Sub(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeSub, l, r)
}

// Mul implements backends.Builder.
func (b *Builder) Mul(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMul, l, r)
}

// Div implements backends.Builder.
func (b *Builder) Div(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeDiv, l, r)
}

// Pow implements backends.Builder.
func (b *Builder) Pow(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypePow, l, r)
}

// Rem implements backends.Builder.
func (b *Builder) Rem(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeRem, l, r)
}

// Max implements backends.Builder.
func (b *Builder) Max(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMax, l, r)
}

// Min implements backends.Builder.
func (b *Builder) Min(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeMin, l, r)
}

// BitwiseAnd implements backends.Builder.
func (b *Builder) BitwiseAnd(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeBitwiseAnd, l, r)
}

// BitwiseOr implements backends.Builder.
func (b *Builder) BitwiseOr(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeBitwiseOr, l, r)
}

// BitwiseXor implements backends.Builder.
func (b *Builder) BitwiseXor(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeBitwiseXor, l, r)
}

// LogicalAnd implements backends.Builder.
func (b *Builder) LogicalAnd(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalAnd, l, r)
}

// LogicalOr implements backends.Builder.
func (b *Builder) LogicalOr(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalOr, l, r)
}

// LogicalXor implements backends.Builder.
func (b *Builder) LogicalXor(l, r backends.Op) (backends.Op, error) {
	return b.binary(backends.OpTypeLogicalXor, l, r)
}

// ShiftLeft implements backends.Builder.
func (b *Builder) ShiftLeft(l, r backends.Op) (backends.Op, error) {
	return b.shift(backends.OpTypeShiftLeft, l, r)
}

// ShiftRightLogical implements backends.Builder.
func (b *Builder) ShiftRightLogical(l, r backends.Op) (backends.Op, error) {
	return b.shift(backends.OpTypeShiftRightLogical, l, r)
}

// ShiftRightArithmetic implements backends.Builder.
func (b *Builder) ShiftRightArithmetic(l, r backends.Op) (backends.Op, error) {
	return b.shift(backends.OpTypeShiftRightArithmetic, l, r)
}

func (b *Builder) shift(op backends.OpType, l, r backends.Op) (backends.Op, error) {
	in, err := b.vals(op, l, r)
	if err != nil {
		return nil, err
	}
	if !in[0].shape.DType.IsInt() || in[0].shape.DType != in[1].shape.DType {
		return nil, fmt.Errorf("%s needs integer operands of one dtype, got %s and %s", op, in[0].shape, in[1].shape)
	}
	lhs, rhs := in[0].shape.Clone(), in[1].shape.Clone()
	lhs.DType, rhs.DType = dtypes.Int32, dtypes.Int32
	shape, err := shapeinference.BinaryOp(backends.OpTypeAdd, lhs, rhs)
	if err != nil {
		return nil, err
	}
	shape.DType = in[0].shape.DType
	return b.add1(op, nil, in, shape)
}

// Equal implements backends.Builder.
func (b *Builder) Equal(l, r backends.Op) (backends.Op, error) {
	return b.compare(backends.OpTypeEqual, l, r)
}

// NotEqual implements backends.Builder.
func (b *Builder) NotEqual(l, r backends.Op) (backends.Op, error) {
	return b.compare(backends.OpTypeNotEqual, l, r)
}

// GreaterOrEqual implements backends.Builder.
func (b *Builder) GreaterOrEqual(l, r backends.Op) (backends.Op, error) {
	return b.compare(backends.OpTypeGreaterOrEqual, l, r)
}

// GreaterThan implements backends.Builder.
func (b *Builder) GreaterThan(l, r backends.Op) (backends.Op, error) {
	return b.compare(backends.OpTypeGreaterThan, l, r)
}

// LessOrEqual implements backends.Builder.
func (b *Builder) LessOrEqual(l, r backends.Op) (backends.Op, error) {
	return b.compare(backends.OpTypeLessOrEqual, l, r)
}

// LessThan implements backends.Builder.
func (b *Builder) LessThan(l, r backends.Op) (backends.Op, error) {
	return b.compare(backends.OpTypeLessThan, l, r)
}

// Where implements backends.Builder.
func (b *Builder) Where(cond, onTrue, onFalse backends.Op) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeWhere, cond, onTrue, onFalse)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.WhereOp(in[0].shape, in[1].shape, in[2].shape)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeWhere, nil, in, shape)
}

// Clamp implements backends.Builder: min and max are scalars or shaped like x.
func (b *Builder) Clamp(lo, x, hi backends.Op) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeClamp, lo, x, hi)
	if err != nil {
		return nil, err
	}
	for _, bound := range []*value{in[0], in[2]} {
		if bound.shape.DType != in[1].shape.DType || !(bound.shape.IsScalar() || bound.shape.Equal(in[1].shape)) {
			return nil, fmt.Errorf("Clamp bounds must be scalars or shaped like x %s, got %s", in[1].shape, bound.shape)
		}
	}
	return b.add1(backends.OpTypeClamp, nil, in, in[1].shape)
}

// ConvertDType implements backends.Builder.
func (b *Builder) ConvertDType(x backends.Op, dtype dtypes.DType) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeConvertDType, x)
	if err != nil {
		return nil, err
	}
	shape := in[0].shape.Clone()
	shape.DType = dtype
	return b.add1(backends.OpTypeConvertDType, nil, in, shape)
}

// ---- shape ops ----

// Reshape implements backends.Builder.
func (b *Builder) Reshape(x backends.Op, dims ...int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeReshape, x)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.ReshapeOp(in[0].shape, dims)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeReshape, nil, in, shape)
}

// Transpose implements backends.Builder.
func (b *Builder) Transpose(x backends.Op, perm ...int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeTranspose, x)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.TransposeOp(in[0].shape, perm)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeTranspose, slices.Clone(perm), in, shape)
}

// BroadcastInDim implements backends.Builder.
func (b *Builder) BroadcastInDim(x backends.Op, outShape shapes.Shape, axes []int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeBroadcastInDim, x)
	if err != nil {
		return nil, err
	}
	if err := shapeinference.BroadcastInDimOp(in[0].shape, outShape, axes); err != nil {
		return nil, err
	}
	if outShape.DType != in[0].shape.DType {
		return nil, fmt.Errorf("BroadcastInDim from %s to %s changes the dtype", in[0].shape, outShape)
	}
	return b.add1(backends.OpTypeBroadcastInDim, slices.Clone(axes), in, outShape)
}

// sliceAttr holds Slice's parameters.
type sliceAttr struct{ starts, limits, strides []int }

// Slice implements backends.Builder.
func (b *Builder) Slice(x backends.Op, starts, limits, strides []int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeSlice, x)
	if err != nil {
		return nil, err
	}
	if len(strides) == 0 {
		strides = make([]int, len(starts))
		for i := range strides {
			strides[i] = 1
		}
	}
	shape, err := shapeinference.SliceOp(in[0].shape, starts, limits, strides)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeSlice, sliceAttr{slices.Clone(starts), slices.Clone(limits), slices.Clone(strides)}, in, shape)
}

// Concatenate implements backends.Builder.
func (b *Builder) Concatenate(axis int, ops ...backends.Op) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeConcatenate, ops...)
	if err != nil {
		return nil, err
	}
	inShapes := make([]shapes.Shape, len(in))
	for i, v := range in {
		inShapes[i] = v.shape
	}
	shape, err := shapeinference.ConcatenateOp(inShapes, axis)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeConcatenate, axis, in, shape)
}

// Pad implements backends.Builder.
func (b *Builder) Pad(x, fill backends.Op, cfg ...backends.PadAxis) (backends.Op, error) {
	in, err := b.vals(backends.OpTypePad, x, fill)
	if err != nil {
		return nil, err
	}
	xs := in[0].shape
	if !in[1].shape.IsScalar() || in[1].shape.DType != xs.DType {
		return nil, fmt.Errorf("Pad fill value must be a scalar of %s, got %s", xs.DType, in[1].shape)
	}
	if len(cfg) > xs.Rank() {
		return nil, fmt.Errorf("Pad: %d axis configurations for %s", len(cfg), xs)
	}
	full := make([]backends.PadAxis, xs.Rank())
	copy(full, cfg)
	out := xs.Clone()
	for i, c := range full {
		d := xs.Dimensions[i]
		if c.Interior < 0 {
			return nil, fmt.Errorf("Pad: negative interior padding on axis %d", i)
		}
		n := d + c.Start + c.End
		if d > 0 {
			n += (d - 1) * c.Interior
		}
		if n < 0 {
			return nil, fmt.Errorf("Pad: axis %d of %s padded by %+v is negative", i, xs, c)
		}
		out.Dimensions[i] = n
	}
	return b.add1(backends.OpTypePad, full, in, out)
}

// Reverse implements backends.Builder.
func (b *Builder) Reverse(x backends.Op, axes ...int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeReverse, x)
	if err != nil {
		return nil, err
	}
	for _, a := range axes {
		if a < 0 || a >= in[0].shape.Rank() {
			return nil, fmt.Errorf("Reverse: axis %d out of range for %s", a, in[0].shape)
		}
	}
	return b.add1(backends.OpTypeReverse, slices.Clone(axes), in, in[0].shape)
}

// Iota implements backends.Builder.
func (b *Builder) Iota(shape shapes.Shape, axis int) (backends.Op, error) {
	if axis < 0 || axis >= shape.Rank() {
		return nil, fmt.Errorf("Iota: axis %d out of range for %s", axis, shape)
	}
	return b.add1(backends.OpTypeIota, axis, nil, shape)
}

// ---- reductions ----

func (b *Builder) reduce(op backends.OpType, x backends.Op, axes []int) (backends.Op, error) {
	in, err := b.vals(op, x)
	if err != nil {
		return nil, err
	}
	if len(axes) == 0 {
		axes = make([]int, in[0].shape.Rank())
		for i := range axes {
			axes[i] = i
		}
	}
	shape, err := shapeinference.ReduceOp(in[0].shape, axes)
	if err != nil {
		return nil, err
	}
	return b.add1(op, slices.Clone(axes), in, shape)
}

// ReduceSum implements backends.Builder.
func (b *Builder) ReduceSum(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceSum, x, axes)
}

// ReduceMax implements backends.Builder.
func (b *Builder) ReduceMax(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceMax, x, axes)
}

// ReduceMin implements backends.Builder.
func (b *Builder) ReduceMin(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceMin, x, axes)
}

// ReduceProduct implements backends.Builder.
func (b *Builder) ReduceProduct(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceProduct, x, axes)
}

// ReduceLogicalAnd implements backends.Builder.
func (b *Builder) ReduceLogicalAnd(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceLogicalAnd, x, axes)
}

// ReduceLogicalOr implements backends.Builder.
func (b *Builder) ReduceLogicalOr(x backends.Op, axes ...int) (backends.Op, error) {
	return b.reduce(backends.OpTypeReduceLogicalOr, x, axes)
}

// argMinMaxAttr holds ArgMinMax's parameters.
type argMinMaxAttr struct {
	axis  int
	isMin bool
}

// ArgMinMax implements backends.Builder.
func (b *Builder) ArgMinMax(x backends.Op, axis int, dtype dtypes.DType, isMin bool) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeArgMinMax, x)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.ArgMinMaxOp(in[0].shape, axis, dtype)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeArgMinMax, argMinMaxAttr{axis, isMin}, in, shape)
}

// windowAttr holds ReduceWindow's and SelectAndScatter's parameters.
type windowAttr struct {
	reduce          backends.ReduceOpType
	window, strides []int
	paddings        [][2]int
}

// ReduceWindow implements backends.Builder (no base or window dilation).
func (b *Builder) ReduceWindow(x backends.Op, reduce backends.ReduceOpType, window, strides, baseDil, winDil []int, paddings [][2]int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeReduceWindow, x)
	if err != nil {
		return nil, err
	}
	for _, d := range append(slices.Clone(baseDil), winDil...) {
		if d > 1 {
			return nil, fmt.Errorf("backend cpu: ReduceWindow with dilations is not implemented")
		}
	}
	rank := in[0].shape.Rank()
	if len(strides) == 0 {
		strides = slices.Clone(window)
	}
	if len(paddings) == 0 {
		paddings = make([][2]int, rank)
	}
	shape, err := shapeinference.ReduceWindowOp(in[0].shape, window, strides, nil, nil, paddings)
	if err != nil {
		return nil, err
	}
	return b.add1(backends.OpTypeReduceWindow, windowAttr{reduce, slices.Clone(window), slices.Clone(strides), slices.Clone(paddings)}, in, shape)
}

// SelectAndScatterMax implements backends.Builder.
func (b *Builder) SelectAndScatterMax(operand, source backends.Op, window, strides []int, paddings [][2]int) (backends.Op, error) {
	return b.selectAndScatter(backends.OpTypeSelectAndScatterMax, backends.ReduceOpMax, operand, source, window, strides, paddings)
}

// SelectAndScatterMin implements backends.Builder.
func (b *Builder) SelectAndScatterMin(operand, source backends.Op, window, strides []int, paddings [][2]int) (backends.Op, error) {
	return b.selectAndScatter(backends.OpTypeSelectAndScatterMin, backends.ReduceOpMin, operand, source, window, strides, paddings)
}

func (b *Builder) selectAndScatter(op backends.OpType, reduce backends.ReduceOpType, operand, source backends.Op, window, strides []int, paddings [][2]int) (backends.Op, error) {
	in, err := b.vals(op, operand, source)
	if err != nil {
		return nil, err
	}
	rank := in[0].shape.Rank()
	if len(strides) == 0 {
		strides = slices.Clone(window)
	}
	if len(paddings) == 0 {
		paddings = make([][2]int, rank)
	}
	pooled, err := shapeinference.ReduceWindowOp(in[0].shape, window, strides, nil, nil, paddings)
	if err != nil {
		return nil, err
	}
	if !pooled.Equal(in[1].shape) {
		return nil, fmt.Errorf("%s: source %s does not match the pooled shape %s", op, in[1].shape, pooled)
	}
	return b.add1(op, windowAttr{reduce, slices.Clone(window), slices.Clone(strides), slices.Clone(paddings)}, in, in[0].shape)
}

// ---- linear algebra ----

// dotAttr holds DotGeneral's parameters.
type dotAttr struct {
	lhsContract, lhsBatch, rhsContract, rhsBatch []int
}

// DotGeneral implements backends.Builder. The output is [batch..., lhs free..., rhs free...].
func (b *Builder) DotGeneral(lhs backends.Op, lhsContract, lhsBatch []int, rhs backends.Op, rhsContract, rhsBatch []int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeDotGeneral, lhs, rhs)
	if err != nil {
		return nil, err
	}
	ls, rs := in[0].shape, in[1].shape
	if ls.DType != rs.DType {
		return nil, fmt.Errorf("DotGeneral: dtypes differ: %s and %s", ls, rs)
	}
	if len(lhsContract) != len(rhsContract) || len(lhsBatch) != len(rhsBatch) {
		return nil, fmt.Errorf("DotGeneral: contracting %v/%v or batch %v/%v axes differ in number", lhsContract, rhsContract, lhsBatch, rhsBatch)
	}
	for i := range lhsContract {
		if ls.Dimensions[lhsContract[i]] != rs.Dimensions[rhsContract[i]] {
			return nil, fmt.Errorf("DotGeneral: contracting dimensions of %s (axes %v) and %s (axes %v) differ", ls, lhsContract, rs, rhsContract)
		}
	}
	var dims []int
	for i := range lhsBatch {
		if ls.Dimensions[lhsBatch[i]] != rs.Dimensions[rhsBatch[i]] {
			return nil, fmt.Errorf("DotGeneral: batch dimensions of %s (axes %v) and %s (axes %v) differ", ls, lhsBatch, rs, rhsBatch)
		}
		dims = append(dims, ls.Dimensions[lhsBatch[i]])
	}
	for a, d := range ls.Dimensions {
		if !slices.Contains(lhsContract, a) && !slices.Contains(lhsBatch, a) {
			dims = append(dims, d)
		}
	}
	for a, d := range rs.Dimensions {
		if !slices.Contains(rhsContract, a) && !slices.Contains(rhsBatch, a) {
			dims = append(dims, d)
		}
	}
	attr := dotAttr{slices.Clone(lhsContract), slices.Clone(lhsBatch), slices.Clone(rhsContract), slices.Clone(rhsBatch)}
	return b.add1(backends.OpTypeDotGeneral, attr, in, shapes.Make(ls.DType, dims...))
}

// Dot implements backends.Builder (vector·vector, matrix·vector, matrix·matrix).
func (b *Builder) Dot(lhs, rhs backends.Op) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeDot, lhs, rhs)
	if err != nil {
		return nil, err
	}
	lr := in[0].shape.Rank()
	return b.DotGeneral(lhs, []int{lr - 1}, nil, rhs, []int{0}, nil)
}

// convAttr holds ConvGeneral's parameters.
type convAttr struct {
	axes                                     backends.ConvolveAxesConfig
	strides, inputDilations, kernelDilations []int
	paddings                                 [][2]int
}

// ConvGeneral implements backends.Builder (without feature or batch groups).
func (b *Builder) ConvGeneral(input, kernel backends.Op, axes backends.ConvolveAxesConfig, strides []int, paddings [][2]int,
	inputDilations, kernelDilations []int, channelGroups, batchGroups int) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeConvGeneral, input, kernel)
	if err != nil {
		return nil, err
	}
	if channelGroups > 1 || batchGroups > 1 {
		return nil, fmt.Errorf("backend cpu: ConvGeneral with channel or batch groups is not implemented")
	}
	n := len(axes.InputSpatial)
	strides, inputDilations, kernelDilations = ones(strides, n), ones(inputDilations, n), ones(kernelDilations, n)
	if len(paddings) == 0 {
		paddings = make([][2]int, n)
	}
	shape, err := shapeinference.ConvGeneralOp(in[0].shape, in[1].shape, axes, strides, paddings, inputDilations, kernelDilations, 1, 1)
	if err != nil {
		return nil, err
	}
	attr := convAttr{axes: axes.Clone(), strides: strides, inputDilations: inputDilations, kernelDilations: kernelDilations, paddings: slices.Clone(paddings)}
	return b.add1(backends.OpTypeConvGeneral, attr, in, shape)
}

// ones returns s with non-positive entries set to 1, or n ones if s is empty.
func ones(s []int, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
		if i < len(s) && s[i] > 0 {
			out[i] = s[i]
		}
	}
	return out
}

// ---- gather and scatter ----

// gatherAttr holds Gather's parameters.
type gatherAttr struct {
	indexVectorAxis                                                 int
	offsetOutputAxes, collapsedSliceAxes, startIndexMap, sliceSizes []int
}

// Gather implements backends.Builder.
func (b *Builder) Gather(operand, indices backends.Op, indexVectorAxis int, offsetOutputAxes, collapsedSliceAxes, startIndexMap, sliceSizes []int, sorted bool) (backends.Op, error) {
	in, err := b.vals(backends.OpTypeGather, operand, indices)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.Gather(in[0].shape, in[1].shape, indexVectorAxis, offsetOutputAxes, collapsedSliceAxes, startIndexMap, sliceSizes, sorted)
	if err != nil {
		return nil, err
	}
	attr := gatherAttr{indexVectorAxis, slices.Clone(offsetOutputAxes), slices.Clone(collapsedSliceAxes), slices.Clone(startIndexMap), slices.Clone(sliceSizes)}
	return b.add1(backends.OpTypeGather, attr, in, shape)
}

// scatterAttr holds the Scatter ops' parameters.
type scatterAttr struct {
	indexVectorAxis                                                int
	updateWindowAxes, insertedWindowAxes, scatterAxesToOperandAxes []int
}

func (b *Builder) scatter(op backends.OpType, operand, indices, updates backends.Op, indexVectorAxis int, window, inserted, toOperand []int) (backends.Op, error) {
	in, err := b.vals(op, operand, indices, updates)
	if err != nil {
		return nil, err
	}
	shape, err := shapeinference.ScatterOp(in[0].shape, in[1].shape, in[2].shape, indexVectorAxis, window, inserted, toOperand)
	if err != nil {
		return nil, err
	}
	return b.add1(op, scatterAttr{indexVectorAxis, slices.Clone(window), slices.Clone(inserted), slices.Clone(toOperand)}, in, shape)
}

// ScatterSum implements backends.Builder.
func (b *Builder) ScatterSum(operand, indices, updates backends.Op, indexVectorAxis int, window, inserted, toOperand []int, _, _ bool) (backends.Op, error) {
	return b.scatter(backends.OpTypeScatterSum, operand, indices, updates, indexVectorAxis, window, inserted, toOperand)
}

// ScatterMax implements backends.Builder.
func (b *Builder) ScatterMax(operand, indices, updates backends.Op, indexVectorAxis int, window, inserted, toOperand []int, _, _ bool) (backends.Op, error) {
	return b.scatter(backends.OpTypeScatterMax, operand, indices, updates, indexVectorAxis, window, inserted, toOperand)
}

// ScatterMin implements backends.Builder.
func (b *Builder) ScatterMin(operand, indices, updates backends.Op, indexVectorAxis int, window, inserted, toOperand []int, _, _ bool) (backends.Op, error) {
	return b.scatter(backends.OpTypeScatterMin, operand, indices, updates, indexVectorAxis, window, inserted, toOperand)
}

// ---- random numbers ----

// RNGBitGenerator implements backends.Builder with SimpleGo's generator
// (math/rand/v2 PCG), so both backends draw the same bits from one state.
func (b *Builder) RNGBitGenerator(state backends.Op, shape shapes.Shape) (backends.Op, backends.Op, error) {
	in, err := b.vals(backends.OpTypeRNGBitGenerator, state)
	if err != nil {
		return nil, nil, err
	}
	if !in[0].shape.Equal(backends.RNGStateShape) {
		return nil, nil, fmt.Errorf("RNGBitGenerator: state must be %s, got %s", backends.RNGStateShape, in[0].shape)
	}
	if !isSupported(shape.DType) || shape.DType == dtypes.Bool || shape.DType.IsFloat() {
		return nil, nil, fmt.Errorf("RNGBitGenerator: cannot fill %s with random bits", shape)
	}
	n := b.add(backends.OpTypeRNGBitGenerator, nil, in, in[0].shape, shape)
	return n.outs[0], n.outs[1], nil
}

// bnAttr holds the batch-norm ops' parameters.
type bnAttr struct {
	epsilon float32
	axis    int
	// Neighbours folded into the op (foldIntoBatchNorm), as input indices,
	// 0 for none: bias, a per-feature bias that was added to the operand
	// (BatchNormForTraining adds it to the mean it reports,
	// BatchNormGradient subtracts it from the mean it is given); mask, a
	// ReLU mask through which BatchNormGradient reads its output gradient
	// (dy = mask ? g : 0).
	bias, mask int
	// sumDx marks a BatchNormGradient with a fourth output: Σ dx per
	// feature.
	sumDx bool
	// relu marks a BatchNormForTraining whose first output is ReLU(y) and
	// whose fourth is the mask y > 0.
	relu bool
}

// BatchNormForTraining implements backends.Builder: it normalizes with the
// batch mean and (biased) variance per feature and returns them too.
func (b *Builder) BatchNormForTraining(operand, scale, offset backends.Op, epsilon float32, axis int) (backends.Op, backends.Op, backends.Op, error) {
	in, err := b.vals(backends.OpTypeBatchNormForTraining, operand, scale, offset)
	if err != nil {
		return nil, nil, nil, err
	}
	feat, err := b.checkFeature(backends.OpTypeBatchNormForTraining, in[0].shape, axis, in[1:]...)
	if err != nil {
		return nil, nil, nil, err
	}
	n := b.add(backends.OpTypeBatchNormForTraining, bnAttr{epsilon: epsilon, axis: axis}, in, in[0].shape, feat, feat)
	return n.outs[0], n.outs[1], n.outs[2], nil
}

// BatchNormGradient implements backends.Builder: the gradient of
// BatchNormForTraining's normalized output with respect to the operand
// (through the batch statistics), the scale and the offset.
func (b *Builder) BatchNormGradient(operand, scale, mean, variance, gradOutput backends.Op, epsilon float32, axis int) (backends.Op, backends.Op, backends.Op, error) {
	in, err := b.vals(backends.OpTypeBatchNormGradient, operand, scale, mean, variance, gradOutput)
	if err != nil {
		return nil, nil, nil, err
	}
	feat, err := b.checkFeature(backends.OpTypeBatchNormGradient, in[0].shape, axis, in[1:4]...)
	if err != nil {
		return nil, nil, nil, err
	}
	if !in[4].shape.Equal(in[0].shape) {
		return nil, nil, nil, fmt.Errorf("BatchNormGradient: gradient %s does not match operand %s", in[4].shape, in[0].shape)
	}
	n := b.add(backends.OpTypeBatchNormGradient, bnAttr{epsilon: epsilon, axis: axis}, in, in[0].shape, feat, feat)
	return n.outs[0], n.outs[1], n.outs[2], nil
}

func (b *Builder) checkFeature(op backends.OpType, x shapes.Shape, axis int, perFeature ...*value) (shapes.Shape, error) {
	if !x.DType.IsFloat() || axis < 0 || axis >= x.Rank() {
		return shapes.Invalid(), fmt.Errorf("%s: operand %s with feature axis %d", op, x, axis)
	}
	feat := shapes.Make(x.DType, x.Dimensions[axis])
	for _, v := range perFeature {
		if !v.shape.Equal(feat) {
			return shapes.Invalid(), fmt.Errorf("%s: per-feature input %s, want %s", op, v.shape, feat)
		}
	}
	return feat, nil
}
