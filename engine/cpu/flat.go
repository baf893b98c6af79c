package cpu

import (
	"fmt"
	"reflect"
)

// Type sets of the element kernels.
type (
	floating interface{ ~float32 | ~float64 }
	signed   interface {
		~int8 | ~int16 | ~int32 | ~int64
	}
	unsigned interface {
		~uint8 | ~uint16 | ~uint32 | ~uint64
	}
	integer interface{ signed | unsigned }
	number  interface{ floating | integer }
)

// copyFlat copies src into dst (same element type and length).
func copyFlat(dst, src any) {
	if reflect.TypeOf(dst) != reflect.TypeOf(src) {
		panic(fmt.Sprintf("copyFlat: %T into %T", src, dst))
	}
	reflect.Copy(reflect.ValueOf(dst), reflect.ValueOf(src))
}

// strides returns row-major strides of dims.
func strides(dims []int) []int {
	s := make([]int, len(dims))
	acc := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= dims[i]
	}
	return s
}

// product multiplies dims.
func product(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}
