package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/analysis"
)

// TestAnalyzeReconstruct runs "cotrain analyze reconstruct" on a small
// experiment: it trains the Baseline it needs and writes the grid;
// "analyze saliency" without images in [analysis.saliency] says how to
// turn it on.
func TestAnalyzeReconstruct(t *testing.T) {
	exp := trainExperiment(t)
	text, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	text = append(text, []byte("[analysis]\nimages = 2\nbudgets = [5, 60]\nsteps = 3\n")...)
	if err := os.WriteFile(exp, text, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	args := []string{"analyze", "reconstruct", "--config", exp, "--out", out, "--backend", "cpu", "--workers", "1"}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	path := filepath.Join(out, "analysis", "reconstruct", analysis.GridFile)
	if strings.TrimSpace(stdout.String()) != path {
		t.Errorf("printed %q, want %s", stdout.String(), path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var g analysis.Grid
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Models) != 1 || g.Models[0].Name != "Baseline" || len(g.Models[0].Loss) != 2 || len(g.Models[0].Loss[0]) != 2 {
		t.Errorf("grid %+v", g.Models)
	}
	stderr.Reset()
	if code := run(context.Background(), []string{"analyze", "saliency", "--config", exp, "--out", out}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "[analysis.saliency]") {
		t.Errorf("analyze saliency without images: exit %d, %s", code, stderr.String())
	}
}
