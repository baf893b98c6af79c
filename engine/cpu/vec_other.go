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
