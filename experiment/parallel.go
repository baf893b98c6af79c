package experiment

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/cotrain/cotrain/recipes"
)

// LogDir is the folder, under an experiment's root, of the job logs that
// RunJobsAt writes when jobs run at once.
const LogDir = "logs"

// RunJobsAt runs the given jobs of the plan like RunJobs, but up to one job
// per environment at once: a job starts, in plan order, as soon as the jobs
// that make its inputs have finished and an environment is free. Each
// environment needs its own backend. With one environment it is RunJobs.
//
// With more, each job's progress goes to its log file, LogDir/NNN.log
// under the plan's root (NNN its number in the plan), and the first
// environment's Progress gets one line when a job starts and one when it
// ends; what the jobs write to out (the results tables) is written in
// plan order when they have all finished. After a job fails no other job
// starts and the running ones are interrupted (they resume from their last
// checkpoint when the same command runs again).
func (p *Plan) RunJobsAt(ctx context.Context, envs []recipes.Env, out io.Writer, jobs []*Job, always *Job) error {
	switch len(envs) {
	case 0:
		return errNoEnv
	case 1:
		return p.RunJobs(ctx, envs[0], out, jobs, always)
	}
	log := progressOrDiscard(envs[0])
	index := make(map[*Job]int, len(p.Jobs))
	for i, j := range p.Jobs {
		index[j] = i
	}
	deps := p.Deps()
	var todo []*Job
	unfinished := map[int]bool{} // plan indices of the jobs to run that have not finished
	for _, j := range jobs {
		if j != always && j.Status() == "done" {
			continue
		}
		todo = append(todo, j)
		unfinished[index[j]] = true
	}
	ready := func(j *Job) bool {
		for _, d := range deps[index[j]] {
			if unfinished[d] {
				return false
			}
		}
		return true
	}

	jobCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		slot int
		job  *Job
		err  error
		took time.Duration
	}
	results := make(chan result)
	runners := make([]*runner, len(envs))
	for i, env := range envs {
		runners[i] = &runner{ctx: jobCtx, cfg: p.Config, env: env, read: p.ReadResult}
		if runners[i].read == nil {
			runners[i].read = os.ReadFile
		}
	}
	free := make([]int, len(envs))
	for i := range free {
		free[i] = i
	}
	outputs := make([]bytes.Buffer, len(todo))
	started := make([]bool, len(todo))
	running := 0
	var failure error
	for {
		for ti, j := range todo {
			if failure != nil || ctx.Err() != nil || len(free) == 0 {
				break
			}
			if started[ti] || !ready(j) {
				continue
			}
			slot := free[0]
			free = free[1:]
			started[ti] = true
			running++
			n := index[j] + 1
			logPath := filepath.Join(p.Root, LogDir, fmt.Sprintf("%03d.log", n))
			fmt.Fprintf(log, "[%d/%d] %s (log: %s)\n", n, len(p.Jobs), j.Name, logPath)
			go func(r *runner, buf *bytes.Buffer) {
				t0 := time.Now()
				err := r.runLogged(j, logPath, buf)
				results <- result{slot: slot, job: j, err: err, took: time.Since(t0)}
			}(runners[slot], &outputs[ti])
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		free = append(free, res.slot)
		delete(unfinished, index[res.job])
		n := index[res.job] + 1
		switch {
		case res.err == nil:
			fmt.Fprintf(log, "[%d/%d] done in %s\n", n, len(p.Jobs), res.took.Round(time.Second))
		case failure != nil || ctx.Err() != nil:
			// Interrupted because another job failed or the run was stopped.
		default:
			failure = fmt.Errorf("%s: %w (log: %s)", res.job.Name, res.err, filepath.Join(p.Root, LogDir, fmt.Sprintf("%03d.log", n)))
			fmt.Fprintf(log, "[%d/%d] failed after %s\n", n, len(p.Jobs), res.took.Round(time.Second))
			cancel()
		}
	}
	for ti := range todo {
		if _, err := out.Write(outputs[ti].Bytes()); err != nil {
			return err
		}
	}
	switch {
	case failure != nil:
		return failure
	case ctx.Err() != nil:
		return interrupted(p)
	}
	for ti, j := range todo {
		if !started[ti] {
			return fmt.Errorf("job %d (%s) never became ready: the jobs making its inputs did not finish", index[j]+1, j.Name)
		}
	}
	return nil
}

// runLogged runs one job with its progress in the file at logPath and
// what it prints to out in buf.
func (r *runner) runLogged(j *Job, logPath string, buf *bytes.Buffer) (err error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return err
	}
	f, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("job log: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("job log: %w", cerr)
		}
	}()
	r.env.Progress, r.log, r.out = f, f, buf
	return j.run(r)
}
