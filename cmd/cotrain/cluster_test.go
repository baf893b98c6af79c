package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cotrain/cotrain/cluster"
	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/internal/servicetest"
)

// clusterExperiment writes a small experiment (the Baseline and MTL-Monkey
// with what they need: a simulated V1 recording, the Monkey Predictor and
// its response set; their evaluations and the report: 10 jobs of seconds
// each) on a miniature Tiny ImageNet.
func clusterExperiment(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	tin := filepath.Join(dir, "tin")
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 3, PerClass: 60, ValPerClass: 6, Seed: 3, Size: 32}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "exp.toml")
	text := fmt.Sprintf(`name = "cluster"
seeds = [7]
models = ["baseline", "mtl-monkey"]
[data]
dataset = "tinyimagenet"
root = %q
[model]
stages = [[4], [8], [8]]
head = [8]
classes = 3
input_channels = 1
dropout = 0.25
tap = "conv2_1"
[classifier]
batch = 16
[classifier.stopping]
patience = 12
decay_steps = 1
max_epochs = 12
[v1.simulate]
images = "tinyimagenet:%s:train"
count = 60
neurons = 8
test_images = 6
test_repeats = 6
seed = 1
[predictor]
batch = 16
[predictor.stopping]
patience = 3
decay_steps = 1
max_epochs = 3
[mtl]
batch = 16
[mtl.stopping]
patience = 6
decay_steps = 1
max_epochs = 6
[evaluation]
corruptions = ["gaussian_noise", "contrast"]
bootstrap = 10
`, tin, tin)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// referenceTable runs the experiment in one process (cotrain run) and
// returns its results table.
func referenceTable(t *testing.T, exp string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "single")
	start := time.Now()
	cmd, out := cotrainProcess(t, "run", "--out", root, "--workers", "1", exp)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cotrain run: %v\n%s", err, out)
	}
	t.Logf("single-process cotrain run: %s", time.Since(start).Round(time.Millisecond))
	return readTable(t, root)
}

func readTable(t *testing.T, root string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "report", "table.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// hangGuard is how long the cluster tests wait for a process, a Slurm task
// or a training job before calling it hung: far above what they take (tens
// of seconds), so that a loaded machine (make test beside a demo) slows
// them down without failing them.
const hangGuard = 10 * time.Minute

// midTraining waits until a long training job of the plan in root (10
// epochs or more: the Baseline's 12, so that the test acts well before
// it ends) has its first checkpoint but no model, and returns its run
// folder.
func midTraining(t *testing.T, root string, timeout time.Duration) string {
	t.Helper()
	plan, err := experiment.LoadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, j := range plan.Jobs {
			if j.Dir != "" && j.Epochs >= 10 && exists(filepath.Join(j.Dir, "ckpt-0001.npz")) && !exists(j.Output) {
				return j.Dir
			}
		}
	}
	t.Fatalf("no training job of %s started within %s", root, timeout)
	return ""
}

// TestWorkers runs the experiment with three cotrain worker processes on
// a real PostgreSQL, one of them killed with SIGKILL in the middle of a
// training job: every job completes exactly once, the killed one is
// claimed again and resumes from its checkpoint, and the results table
// equals that of a single-process cotrain run digit for digit. The
// dashboard then shows the finished experiment in headless Chromium.
func TestWorkers(t *testing.T) {
	exp := clusterExperiment(t)
	dsn := servicetest.PostgreSQL(t)
	want := referenceTable(t, exp)
	root := filepath.Join(t.TempDir(), "db")
	cmd, out := cotrainProcess(t, "run", "--db", dsn, "--out", root, exp)
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "10 jobs (0 done, 10 pending") {
		t.Fatalf("cotrain run --db: %v\n%s", err, out)
	}
	start := time.Now()
	workers := map[string]*exec.Cmd{}
	logs := map[string]*bytes.Buffer{}
	for _, name := range []string{"w1", "w2", "w3"} {
		workers[name], logs[name] = cotrainProcess(t, "worker", "--db", dsn, "--name", name, "--lease", "2s", "--heartbeat", "100ms",
			"--poll", "50ms", "--workers", "1")
	}
	dir := midTraining(t, root, hangGuard)
	ctx := context.Background()
	d, err := cluster.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var killed string
	var killedJob int
	for deadline := time.Now().Add(10 * time.Second); killed == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		jobs, err := d.Jobs(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range jobs {
			if j.State == "running" && strings.HasPrefix(j.Output, dir+"/") {
				killed, killedJob = j.Worker, j.Number
			}
		}
	}
	if killed == "" {
		t.Fatalf("no worker runs the job of %s", dir)
	}
	if err := workers[killed].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	workers[killed].Wait()
	if exists(filepath.Join(dir, "model.npz")) {
		t.Fatalf("the job of %s finished before its worker was killed", dir)
	}
	t.Logf("killed worker %s in the middle of job %d (%s)", killed, killedJob, dir)

	for name, cmd := range workers {
		if name == killed {
			continue
		}
		if err := waitTimeout(cmd, hangGuard); err != nil {
			t.Fatalf("worker %s: %v\n%s", name, err, logs[name])
		}
	}
	t.Logf("three workers (one killed): %s", time.Since(start).Round(time.Millisecond))

	attempts, err := d.Attempts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	done := map[int]int{}
	var lost []cluster.Attempt
	for _, a := range attempts {
		switch a.Outcome {
		case "done":
			done[a.Number]++
		case "lost":
			lost = append(lost, a)
		default:
			t.Errorf("attempt %+v", a)
		}
	}
	for n := 1; n <= 10; n++ {
		if done[n] != 1 {
			t.Errorf("job %d completed %d times", n, done[n])
		}
	}
	if len(lost) != 1 || lost[0].Worker != killed || lost[0].Number != killedJob {
		t.Errorf("lost attempts %+v, want one of job %d by %s", lost, killedJob, killed)
	}
	resumed := false
	for name, l := range logs {
		if name != killed && strings.Contains(l.String(), "resuming "+dir) {
			resumed = true
		}
	}
	if !resumed {
		t.Errorf("no worker resumed %s from its checkpoint", dir)
	}
	table, err := d.Result(ctx, 1, "report/table.txt")
	if err != nil {
		t.Fatal(err)
	}
	if string(table) != want {
		t.Errorf("the workers' table differs from cotrain run's:\nworkers:\n%s\ncotrain run:\n%s", table, want)
	}
	if got := readTable(t, root); got != want {
		t.Errorf("report/table.txt of the workers differs from cotrain run's:\n%s", got)
	}

	cmd, out = cotrainProcess(t, "status", "--db", dsn, "1")
	if err := cmd.Wait(); err != nil || strings.Count(out.String(), " done ") != 10 || !strings.Contains(out.String(), "MTL-Monkey") {
		t.Errorf("cotrain status: %v\n%s", err, out)
	}

	dash := serveDashboard(t, "--db", dsn)
	browser := servicetest.Chromium(t)
	dom := browser.DOM(dash + "/e/1/")
	if strings.Count(dom, `data-state="done"`) != 10 {
		t.Errorf("the finished experiment's page does not show 10 jobs done:\n%s", dom)
	}
	for _, line := range strings.Split(strings.TrimSpace(want), "\n") {
		if !strings.Contains(dom, html.EscapeString(line)) {
			t.Errorf("the page lacks the table line %q", line)
		}
	}
	browser.Screenshot(dash+"/e/1/", filepath.Join(t.ArtifactDir(), "dashboard.png"), 1200, 1400)
}

// serveDashboard starts cotrain serve with args on a free localhost port
// and returns its address.
func serveDashboard(t *testing.T, args ...string) string {
	t.Helper()
	cmd, out := cotrainProcess(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--refresh", "1s"}, args...)...)
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, addr, ok := strings.Cut(out.String(), "serving on "); ok {
			addr, _, _ = strings.Cut(addr, " ")
			return strings.TrimSuffix(addr, "/")
		}
	}
	t.Fatalf("cotrain serve did not start:\n%s", out)
	return ""
}

func waitTimeout(cmd *exec.Cmd, d time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(d):
		cmd.Process.Kill()
		<-errc
		return fmt.Errorf("still running after %s", d)
	}
}

// TestSlurm runs the experiment through real sbatch arrays on a one-node
// Slurm, with the task of a training job cancelled midway and requeued:
// it resumes from its checkpoint, the stages after it wait for it, and
// the results table equals that of a single-process cotrain run.
func TestSlurm(t *testing.T) {
	slurm := servicetest.StartSlurm(t)
	exp := clusterExperiment(t)
	want := referenceTable(t, exp)
	root := filepath.Join(t.TempDir(), "slurm")
	start := time.Now()
	cmd, out := cotrainProcess(t, "slurm", "--out", root, "--submit", "--time", "10:00", exp)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cotrain slurm: %v\n%s", err, out)
	}
	// "submitted stage K as job ID" per stage.
	var ids []string
	for _, line := range strings.Split(out.String(), "\n") {
		var stage int
		var id string
		if n, _ := fmt.Sscanf(line, "submitted stage %d as job %s", &stage, &id); n == 2 {
			ids = append(ids, id)
		}
	}
	if len(ids) < 3 {
		t.Fatalf("cotrain slurm submitted %d stages:\n%s", len(ids), out)
	}
	plan, err := experiment.LoadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	stages, err := cluster.Stages(plan)
	if err != nil {
		t.Fatal(err)
	}
	dir := midTraining(t, root, hangGuard)
	var task string
	for s, stage := range stages {
		for i, n := range stage {
			if plan.Jobs[n].Dir == dir {
				task = fmt.Sprintf("%s_%d", ids[s], i)
			}
		}
	}
	// Cancel the running task and requeue it, as preemption does (a task
	// ended by plain scancel leaves the stages after it waiting forever:
	// Slurm's afterok is then never satisfied).
	if out, err := exec.Command("scontrol", "requeue", task).CombinedOutput(); err != nil {
		t.Fatalf("scontrol requeue %s: %v\n%s", task, err, out)
	}
	if exists(filepath.Join(dir, "model.npz")) {
		t.Fatalf("the job of %s finished before its task was cancelled", dir)
	}
	t.Logf("cancelled and requeued task %s (%s)", task, dir)

	report := plan.Jobs[len(plan.Jobs)-1].Output
	for deadline := time.Now().Add(hangGuard); !exists(report) || len(squeue(t)) > 0; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the experiment did not finish on Slurm; queue %q\n%s\n%s", squeue(t), slurmLogs(t, root), slurm.Logs())
		}
	}
	t.Logf("Slurm run (one task cancelled and requeued): %s", time.Since(start).Round(time.Millisecond))
	if got := readTable(t, root); got != want {
		t.Errorf("the Slurm run's table differs from cotrain run's:\nslurm:\n%s\ncotrain run:\n%s", got, want)
	}
	logs := slurmLogs(t, root)
	if !strings.Contains(logs, "CANCELLED") || !strings.Contains(logs, "attempt 2") || !strings.Contains(logs, "resuming "+dir) {
		t.Errorf("the requeued task did not resume %s:\n%s", dir, logs)
	}
}

// squeue lists the jobs in the queue.
func squeue(t *testing.T) []string {
	out, err := exec.Command("squeue", "--noheader", "--array", "--format=%i %T").Output()
	if err != nil {
		t.Fatalf("squeue: %v", err)
	}
	return strings.Fields(string(out))
}

// slurmLogs concatenates the tasks' logs.
func slurmLogs(t *testing.T, root string) string {
	files, _ := filepath.Glob(filepath.Join(root, cluster.SlurmDir, cluster.SlurmLogDir, "*.log"))
	var b strings.Builder
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(f), raw)
	}
	return b.String()
}

// TestRunJob runs single jobs of the plan by number, as Slurm tasks do.
func TestRunJob(t *testing.T) {
	exp := clusterExperiment(t)
	root := filepath.Join(t.TempDir(), "jobs")
	for _, tc := range []struct {
		job  string
		code int
		want string
	}{
		{"11", 2, "the plan has jobs 1 to 10"},
		{"3", 1, "job 3 (evaluate baseline/seed-7 on clean and corrupted test images) needs job 2 (train baseline seed 7), which is not done"},
		{"1", 0, "[1/10] simulate V1 recordings"},
		{"1", 0, "job 1 (simulate V1 recordings) is done"},
	} {
		cmd, out := cotrainProcess(t, "run", "--out", root, "--job", tc.job, exp)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != tc.code || !strings.Contains(out.String(), tc.want) {
			t.Errorf("run --job %s: exit %d, want %d with %q:\n%s", tc.job, code, tc.code, tc.want, out)
		}
	}
	var errOut bytes.Buffer
	if code := run(context.Background(), []string{"run", "--job", "1", "--db", "postgres://x", exp}, io.Discard, &errOut); code != 2 {
		t.Errorf("--job with --db: exit %d, want 2", code)
	}
}

// TestWorkerPaused pauses a worker (SIGSTOP) in the middle of a training
// job for several leases: its heartbeat stops but its database session
// lives, so the other worker does not take its job (no two runs in one
// folder); resumed (SIGCONT), it finishes the job, and every job runs
// once. While the worker is paused, the dashboard shows the running
// experiment in headless Chromium.
func TestWorkerPaused(t *testing.T) {
	exp := clusterExperiment(t)
	dsn := servicetest.PostgreSQL(t)
	root := filepath.Join(t.TempDir(), "paused")
	cmd, out := cotrainProcess(t, "run", "--db", dsn, "--out", root, exp)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("cotrain run --db: %v\n%s", err, out)
	}
	worker := func(name string) (*exec.Cmd, *bytes.Buffer) {
		return cotrainProcess(t, "worker", "--db", dsn, "--name", name, "--lease", "1s", "--heartbeat", "100ms", "--poll", "50ms", "--workers", "1")
	}
	slow, slowLog := worker("slow")
	dir := midTraining(t, root, hangGuard)
	if err := slow.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	other, otherLog := worker("other")
	time.Sleep(4 * time.Second) // four leases without a heartbeat
	ctx := context.Background()
	d, err := cluster.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	jobs, err := d.Jobs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if strings.HasPrefix(j.Output, dir+"/") && (j.State != "running" || j.Worker != "slow" || j.Attempts != 1) {
			t.Errorf("the paused worker's job %d: %s by %s after %d attempts, want still running by slow", j.Number, j.State, j.Worker, j.Attempts)
		}
	}
	var paused int
	for _, j := range jobs {
		if strings.HasPrefix(j.Output, dir+"/") {
			paused = j.Number
		}
	}
	dash := serveDashboard(t, "--db", dsn)
	dom := servicetest.Chromium(t).DOM(dash + "/e/1/")
	row := regexp.MustCompile(fmt.Sprintf(`(?s)<tr id="job-%d" data-state="running">.*?<td>slow</td>`, paused))
	if strings.Count(dom, "<tr id=\"job-") != 10 || !row.MatchString(dom) || strings.Contains(dom, `<pre id="results">`) {
		t.Errorf("the running experiment's page does not show 10 jobs with job %d running on worker slow, and no table yet:\n%s", paused, dom)
	}
	if err := slow.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*exec.Cmd{"slow": slow, "other": other} {
		if err := waitTimeout(c, hangGuard); err != nil {
			t.Fatalf("worker %s: %v\nslow:\n%s\nother:\n%s", name, err, slowLog, otherLog)
		}
	}
	attempts, err := d.Attempts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(attempts) != 10 {
		t.Errorf("%d attempts for 10 jobs: %+v", len(attempts), attempts)
	}
	for _, a := range attempts {
		if a.Outcome != "done" {
			t.Errorf("attempt %+v", a)
		}
	}
	if !exists(filepath.Join(root, "report", "table.txt")) {
		t.Error("no table")
	}
}
