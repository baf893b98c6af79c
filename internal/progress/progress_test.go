package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestBarLines(t *testing.T) {
	var buf bytes.Buffer
	b := New(&buf, "epoch 1/5", 10, "batches")
	clock := b.start
	b.now = func() time.Time { return clock }
	b.interval = time.Second
	clock = clock.Add(500 * time.Millisecond)
	b.Update(1, 128, "") // within the interval: nothing
	clock = clock.Add(time.Second)
	b.Update(4, 512, "loss 1.234")
	clock = clock.Add(3 * time.Second)
	b.Update(10, 1280, "")
	b.Done("val acc 88.1%")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines = %q", lines)
	}
	if !strings.Contains(lines[0], "4/10 batches") || !strings.Contains(lines[0], "341.3 images/s") ||
		!strings.Contains(lines[0], "ETA 2s") || !strings.Contains(lines[0], "loss 1.234") {
		t.Errorf("progress line %q", lines[0])
	}
	if !strings.Contains(lines[1], "10/10") || strings.Contains(lines[1], "ETA") {
		t.Errorf("final progress line %q", lines[1])
	}
	if !strings.Contains(lines[2], "val acc 88.1%") || !strings.Contains(lines[2], "(5s)") {
		t.Errorf("summary %q", lines[2])
	}
}

func TestNilWriter(t *testing.T) {
	b := New(nil, "x", 3, "steps")
	b.Update(1, 0, "")
	b.Done("ok")
}
