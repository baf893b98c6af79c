package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
)

// TestModelSummaryResNet: the summary's total is torchvision's parameter
// count of the CIFAR ResNet (models/testdata/resnet_params.json).
func TestModelSummaryResNet(t *testing.T) {
	tests := []struct {
		args  []string
		total string
	}{
		{[]string{"--arch", "resnet18", "--classes", "10", "--input", "32"}, "11,173,962"},
		{[]string{"--arch", "resnet34", "--classes", "100", "--input", "32", "--channels", "1"}, "21,327,140"},
		{[]string{"--arch", "resnet18", "--classes", "10", "--input", "32", "--channels", "1", "--width", "16"}, "701,178"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		if code := run(context.Background(), append([]string{"model", "summary"}, tc.args...), &out, io.Discard); code != 0 {
			t.Fatalf("%v exited %d:\n%s", tc.args, code, out.String())
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if last := lines[len(lines)-1]; !strings.HasPrefix(last, "total") || !strings.HasSuffix(last, " "+tc.total) {
			t.Errorf("%v: last line %q, want total %s", tc.args, last, tc.total)
		}
	}
}
