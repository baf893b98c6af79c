package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cotrain/cotrain/data/datatest"
)

// TestMain lets a test run the cotrain command in a child process (the test
// binary re-executed with COTRAIN_TEST_MAIN=1), so that it can be killed.
func TestMain(m *testing.M) {
	if os.Getenv("COTRAIN_TEST_MAIN") == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// cotrainProcess starts "cotrain args…" as a child process.
func cotrainProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "COTRAIN_TEST_MAIN=1", "COTRAIN_BACKEND=cpu")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &out
}

// trainExperiment writes a small experiment on a miniature Tiny ImageNet.
func trainExperiment(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tin := filepath.Join(dir, "tin")
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 3, PerClass: 60, ValPerClass: 6, Seed: 2, Size: 32}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "exp.toml")
	text := fmt.Sprintf(`name = "kill"
seeds = [7]
[data]
dataset = "tinyimagenet"
root = %q
[model]
stages = [[8], [16], [16]]
head = [16]
classes = 3
input_channels = 1
dropout = 0.25
tap = "conv2_1"
[classifier]
batch = 16
[classifier.stopping]
patience = 4
decay_steps = 1
max_epochs = 4
`, tin)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTrainKilled kills "cotrain train" with SIGKILL after its first
// checkpoint and runs it again: it resumes and ends with the epochs and
// test accuracy of an uninterrupted run.
func TestTrainKilled(t *testing.T) {
	exp := trainExperiment(t)
	straightDir := filepath.Join(t.TempDir(), "straight")
	cmd, out := cotrainProcess(t, "train", "--config", exp, "--model", "baseline", "--out", straightDir, "--workers", "1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := lastLine(out.String(), "epochs, best validation accuracy")
	if !strings.Contains(want, "4 epochs") {
		t.Fatalf("uninterrupted run did not report 4 epochs:\n%s", out)
	}

	dir := filepath.Join(t.TempDir(), "killed")
	cmd, out = cotrainProcess(t, "train", "--config", exp, "--model", "baseline", "--out", dir, "--workers", "1")
	deadline := time.Now().Add(2 * time.Minute)
	run := filepath.Join(dir, "baseline", "seed-7") // the experiment's layout, as cotrain run writes it
	for !exists(filepath.Join(run, "ckpt-0001.npz")) {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint after epoch 1:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if exists(filepath.Join(run, "model.npz")) {
		t.Skip("the run finished before it could be killed")
	}
	cmd, out = cotrainProcess(t, "train", "--config", exp, "--model", "baseline", "--out", dir, "--workers", "1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, out)
	}
	if !strings.Contains(out.String(), "resuming") {
		t.Errorf("the second run did not resume:\n%s", out)
	}
	got := lastLine(out.String(), "epochs, best validation accuracy")
	if strip := func(s string) string { return strings.ReplaceAll(s, dir, "DIR") }; strip(got) != strings.ReplaceAll(want, straightDir, "DIR") {
		t.Errorf("resumed run: %q\nuninterrupted: %q", got, want)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// lastLine returns the last line of s containing marker.
func lastLine(s, marker string) string {
	var found string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, marker) {
			found = l
		}
	}
	return found
}

// TestTrainProfile trains on the profiling cpu backend, which prints the
// kernel time per op when training ends.
func TestTrainProfile(t *testing.T) {
	exp := trainExperiment(t)
	cmd, out := cotrainProcess(t, "train", "--config", exp, "--model", "baseline", "--backend", "cpu:profile",
		"--out", filepath.Join(t.TempDir(), "run"), "--workers", "1")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("train: %v\n%s", err, out)
	}
	text := out.String()
	i := strings.Index(text, "kernel time per op:")
	if i < 0 || !strings.Contains(text[i:], "ConvGeneral") || !strings.Contains(text[i:], "total") {
		t.Errorf("no kernel profile after training:\n%s", text)
	}
}
