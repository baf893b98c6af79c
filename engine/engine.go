// Package engine selects the compute backend that runs cotrain's models.
//
// Three backends serve one model definition:
//
//   - "cpu": cotrain's own GoMLX backend with fast CPU kernels (the default
//     when no GPU is configured);
//   - "simplego": GoMLX's pure-Go backend, wrapped so that it can train CNNs
//     (slow; the reference the "cpu" backend is tested against);
//   - "xla": GoMLX's XLA backend driving an NVIDIA GPU through a PJRT CUDA
//     plugin found on the machine.
//
// A backend is chosen by name (Open), by the --backend flag of the command
// line, or by the COTRAIN_BACKEND environment variable. Nothing is ever
// downloaded: an unavailable backend is an error that says what is missing.
package engine

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/engine/simplego"
)

// EnvVar names the environment variable that selects a backend when no name
// is given explicitly.
const EnvVar = "COTRAIN_BACKEND"

// Backend names.
const (
	CPU      = cpu.Name
	SimpleGo = simplego.Name
	XLA      = "xla"
)

// Names lists the backends cotrain knows, in order of preference on a machine
// without a GPU.
func Names() []string { return []string{CPU, SimpleGo, XLA} }

// Open returns the backend selected by spec, which has the form NAME or
// NAME:CONFIG (for example "xla:/path/to/xla_cuda_plugin.so" or
// "simplego:parallelism=2"). An empty spec falls back to $COTRAIN_BACKEND and
// then to Default.
func Open(spec string) (backends.Backend, error) {
	name, config, _ := strings.Cut(Resolve(spec), ":")
	switch name {
	case CPU:
		return cpu.New(config)
	case SimpleGo:
		return simplego.New(config)
	case XLA:
		return openXLA(config)
	}
	return nil, fmt.Errorf("unknown backend %q: choose one of %s (flag --backend or $%s)",
		name, strings.Join(Names(), ", "), EnvVar)
}

// Default is the backend used when none is named: "xla" when a GPU plugin is
// found on this machine, otherwise "cpu".
func Default() string {
	if _, err := FindGPU(GPUOptions{}); err == nil {
		return XLA
	}
	return CPU
}

// DefaultParallel is how many jobs of an experiment run at once on the
// backend spec names when the command line does not say: two on the "cpu"
// backend of a machine with at least two cores (each with half the cores:
// a training job's data loading, evaluation and small layers keep two cores
// only about two-thirds busy, docs/experiments.md), one elsewhere (a GPU
// runs one job at a time).
func DefaultParallel(spec string) int {
	name, _, _ := strings.Cut(Resolve(spec), ":")
	if name == CPU && runtime.NumCPU() >= 2 {
		return 2
	}
	return 1
}

// OpenShared opens n instances of the backend spec names, for n jobs that
// run at once and share the machine: on the "cpu" backend without a
// threads= option each instance gets NumCPU/n threads (at least one). Other
// backends run one job at a time, so n must be 1 for them.
func OpenShared(spec string, n int) ([]backends.Backend, error) {
	if n < 1 {
		return nil, fmt.Errorf("%d jobs at once: give at least 1", n)
	}
	spec = Resolve(spec)
	name, config, _ := strings.Cut(spec, ":")
	if n > 1 {
		if name != CPU {
			return nil, fmt.Errorf("%d jobs at once on backend %q: only the %q backend shares a machine between jobs (give --parallel 1)", n, name, CPU)
		}
		if !hasOption(config, "threads") {
			opt := fmt.Sprintf("threads=%d", max(1, runtime.NumCPU()/n))
			if config == "" {
				config = opt
			} else {
				config += "," + opt
			}
			spec = name + ":" + config
		}
	}
	bs := make([]backends.Backend, n)
	for i := range bs {
		b, err := Open(spec)
		if err != nil {
			return nil, err
		}
		bs[i] = b
	}
	return bs, nil
}

// Resolve applies Open's defaults to an empty spec: $COTRAIN_BACKEND,
// then Default.
func Resolve(spec string) string {
	if spec == "" {
		spec = os.Getenv(EnvVar)
	}
	if spec == "" {
		spec = Default()
	}
	return spec
}

// hasOption reports whether a comma-separated backend configuration sets
// key (as key or key=value).
func hasOption(config, key string) bool {
	for _, opt := range strings.Split(config, ",") {
		if k, _, _ := strings.Cut(opt, "="); strings.TrimSpace(k) == key {
			return true
		}
	}
	return false
}
