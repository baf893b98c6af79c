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
	if spec == "" {
		spec = os.Getenv(EnvVar)
	}
	if spec == "" {
		spec = Default()
	}
	name, config, _ := strings.Cut(spec, ":")
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
