package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/internal/atomicfile"
)

// SlurmOptions configures the batch scripts of an experiment.
type SlurmOptions struct {
	// Binary is the cotrain executable the tasks run (an absolute path
	// every node can reach).
	Binary string
	// Experiment is the experiment file the tasks read (default: the
	// copy in the plan's root, experiment.ConfigFile).
	Experiment string
	// Backend is passed to every task as --backend (empty: the task's
	// default).
	Backend string
	// Partition, Account and Time (Slurm's time format, e.g. "2-00:00:00")
	// go to #SBATCH lines when set.
	Partition, Account, Time string
	// GPUsPerJob requests GPUs for every task (--gres=gpu:N; 0 asks for
	// none); CPUsPerJob cores (0: Slurm's default); Memory, e.g. "32G".
	GPUsPerJob, CPUsPerJob int
	Memory                 string
	// RequeueBefore is how many seconds before the time limit a task
	// requeues itself (with Time set; 0: 300). The requeued task resumes
	// from its last checkpoint.
	RequeueBefore int
}

// SlurmScript is one written batch script: one array of a stage.
type SlurmScript struct {
	// Path is the script file.
	Path string
	// Stage is the stage's number (1-based) among the written scripts.
	Stage int
	// Jobs are the plan's job numbers (1-based, as cotrain run --plan
	// prints them) of the array's tasks, task i running Jobs[i].
	Jobs []int
}

// Slurm folders and files under a plan's root.
const (
	// SlurmDir holds the batch scripts (stage-K.sbatch).
	SlurmDir = "slurm"
	// SlurmLogDir, inside SlurmDir, holds one log per task and attempt
	// (stage-K-task-I.log, appended to when a task is requeued).
	SlurmLogDir = "logs"
)

// WriteSlurm writes one sbatch array script per stage of the plan (see
// Stages) into root/slurm, leaving out jobs that are done and stages with
// none left. Every task runs exactly one job of the plan by its number
// (cotrain run --job N); SubmitSlurm chains the arrays with afterok
// dependencies.
func WriteSlurm(p *experiment.Plan, o SlurmOptions) ([]SlurmScript, error) {
	if o.Binary == "" || !filepath.IsAbs(o.Binary) {
		return nil, fmt.Errorf("slurm: the cotrain binary must be an absolute path every node can reach, not %q", o.Binary)
	}
	if o.Experiment == "" {
		o.Experiment = filepath.Join(p.Root, experiment.ConfigFile)
	}
	if o.GPUsPerJob < 0 || o.CPUsPerJob < 0 || o.RequeueBefore < 0 {
		return nil, fmt.Errorf("slurm: GPUs, CPUs and the requeue margin must not be negative")
	}
	if o.RequeueBefore == 0 {
		o.RequeueBefore = 300
	}
	root, err := filepath.Abs(p.Root)
	if err != nil {
		return nil, err
	}
	stages, err := Stages(p)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, SlurmDir)
	if err := os.MkdirAll(filepath.Join(dir, SlurmLogDir), 0o755); err != nil {
		return nil, fmt.Errorf("slurm: %w", err)
	}
	var scripts []SlurmScript
	for _, stage := range stages {
		var jobs []int
		for _, i := range stage {
			if p.Jobs[i].Status() != "done" {
				jobs = append(jobs, i+1)
			}
		}
		if len(jobs) == 0 {
			continue
		}
		s := SlurmScript{Stage: len(scripts) + 1, Jobs: jobs}
		s.Path = filepath.Join(dir, fmt.Sprintf("stage-%d.sbatch", s.Stage))
		text := slurmScript(p, o, root, s)
		if err := atomicfile.WriteBytes(s.Path, []byte(text)); err != nil {
			return nil, fmt.Errorf("slurm: %w", err)
		}
		if err := os.Chmod(s.Path, 0o755); err != nil {
			return nil, fmt.Errorf("slurm: %w", err)
		}
		scripts = append(scripts, s)
	}
	return scripts, nil
}

// slurmScript is the text of one stage's array script.
func slurmScript(p *experiment.Plan, o SlurmOptions, root string, s SlurmScript) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n# cotrain experiment %q, stage %d: %d job(s) of the plan, one per array task.\n", p.Config.Name, s.Stage, len(s.Jobs))
	for _, n := range s.Jobs {
		fmt.Fprintf(&b, "#   job %d: %s\n", n, p.Jobs[n-1].Name)
	}
	sb := func(format string, args ...any) { fmt.Fprintf(&b, "#SBATCH "+format+"\n", args...) }
	sb("--job-name=cotrain-%s-stage-%d", slug(p.Config.Name), s.Stage)
	sb("--array=0-%d", len(s.Jobs)-1)
	sb("--output=%s", filepath.Join(root, SlurmDir, SlurmLogDir, fmt.Sprintf("stage-%d-task-%%a.log", s.Stage)))
	sb("--open-mode=append")
	sb("--requeue")
	sb("--ntasks=1")
	if o.Partition != "" {
		sb("--partition=%s", o.Partition)
	}
	if o.Account != "" {
		sb("--account=%s", o.Account)
	}
	if o.GPUsPerJob > 0 {
		sb("--gres=gpu:%d", o.GPUsPerJob)
	}
	if o.CPUsPerJob > 0 {
		sb("--cpus-per-task=%d", o.CPUsPerJob)
	}
	if o.Memory != "" {
		sb("--mem=%s", o.Memory)
	}
	if o.Time != "" {
		sb("--time=%s", o.Time)
		sb("--signal=B:USR1@%d", o.RequeueBefore)
	}
	jobs := make([]string, len(s.Jobs))
	for i, n := range s.Jobs {
		jobs[i] = strconv.Itoa(n)
	}
	args := []string{shellQuote(o.Binary), "run", "--out", shellQuote(root), "--job", `"$job"`}
	if o.Backend != "" {
		args = append(args, "--backend", shellQuote(o.Backend))
	}
	args = append(args, shellQuote(o.Experiment))
	fmt.Fprintf(&b, `
jobs=(%s)
job=${jobs[$SLURM_ARRAY_TASK_ID]}
echo "cotrain job $job on $(hostname), Slurm job ${SLURM_JOB_ID}, attempt $(( ${SLURM_RESTART_COUNT:-0} + 1 )), $(date -u +%%FT%%TZ)"

# Near the time limit Slurm sends USR1 (--signal): requeue this task; the
# requeued task resumes the job from its last checkpoint. A task killed by
# preemption, or requeued with scontrol requeue, resumes the same way.
requeue() {
	echo "time limit near: requeueing ${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
	scontrol requeue "${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}"
}
trap requeue USR1

%s &
pid=$!
while true; do
	wait "$pid"
	rc=$?
	kill -0 "$pid" 2>/dev/null || exit "$rc"
done
`, strings.Join(jobs, " "), strings.Join(args, " "))
	return b.String()
}

// SubmitSlurm submits the scripts with sbatch (the command sbatch names;
// empty: "sbatch" on the PATH), each depending on the one before with
// afterok, and returns their job ids.
func SubmitSlurm(ctx context.Context, scripts []SlurmScript, sbatch string) ([]string, error) {
	if sbatch == "" {
		sbatch = "sbatch"
	}
	var ids []string
	for _, s := range scripts {
		args := []string{"--parsable"}
		if len(ids) > 0 {
			args = append(args, "--dependency=afterok:"+ids[len(ids)-1])
		}
		args = append(args, s.Path)
		cmd := exec.CommandContext(ctx, sbatch, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return ids, fmt.Errorf("sbatch %s: %w: %s (submitted so far: %v)", s.Path, err, strings.TrimSpace(stderr.String()), ids)
		}
		// --parsable prints "jobid" or "jobid;cluster".
		id, _, _ := strings.Cut(strings.TrimSpace(string(out)), ";")
		if _, err := strconv.Atoi(id); err != nil {
			return ids, fmt.Errorf("sbatch %s printed %q, not a job id", s.Path, out)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// shellQuote quotes s for bash.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// slug makes a name safe for a Slurm job name.
func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '-'
	}, s)
}
