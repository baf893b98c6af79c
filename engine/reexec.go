package engine

import (
	"fmt"
	"os"
	"strings"
	"syscall"
)

// reexecMarker guards against re-executing more than once.
const reexecMarker = "COTRAIN_GPU_ENV"

// ReexecForGPU makes the current process able to load the GPU plugin g: if
// the library search path lacks the NVIDIA folders, it re-executes the
// running binary with the same arguments and the environment of g.Environ.
// It returns only if no re-execution was needed or it failed. Call it at
// program start, before any work.
func ReexecForGPU(g *GPU) error {
	env := g.Environ(nil)
	if os.Getenv("LD_LIBRARY_PATH") == env["LD_LIBRARY_PATH"] || os.Getenv(reexecMarker) != "" {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the running binary to re-execute for the GPU: %w", err)
	}
	env[reexecMarker] = "1"
	var vars []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); env[k] == "" {
			vars = append(vars, kv)
		}
	}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	return syscall.Exec(exe, os.Args, vars)
}
