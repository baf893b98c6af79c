package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStages checks the layers of the full paper plan: every job comes in
// a later stage than every job it needs, and in the stage right after the
// latest of them.
func TestStages(t *testing.T) {
	p, _ := testPlan(t, "/runs/x", `"baseline", "monkey-predictor", "oracle", "mtl-oracle", "mtl-monkey", "mtl-shuffled"`)
	stages, err := Stages(p)
	if err != nil {
		t.Fatal(err)
	}
	deps := p.Deps()
	stageOf := map[int]int{}
	count := 0
	for s, jobs := range stages {
		for _, j := range jobs {
			stageOf[j] = s
			count++
		}
	}
	if count != len(p.Jobs) {
		t.Fatalf("stages hold %d of %d jobs", count, len(p.Jobs))
	}
	for j := range p.Jobs {
		want := 0
		for _, d := range deps[j] {
			want = max(want, stageOf[d]+1)
		}
		if stageOf[j] != want {
			t.Errorf("job %d (%s) in stage %d, want %d", j+1, p.Jobs[j].Name, stageOf[j], want)
		}
	}
	// Recordings given: the trainings of the Baseline, the Oracle and the
	// Monkey Predictor need nothing; the report comes last, alone.
	first := []string{}
	for _, j := range stages[0] {
		first = append(first, p.Jobs[j].Name)
	}
	if !slices.Contains(first, "train baseline seed 1") || !slices.Contains(first, "train monkey-predictor seed 2") {
		t.Errorf("stage 1: %v", first)
	}
	last := stages[len(stages)-1]
	if len(last) != 1 || last[0] != len(p.Jobs)-1 {
		t.Errorf("last stage %v, want the report job %d alone", last, len(p.Jobs)-1)
	}
}

func TestWriteSlurm(t *testing.T) {
	root := t.TempDir()
	p, _ := testPlan(t, root, `"baseline", "mtl-monkey"`)
	// The Baseline of seed 1 is trained already: its task is left out.
	if err := os.MkdirAll(p.Jobs[0].Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.Jobs[0].Output, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteSlurm(p, SlurmOptions{Binary: "cotrain"}); err == nil {
		t.Error("a relative binary was accepted")
	}
	scripts, err := WriteSlurm(p, SlurmOptions{Binary: "/opt/cotrain's/bin/cotrain", Partition: "gpu", GPUsPerJob: 1, Time: "1-00:00:00", Backend: "xla"})
	if err != nil {
		t.Fatal(err)
	}
	stages, _ := Stages(p)
	if len(scripts) != len(stages) {
		t.Fatalf("%d scripts for %d stages", len(scripts), len(stages))
	}
	total := 0
	for _, s := range scripts {
		total += len(s.Jobs)
		if slices.Contains(s.Jobs, 1) {
			t.Errorf("stage %d runs job 1, which is done", s.Stage)
		}
	}
	if total != len(p.Jobs)-1 {
		t.Errorf("the scripts run %d jobs, want %d", total, len(p.Jobs)-1)
	}
	raw, err := os.ReadFile(scripts[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, want := range []string{
		"#SBATCH --array=0-" + strconv.Itoa(len(scripts[0].Jobs)-1) + "\n",
		"#SBATCH --partition=gpu\n", "#SBATCH --gres=gpu:1\n", "#SBATCH --time=1-00:00:00\n", "#SBATCH --signal=B:USR1@300\n",
		"#SBATCH --requeue\n", "#SBATCH --open-mode=append\n",
		"#SBATCH --output=" + filepath.Join(root, "slurm", "logs", "stage-1-task-%a.log") + "\n",
		`'/opt/cotrain'\''s/bin/cotrain' run --out '` + root + `' --job "$job" --backend 'xla' '` + filepath.Join(root, "experiment.toml") + "'",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("stage 1 script lacks %q:\n%s", want, text)
		}
	}
	if out, err := exec.Command("bash", "-n", scripts[0].Path).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, out)
	}
}

// TestSlurmRequeueTrap runs a stage script outside Slurm with stand-ins for
// cotrain and scontrol: the script runs the job of its array task and,
// on the USR1 Slurm sends before the time limit, requeues its own task and
// waits for the job to stop.
func TestSlurmRequeueTrap(t *testing.T) {
	root := t.TempDir()
	p, _ := testPlan(t, root, `"baseline"`)
	bin := filepath.Join(root, "bin")
	os.MkdirAll(bin, 0o755)
	fake := func(name, body string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/bash\n"+body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// cotrain: record its arguments, run until TERM (which Slurm's
	// requeue sends), then exit 1 as an interrupted cotrain does.
	fake("cotrain", `echo $$ > "`+root+`/cotrain.pid"; echo "$@" > "`+root+`/cotrain.args"; trap 'echo stopped > "`+root+`/cotrain.stopped"; exit 1' TERM; while true; do sleep 0.05; done`)
	// scontrol: record the requeue.
	fake("scontrol", `echo "$@" > "`+root+`/scontrol.args"`)
	scripts, err := WriteSlurm(p, SlurmOptions{Binary: filepath.Join(bin, "cotrain"), Time: "10:00"})
	if err != nil {
		t.Fatal(err)
	}
	s := scripts[0]
	cmd := exec.Command("bash", s.Path)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "SLURM_ARRAY_TASK_ID=1", "SLURM_ARRAY_JOB_ID=77", "SLURM_JOB_ID=79")
	out, err := os.Create(filepath.Join(root, "out.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFile := func(name string) string {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if raw, err := os.ReadFile(filepath.Join(root, name)); err == nil && len(raw) > 0 {
				return strings.TrimSpace(string(raw))
			}
		}
		log, _ := os.ReadFile(filepath.Join(root, "out.log"))
		t.Fatalf("no %s:\n%s", name, log)
		return ""
	}
	args := waitFile("cotrain.args")
	want := "run --out " + root + " --job " + strconv.Itoa(s.Jobs[1]) + " " + filepath.Join(root, "experiment.toml")
	if args != want {
		t.Errorf("task 1 ran cotrain %q, want %q", args, want)
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	if got := waitFile("scontrol.args"); got != "requeue 77_1" {
		t.Errorf("scontrol %q, want requeue 77_1", got)
	}
	// The script still waits for its job; Slurm's requeue stops it.
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Fatalf("the script exited (%v) before its job", err)
	case <-time.After(200 * time.Millisecond):
	}
	pid, err := strconv.Atoi(waitFile("cotrain.pid"))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = <-exited
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("script exit: %v, want cotrain's status 1", err)
	}
	waitFile("cotrain.stopped")
}
