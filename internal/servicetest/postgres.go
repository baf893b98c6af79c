package servicetest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// PostgreSQL starts a PostgreSQL server for the test, with its data in a
// temporary folder, listening on 127.0.0.1 only, and returns the URL of
// its database (user cotrain, trusted: nothing but this machine reaches
// it). The server stops when the test ends. PostgreSQL refuses to run as
// root: under root the server runs as the postgres user that Debian's
// package creates.
func PostgreSQL(t testing.TB) string {
	t.Helper()
	bins := []string{"/usr/lib/postgresql/*/bin"}
	initdb, pgctl := lookPath("initdb", bins...), lookPath("pg_ctl", bins...)
	if initdb == "" || pgctl == "" {
		missing(t, "PostgreSQL", "postgresql")
	}
	start := time.Now()
	dir := tempDir(t, "cotrain-pg-")
	data := filepath.Join(dir, "data")
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the postgres user (apt-get install postgresql creates it): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	run := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		if out, err := cmd.CombinedOutput(); err != nil {
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			t.Fatalf("%s %v: %v\n%s\n%s", name, args, err, out, log)
		}
	}
	run(initdb, "-D", data, "-U", "cotrain", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions")
	port := freePort(t)
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -c unix_socket_directories=%s -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=50",
		port, dir)
	run(pgctl, "-D", data, "-o", opts, "-l", filepath.Join(dir, "server.log"), "-w", "-t", "60", "start")
	t.Cleanup(func() {
		cmd := exec.Command(pgctl, "-D", data, "-m", "immediate", "-w", "stop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Run()
	})
	t.Logf("PostgreSQL on 127.0.0.1:%d started in %s", port, time.Since(start).Round(time.Millisecond))
	return fmt.Sprintf("postgres://cotrain@127.0.0.1:%d/postgres?sslmode=disable", port)
}
