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
