//go:build !amd64

package cpu

func vecVV(byte, []float32, []float32, []float32) bool { return false }
func vecVS(byte, []float32, []float32, float32) bool   { return false }
func vecSV(byte, []float32, float32, []float32) bool   { return false }

// axpy adds a·x to y (len(x) ≥ len(y)).
func axpy(y []float32, a float32, x []float32) {
	x = x[:len(y)]
	for i := range y {
		y[i] += a * x[i]
	}
}

// fill sets every element of o to v.
func fill[T any](o []T, v T) {
	for i := range o {
		o[i] = v
	}
}

// sumToF64 returns the sum of x in float64.
func sumToF64(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// accToF64 adds x to acc in float64 (len(x) ≥ len(acc)).
func accToF64(acc []float64, x []float32) {
	x = x[:len(acc)]
	for i, v := range x {
		acc[i] += float64(v)
	}
}

// repeat writes count runs of k copies to o: run c repeats src[c·stride].
func repeat[T any](o, src []T, stride, k, count int) {
	for c := range count {
		v := src[c*stride]
		run := o[c*k : (c+1)*k]
		for j := range run {
			run[j] = v
		}
	}
}

// addRowSums adds the float64 sum of row r of x (rows of n elements) to
// acc[r], for every r < len(acc).
func addRowSums(acc []float64, x []float32, n int) {
	for r := range acc {
		acc[r] += sumToF64(x[r*n : (r+1)*n])
	}
}
