package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	cpucore "github.com/cotrain/cotrain/engine/cpu"
)

// TestDoctorNamesBackends: doctor gives every backend a line of its own,
// xla included whether or not a GPU is found.
func TestDoctorNamesBackends(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"doctor"}, &out, io.Discard); code != 0 {
		t.Fatalf("doctor exited %d:\n%s", code, out.String())
	}
	for _, b := range []string{"cpu", "simplego", "xla"} {
		if !strings.Contains(out.String(), "  backend "+b+": ") {
			t.Errorf("no line for backend %s:\n%s", b, out.String())
		}
	}
}

// TestDoctorNamesKernel: doctor says which GEMM micro-kernel the cpu
// backend uses, and it is one this CPU supports.
func TestDoctorNamesKernel(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"doctor"}, &out, io.Discard); code != 0 {
		t.Fatalf("doctor exited %d:\n%s", code, out.String())
	}
	_, rest, ok := strings.Cut(out.String(), "  GEMM kernel: ")
	if !ok {
		t.Fatalf("no GEMM kernel line:\n%s", out.String())
	}
	name, _, _ := strings.Cut(rest, " ")
	for _, k := range cpucore.SupportedKernels() {
		if name == k {
			return
		}
	}
	t.Errorf("GEMM kernel %q is not among the supported %v", name, cpucore.SupportedKernels())
}
