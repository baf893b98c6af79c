package cpu

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
)

// TestMaxPool2x2Grad checks the non-overlapping max-pool gradient against
// the general select-and-scatter on inputs with many ties (values from a
// few levels, as after a ReLU), where the first maximum must win.
func TestMaxPool2x2Grad(t *testing.T) {
	for _, dims := range [][]int{
		{2, 6, 8, 16}, // AVX2 rows
		{3, 4, 4, 8},
		{2, 6, 7, 16}, // an odd width: the last column is in no window
		{2, 5, 8, 3},  // channels not a multiple of 8, odd height
	} {
		t.Run(fmt.Sprint(dims), func(t *testing.T) {
			testMaxPool2x2Grad[float32](t, dims)
			testMaxPool2x2Grad[float64](t, dims)
		})
	}
}

func testMaxPool2x2Grad[T floating](t *testing.T, dims []int) {
	t.Helper()
	out := []int{dims[0], dims[1] / 2, dims[2] / 2, dims[3]}
	a := windowAttr{reduce: backends.ReduceOpMax, window: []int{1, 2, 2, 1}, strides: []int{1, 2, 2, 1}, paddings: make([][2]int, 4)}
	g := newWindowGeom(a, dims, out)
	r := rand.New(rand.NewPCG(1, 2))
	operand := make([]T, product(dims))
	for i := range operand {
		operand[i] = T(r.IntN(3)) // ties in most windows
	}
	source := make([]T, product(out))
	for i := range source {
		source[i] = T(r.Float64() + 1)
	}
	want := make([]T, len(operand))
	scatterToSelected(&g, true, operand, source, want)
	got := make([]T, len(operand))
	for i := range got {
		got[i] = -7 // stale data the fast path must overwrite
	}
	threads := newTeam(2)
	defer threads.close()
	if !maxPool2x2Grad(threads, &g, operand, source, got) {
		t.Fatalf("%T %v: the fast path refused a 2×2 stride-2 pool", got, dims)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%T %v: the fast path differs from the general select-and-scatter", got, dims)
	}
}
