package cpu

import (
	"fmt"
	"strings"
)

// kernelKind names a GEMM micro-kernel family. The backend holds one; every
// GEMM and convolution it runs dispatches on it, so two backends in one
// process may use different kernels (the differential tests do).
type kernelKind uint8

const (
	kernelGeneric kernelKind = iota // portable Go
	kernelAVX2                      // AVX2/FMA, 256-bit (gemm_amd64.s)
	kernelAVX512                    // AVX-512F/VL, 512-bit (gemm512_amd64.s)
)

// kernelNames are the option values of "kernel=", indexed by kernelKind.
var kernelNames = [...]string{kernelGeneric: "generic", kernelAVX2: "avx2", kernelAVX512: "avx512"}

func (k kernelKind) String() string { return kernelNames[k] }

// describe is the kernel as Description and `cotrain doctor` print it.
func (k kernelKind) describe() string {
	switch k {
	case kernelAVX2:
		return "AVX2/FMA"
	case kernelAVX512:
		return "AVX-512"
	}
	return "portable Go"
}

// panelWidth is the width of the packed panels of B that GEMMs of n output
// columns use with this kernel: 48 for AVX-512 when there are more than 24
// columns (twelve zmm accumulators per 4-row tile), else 24.
func (k kernelKind) panelWidth(n int) int {
	if k == kernelAVX512 && n > nr24 {
		return nr48
	}
	return nr24
}

// supportedKernels lists the kernels this CPU can run, slowest first.
func supportedKernels() []kernelKind {
	ks := []kernelKind{kernelGeneric}
	if hasAVX2 {
		ks = append(ks, kernelAVX2)
	}
	if hasAVX512 {
		ks = append(ks, kernelAVX512)
	}
	return ks
}

// defaultKernel is the kernel a backend uses unless "kernel=" says
// otherwise: AVX-512 on Intel CPUs that have it (two 512-bit FMA units per
// core on the Xeons: the 4×48 kernel measured 1.4× the AVX2 one), else AVX2
// where the CPU has it. AMD Zen 4 splits 512-bit ops into two 256-bit
// halves and measured no faster with AVX-512 (docs/engine.md), so it keeps
// AVX2.
func defaultKernel() kernelKind {
	switch {
	case hasAVX512 && isIntel:
		return kernelAVX512
	case hasAVX2:
		return kernelAVX2
	}
	return kernelGeneric
}

// parseKernel reads the value of the "kernel=" option and checks that this
// CPU can run it.
func parseKernel(v string) (kernelKind, error) {
	for _, k := range supportedKernels() {
		if v == k.String() {
			return k, nil
		}
	}
	for _, name := range kernelNames {
		if v == name {
			return 0, fmt.Errorf("backend cpu: kernel=%s needs CPU features this machine lacks (supported here: %s)", v, strings.Join(SupportedKernels(), ", "))
		}
	}
	return 0, fmt.Errorf("backend cpu: unknown kernel=%q (known: avx2, avx512, generic)", v)
}

// SupportedKernels lists the values of the "kernel=" option this CPU can
// run, slowest first (for tests, comparisons and `cotrain doctor`).
func SupportedKernels() []string {
	ks := supportedKernels()
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = k.String()
	}
	return s
}
