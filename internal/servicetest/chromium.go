package servicetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Browser is headless Chromium, without a driver: each call starts it on
// one URL with a fresh profile (the flags keep it off the network but for
// the page itself).
type Browser struct {
	path string
	t    testing.TB
}

// Chromium finds Debian's chromium for the test.
func Chromium(t testing.TB) *Browser {
	t.Helper()
	p := lookPath("chromium", "/usr/bin")
	if p == "" {
		p = lookPath("chromium-browser")
	}
	if p == "" {
		missing(t, "Chromium", "chromium")
	}
	return &Browser{path: p, t: t}
}

func (b *Browser) run(args ...string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	profile := b.t.TempDir()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions", "--user-data-dir=" + profile}
	cmd := exec.CommandContext(ctx, b.path, append(base, args...)...)
	var stderr []byte
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	if err != nil {
		b.t.Fatalf("chromium %v: %v\n%s", args, err, stderr)
	}
	return out
}

// DOM loads url and returns the document as Chromium has it after loading.
func (b *Browser) DOM(url string) string {
	b.t.Helper()
	return string(b.run("--dump-dom", url))
}

// Screenshot loads url and saves a PNG of the page, width × height pixels,
// to file.
func (b *Browser) Screenshot(url, file string, width, height int) {
	b.t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		b.t.Fatal(err)
	}
	b.run(fmt.Sprintf("--window-size=%d,%d", width, height), "--hide-scrollbars", "--screenshot="+file, url)
	if st, err := os.Stat(file); err != nil || st.Size() == 0 {
		b.t.Fatalf("chromium wrote no screenshot %s: %v", file, err)
	}
}
