package cpu

import (
	"fmt"
	"math"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// binFuncs are the three loop shapes of a binary op: vector–vector,
// vector–scalar and scalar–vector.
type binFuncs[T, O any] struct {
	vv func(o []O, a, b []T)
	vs func(o []O, a []T, s T)
	sv func(o []O, s T, b []T)
}

func mk[T, O any](f func(a, b T) O) binFuncs[T, O] {
	// Generic fallback: slower (a call per element); hot ops have their own loops.
	return binFuncs[T, O]{
		vv: func(o []O, a, b []T) {
			for i := range o {
				o[i] = f(a[i], b[i])
			}
		},
		vs: func(o []O, a []T, s T) {
			for i := range o {
				o[i] = f(a[i], s)
			}
		},
		sv: func(o []O, s T, b []T) {
			for i := range o {
				o[i] = f(s, b[i])
			}
		},
	}
}

func addVV[T number](o, a, b []T) {
	if o32, ok := any(o).([]float32); ok && vecVV('+', o32, any(a).([]float32), any(b).([]float32)) {
		return
	}
	b = b[:len(o)]
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] + b[i]
	}
}
func addVS[T number](o, a []T, s T) {
	if o32, ok := any(o).([]float32); ok && vecVS('+', o32, any(a).([]float32), any(s).(float32)) {
		return
	}
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] + s
	}
}
func addSV[T number](o []T, s T, b []T) { addVS(o, b, s) }
func subVV[T number](o, a, b []T) {
	if o32, ok := any(o).([]float32); ok && vecVV('-', o32, any(a).([]float32), any(b).([]float32)) {
		return
	}
	b = b[:len(o)]
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] - b[i]
	}
}
func subVS[T number](o, a []T, s T) {
	if o32, ok := any(o).([]float32); ok && vecVS('-', o32, any(a).([]float32), any(s).(float32)) {
		return
	}
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] - s
	}
}
func subSV[T number](o []T, s T, b []T) {
	if o32, ok := any(o).([]float32); ok && vecSV('-', o32, any(s).(float32), any(b).([]float32)) {
		return
	}
	b = b[:len(o)]
	for i := range o {
		o[i] = s - b[i]
	}
}
func mulVV[T number](o, a, b []T) {
	if o32, ok := any(o).([]float32); ok && vecVV('*', o32, any(a).([]float32), any(b).([]float32)) {
		return
	}
	b = b[:len(o)]
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] * b[i]
	}
}
func mulVS[T number](o, a []T, s T) {
	if o32, ok := any(o).([]float32); ok && vecVS('*', o32, any(a).([]float32), any(s).(float32)) {
		return
	}
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] * s
	}
}
func mulSV[T number](o []T, s T, b []T) { mulVS(o, b, s) }
func divVV[T number](o, a, b []T) {
	if o32, ok := any(o).([]float32); ok && vecVV('/', o32, any(a).([]float32), any(b).([]float32)) {
		return
	}
	b = b[:len(o)]
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] / b[i]
	}
}
func divVS[T number](o, a []T, s T) {
	if o32, ok := any(o).([]float32); ok && vecVS('/', o32, any(a).([]float32), any(s).(float32)) {
		return
	}
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] / s
	}
}
func divSV[T number](o []T, s T, b []T) {
	if o32, ok := any(o).([]float32); ok && vecSV('/', o32, any(s).(float32), any(b).([]float32)) {
		return
	}
	b = b[:len(o)]
	for i := range o {
		o[i] = s / b[i]
	}
}

// maxOf and minOf propagate NaN, as XLA does.
func maxOf[T number](a, b T) T {
	if a != a || a > b {
		return a
	}
	return b
}
func minOf[T number](a, b T) T {
	if a != a || a < b {
		return a
	}
	return b
}
func maxVV[T number](o, a, b []T) {
	b = b[:len(o)]
	a = a[:len(o)]
	for i := range o {
		o[i] = maxOf(a[i], b[i])
	}
}
func maxVS[T number](o, a []T, s T) {
	a = a[:len(o)]
	for i := range o {
		o[i] = maxOf(a[i], s)
	}
}
func maxSV[T number](o []T, s T, b []T) { maxVS(o, b, s) }
func minVV[T number](o, a, b []T) {
	b = b[:len(o)]
	a = a[:len(o)]
	for i := range o {
		o[i] = minOf(a[i], b[i])
	}
}
func minVS[T number](o, a []T, s T) {
	a = a[:len(o)]
	for i := range o {
		o[i] = minOf(a[i], s)
	}
}
func minSV[T number](o []T, s T, b []T) { minVS(o, b, s) }

func numberFuncs[T number](op backends.OpType) (binFuncs[T, T], bool) {
	switch op {
	case backends.OpTypeAdd:
		return binFuncs[T, T]{addVV[T], addVS[T], addSV[T]}, true
	case backends.OpTypeSub:
		return binFuncs[T, T]{subVV[T], subVS[T], subSV[T]}, true
	case backends.OpTypeMul:
		return binFuncs[T, T]{mulVV[T], mulVS[T], mulSV[T]}, true
	case backends.OpTypeDiv:
		return binFuncs[T, T]{divVV[T], divVS[T], divSV[T]}, true
	case backends.OpTypeMax:
		return binFuncs[T, T]{maxVV[T], maxVS[T], maxSV[T]}, true
	case backends.OpTypeMin:
		return binFuncs[T, T]{minVV[T], minVS[T], minSV[T]}, true
	}
	return binFuncs[T, T]{}, false
}

func floatFuncs[T floating](op backends.OpType) (binFuncs[T, T], bool) {
	if f, ok := numberFuncs[T](op); ok {
		return f, true
	}
	switch op {
	case backends.OpTypePow:
		return mk(func(a, b T) T { return T(math.Pow(float64(a), float64(b))) }), true
	case backends.OpTypeRem:
		return mk(func(a, b T) T { return T(math.Mod(float64(a), float64(b))) }), true
	}
	return binFuncs[T, T]{}, false
}

func intFuncs[T integer](op backends.OpType) (binFuncs[T, T], bool) {
	if f, ok := numberFuncs[T](op); ok {
		return f, true
	}
	switch op {
	case backends.OpTypeRem:
		return mk(func(a, b T) T { return a % b }), true
	case backends.OpTypePow:
		return mk(func(a, b T) T {
			r := T(1)
			for ; b > 0; b-- {
				r *= a
			}
			return r
		}), true
	case backends.OpTypeBitwiseAnd:
		return mk(func(a, b T) T { return a & b }), true
	case backends.OpTypeBitwiseOr:
		return mk(func(a, b T) T { return a | b }), true
	case backends.OpTypeBitwiseXor:
		return mk(func(a, b T) T { return a ^ b }), true
	case backends.OpTypeShiftLeft:
		return mk(func(a, b T) T { return a << uint64(b) }), true
	case backends.OpTypeShiftRightArithmetic:
		return mk(func(a, b T) T { return a >> uint64(b) }), true
	}
	return binFuncs[T, T]{}, false
}

func gtVV[T number](o []bool, a, b []T) {
	a, b = a[:len(o)], b[:len(o)]
	for i := range o {
		o[i] = a[i] > b[i]
	}
}
func gtVS[T number](o []bool, a []T, s T) {
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] > s
	}
}
func gtSV[T number](o []bool, s T, b []T) {
	b = b[:len(o)]
	for i := range o {
		o[i] = s > b[i]
	}
}
func geVV[T number](o []bool, a, b []T) {
	a, b = a[:len(o)], b[:len(o)]
	for i := range o {
		o[i] = a[i] >= b[i]
	}
}
func geVS[T number](o []bool, a []T, s T) {
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] >= s
	}
}
func geSV[T number](o []bool, s T, b []T) {
	b = b[:len(o)]
	for i := range o {
		o[i] = s >= b[i]
	}
}
func eqVV[T number](o []bool, a, b []T) {
	a, b = a[:len(o)], b[:len(o)]
	for i := range o {
		o[i] = a[i] == b[i]
	}
}
func eqVS[T number](o []bool, a []T, s T) {
	a = a[:len(o)]
	for i := range o {
		o[i] = a[i] == s
	}
}
func eqSV[T number](o []bool, s T, b []T) { eqVS(o, b, s) }

// swapped turns a comparison's loops into those of the mirrored comparison
// (a < b is b > a).
func swapped[T any](f binFuncs[T, bool]) binFuncs[T, bool] {
	return binFuncs[T, bool]{
		vv: func(o []bool, a, b []T) { f.vv(o, b, a) },
		vs: func(o []bool, a []T, s T) { f.sv(o, s, a) },
		sv: func(o []bool, s T, b []T) { f.vs(o, b, s) },
	}
}

func compareFuncs[T number](op backends.OpType) (binFuncs[T, bool], bool) {
	gt := binFuncs[T, bool]{gtVV[T], gtVS[T], gtSV[T]}
	ge := binFuncs[T, bool]{geVV[T], geVS[T], geSV[T]}
	switch op {
	case backends.OpTypeEqual:
		return binFuncs[T, bool]{eqVV[T], eqVS[T], eqSV[T]}, true
	case backends.OpTypeNotEqual:
		return mk(func(a, b T) bool { return a != b }), true
	case backends.OpTypeGreaterThan:
		return gt, true
	case backends.OpTypeGreaterOrEqual:
		return ge, true
	case backends.OpTypeLessThan:
		return swapped(gt), true
	case backends.OpTypeLessOrEqual:
		return swapped(ge), true
	}
	return binFuncs[T, bool]{}, false
}

func boolFuncs(op backends.OpType) (binFuncs[bool, bool], bool) {
	switch op {
	case backends.OpTypeLogicalAnd, backends.OpTypeBitwiseAnd:
		return mk(func(a, b bool) bool { return a && b }), true
	case backends.OpTypeLogicalOr, backends.OpTypeBitwiseOr:
		return mk(func(a, b bool) bool { return a || b }), true
	case backends.OpTypeLogicalXor, backends.OpTypeBitwiseXor, backends.OpTypeNotEqual:
		return mk(func(a, b bool) bool { return a != b }), true
	case backends.OpTypeEqual:
		return mk(func(a, b bool) bool { return a == b }), true
	}
	return binFuncs[bool, bool]{}, false
}

// operandDims returns the dims a broadcasting operand contributes: none for
// a scalar.
func operandDims(s shapes.Shape) []int {
	if s.IsScalar() {
		return nil
	}
	return s.Dimensions
}

// runBinary applies f to a and b broadcast to out, in parallel.
func runBinary[T, O any](threads *team, f binFuncs[T, O], o []O, a, b []T, aDims, bDims, outDims []int) {
	if len(outDims) == 0 {
		outDims = []int{}
	}
	split := splitPoint(outDims, aDims, bDims)
	pa, pb := newBcast(aDims, outDims, split), newBcast(bDims, outDims, split)
	chunk := pa.chunk
	nChunks := product(outDims[:split])
	grain := max(1, elementGrain/max(chunk, 1))
	parallelFor(threads, nChunks, grain, func(from, to int) {
		forChunks(from, to, []bcast{pa, pb}, func(k int, offs []int) {
			oc := o[k*chunk : (k+1)*chunk]
			switch {
			case pa.splat && pb.splat:
				f.vs(oc[:1], a[offs[0]:offs[0]+1], b[offs[1]])
				for i := 1; i < len(oc); i++ {
					oc[i] = oc[0]
				}
			case pa.splat:
				f.sv(oc, a[offs[0]], b[offs[1]:])
			case pb.splat:
				f.vs(oc, a[offs[0]:], b[offs[1]])
			default:
				f.vv(oc, a[offs[0]:], b[offs[1]:])
			}
		})
	})
}

// outputFor returns a buffer for n's output, reusing an input if allowed.
func outputFor(x *execution, n *node, in []*Buffer) *Buffer {
	shape := n.outs[0].shape
	for i := range in {
		if buf := x.reusable(in, i, shape); buf != nil {
			return buf
		}
	}
	return x.alloc(shape)
}

func binaryKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	out := outputFor(x, n, in)
	a, b := in[0], in[1]
	ad, bd, od := operandDims(a.shape), operandDims(b.shape), out.shape.Dimensions
	op := n.op
	th := x.b.team
	switch o := out.flat.(type) {
	case []float32:
		if f, ok := floatFuncs[float32](op); ok {
			runBinary(th, f, o, a.flat.([]float32), b.flat.([]float32), ad, bd, od)
			return []*Buffer{out}, nil
		}
	case []float64:
		if f, ok := floatFuncs[float64](op); ok {
			runBinary(th, f, o, a.flat.([]float64), b.flat.([]float64), ad, bd, od)
			return []*Buffer{out}, nil
		}
	case []int32:
		return intBinary(th, op, o, a.flat.([]int32), b.flat.([]int32), ad, bd, od, out)
	case []int64:
		return intBinary(th, op, o, a.flat.([]int64), b.flat.([]int64), ad, bd, od, out)
	case []uint32:
		if op == backends.OpTypeShiftRightLogical {
			op = backends.OpTypeShiftRightArithmetic // unsigned: the same
		}
		return intBinary(th, op, o, a.flat.([]uint32), b.flat.([]uint32), ad, bd, od, out)
	case []uint64:
		if op == backends.OpTypeShiftRightLogical {
			op = backends.OpTypeShiftRightArithmetic
		}
		return intBinary(th, op, o, a.flat.([]uint64), b.flat.([]uint64), ad, bd, od, out)
	case []uint8:
		return intBinary(th, op, o, a.flat.([]uint8), b.flat.([]uint8), ad, bd, od, out)
	case []int8:
		return intBinary(th, op, o, a.flat.([]int8), b.flat.([]int8), ad, bd, od, out)
	case []int16:
		return intBinary(th, op, o, a.flat.([]int16), b.flat.([]int16), ad, bd, od, out)
	case []uint16:
		return intBinary(th, op, o, a.flat.([]uint16), b.flat.([]uint16), ad, bd, od, out)
	case []bool:
		if f, ok := boolFuncs(op); ok {
			runBinary(th, f, o, a.flat.([]bool), b.flat.([]bool), ad, bd, od)
			return []*Buffer{out}, nil
		}
	}
	return nil, fmt.Errorf("%s is not implemented for %s", n.op, out.shape.DType)
}

func intBinary[T integer](th *team, op backends.OpType, o, a, b []T, ad, bd, od []int, out *Buffer) ([]*Buffer, error) {
	if op == backends.OpTypeShiftRightLogical {
		// Signed types: shift the unsigned bit pattern.
		f := mk(func(a, b T) T { return T(uint64(a) & (1<<(8*sizeOf[T]()) - 1) >> uint64(b)) })
		runBinary(th, f, o, a, b, ad, bd, od)
		return []*Buffer{out}, nil
	}
	f, ok := intFuncs[T](op)
	if !ok {
		return nil, fmt.Errorf("%s is not implemented for %s", op, out.shape.DType)
	}
	runBinary(th, f, o, a, b, ad, bd, od)
	return []*Buffer{out}, nil
}

func sizeOf[T integer]() int {
	var z T
	switch any(z).(type) {
	case int8, uint8:
		return 1
	case int16, uint16:
		return 2
	case int32, uint32:
		return 4
	}
	return 8
}

func compareKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	out := x.alloc(n.outs[0].shape)
	o := out.flat.([]bool)
	a, b := in[0], in[1]
	ad, bd, od := operandDims(a.shape), operandDims(b.shape), out.shape.Dimensions
	th := x.b.team
	var ok bool
	switch av := a.flat.(type) {
	case []float32:
		ok = compare(th, n.op, o, av, b.flat.([]float32), ad, bd, od)
	case []float64:
		ok = compare(th, n.op, o, av, b.flat.([]float64), ad, bd, od)
	case []int32:
		ok = compare(th, n.op, o, av, b.flat.([]int32), ad, bd, od)
	case []int64:
		ok = compare(th, n.op, o, av, b.flat.([]int64), ad, bd, od)
	case []uint32:
		ok = compare(th, n.op, o, av, b.flat.([]uint32), ad, bd, od)
	case []uint64:
		ok = compare(th, n.op, o, av, b.flat.([]uint64), ad, bd, od)
	case []uint8:
		ok = compare(th, n.op, o, av, b.flat.([]uint8), ad, bd, od)
	case []int8:
		ok = compare(th, n.op, o, av, b.flat.([]int8), ad, bd, od)
	case []int16:
		ok = compare(th, n.op, o, av, b.flat.([]int16), ad, bd, od)
	case []uint16:
		ok = compare(th, n.op, o, av, b.flat.([]uint16), ad, bd, od)
	case []bool:
		var f binFuncs[bool, bool]
		if f, ok = boolFuncs(n.op); ok && (n.op == backends.OpTypeEqual || n.op == backends.OpTypeNotEqual) {
			runBinary(th, f, o, av, b.flat.([]bool), ad, bd, od)
		} else {
			ok = false
		}
	}
	if !ok {
		x.b.release(out)
		return nil, fmt.Errorf("%s is not implemented for %s", n.op, a.shape.DType)
	}
	return []*Buffer{out}, nil
}

func compare[T number](th *team, op backends.OpType, o []bool, a, b []T, ad, bd, od []int) bool {
	f, ok := compareFuncs[T](op)
	if ok {
		runBinary(th, f, o, a, b, ad, bd, od)
	}
	return ok
}

// ---- unary ----

func mapFloat[T floating](th *team, o, a []T, f func(T) T) {
	parallelFor(th, len(o), elementGrain, func(from, to int) {
		oo, aa := o[from:to], a[from:to]
		for i := range oo {
			oo[i] = f(aa[i])
		}
	})
}

func floatUnary[T floating](op backends.OpType) func(T) T {
	switch op {
	case backends.OpTypeNeg:
		return func(v T) T { return -v }
	case backends.OpTypeAbs:
		return func(v T) T { return T(math.Abs(float64(v))) }
	case backends.OpTypeExp:
		return func(v T) T { return T(math.Exp(float64(v))) }
	case backends.OpTypeExpm1:
		return func(v T) T { return T(math.Expm1(float64(v))) }
	case backends.OpTypeLog:
		return func(v T) T { return T(math.Log(float64(v))) }
	case backends.OpTypeLog1p:
		return func(v T) T { return T(math.Log1p(float64(v))) }
	case backends.OpTypeSqrt:
		return func(v T) T { return T(math.Sqrt(float64(v))) }
	case backends.OpTypeRsqrt:
		return func(v T) T { return T(1 / math.Sqrt(float64(v))) }
	case backends.OpTypeFloor:
		return func(v T) T { return T(math.Floor(float64(v))) }
	case backends.OpTypeCeil:
		return func(v T) T { return T(math.Ceil(float64(v))) }
	case backends.OpTypeRound:
		return func(v T) T { return T(math.RoundToEven(float64(v))) }
	case backends.OpTypeSign:
		return func(v T) T {
			switch {
			case v > 0:
				return 1
			case v < 0:
				return -1
			}
			return v // ±0 and NaN
		}
	case backends.OpTypeLogistic:
		return func(v T) T {
			if v >= 0 {
				return T(1 / (1 + math.Exp(-float64(v))))
			}
			e := math.Exp(float64(v))
			return T(e / (1 + e))
		}
	case backends.OpTypeTanh:
		return func(v T) T { return T(math.Tanh(float64(v))) }
	case backends.OpTypeErf:
		return func(v T) T { return T(math.Erf(float64(v))) }
	case backends.OpTypeCos:
		return func(v T) T { return T(math.Cos(float64(v))) }
	case backends.OpTypeSin:
		return func(v T) T { return T(math.Sin(float64(v))) }
	}
	return nil
}

func intUnary[T integer](op backends.OpType) func(T) T {
	switch op {
	case backends.OpTypeNeg:
		return func(v T) T { return -v }
	case backends.OpTypeAbs:
		return func(v T) T {
			if v < 0 {
				return -v
			}
			return v
		}
	case backends.OpTypeSign:
		return func(v T) T {
			switch {
			case v > 0:
				return 1
			case v < 0:
				return ^T(0) // −1 for signed types
			}
			return 0
		}
	case backends.OpTypeBitwiseNot:
		return func(v T) T { return ^v }
	}
	return nil
}

func mapInt[T integer](th *team, op backends.OpType, o, a []T) bool {
	f := intUnary[T](op)
	if f == nil {
		return false
	}
	parallelFor(th, len(o), elementGrain, func(from, to int) {
		for i := from; i < to; i++ {
			o[i] = f(a[i])
		}
	})
	return true
}

func unaryKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	out := outputFor(x, n, in)
	th := x.b.team
	ok := true
	switch o := out.flat.(type) {
	case []float32:
		if f := floatUnary[float32](n.op); f != nil {
			if n.op == backends.OpTypeNeg {
				a := in[0].flat.([]float32)
				parallelFor(th, len(o), elementGrain, func(from, to int) {
					for i := from; i < to; i++ {
						o[i] = -a[i]
					}
				})
			} else {
				mapFloat(th, o, in[0].flat.([]float32), f)
			}
		} else {
			ok = false
		}
	case []float64:
		if f := floatUnary[float64](n.op); f != nil {
			mapFloat(th, o, in[0].flat.([]float64), f)
		} else {
			ok = false
		}
	case []int32:
		ok = mapInt(th, n.op, o, in[0].flat.([]int32))
	case []int64:
		ok = mapInt(th, n.op, o, in[0].flat.([]int64))
	case []uint32:
		ok = mapInt(th, n.op, o, in[0].flat.([]uint32))
	case []uint64:
		ok = mapInt(th, n.op, o, in[0].flat.([]uint64))
	case []uint8:
		ok = mapInt(th, n.op, o, in[0].flat.([]uint8))
	case []int8:
		ok = mapInt(th, n.op, o, in[0].flat.([]int8))
	case []bool:
		if n.op == backends.OpTypeLogicalNot || n.op == backends.OpTypeBitwiseNot {
			a := in[0].flat.([]bool)
			for i := range o {
				o[i] = !a[i]
			}
		} else {
			ok = false
		}
	default:
		ok = false
	}
	if !ok {
		x.b.release(out)
		return nil, fmt.Errorf("%s is not implemented for %s", n.op, out.shape.DType)
	}
	return []*Buffer{out}, nil
}

func predicateKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	out := x.alloc(n.outs[0].shape)
	o := out.flat.([]bool)
	test := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if n.op == backends.OpTypeIsNaN {
		test = math.IsNaN
	}
	switch a := in[0].flat.(type) {
	case []float32:
		for i, v := range a {
			o[i] = test(float64(v))
		}
	case []float64:
		for i, v := range a {
			o[i] = test(v)
		}
	}
	return []*Buffer{out}, nil
}

// ---- select, clamp, convert ----

func whereKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	shape := n.outs[0].shape
	var out *Buffer
	for i := 1; i < 3 && out == nil; i++ {
		out = x.reusable(in, i, shape)
	}
	if out == nil {
		out = x.alloc(shape)
	}
	od := shape.Dimensions
	cd, td, fd := operandDims(in[0].shape), operandDims(in[1].shape), operandDims(in[2].shape)
	split := splitPoint(od, cd, td, fd)
	plans := []bcast{newBcast(cd, od, split), newBcast(td, od, split), newBcast(fd, od, split)}
	cond := in[0].flat.([]bool)
	var err error
	switch o := out.flat.(type) {
	case []float32:
		where(x.b.team, o, cond, in[1].flat.([]float32), in[2].flat.([]float32), plans, od, split)
	case []float64:
		where(x.b.team, o, cond, in[1].flat.([]float64), in[2].flat.([]float64), plans, od, split)
	case []int32:
		where(x.b.team, o, cond, in[1].flat.([]int32), in[2].flat.([]int32), plans, od, split)
	case []int64:
		where(x.b.team, o, cond, in[1].flat.([]int64), in[2].flat.([]int64), plans, od, split)
	case []uint32:
		where(x.b.team, o, cond, in[1].flat.([]uint32), in[2].flat.([]uint32), plans, od, split)
	case []uint64:
		where(x.b.team, o, cond, in[1].flat.([]uint64), in[2].flat.([]uint64), plans, od, split)
	case []bool:
		where(x.b.team, o, cond, in[1].flat.([]bool), in[2].flat.([]bool), plans, od, split)
	default:
		err = fmt.Errorf("Where is not implemented for %s", shape.DType)
	}
	if err != nil {
		x.b.release(out)
		return nil, err
	}
	return []*Buffer{out}, nil
}

func where[T any](th *team, o []T, c []bool, t, f []T, plans []bcast, od []int, split int) {
	chunk := plans[0].chunk
	nChunks := product(od[:split])
	parallelFor(th, nChunks, max(1, elementGrain/max(chunk, 1)), func(from, to int) {
		forChunks(from, to, plans, func(k int, offs []int) {
			base := k * chunk
			if !plans[0].splat {
				oo, cc := o[base:base+chunk], c[offs[0]:offs[0]+chunk]
				if o32, ok := any(oo).([]float32); ok && !plans[1].splat && plans[2].splat && any(f[offs[2]]).(float32) == 0 {
					whereZero(o32, cc, any(t[offs[1]:offs[1]+chunk]).([]float32))
					return
				}
				switch {
				case !plans[1].splat && !plans[2].splat:
					tt, ff := t[offs[1]:offs[1]+chunk], f[offs[2]:offs[2]+chunk]
					for i := range oo {
						if cc[i] {
							oo[i] = tt[i]
						} else {
							oo[i] = ff[i]
						}
					}
					return
				case !plans[1].splat:
					tt, fv := t[offs[1]:offs[1]+chunk], f[offs[2]]
					for i := range oo {
						if cc[i] {
							oo[i] = tt[i]
						} else {
							oo[i] = fv
						}
					}
					return
				case !plans[2].splat:
					tv, ff := t[offs[1]], f[offs[2]:offs[2]+chunk]
					for i := range oo {
						if cc[i] {
							oo[i] = tv
						} else {
							oo[i] = ff[i]
						}
					}
					return
				}
			}
			for i := range chunk {
				ci, ti, fi := offs[0], offs[1], offs[2]
				if !plans[0].splat {
					ci += i
				}
				if !plans[1].splat {
					ti += i
				}
				if !plans[2].splat {
					fi += i
				}
				if c[ci] {
					o[base+i] = t[ti]
				} else {
					o[base+i] = f[fi]
				}
			}
		})
	})
}

func clampKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	out := x.reusable(in, 1, n.outs[0].shape)
	if out == nil {
		out = x.alloc(n.outs[0].shape)
	}
	switch o := out.flat.(type) {
	case []float32:
		clamp(o, in[0].flat.([]float32), in[1].flat.([]float32), in[2].flat.([]float32))
	case []float64:
		clamp(o, in[0].flat.([]float64), in[1].flat.([]float64), in[2].flat.([]float64))
	case []int32:
		clamp(o, in[0].flat.([]int32), in[1].flat.([]int32), in[2].flat.([]int32))
	case []int64:
		clamp(o, in[0].flat.([]int64), in[1].flat.([]int64), in[2].flat.([]int64))
	default:
		return nil, fmt.Errorf("Clamp is not implemented for %s", out.shape.DType)
	}
	return []*Buffer{out}, nil
}

func clamp[T number](o, lo, v, hi []T) {
	for i := range o {
		l, h := lo[0], hi[0]
		if len(lo) > 1 {
			l = lo[i]
		}
		if len(hi) > 1 {
			h = hi[i]
		}
		o[i] = minOf(maxOf(v[i], l), h)
	}
}

func convertKernel(x *execution, n *node, in []*Buffer) ([]*Buffer, error) {
	out := x.alloc(n.outs[0].shape)
	if err := convertFlat(out.flat, in[0].flat); err != nil {
		x.b.release(out)
		return nil, err
	}
	return []*Buffer{out}, nil
}

// convertFlat converts src's elements into dst's element type.
func convertFlat(dst, src any) error {
	switch s := src.(type) {
	case []float32:
		return convertFrom(dst, s)
	case []float64:
		return convertFrom(dst, s)
	case []int8:
		return convertFrom(dst, s)
	case []int16:
		return convertFrom(dst, s)
	case []int32:
		return convertFrom(dst, s)
	case []int64:
		return convertFrom(dst, s)
	case []uint8:
		return convertFrom(dst, s)
	case []uint16:
		return convertFrom(dst, s)
	case []uint32:
		return convertFrom(dst, s)
	case []uint64:
		return convertFrom(dst, s)
	case []bool:
		n := make([]uint8, len(s))
		for i, v := range s {
			if v {
				n[i] = 1
			}
		}
		return convertFrom(dst, n)
	}
	return fmt.Errorf("ConvertDType from %T is not implemented", src)
}

func convertFrom[S number](dst any, s []S) error {
	switch d := dst.(type) {
	case []float32:
		convertTo(d, s)
	case []float64:
		convertTo(d, s)
	case []int8:
		convertTo(d, s)
	case []int16:
		convertTo(d, s)
	case []int32:
		convertTo(d, s)
	case []int64:
		convertTo(d, s)
	case []uint8:
		convertTo(d, s)
	case []uint16:
		convertTo(d, s)
	case []uint32:
		convertTo(d, s)
	case []uint64:
		convertTo(d, s)
	case []bool:
		for i, v := range s {
			d[i] = v != 0
		}
	default:
		return fmt.Errorf("ConvertDType to %T is not implemented", dst)
	}
	return nil
}

func convertTo[D, S number](d []D, s []S) {
	for i, v := range s {
		d[i] = D(v)
	}
}
