package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMicroKernels runs every micro-kernel this CPU supports through
// tile.run, on panels 24 and 48 wide, on full and partial tiles (rows < mr,
// the 40-, 32-, 24-, 16- and 8-column narrow kernels, odd column tails),
// reductions of every length the unrolled loops treat differently, and
// both store modes, against a float64 loop over the same operands.
func TestMicroKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, kern := range supportedKernels() {
		for _, nr := range []int{nr24, nr48} {
			for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 64, 257} {
				for _, rows := range []int{mr, 3, 1} {
					for _, cols := range []int{48, 40, 32, 24, 16, 8, 23, 5, 1} {
						if cols > nr {
							continue
						}
						for _, acc := range []bool{false, true} {
							name := fmt.Sprintf("%s/nr%d/k%d/%dx%d/acc=%v", kern, nr, k, rows, cols, acc)
							checkTile(t, name, r, kern, nr, k, rows, cols, acc)
						}
					}
				}
			}
		}
	}
}

// TestPairKernel checks tile.runPair on full and partial pairs of tiles:
// the paired kernels where the CPU has them (8 columns in AVX2; 16, 24, 32
// and 48 in AVX-512) and two single tiles otherwise.
func TestPairKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, kern := range supportedKernels() {
		for _, nr := range []int{nr24, nr48} {
			for _, k := range []int{1, 2, 3, 8, 24, 72, 257} {
				for _, rows := range []int{2 * mr, 2*mr - 1, mr + 1, mr, 1} {
					for _, cols := range []int{48, 32, 24, 16, 8, 5} {
						if cols > nr {
							continue
						}
						for _, acc := range []bool{false, true} {
							name := fmt.Sprintf("%s/nr%d/k%d/%dx%d/acc=%v", kern, nr, k, rows, cols, acc)
							checkTiles(t, name, r, kern, nr, k, rows, cols, acc, 2)
						}
					}
				}
			}
		}
	}
}

func checkTile(t *testing.T, name string, r *rand.Rand, kern kernelKind, nr, k, rows, cols int, acc bool) {
	t.Helper()
	checkTiles(t, name, r, kern, nr, k, rows, cols, acc, 1)
}

// checkTiles runs tile.run (tiles = 1) or tile.runPair (tiles = 2) on
// random operands with rows valid rows and cols columns, against a float64
// loop, and checks that C outside those rows and columns stays untouched.
func checkTiles(t *testing.T, name string, r *rand.Rand, kern kernelKind, nr, k, rows, cols int, acc bool, tiles int) {
	t.Helper()
	ldc := nr + 5 // C rows not packed: the kernel must honour ldc
	n := tiles * mr
	a := make([]float32, n*k)
	b := make([]float32, k*nr)
	for _, s := range [][]float32{a, b} {
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
	}
	for p := range k { // panel padding beyond cols is zero, as packB leaves it
		for j := cols; j < nr; j++ {
			b[p*nr+j] = 0
		}
	}
	c := make([]float32, n*ldc)
	for i := range c {
		c[i] = float32(r.NormFloat64())
	}
	want := make([]float64, len(c))
	for i := range n {
		for j := range ldc {
			w := 0.0
			if acc || i >= rows || j >= cols {
				w = float64(c[i*ldc+j])
			}
			if i < rows && j < cols {
				for p := range k {
					w += float64(a[i*k+p]) * float64(b[p*nr+j])
				}
			}
			want[i*ldc+j] = w
		}
	}
	tl := newTile(kern, nr)
	if tiles == 1 {
		var ptrs rowPtrs
		for i := range mr {
			ptrs[i] = &a[i*k]
		}
		tl.run(k, &ptrs, 4, b, c, ldc, rows, cols, acc)
	} else {
		var ptrs pairPtrs
		for i := range 2 * mr {
			ptrs[i] = &a[i*k]
		}
		tl.runPair(k, &ptrs, 4, b, c, ldc, rows, cols, acc)
	}
	for i := range n {
		for j := range ldc {
			d := math.Abs(float64(c[i*ldc+j]) - want[i*ldc+j])
			if i < rows && j < cols {
				if d > 1e-4*math.Max(1, math.Abs(want[i*ldc+j])) {
					t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, c[i*ldc+j], want[i*ldc+j])
				}
			} else if d != 0 {
				t.Fatalf("%s: C[%d,%d] outside the tile changed", name, i, j)
			}
		}
	}
}

// TestGemmRowMajor checks the parallel GEMM with every supported kernel on
// sizes with row, column and reduction tails, against a float64 loop.
func TestGemmRowMajor(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	threads := newTeam(2)
	defer threads.close()
	for _, kern := range supportedKernels() {
		for _, sz := range [][3]int{{1, 1, 1}, {4, 24, 8}, {5, 25, 3}, {7, 32, 17}, {13, 40, 64}, {33, 70, 130}, {9, 56, 0}, {6, 96, 33}, {5, 104, 9}} {
			m, n, k := sz[0], sz[1], sz[2]
			a := make([]float32, m*k)
			bm := make([]float32, k*n)
			for _, s := range [][]float32{a, bm} {
				for i := range s {
					s[i] = float32(r.NormFloat64())
				}
			}
			pb := packB(nil, bm, k, n, kern.panelWidth(n), n, 1)
			c := make([]float32, m*n)
			for i := range c {
				c[i] = float32(math.NaN()) // overwritten, never read
			}
			gemmRowMajor(kern, threads, m, a, k, pb, c, n)
			for i := range m {
				for j := range n {
					w := 0.0
					for p := range k {
						w += float64(a[i*k+p]) * float64(bm[p*n+j])
					}
					if d := math.Abs(float64(c[i*n+j]) - w); !(d <= 1e-4*math.Max(1, math.Abs(w))) {
						t.Fatalf("%s %v: C[%d,%d] = %v, want %v", kern, sz, i, j, c[i*n+j], w)
					}
				}
			}
		}
	}
}

// TestParseKernel checks the "kernel=" option: every supported kernel is
// accepted and chosen, unknown names are refused.
func TestParseKernel(t *testing.T) {
	for _, name := range SupportedKernels() {
		b, err := New("kernel=" + name)
		if err != nil {
			t.Fatalf("kernel=%s: %v", name, err)
		}
		if b.Kernel() != name {
			t.Errorf("kernel=%s: backend uses %s", name, b.Kernel())
		}
	}
	if _, err := New("kernel=sse"); err == nil {
		t.Error("kernel=sse accepted")
	}
	if b, _ := New(""); b.Kernel() != defaultKernel().String() {
		t.Errorf("default kernel %s, want %s", b.Kernel(), defaultKernel())
	}
}
