package cpu

import (
	"fmt"
	"testing"

	"github.com/gomlx/gomlx/backends"
)

// TestWinograd checks F(2×2, 3×3) against the reference loop with every
// micro-kernel: even and odd output sizes (partial tiles), paddings 0, 1
// and uneven, channel counts that are not multiples of 8, the kernel layout
// of an input gradient (input and output channel axes swapped), and more
// tiles than one block; and that the route refuses what it cannot compute.
func TestWinograd(t *testing.T) {
	for _, tc := range []struct {
		in           []int // NHWC input
		cout         int
		padLo, padHi [2]int
		stride       int
		swapped      bool // kernel [3, 3, cout, cin], as GoMLX's input gradient
		route        bool
	}{
		{[]int{2, 8, 8, 64}, 64, [2]int{1, 1}, [2]int{1, 1}, 1, false, true},
		{[]int{1, 7, 5, 64}, 72, [2]int{1, 1}, [2]int{1, 1}, 1, false, true},   // odd output: partial tiles
		{[]int{2, 6, 9, 67}, 65, [2]int{0, 0}, [2]int{0, 0}, 1, false, true},   // no padding, odd channels
		{[]int{1, 5, 6, 64}, 96, [2]int{2, 0}, [2]int{0, 1}, 1, true, true},    // uneven padding, swapped kernel axes
		{[]int{3, 24, 20, 64}, 64, [2]int{1, 1}, [2]int{1, 1}, 1, true, true},  // 360 tiles: several blocks
		{[]int{1, 8, 8, 128}, 200, [2]int{1, 1}, [2]int{1, 1}, 1, false, true}, // several panels
		{[]int{1, 8, 8, 64}, 64, [2]int{1, 1}, [2]int{1, 1}, 2, false, false},  // strided
		{[]int{1, 8, 8, 32}, 64, [2]int{1, 1}, [2]int{1, 1}, 1, false, false},  // too few channels
		{[]int{1, 8, 8, 64}, 64, [2]int{-1, 1}, [2]int{1, 1}, 1, false, false}, // negative padding
	} {
		t.Run(fmt.Sprint(tc.in, tc.cout, tc.padLo, tc.padHi, tc.stride, tc.swapped), func(t *testing.T) {
			b, err := New("threads=2")
			if err != nil {
				t.Fatal(err)
			}
			cin := tc.in[3]
			ker := []int{3, 3, cin, tc.cout}
			kin, kout := 2, 3
			if tc.swapped {
				ker = []int{3, 3, tc.cout, cin}
				kin, kout = 3, 2
			}
			a := convAttr{
				axes: backends.ConvolveAxesConfig{InputBatch: 0, InputChannels: 3, InputSpatial: []int{1, 2},
					KernelInputChannels: kin, KernelOutputChannels: kout, KernelSpatial: []int{0, 1},
					OutputBatch: 0, OutputChannels: 3, OutputSpatial: []int{1, 2}},
				strides: []int{tc.stride, tc.stride}, inputDilations: []int{1, 1}, kernelDilations: []int{1, 1},
				paddings: [][2]int{{tc.padLo[0], tc.padHi[0]}, {tc.padLo[1], tc.padHi[1]}},
			}
			out := []int{tc.in[0], 0, 0, tc.cout}
			for d := range 2 {
				out[1+d] = (tc.in[1+d]+tc.padLo[d]+tc.padHi[d]-3)/tc.stride + 1
			}
			g := newConvGeom(a, tc.in, ker, out)
			if got := winogradLayout(&g); got != tc.route {
				t.Fatalf("winogradLayout = %v, want %v", got, tc.route)
			}
			if !tc.route {
				return
			}
			th, tw := (out[1]+1)/2, (out[2]+1)/2
			nr := b.kernel.panelWidth(tc.cout)
			checkConv(t, b, &g, winogradF2, tc.in[0]*(2*th+2)*(2*tw+2)*cin,
				16*len(colPanels(tc.cout, nr))*nr*cin)
		})
	}
}
