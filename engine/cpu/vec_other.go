//go:build !amd64

package cpu

func vecVV(byte, []float32, []float32, []float32) bool { return false }
func vecVS(byte, []float32, []float32, float32) bool   { return false }
func vecSV(byte, []float32, float32, []float32) bool   { return false }
