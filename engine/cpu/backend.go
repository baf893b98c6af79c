// Package cpu is cotrain's own GoMLX backend for CPUs: it runs the ops that
// cotrain's models, recipes, evaluation and analyses emit (forward and
// autodiff) with fast kernels — a cache-blocked float32 GEMM with an
// AVX2/FMA micro-kernel, convolutions as implicit GEMMs, parallel over all
// cores, and buffers recycled by liveness so memory stays flat from step to
// step.
//
// It supports float32 (the fast path) and float64 (for gradient checks),
// plus the integer and boolean types that indices and masks need. An op it
// does not implement fails when the graph is built, with a message naming
// the op. Every op is tested against GoMLX's SimpleGo backend.
package cpu

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

// Name is the backend's name.
const Name = "cpu"

// Backend implements backends.Backend on the host CPU.
type Backend struct {
	threads  int
	team     *team // runs the kernels' parallel loops on threads threads
	pool     *pool
	finished bool
	profile  *profile   // nil unless the "profile" option is set
	kernel   kernelKind // the GEMM micro-kernel (option "kernel")
	winograd bool       // 3×3 convolutions by Winograd's F(2×2, 3×3) (option "winograd")
}

var _ backends.Backend = (*Backend)(nil)

// New returns a CPU backend. config is a comma-separated list of options:
// "threads=N" limits the worker threads (default: GOMAXPROCS); "profile"
// records the time spent per op (see Profile); "kernel=avx2|avx512|generic"
// forces a GEMM micro-kernel (default: see defaultKernel), failing if this
// CPU cannot run it; "winograd=on|off" computes the 3×3 stride-1
// convolutions of wide NHWC layers by Winograd's F(2×2, 3×3) or as direct
// GEMMs (default on, see winograd.go).
func New(config string) (*Backend, error) {
	b := &Backend{threads: runtime.GOMAXPROCS(0), pool: newPool(), kernel: defaultKernel(), winograd: true}
	for _, opt := range strings.Split(config, ",") {
		if opt == "" {
			continue
		}
		k, v, _ := strings.Cut(opt, "=")
		switch k {
		case "threads":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("backend cpu: threads=%q must be a positive integer", v)
			}
			b.threads = n
		case "profile":
			b.profile = newProfile()
		case "kernel":
			kk, err := parseKernel(v)
			if err != nil {
				return nil, err
			}
			b.kernel = kk
		case "winograd":
			switch v {
			case "on":
				b.winograd = true
			case "off":
				b.winograd = false
			default:
				return nil, fmt.Errorf("backend cpu: winograd=%q must be on or off", v)
			}
		default:
			return nil, fmt.Errorf("backend cpu: unknown option %q (known: threads=N, profile, kernel=avx2|avx512|generic, winograd=on|off)", opt)
		}
	}
	b.team = newTeam(b.threads)
	runtime.AddCleanup(b, func(t *team) { t.close() }, b.team)
	return b, nil
}

// Name implements backends.Backend.
func (b *Backend) Name() string { return Name }

// String implements backends.Backend.
func (b *Backend) String() string { return Name }

// Description implements backends.Backend.
func (b *Backend) Description() string {
	threads := fmt.Sprintf("%d threads", b.threads)
	if b.threads == 1 {
		threads = "1 thread"
	}
	return fmt.Sprintf("cotrain CPU backend (%s, %s GEMM kernel)", threads, b.kernel.describe())
}

// NumDevices implements backends.Backend.
func (b *Backend) NumDevices() int { return 1 }

// DeviceDescription implements backends.Backend.
func (b *Backend) DeviceDescription(backends.DeviceNum) string { return "host CPU" }

// Kernel names the GEMM micro-kernel in use: "avx2", "avx512" or "generic".
func (b *Backend) Kernel() string { return b.kernel.String() }

// Threads is the number of worker threads kernels use.
func (b *Backend) Threads() int { return b.threads }

// Finalize implements backends.Backend.
func (b *Backend) Finalize() {
	b.finished = true
	b.pool.clear()
	b.team.close()
}

// IsFinalized implements backends.Backend.
func (b *Backend) IsFinalized() bool { return b.finished }

// Builder implements backends.Backend.
func (b *Backend) Builder(name string) backends.Builder { return newBuilder(b, name) }

// Buffer is a backend buffer: a shape and a flat Go slice in row-major order.
type Buffer struct {
	shape shapes.Shape
	flat  any // []float32, []float64, []int32, ...
	store *storage
}

// storage is the memory behind one or more Buffers (a reshape shares it).
type storage struct {
	mu   sync.Mutex
	refs int
	flat any
}

func (s *storage) retain() {
	s.mu.Lock()
	s.refs++
	s.mu.Unlock()
}

// release drops a reference and reports whether it was the last.
func (s *storage) release() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refs--
	return s.refs == 0
}

func (s *storage) shared() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refs > 1
}

// pool recycles flat slices by dtype and length.
type pool struct {
	mu   sync.Mutex
	free map[poolKey][]any
}

type poolKey struct {
	dtype dtypes.DType
	n     int
}

func newPool() *pool { return &pool{free: map[poolKey][]any{}} }

func (p *pool) clear() {
	p.mu.Lock()
	p.free = map[poolKey][]any{}
	p.mu.Unlock()
}

// get returns a slice of n elements of dtype; its contents are undefined.
func (p *pool) get(dtype dtypes.DType, n int) any {
	k := poolKey{dtype, n}
	p.mu.Lock()
	if l := p.free[k]; len(l) > 0 {
		s := l[len(l)-1]
		p.free[k] = l[:len(l)-1]
		p.mu.Unlock()
		return s
	}
	p.mu.Unlock()
	return makeFlat(dtype, n)
}

func (p *pool) put(dtype dtypes.DType, flat any) {
	k := poolKey{dtype, flatLen(flat)}
	p.mu.Lock()
	p.free[k] = append(p.free[k], flat)
	p.mu.Unlock()
}

// scratch returns a pooled slice of n floats of type T (contents
// undefined), for a kernel's working memory: a fresh allocation per call
// would be faulted in anew each step once the runtime has handed freed
// memory back to the kernel, which a virtual machine can make slow. Give
// it back with putScratch.
func scratch[T floating](p *pool, n int) []T {
	return p.get(floatDType[T](), n).([]T)
}

// putScratch returns a slice from scratch to the pool.
func putScratch[T floating](p *pool, s []T) { p.put(floatDType[T](), s) }

// floatDType is the dtype of T.
func floatDType[T floating]() dtypes.DType {
	var z T
	if _, ok := any(z).(float32); ok {
		return dtypes.Float32
	}
	return dtypes.Float64
}

// newBuffer returns a buffer of the given shape from the pool.
func (b *Backend) newBuffer(shape shapes.Shape) *Buffer {
	flat := b.pool.get(shape.DType, shape.Size())
	return &Buffer{shape: shape, flat: flat, store: &storage{refs: 1, flat: flat}}
}

// view returns a buffer with another shape over the same storage.
func (buf *Buffer) view(shape shapes.Shape) *Buffer {
	buf.store.retain()
	return &Buffer{shape: shape, flat: buf.flat, store: buf.store}
}

// release returns the buffer's memory to the pool once no view uses it.
func (b *Backend) release(buf *Buffer) {
	if buf == nil || buf.store == nil {
		return
	}
	if buf.store.release() {
		b.pool.put(buf.shape.DType, buf.store.flat)
	}
	buf.store = nil
}

func makeFlat(dtype dtypes.DType, n int) any {
	switch dtype {
	case dtypes.Float32:
		return make([]float32, n)
	case dtypes.Float64:
		return make([]float64, n)
	case dtypes.Int32:
		return make([]int32, n)
	case dtypes.Int64:
		return make([]int64, n)
	case dtypes.Int8:
		return make([]int8, n)
	case dtypes.Int16:
		return make([]int16, n)
	case dtypes.Uint8:
		return make([]uint8, n)
	case dtypes.Uint16:
		return make([]uint16, n)
	case dtypes.Uint32:
		return make([]uint32, n)
	case dtypes.Uint64:
		return make([]uint64, n)
	case dtypes.Bool:
		return make([]bool, n)
	}
	panic(fmt.Sprintf("cpu backend: unsupported dtype %s", dtype))
}

func flatLen(flat any) int {
	switch f := flat.(type) {
	case []float32:
		return len(f)
	case []float64:
		return len(f)
	case []int32:
		return len(f)
	case []int64:
		return len(f)
	case []int8:
		return len(f)
	case []int16:
		return len(f)
	case []uint8:
		return len(f)
	case []uint16:
		return len(f)
	case []uint32:
		return len(f)
	case []uint64:
		return len(f)
	case []bool:
		return len(f)
	}
	panic(fmt.Sprintf("cpu backend: unsupported flat type %T", flat))
}

// supportedDTypes are the dtypes buffers may hold.
var supportedDTypes = []dtypes.DType{
	dtypes.Float32, dtypes.Float64, dtypes.Int8, dtypes.Int16, dtypes.Int32, dtypes.Int64,
	dtypes.Uint8, dtypes.Uint16, dtypes.Uint32, dtypes.Uint64, dtypes.Bool,
}

func isSupported(dt dtypes.DType) bool {
	for _, d := range supportedDTypes {
		if d == dt {
			return true
		}
	}
	return false
}

const dtypeFloat32 = dtypes.Float32
