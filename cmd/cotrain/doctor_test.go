package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
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
