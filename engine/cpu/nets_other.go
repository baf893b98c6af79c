//go:build !amd64

package cpu

// Portable stand-ins for the assembly loops (never called: hasAVX2 is false).

func reluMask32(o *float32, m *bool, x *float32, n int)                   {}
func whereZero32(o *float32, m *bool, v *float32, n int)                  {}
func maxPoolRow32(o, a, b *float32, c, ow int)                            {}
func maxPoolGradRow32(da, db, a, b, grad *float32, c, ow int)             {}
func bnSums32(s0, s1, x, shift *float32, c, rows int)                     {}
func colSums32(s, x *float32, c, rows int)                                {}
func affine32(o, x, mul, add *float32, c, rows int)                       {}
func affineReLU32(o *float32, m *bool, x, mul, add *float32, c, rows int) {}
func bnGradSums32(s0, s1, dy, x, mean, inv *float32, c, rows int)         {}
func bnGradOut32(o, dy, x, k, a, b *float32, c, rows int)                 {}
