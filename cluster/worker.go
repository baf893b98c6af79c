package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/recipes"
)

// Worker claims ready jobs from the database and runs them, one at a
// time, with the same job functions cotrain run uses.
type Worker struct {
	DB *DB
	// Name identifies the worker in the job table (default host:pid).
	Name string
	// Env is the backend and progress output the jobs run with.
	Env recipes.Env
	// Out receives what jobs print (the report job's table).
	Out io.Writer
	// Lease is how long a job's heartbeat may be silent before another
	// worker may claim it again (default 60 s); Heartbeat how often a
	// running job beats (default Lease/6); Poll how often an idle worker
	// looks for ready jobs (default 2 s).
	Lease, Heartbeat, Poll time.Duration
	// Wait keeps an idle worker waiting for new jobs; without it the
	// worker returns once every job is done, failed or behind a failed
	// one.
	Wait bool
	// Log receives one line per claimed and finished job (nil: none).
	Log io.Writer
}

func (w *Worker) defaults() {
	if w.Name == "" {
		host, _ := os.Hostname()
		w.Name = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	if w.Lease <= 0 {
		w.Lease = time.Minute
	}
	if w.Heartbeat <= 0 {
		w.Heartbeat = w.Lease / 6
	}
	if w.Poll <= 0 {
		w.Poll = 2 * time.Second
	}
	if w.Log == nil {
		w.Log = io.Discard
	}
	if w.Out == nil {
		w.Out = io.Discard
	}
}

// Run claims and runs jobs until ctx ends (a running job is then given
// back, to resume from its checkpoint on any worker) or, without Wait,
// until no job is left that can still run (Claimer.Outstanding). It returns the number of jobs it
// completed; a job that fails is marked failed and the worker goes on.
func (w *Worker) Run(ctx context.Context) (int, error) {
	w.defaults()
	c, err := w.DB.NewClaimer(ctx, w.Name)
	if err != nil {
		return 0, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	plans := map[int64]*experiment.Plan{}
	done := 0
	for {
		if ctx.Err() != nil {
			return done, nil
		}
		l, err := c.Claim(ctx, w.Lease)
		if err != nil {
			if ctx.Err() != nil {
				return done, nil
			}
			return done, err
		}
		if l == nil {
			if !w.Wait {
				n, err := c.Outstanding(ctx)
				if err != nil {
					return done, err
				}
				if n == 0 {
					return done, nil
				}
			}
			select {
			case <-ctx.Done():
				return done, nil
			case <-time.After(w.Poll):
			}
			continue
		}
		ok, err := w.runJob(ctx, l, plans)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
}

// runJob runs one claimed job: true when it completed. An error is one
// of the database, which ends the worker.
func (w *Worker) runJob(ctx context.Context, l *Lease, plans map[int64]*experiment.Plan) (bool, error) {
	e, p, err := w.plan(ctx, l.Experiment, plans)
	if err != nil {
		return false, errors.Join(err, l.Fail(ctx, err))
	}
	j := p.Jobs[l.Number-1]
	fmt.Fprintf(w.Log, "%s: claimed job %d of experiment %d (%s), attempt fence %d\n", w.Name, l.Number, e.ID, j.Name, l.Fence)
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	beats := make(chan error, 1)
	go func() { beats <- w.beat(jobCtx, l, j, cancel) }()
	start := time.Now()
	runErr := p.RunJobs(jobCtx, w.Env, w.Out, []*experiment.Job{j}, nil)
	cancel(nil)
	beatErr := <-beats
	lost := errors.Is(context.Cause(jobCtx), ErrLost) || errors.Is(beatErr, ErrLost)
	switch {
	case lost:
		// Another worker has the job now (or may have it soon): write
		// nothing more.
		fmt.Fprintf(w.Log, "%s: lost the claim of job %d (%v); stopped it\n", w.Name, l.Number, context.Cause(jobCtx))
		l.Abandon(ctx)
		return false, nil
	case runErr != nil && ctx.Err() != nil:
		fmt.Fprintf(w.Log, "%s: stopped; job %d goes back to the queue\n", w.Name, l.Number)
		return false, l.Release(context.WithoutCancel(ctx))
	case runErr != nil:
		fmt.Fprintf(w.Log, "%s: job %d failed: %v\n", w.Name, l.Number, runErr)
		return false, l.Fail(ctx, runErr)
	}
	err = l.Complete(ctx, func(ctx context.Context, tx pgx.Tx) error { return recordResults(ctx, tx, e, l.Number, l.Fence, j) })
	if errors.Is(err, ErrLost) {
		fmt.Fprintf(w.Log, "%s: job %d finished but its claim was lost; another worker records it\n", w.Name, l.Number)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w.Log, "%s: job %d done in %s\n", w.Name, l.Number, time.Since(start).Round(time.Millisecond))
	return true, nil
}

// beat heartbeats the job until ctx ends, cancelling the job (cause
// ErrLost) as soon as its claim is lost or the database cannot be told
// for half a lease.
func (w *Worker) beat(ctx context.Context, l *Lease, j *experiment.Job, cancel context.CancelCauseFunc) error {
	t := time.NewTicker(w.Heartbeat)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		// A training job's progress is its completed epochs.
		var recs []json.RawMessage
		progress := 0.0
		if j.Dir != "" {
			if r, err := readEpochs(j.Dir); err == nil {
				recs = r
			}
			if j.Epochs > 0 {
				progress = min(1, float64(len(recs))/float64(j.Epochs))
			}
		}
		err := l.Heartbeat(ctx, progress, recs)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrLost):
			cancel(err)
			return err
		case err != nil && time.Since(lastOK) > w.Lease/2:
			err = fmt.Errorf("%w: no heartbeat reached the database for %s: %v", ErrLost, time.Since(lastOK).Round(time.Second), err)
			cancel(err)
			return err
		case err == nil:
			lastOK = time.Now()
		}
	}
}

// plan returns an experiment's plan, built once per worker, reading the
// report's inputs from the database's result rows.
func (w *Worker) plan(ctx context.Context, id int64, plans map[int64]*experiment.Plan) (Experiment, *experiment.Plan, error) {
	e, err := w.DB.Experiment(ctx, id)
	if err != nil {
		return e, nil, err
	}
	if p, ok := plans[id]; ok {
		return e, p, nil
	}
	p, err := e.Plan()
	if err != nil {
		return e, nil, err
	}
	var names []string
	err = pgx.BeginFunc(ctx, w.DB.pool, func(tx pgx.Tx) error {
		names, err = jobNames(ctx, tx, id)
		return err
	})
	if err != nil {
		return e, nil, err
	}
	if err := samePlan(p, names); err != nil {
		return e, nil, fmt.Errorf("experiment %d in the database: %w", id, err)
	}
	p.ReadResult = func(path string) ([]byte, error) {
		rel, err := filepath.Rel(e.Root, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("result %s lies outside the experiment's root %s", path, e.Root)
		}
		return w.DB.Result(ctx, id, rel)
	}
	plans[id] = p
	return e, p, nil
}
