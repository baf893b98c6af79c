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
		{[]int{2, 6, 6, 8}, []int{3, 3, 8, 16}, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true},   // 8 channels: runs of 24 per kernel row
		{[]int{3, 9, 7, 8}, []int{3, 3, 8, 8}, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true},    // 8 outputs: paired tiles, 189 rows (a partial pair)
		{[]int{1, 5, 5, 8}, []int{3, 3, 8, 8}, 2, 1, [2]int{1, 1}, [2]int{1, 1}, true},    // 9 rows: one pair and a lone tile
		{[]int{2, 8, 8, 12}, []int{3, 3, 12, 56}, 1, 1, [2]int{1, 1}, [2]int{1, 1}, true}, // 24 + 24 + 8: the last panel paired
		{[]int{2, 6, 6, 4}, []int{3, 3, 4, 8}, 1, 1, [2]int{1, 1}, [2]int{1, 1}, false},   // few channels: convIndirect packs them
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
			hp, wp := tc.in[1]+tc.padLo[0]+tc.padHi[0], tc.in[2]+tc.padLo[1]+tc.padHi[1]
			nr := b.kernel.panelWidth(tc.ker[3])
			packed := len(colPanels(tc.ker[3], nr)) * nr * product(tc.ker[:3])
			checkConv(t, b, &g, convPadded, tc.in[0]*hp*wp*tc.in[3], packed)
		})
	}
}

// TestConvInputDilated checks the input-dilated convolution (the input
// gradient of a strided layer) against the reference loop: dilations 2
// and 3, kernels 3×3, 1×1 (whose odd pixels get no input: zeros) and 2×3,
// paddings of every sign, output widths that split classes into partial
// tiles, and 8, 40 and 56 output channels.
func TestConvInputDilated(t *testing.T) {
	for _, tc := range []struct {
		in, ker      []int // NHWC input; kernel H, W, Cin, Cout
		dil          [2]int
		padLo, padHi [2]int
	}{
		{[]int{2, 4, 4, 16}, []int{3, 3, 16, 8}, [2]int{2, 2}, [2]int{1, 1}, [2]int{2, 2}},    // ResNet stride-2 3×3: 4×4 → 8×8
		{[]int{2, 5, 3, 32}, []int{3, 3, 32, 40}, [2]int{2, 2}, [2]int{2, 1}, [2]int{1, 2}},   // uneven padding, 24 + 16 panels
		{[]int{1, 4, 5, 8}, []int{1, 1, 8, 56}, [2]int{2, 2}, [2]int{0, 0}, [2]int{1, 1}},     // 1×1 shortcut: odd pixels zero
		{[]int{2, 3, 4, 12}, []int{2, 3, 12, 8}, [2]int{3, 2}, [2]int{1, 2}, [2]int{0, 3}},    // dilation 3 × 2, 2×3 kernel
		{[]int{1, 6, 6, 16}, []int{3, 3, 16, 24}, [2]int{2, 2}, [2]int{-1, 0}, [2]int{1, -1}}, // negative padding
	} {
		t.Run(fmt.Sprint(tc.in, tc.ker, tc.dil, tc.padLo, tc.padHi), func(t *testing.T) {
			b, err := New("threads=2")
			if err != nil {
				t.Fatal(err)
			}
			a := convAttr{
				axes: backends.ConvolveAxesConfig{InputBatch: 0, InputChannels: 3, InputSpatial: []int{1, 2},
					KernelInputChannels: 2, KernelOutputChannels: 3, KernelSpatial: []int{0, 1},
					OutputBatch: 0, OutputChannels: 3, OutputSpatial: []int{1, 2}},
				strides: []int{1, 1}, inputDilations: []int{tc.dil[0], tc.dil[1]}, kernelDilations: []int{1, 1},
				paddings: [][2]int{{tc.padLo[0], tc.padHi[0]}, {tc.padLo[1], tc.padHi[1]}},
			}
			out := []int{tc.in[0], 0, 0, tc.ker[3]}
			for d := range 2 {
				out[1+d] = (tc.in[1+d]-1)*tc.dil[d] + 1 + tc.padLo[d] + tc.padHi[d] - (tc.ker[d] - 1)
			}
			g := newConvGeom(a, tc.in, tc.ker, out)
			if !dilatedLayout(&g) {
				t.Fatal("dilatedLayout = false")
			}
			nr := b.kernel.panelWidth(tc.ker[3])
			packed := len(colPanels(tc.ker[3], nr)) * nr * product(tc.ker[:3])
			checkConv(t, b, &g, convInputDilated, packed, tc.ker[2])
		})
	}
}

// TestConvGradPadded checks the kernel gradient of NHWC layers the same way,
// on the convolution GoMLX emits for it.
func TestConvGradPadded(t *testing.T) {
	for _, tc := range []struct {
		x      []int // layer input, NHWC
		cout   int
		pad    [2][2]int
		kernel [2]int
		route  bool
	}{
		{[]int{3, 8, 8, 16}, 32, [2][2]int{{1, 1}, {1, 1}}, [2]int{3, 3}, true},
		{[]int{2, 10, 9, 1}, 16, [2][2]int{{1, 1}, {1, 1}}, [2]int{3, 3}, true}, // a grayscale first layer
		{[]int{2, 9, 12, 5}, 30, [2][2]int{{0, 2}, {1, 0}}, [2]int{3, 2}, true}, // uneven padding, 2 wide
		{[]int{4, 12, 8, 7}, 8, [2][2]int{{0, 0}, {0, 0}}, [2]int{5, 1}, true},  // no padding
		{[]int{2, 4, 4, 32}, 64, [2][2]int{{1, 1}, {1, 1}}, [2]int{3, 3}, false},
	} {
		t.Run(fmt.Sprint(tc.x, tc.cout, tc.kernel), func(t *testing.T) {
			b, err := New("threads=2")
			if err != nil {
				t.Fatal(err)
			}
			n, h, w, c := tc.x[0], tc.x[1], tc.x[2], tc.x[3]
			gh, gw := h+tc.pad[0][0]+tc.pad[0][1]-tc.kernel[0]+1, w+tc.pad[1][0]+tc.pad[1][1]-tc.kernel[1]+1
			a := convAttr{
				axes: backends.ConvolveAxesConfig{InputBatch: 3, InputChannels: 0, InputSpatial: []int{1, 2},
					KernelInputChannels: 0, KernelOutputChannels: 3, KernelSpatial: []int{1, 2},
					OutputBatch: 2, OutputChannels: 3, OutputSpatial: []int{0, 1}},
				strides: []int{1, 1}, inputDilations: []int{1, 1}, kernelDilations: []int{1, 1},
				paddings: [][2]int{tc.pad[0], tc.pad[1]},
			}
			g := newConvGeom(a, tc.x, []int{n, gh, gw, tc.cout}, []int{tc.kernel[0], tc.kernel[1], c, tc.cout})
			if got := gradLayout(&g); got != tc.route {
				t.Fatalf("gradLayout = %v, want %v", got, tc.route)
			}
			if !tc.route {
				return
			}
			hp, wp := h+tc.pad[0][0]+tc.pad[0][1], w+tc.pad[1][0]+tc.pad[1][1]
			nr := b.kernel.panelWidth(tc.cout)
			checkConv(t, b, &g, convGradPadded, n*hp*wp*c+(tc.kernel[1]-1)*c,
				len(colPanels(tc.cout, nr))*gh*wp*nr, tc.kernel[0]*tc.kernel[1]*c*tc.cout)
		})
	}
}

// checkConv runs conv on random operands of g's shapes with every GEMM
// micro-kernel this CPU supports and compares it with the reference loop,
// after filling b's pool with NaN buffers of the given sizes (the scratch
// conv takes from it): stale contents must not leak.
func checkConv(t *testing.T, b *Backend, g *convGeom, conv func(*execution, *convGeom, []float32, []float32, []float32), stale ...int) {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	in := make([]float32, product(g.in))
	ker := make([]float32, product(g.ker))
	for _, s := range [][]float32{in, ker} {
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
	}
	want := make([]float32, product(g.out))
	convDirect(newTeam(1), g, in, ker, want)
	for _, kern := range supportedKernels() {
		b.kernel = kern
		for _, n := range stale {
			for range 2 {
				buf := make([]float32, n)
				for i := range buf {
					buf[i] = float32(math.NaN())
				}
				b.pool.put(dtypeFloat32, buf)
			}
		}
		got := make([]float32, len(want))
		for i := range got { // every output element must be written
			got[i] = float32(math.NaN())
		}
		conv(&execution{b: b}, g, in, ker, got)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-4*math.Max(1, math.Abs(float64(want[i])))) {
				t.Fatalf("kernel %s: element %d: %v, reference %v", kern, i, got[i], want[i])
			}
		}
	}
}

// TestColPanels checks the split of output columns into packed panels of
// both widths.
func TestColPanels(t *testing.T) {
	for _, tc := range []struct {
		n, nr int
		want  []colPanel
	}{
		{8, nr24, []colPanel{{0, 8}}},
		{16, nr24, []colPanel{{0, 16}}},
		{24, nr24, []colPanel{{0, 24}}},
		{32, nr24, []colPanel{{0, 16}, {16, 16}}},
		{40, nr24, []colPanel{{0, 24}, {24, 16}}},
		{56, nr24, []colPanel{{0, 24}, {24, 16}, {40, 16}}},
		{64, nr24, []colPanel{{0, 24}, {24, 24}, {48, 16}}},
		{30, nr24, []colPanel{{0, 24}, {24, 6}}},
		{32, nr48, []colPanel{{0, 32}}},
		{48, nr48, []colPanel{{0, 48}}},
		{56, nr48, []colPanel{{0, 32}, {32, 24}}},
		{64, nr48, []colPanel{{0, 32}, {32, 32}}},
		{128, nr48, []colPanel{{0, 48}, {48, 48}, {96, 32}}},
		{200, nr48, []colPanel{{0, 48}, {48, 48}, {96, 48}, {144, 32}, {176, 24}}},
		{512, nr48, []colPanel{{0, 48}, {48, 48}, {96, 48}, {144, 48}, {192, 48}, {240, 48}, {288, 48}, {336, 48}, {384, 48}, {432, 48}, {480, 32}}},
		{58, nr48, []colPanel{{0, 48}, {48, 10}}},
	} {
		if got := colPanels(tc.n, tc.nr); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("colPanels(%d, %d) = %v, want %v", tc.n, tc.nr, got, tc.want)
		}
	}
}
