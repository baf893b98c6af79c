package cpu

// AVX2 loops in nets_amd64.s; callers check hasAVX2 and the length rules.

//go:noescape
func reluMask32(o *float32, m *bool, x *float32, n int)

//go:noescape
func whereZero32(o *float32, m *bool, v *float32, n int)

//go:noescape
func maxPoolRow32(o, a, b *float32, c, ow int)

//go:noescape
func maxPoolGradRow32(da, db, a, b, grad *float32, c, ow int)

//go:noescape
func bnSums32(s0, s1, x, shift *float32, c, rows int)

//go:noescape
func colSums32(s, x *float32, c, rows int)

//go:noescape
func affine32(o, x, mul, add *float32, c, rows int)

//go:noescape
func affineReLU32(o *float32, m *bool, x, mul, add *float32, c, rows int)

//go:noescape
func bnGradSums32(s0, s1, dy, x, mean, inv *float32, c, rows int)

//go:noescape
func bnGradOut32(o, dy, x, k, a, b *float32, c, rows int)
