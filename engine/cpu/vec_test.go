package cpu

import (
	"math"
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

// TestFillAndSumLoops checks fill, repeat, sumToF64, addRowSums and
// accToF64 (AVX where available) against plain Go for every length up to
// 99.
func TestFillAndSumLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n < 100; n++ {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32()*4 - 2
		}
		o := make([]float32, n)
		fill(o, 1.5)
		for i, v := range o {
			if v != 1.5 {
				t.Fatalf("fill n=%d: o[%d] = %v", n, i, v)
			}
		}
		for _, k := range []int{1, 3, 8, 17} {
			count := n / 7
			src := x[:count*2]
			r := make([]float32, count*k+1)
			repeat(r, src, 2, k, count)
			for i, v := range r[:count*k] {
				if w := src[i/k*2]; v != w {
					t.Fatalf("repeat n=%d k=%d: o[%d] = %v, want %v", n, k, i, v, w)
				}
			}
			if r[count*k] != 0 {
				t.Fatalf("repeat n=%d k=%d wrote past its runs", n, k)
			}
		}
		want := 0.0
		for _, v := range x {
			want += float64(v)
		}
		if got := sumToF64(x); math.Abs(got-want) > 1e-12*float64(n+1) {
			t.Fatalf("sumToF64 n=%d: %v, want %v", n, got, want)
		}
		for _, rowLen := range []int{1, 5, 16, 21} {
			rows := n / rowLen
			sums := make([]float64, rows)
			for r := range sums {
				sums[r] = float64(r)
			}
			addRowSums(sums, x, rowLen)
			for r, v := range sums {
				if w := float64(r) + sumToF64(x[r*rowLen:(r+1)*rowLen]); v != w {
					t.Fatalf("addRowSums n=%d rows of %d: sum %d = %v, want %v", n, rowLen, r, v, w)
				}
			}
		}
		acc := make([]float64, n)
		for i := range acc {
			acc[i] = float64(i)
		}
		accToF64(acc, x)
		for i, v := range acc {
			if w := float64(i) + float64(x[i]); v != w {
				t.Fatalf("accToF64 n=%d: acc[%d] = %v, want %v", n, i, v, w)
			}
		}
	}
}
