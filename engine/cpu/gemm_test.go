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

func checkTile(t *testing.T, name string, r *rand.Rand, kern kernelKind, nr, k, rows, cols int, acc bool) {
	t.Helper()
	ldc := nr + 5 // C rows not packed: the kernel must honour ldc
	a := make([]float32, mr*k)
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
	c := make([]float32, mr*ldc)
	for i := range c {
		c[i] = float32(r.NormFloat64())
	}
	want := make([]float64, len(c))
	for i := range mr {
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
	var ptrs rowPtrs
	for i := range mr {
		ptrs[i] = &a[i*k]
	}
	tl := newTile(kern, nr)
	tl.run(k, &ptrs, 4, b, c, ldc, rows, cols, acc)
	for i := range rows {
		for j := range cols {
			if d := math.Abs(float64(c[i*ldc+j]) - want[i*ldc+j]); d > 1e-4*math.Max(1, math.Abs(want[i*ldc+j])) {
				t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, c[i*ldc+j], want[i*ldc+j])
			}
		}
	}
	// Rows beyond the tile and columns past cols must stay untouched.
	for i := range mr {
		for j := range ldc {
			if (i >= rows || j >= cols) && float64(c[i*ldc+j]) != want[i*ldc+j] {
				t.Fatalf("%s: C[%d,%d] outside the tile changed", name, i, j)
			}
		}
	}
}

// TestPairKernel checks tile.runPair, the paired 8×8 kernel where the CPU
// has it and two single tiles otherwise, on full and partial pairs.
func TestPairKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	const ldc = 8 + 3
	const nr = nr24 // the panel width of the layers with 8 output channels
	for _, kern := range supportedKernels() {
		for _, k := range []int{1, 2, 3, 8, 24, 72, 257} {
			for _, rows := range []int{2 * mr, 2*mr - 1, mr + 1, mr, 1} {
				for _, cols := range []int{8, 5} {
					for _, acc := range []bool{false, true} {
						name := fmt.Sprintf("%s/k%d/%dx%d/acc=%v", kern, k, rows, cols, acc)
						a := make([]float32, 2*mr*k)
						b := make([]float32, k*nr)
						c := make([]float32, 2*mr*ldc)
						for _, s := range [][]float32{a, b, c} {
							for i := range s {
								s[i] = float32(r.NormFloat64())
							}
						}
						for p := range k {
							for j := cols; j < nr; j++ {
								b[p*nr+j] = 0
							}
						}
						want := make([]float64, len(c))
						for i := range 2 * mr {
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
						var ptrs pairPtrs
						for i := range 2 * mr {
							ptrs[i] = &a[i*k]
						}
						tl := newTile(kern, nr)
						tl.runPair(k, &ptrs, 4, b, c, ldc, rows, cols, acc)
						for i := range 2 * mr {
							for j := range ldc {
								inside := i < rows && j < cols
								d := math.Abs(float64(c[i*ldc+j]) - want[i*ldc+j])
								if inside && d > 1e-4*math.Max(1, math.Abs(want[i*ldc+j])) || i >= rows && d != 0 {
									t.Fatalf("%s: C[%d,%d] = %v, want %v", name, i, j, c[i*ldc+j], want[i*ldc+j])
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestGemmRowMajor checks the parallel GEMM with every supported kernel on
// sizes with row, column and reduction tails, against a float64 loop.
func TestGemmRowMajor(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
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
			gemmRowMajor(kern, 2, m, a, k, pb, c, n)
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
