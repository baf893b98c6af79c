//go:build !noxla

package engine

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/xla"
)

// openXLA opens the XLA backend on the GPU found by FindGPU. config is an
// optional plugin path, optionally followed by GoMLX XLA options after a
// comma (e.g. ",tf32").
func openXLA(config string) (backends.Backend, error) {
	path, options, _ := strings.Cut(config, ",")
	g, err := FindGPU(GPUOptions{Plugin: path})
	if err != nil {
		return nil, fmt.Errorf("backend xla: %w", err)
	}
	if err := applyGPUEnv(g); err != nil {
		return nil, fmt.Errorf("backend xla: %w", err)
	}
	xla.EnableAutoInstall(false)
	spec := g.Plugin
	if options != "" {
		spec += "," + options
	}
	b, err := xla.NewWithOptions(spec, nil)
	if err != nil {
		return nil, fmt.Errorf("backend xla: loading PJRT plugin %s: %w", g.Plugin, err)
	}
	return b, nil
}

// applyGPUEnv sets the variables XLA reads at run time. The library search
// path is read by the dynamic loader when the process starts, so a missing
// entry there cannot be fixed from inside: the caller must re-execute (see
// ReexecForGPU).
func applyGPUEnv(g *GPU) error {
	for k, v := range g.Environ(nil) {
		if k == "LD_LIBRARY_PATH" {
			if os.Getenv(k) != v {
				return fmt.Errorf("the NVIDIA libraries are not on the library search path; "+
					"start the program with LD_LIBRARY_PATH=%s (the cotrain command does this itself)", v)
			}
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}
