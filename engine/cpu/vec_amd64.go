package cpu

// AVX float32 loops in vec_amd64.s: o = a OP b, a OP s, s OP b over n elements.

//go:noescape
func addVV32(o, a, b *float32, n int)

//go:noescape
func addVS32(o, a *float32, s float32, n int)

//go:noescape
func addSV32(o *float32, s float32, b *float32, n int)

//go:noescape
func subVV32(o, a, b *float32, n int)

//go:noescape
func subVS32(o, a *float32, s float32, n int)

//go:noescape
func subSV32(o *float32, s float32, b *float32, n int)

//go:noescape
func mulVV32(o, a, b *float32, n int)

//go:noescape
func mulVS32(o, a *float32, s float32, n int)

//go:noescape
func mulSV32(o *float32, s float32, b *float32, n int)

//go:noescape
func divVV32(o, a, b *float32, n int)

//go:noescape
func divVS32(o, a *float32, s float32, n int)

//go:noescape
func divSV32(o *float32, s float32, b *float32, n int)

// vecVV computes o = a OP b for op in + − × ÷ with AVX; it reports false if
// it cannot (no AVX2, or another op).
func vecVV(op byte, o, a, b []float32) bool {
	if !hasAVX2 || len(o) == 0 {
		return false
	}
	a, b = a[:len(o)], b[:len(o)]
	switch op {
	case '+':
		addVV32(&o[0], &a[0], &b[0], len(o))
	case '-':
		subVV32(&o[0], &a[0], &b[0], len(o))
	case '*':
		mulVV32(&o[0], &a[0], &b[0], len(o))
	case '/':
		divVV32(&o[0], &a[0], &b[0], len(o))
	default:
		return false
	}
	return true
}

// vecVS computes o = a OP s.
func vecVS(op byte, o, a []float32, s float32) bool {
	if !hasAVX2 || len(o) == 0 {
		return false
	}
	a = a[:len(o)]
	switch op {
	case '+':
		addVS32(&o[0], &a[0], s, len(o))
	case '-':
		subVS32(&o[0], &a[0], s, len(o))
	case '*':
		mulVS32(&o[0], &a[0], s, len(o))
	case '/':
		divVS32(&o[0], &a[0], s, len(o))
	default:
		return false
	}
	return true
}

// vecSV computes o = s OP b.
func vecSV(op byte, o []float32, s float32, b []float32) bool {
	if !hasAVX2 || len(o) == 0 {
		return false
	}
	b = b[:len(o)]
	switch op {
	case '+':
		addSV32(&o[0], s, &b[0], len(o))
	case '-':
		subSV32(&o[0], s, &b[0], len(o))
	case '*':
		mulSV32(&o[0], s, &b[0], len(o))
	case '/':
		divSV32(&o[0], s, &b[0], len(o))
	default:
		return false
	}
	return true
}

//go:noescape
func fill32(o *float32, v float32, n int)

// fill sets every element of o to v.
func fill[T any](o []T, v T) {
	if o32, ok := any(o).([]float32); ok && hasAVX2 && len(o) > 0 {
		fill32(&o32[0], any(v).(float32), len(o))
		return
	}
	for i := range o {
		o[i] = v
	}
}

//go:noescape
func repeat32(o, src *float32, stride, k, count int)

// repeat writes count runs of k copies to o: run c repeats src[c·stride].
func repeat[T any](o, src []T, stride, k, count int) {
	if count == 0 || k == 0 {
		return
	}
	if o32, ok := any(o).([]float32); ok && hasAVX2 {
		_ = o32[count*k-1]
		s32 := any(src).([]float32)
		_ = s32[(count-1)*stride]
		repeat32(&o32[0], &s32[0], stride, k, count)
		return
	}
	for c := range count {
		v := src[c*stride]
		run := o[c*k : (c+1)*k]
		for j := range run {
			run[j] = v
		}
	}
}

//go:noescape
func sumToF64x(x *float32, n int) float64

//go:noescape
func accToF64x(acc *float64, x *float32, n int)

// sumToF64 returns the sum of x in float64 (16 partial sums, added in a
// fixed order).
func sumToF64(x []float32) float64 {
	if hasAVX2 && len(x) > 0 {
		return sumToF64x(&x[0], len(x))
	}
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	return s
}

//go:noescape
func rowSums32(acc *float64, x *float32, n, rows int)

// addRowSums adds the float64 sum of row r of x (rows of n elements) to
// acc[r], for every r < len(acc).
func addRowSums(acc []float64, x []float32, n int) {
	if len(acc) == 0 || n == 0 {
		return
	}
	_ = x[len(acc)*n-1]
	if hasAVX2 {
		rowSums32(&acc[0], &x[0], n, len(acc))
		return
	}
	for r := range acc {
		acc[r] += sumToF64(x[r*n : (r+1)*n])
	}
}

// accToF64 adds x to acc in float64 (len(x) ≥ len(acc)).
func accToF64(acc []float64, x []float32) {
	if hasAVX2 && len(acc) > 0 {
		_ = x[len(acc)-1]
		accToF64x(&acc[0], &x[0], len(acc))
		return
	}
	x = x[:len(acc)]
	for i, v := range x {
		acc[i] += float64(v)
	}
}

//go:noescape
func axpy32(y *float32, a float32, x *float32, n int)

// axpy adds a·x to y (len(x) ≥ len(y)).
func axpy(y []float32, a float32, x []float32) {
	if len(y) == 0 {
		return
	}
	if hasAVX2 {
		axpy32(&y[0], a, &x[0], len(y))
		return
	}
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}
