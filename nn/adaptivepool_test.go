package nn

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/cotrain/cotrain/engine/cpu"
)

// TestAdaptiveAvgPool2D compares with torch.nn.functional.adaptive_avg_pool2d
// (torch 1.13): overlapping windows (5×7 → 3×3, x = arange(35)^1.5) and
// repeated inputs (2×2 → 3×3, x = arange(4)).
func TestAdaptiveAvgPool2D(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		h, w int
		pow  float64
		want []float64
	}{
		{5, 7, 1.5, []float64{11.996017456054688, 18.521703720092773, 26.466920852661133, 61.372554779052734,
			73.1606216430664, 85.71379852294922, 129.7293243408203, 145.13607788085938, 161.1188201904297}},
		{2, 2, 1, []float64{0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3}},
	} {
		x := make([]float32, tc.h*tc.w)
		for i := range x {
			x[i] = float32(math.Pow(float64(i), tc.pow))
		}
		exec, err := graph.NewExec(b, func(x *graph.Node) *graph.Node { return AdaptiveAvgPool2D(x, 3) })
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(tensors.FromFlatDataAndDimensions(x, 1, tc.h, tc.w, 1))
		if err != nil {
			t.Fatal(err)
		}
		got := tensors.MustCopyFlatData[float32](out[0])
		for i, w := range tc.want {
			if math.Abs(float64(got[i])-w) > 1e-4*max(1, math.Abs(w)) {
				t.Errorf("%d×%d → 3×3: [%d] = %v, want %v", tc.h, tc.w, i, got[i], w)
			}
		}
	}
}
