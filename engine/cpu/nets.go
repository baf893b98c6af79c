package cpu

// Vector helpers for the memory-bound ops of small networks. Each uses the
// AVX2 loop for the largest multiple-of-8 prefix and finishes in Go.

// reluMask writes o = max(x, 0) (0 where x ≤ 0 or NaN) and m = x > 0.
func reluMask(o []float32, m []bool, x []float32) {
	n := 0
	if hasAVX2 {
		n = len(o) &^ 7
		if n > 0 {
			reluMask32(&o[0], &m[0], &x[0], n)
		}
	}
	for i := n; i < len(o); i++ {
		m[i] = x[i] > 0
		o[i] = 0
		if m[i] {
			o[i] = x[i]
		}
	}
}

// whereZero writes o = v where m, else 0.
func whereZero(o []float32, m []bool, v []float32) {
	n := 0
	if hasAVX2 {
		n = len(o) &^ 7
		if n > 0 {
			whereZero32(&o[0], &m[0], &v[0], n)
		}
	}
	for i := n; i < len(o); i++ {
		o[i] = 0
		if m[i] {
			o[i] = v[i]
		}
	}
}

// isZeroConstant reports whether v is a constant scalar zero.
func isZeroConstant(v *value) bool {
	if v.node.op.String() != "Constant" || !v.shape.IsScalar() {
		return false
	}
	switch c := v.node.attr.(type) {
	case []float32:
		return c[0] == 0
	case []float64:
		return c[0] == 0
	}
	return false
}
