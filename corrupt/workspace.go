package corrupt

// workspace holds reusable scratch buffers for one corruption call, so that
// the hot loops do not allocate. A Corrupter keeps workspaces in a
// sync.Pool; a workspace is used by one goroutine at a time.
type workspace struct {
	a, b, c, d     []float64
	fa, fb, fc, fd []float32
	ua, ub         []uint8
	ia             []int
	za             [2]zoomAxis
	jpg            jpegScratch
}

func growF64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func growU8(s []uint8, n int) []uint8 {
	if cap(s) < n {
		return make([]uint8, n)
	}
	return s[:n]
}

func growInts(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	return s[:n]
}

func (w *workspace) f64a(n int) []float64 { w.a = growF64(w.a, n); return w.a }
func (w *workspace) f64b(n int) []float64 { w.b = growF64(w.b, n); return w.b }
func (w *workspace) f64c(n int) []float64 { w.c = growF64(w.c, n); return w.c }
func (w *workspace) f64d(n int) []float64 { w.d = growF64(w.d, n); return w.d }
func (w *workspace) f32a(n int) []float32 { w.fa = growF32(w.fa, n); return w.fa }
func (w *workspace) f32b(n int) []float32 { w.fb = growF32(w.fb, n); return w.fb }
func (w *workspace) f32c(n int) []float32 { w.fc = growF32(w.fc, n); return w.fc }
func (w *workspace) f32d(n int) []float32 { w.fd = growF32(w.fd, n); return w.fd }
func (w *workspace) u8a(n int) []uint8    { w.ua = growU8(w.ua, n); return w.ua }
func (w *workspace) u8b(n int) []uint8    { w.ub = growU8(w.ub, n); return w.ub }

// ints returns two int slices of n/2 values each, carved from one buffer.
func (w *workspace) ints(n int) ([]int, []int) {
	w.ia = growInts(w.ia, n)
	return w.ia[:n/2], w.ia[n/2 : n]
}
