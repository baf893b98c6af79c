package servicetest

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// Slurm is a one-node Slurm cluster on localhost: munged with its own key,
// slurmctld and slurmd, configured by a generated slurm.conf.
type Slurm struct {
	// Conf is the slurm.conf; the client commands (sbatch, squeue,
	// scontrol) read it through $SLURM_CONF, which StartSlurm sets for the
	// test and its child processes.
	Conf string
	// Dir holds the configuration, state, spool folders and logs.
	Dir string
}

// StartSlurm starts a one-node Slurm cluster for the test, and stops it
// (cancelling its jobs) when the test ends. slurmd launches jobs as their
// users and so runs as root: the test is skipped when not root. Job
// credentials last 5 s (cred_expire), which is also how long Slurm holds a
// requeued job back (120 s by default).
func StartSlurm(t *testing.T) *Slurm {
	t.Helper()
	for _, p := range []string{"munged", "slurmctld", "slurmd", "sbatch", "scontrol", "squeue"} {
		if lookPath(p, "/usr/sbin") == "" {
			missing(t, "Slurm ("+p+")", "slurm-wlm munge")
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("a one-node Slurm needs root (slurmd starts jobs as their users)")
	}
	start := time.Now()
	dir := tempDir(t, "cotrain-slurm-")
	for _, d := range []string{"munge", "ctld", "spool", "log"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	key := make([]byte, 1024)
	rand.Read(key)
	keyFile := filepath.Join(dir, "munge", "munge.key")
	if err := os.WriteFile(keyFile, key, 0o400); err != nil {
		t.Fatal(err)
	}
	socket := filepath.Join(dir, "munge", "munge.socket.2")
	s := &Slurm{Conf: filepath.Join(dir, "slurm.conf"), Dir: dir}
	conf := fmt.Sprintf(`ClusterName=cotraintest
SlurmctldHost=localhost
SlurmctldPort=%d
SlurmdPort=%d
AuthType=auth/munge
AuthInfo=socket=%s,cred_expire=5
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=%s
SlurmdSpoolDir=%s
SlurmctldPidFile=%s
SlurmdPidFile=%s
SlurmctldLogFile=%s
SlurmdLogFile=%s
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1,sched_min_interval=100000
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
NodeName=localhost NodeAddr=127.0.0.1 CPUs=%d RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
`, freePort(t), freePort(t), socket, filepath.Join(dir, "ctld"), filepath.Join(dir, "spool"),
		filepath.Join(dir, "slurmctld.pid"), filepath.Join(dir, "slurmd.pid"),
		filepath.Join(dir, "log", "slurmctld.log"), filepath.Join(dir, "log", "slurmd.log"), runtime.NumCPU())
	if err := os.WriteFile(s.Conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SLURM_CONF", s.Conf)
	var daemons []*exec.Cmd
	daemon := func(name string, args ...string) {
		t.Helper()
		cmd := exec.Command(lookPath(name, "/usr/sbin"), args...)
		out, err := os.Create(filepath.Join(dir, "log", name+".out"))
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", name, err)
		}
		daemons = append(daemons, cmd)
	}
	t.Cleanup(func() {
		exec.Command("scancel", "--user=root").Run()
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if out, err := exec.Command("squeue", "--noheader").Output(); err != nil || len(bytes.TrimSpace(out)) == 0 {
				break
			}
		}
		for _, d := range slices.Backward(daemons) {
			d.Process.Signal(os.Interrupt)
			done := make(chan struct{})
			go func() { d.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				d.Process.Kill()
				<-done
			}
		}
	})
	daemon("munged", "--foreground", "--force", "--socket="+socket, "--key-file="+keyFile,
		"--log-file="+filepath.Join(dir, "log", "munged.log"), "--pid-file="+filepath.Join(dir, "munge", "munged.pid"),
		"--seed-file="+filepath.Join(dir, "munge", "munged.seed"))
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("munged did not start:\n%s", s.Logs())
		}
	}
	daemon("slurmctld", "-D", "-f", s.Conf)
	daemon("slurmd", "-D", "-f", s.Conf, "-N", "localhost")
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		out, _ := exec.Command("sinfo", "--noheader", "--format=%t").Output()
		if strings.TrimSpace(string(out)) == "idle" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Slurm node did not become idle (sinfo: %q):\n%s", out, s.Logs())
		}
	}
	t.Logf("Slurm (munged, slurmctld, slurmd) started in %s", time.Since(start).Round(time.Millisecond))
	return s
}

// Logs returns the daemons' logs, for a failing test's message.
func (s *Slurm) Logs() string {
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(s.Dir, "log", "*"))
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		if len(raw) > 4000 {
			raw = raw[len(raw)-4000:]
		}
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(f), raw)
	}
	return b.String()
}
