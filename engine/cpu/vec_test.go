package cpu

import (
	"math/rand/v2"
	"testing"
)

// TestVectorLoops checks the float32 element loops (AVX where available)
// against plain Go for every length up to 99, covering each tail path.
func TestVectorLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ops := []struct {
		name string
		vv   func(o, a, b []float32)
		vs   func(o, a []float32, s float32)
		sv   func(o []float32, s float32, b []float32)
		f    func(a, b float32) float32
	}{
		{"add", addVV[float32], addVS[float32], addSV[float32], func(a, b float32) float32 { return a + b }},
		{"sub", subVV[float32], subVS[float32], subSV[float32], func(a, b float32) float32 { return a - b }},
		{"mul", mulVV[float32], mulVS[float32], mulSV[float32], func(a, b float32) float32 { return a * b }},
		{"div", divVV[float32], divVS[float32], divSV[float32], func(a, b float32) float32 { return a / b }},
	}
	for n := 1; n < 100; n++ {
		a, b, o := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range a {
			a[i], b[i] = rng.Float32()*4-2, rng.Float32()+0.5
		}
		s := rng.Float32() + 0.5
		for _, op := range ops {
			check := func(form string, want func(i int) float32) {
				for i := range o {
					if w := want(i); o[i] != w {
						t.Fatalf("%s %s n=%d: o[%d] = %v, want %v", op.name, form, n, i, o[i], w)
					}
				}
			}
			op.vv(o, a, b)
			check("vv", func(i int) float32 { return op.f(a[i], b[i]) })
			op.vs(o, a, s)
			check("vs", func(i int) float32 { return op.f(a[i], s) })
			op.sv(o, s, b)
			check("sv", func(i int) float32 { return op.f(s, b[i]) })
		}
	}
}
