package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
)

// TestConvPadded checks the padded-input convolution against the reference
// loop on NHWC layers, with the backend's pool holding NaN-filled buffers
// of every size it could hand out: the padding must be written, not found.
func TestConvPadded(t *testing.T) {
	for _, tc := range []struct {
		in, ker         []int // NHWC input; kernel H, W, Cin, Cout
		stride, dil     int
		padLo, padHi    [2]int
		wantPaddedRoute bool
	}{
		{[]int{3, 9, 7, 16}, []int{3, 3, 16, 32}, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true}, // 32 outputs: two 16-wide panels
		{[]int{2, 8, 8, 32}, []int{3, 3, 32, 56}, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true}, // 24 + 16 + 16
		{[]int{2, 9, 8, 20}, []int{3, 3, 20, 8}, 2, 1, [2]int{1, 0}, [2]int{1, 2}, true},  // stride 2, uneven padding
		{[]int{2, 9, 9, 16}, []int{3, 3, 16, 10}, 1, 2, [2]int{2, 2}, [2]int{2, 2}, true}, // dilated kernel
		{[]int{1, 6, 5, 100}, []int{3, 3, 100, 24}, 1, 1, [2]int{0, 1}, [2]int{2, 0}, true},
		{[]int{2, 6, 6, 8}, []int{3, 3, 8, 16}, 1, 1, [2]int{1, 1}, [2]int{1, 1}, false}, // few channels: convIndirect packs them
	} {
		t.Run(fmt.Sprint(tc.in, tc.ker, tc.stride, tc.dil), func(t *testing.T) {
			b, err := New("threads=2")
			if err != nil {
				t.Fatal(err)
			}
			a := convAttr{
				axes: backends.ConvolveAxesConfig{InputBatch: 0, InputChannels: 3, InputSpatial: []int{1, 2},
					KernelInputChannels: 2, KernelOutputChannels: 3, KernelSpatial: []int{0, 1},
					OutputBatch: 0, OutputChannels: 3, OutputSpatial: []int{1, 2}},
				strides: []int{tc.stride, tc.stride}, inputDilations: []int{1, 1}, kernelDilations: []int{tc.dil, tc.dil},
				paddings: [][2]int{{tc.padLo[0], tc.padHi[0]}, {tc.padLo[1], tc.padHi[1]}},
			}
			out := []int{tc.in[0], 0, 0, tc.ker[3]}
			for d := range 2 {
				span := tc.in[1+d] + tc.padLo[d] + tc.padHi[d] - (tc.ker[d]-1)*tc.dil
				out[1+d] = (span-1)/tc.stride + 1
			}
			g := newConvGeom(a, tc.in, tc.ker, out)
			if got := paddedLayout(&g); got != tc.wantPaddedRoute {
				t.Fatalf("paddedLayout = %v, want %v", got, tc.wantPaddedRoute)
			}
			if !tc.wantPaddedRoute {
				return
			}
			r := rand.New(rand.NewPCG(3, 4))
			in := make([]float32, product(tc.in))
			ker := make([]float32, product(tc.ker))
			for _, s := range [][]float32{in, ker} {
				for i := range s {
					s[i] = float32(r.NormFloat64())
				}
			}
			want := make([]float32, product(out))
			convDirect(1, &g, in, ker, want)
			// Stale buffers of the sizes convPadded takes from the pool.
			hp, wp := tc.in[1]+tc.padLo[0]+tc.padHi[0], tc.in[2]+tc.padLo[1]+tc.padHi[1]
			for _, n := range []int{tc.in[0] * hp * wp * tc.in[3], len(colPanels(tc.ker[3])) * nr * len(ker) / tc.ker[3]} {
				stale := make([]float32, n)
				for i := range stale {
					stale[i] = float32(math.NaN())
				}
				b.pool.put(dtypeFloat32, stale)
			}
			got := make([]float32, len(want))
			convPadded(&execution{b: b}, &g, in, ker, got)
			for i := range want {
				if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4*math.Max(1, math.Abs(float64(want[i])))) {
					t.Fatalf("element %d: %v, reference %v", i, got[i], want[i])
				}
			}
		})
	}
}

// TestColPanels checks the split of output columns into packed panels.
func TestColPanels(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []colPanel
	}{
		{8, []colPanel{{0, 8}}},
		{16, []colPanel{{0, 16}}},
		{24, []colPanel{{0, 24}}},
		{32, []colPanel{{0, 16}, {16, 16}}},
		{40, []colPanel{{0, 24}, {24, 16}}},
		{56, []colPanel{{0, 24}, {24, 16}, {40, 16}}},
		{64, []colPanel{{0, 24}, {24, 24}, {48, 16}}},
		{30, []colPanel{{0, 24}, {24, 6}}},
	} {
		if got := colPanels(tc.n); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("colPanels(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}
