// Package servicetest starts real services for tests, each in a temporary
// folder and on localhost only: a PostgreSQL server and a one-node Slurm
// cluster (munged, slurmctld and slurmd). A test whose service is not
// installed is skipped with the command that installs it, except under
// CI (CI=true), where it fails: make test installs them.
package servicetest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// missing skips (or, under CI, fails) a test whose service lacks a
// program.
func missing(t testing.TB, what, pkg string) {
	t.Helper()
	msg := fmt.Sprintf("%s is not installed: apt-get install %s (make test installs it)", what, pkg)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// lookPath finds a program on the PATH or in the given folders
// (globs, newest last).
func lookPath(name string, globs ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, g := range slices.Backward(globs) {
		matches, _ := filepath.Glob(filepath.Join(g, name))
		if len(matches) > 0 {
			slices.Sort(matches)
			return matches[len(matches)-1]
		}
	}
	return ""
}

// freePort returns a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tempDir makes a folder that other users can enter (t.TempDir's folders
// are private to the test's user, and PostgreSQL runs as another).
func tempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
