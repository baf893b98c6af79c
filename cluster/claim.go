package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cotrain/cotrain/checkpoint"
)

// ErrLost reports a claim that is no longer the worker's: the job was
// claimed again (its heartbeat had stopped) or the worker's session with
// the database ended. The worker must stop the job at once.
var ErrLost = errors.New("the job's claim was lost")

// Claimer is one worker's session with the database: it claims jobs and
// holds, for the job it runs, a session-level advisory lock, so that no
// other session can claim that job while this one lives, however late its
// heartbeats are. The lock goes with the session: a worker that is killed
// (or whose connection drops) releases it, and after the lease its job is
// claimed again.
type Claimer struct {
	mu     sync.Mutex
	conn   *pgx.Conn
	worker string
}

// NewClaimer opens a session for the worker named worker (a name that
// says where it runs, e.g. host:pid).
func (d *DB) NewClaimer(ctx context.Context, worker string) (*Claimer, error) {
	conn, err := pgx.Connect(ctx, d.dsn)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redact(d.dsn), err)
	}
	return &Claimer{conn: conn, worker: worker}, nil
}

// Close ends the session, releasing its locks.
func (c *Claimer) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := op(ctx)
	defer cancel()
	return c.conn.Close(ctx)
}

// opTimeout bounds one operation of a claimer's session.
const opTimeout = 30 * time.Second

// op returns the context of one operation on the session: not cancelled
// with ctx, since pgx closes a connection whose query is cancelled, and the
// session's locks with it; bounded by opTimeout instead.
func op(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), opTimeout)
}

// Lease is a claimed job: the claim's fence token makes every later write
// of the worker conditional on the job still being its own.
type Lease struct {
	Experiment int64
	Number     int
	Fence      int64
	c          *Claimer
}

// Claim claims one ready job: pending (or running with a heartbeat older
// than lease, its worker gone) with every job it needs done, in plan order,
// skipping rows other workers are claiming (FOR UPDATE SKIP LOCKED) and
// jobs whose advisory lock another live session holds. It returns nil
// when no job is ready.
func (c *Claimer) Claim(ctx context.Context, lease time.Duration) (*Lease, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := op(ctx)
	defer cancel()
	var l *Lease
	err := pgx.BeginFunc(ctx, c.conn, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT j.experiment_id, j.number FROM jobs j
			WHERE (j.state = 'pending' OR (j.state = 'running' AND j.heartbeat_at < now() - make_interval(secs => $1)))
			  AND NOT EXISTS (SELECT 1 FROM jobs d WHERE d.experiment_id = j.experiment_id AND d.number = ANY (j.deps) AND d.state <> 'done')
			ORDER BY j.experiment_id, j.number
			LIMIT 32
			FOR UPDATE OF j SKIP LOCKED`, lease.Seconds())
		if err != nil {
			return err
		}
		type key struct {
			exp    int64
			number int
		}
		cands, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (key, error) {
			var k key
			return k, r.Scan(&k.exp, &k.number)
		})
		if err != nil {
			return err
		}
		for _, k := range cands {
			var locked bool
			if err := tx.QueryRow(ctx, "SELECT pg_try_advisory_lock($1::int4, $2::int4)", k.exp, k.number).Scan(&locked); err != nil {
				return err
			}
			if !locked {
				continue // a live session still runs it
			}
			l = &Lease{Experiment: k.exp, Number: k.number, c: c}
			if err := tx.QueryRow(ctx, `UPDATE jobs SET state = 'running', fence = nextval('fences'), worker = $3, attempts = attempts + 1,
				heartbeat_at = now(), started_at = now(), finished_at = NULL, error = NULL
				WHERE experiment_id = $1 AND number = $2 RETURNING fence`, k.exp, k.number, c.worker).Scan(&l.Fence); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE attempts SET outcome = 'lost', finished_at = now()
				WHERE experiment_id = $1 AND number = $2 AND outcome = 'running'`, k.exp, k.number); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO attempts (fence, experiment_id, number, worker) VALUES ($1, $2, $3, $4)", l.Fence, k.exp, k.number, c.worker)
			return err
		}
		return nil
	})
	if err != nil {
		if l != nil {
			c.unlock(context.WithoutCancel(ctx), l)
		}
		return nil, fmt.Errorf("claiming a job: %w", err)
	}
	return l, nil
}

// Outstanding counts the jobs that are running (including ones whose
// heartbeat is late) or may still run: pending jobs none of whose needed
// jobs failed, directly or further up. While there are any, an idle
// worker keeps looking: a claim another worker has in flight, or a dead
// worker's job whose lease has not run out, becomes claimable later. Jobs
// behind a failed one never run and are not counted, so workers do not
// wait for them forever.
func (c *Claimer) Outstanding(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := op(ctx)
	defer cancel()
	rows, err := c.conn.Query(ctx, "SELECT experiment_id, number, state, deps FROM jobs WHERE state <> 'done' ORDER BY experiment_id, number")
	if err != nil {
		return 0, err
	}
	type job struct {
		exp    int64
		number int32
		state  string
		deps   []int32
	}
	jobs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job, error) {
		var j job
		return j, r.Scan(&j.exp, &j.number, &j.state, &j.deps)
	})
	if err != nil {
		return 0, err
	}
	// Jobs are in plan order and need only earlier jobs, so one pass
	// carries a failure down to everything behind it.
	type key struct {
		exp    int64
		number int32
	}
	blocked := map[key]bool{}
	n := 0
	for _, j := range jobs {
		b := j.state == "failed"
		for _, d := range j.deps {
			b = b || blocked[key{j.exp, d}]
		}
		blocked[key{j.exp, j.number}] = b
		if !b {
			n++
		}
	}
	return n, nil
}

func (c *Claimer) unlock(ctx context.Context, l *Lease) {
	ctx, cancel := op(ctx)
	defer cancel()
	c.conn.Exec(ctx, "SELECT pg_advisory_unlock($1::int4, $2::int4)", l.Experiment, l.Number)
}

// txn runs fn in a transaction on the claimer's session (and then, with
// release, releases the job's advisory lock).
func (l *Lease) txn(ctx context.Context, release bool, fn func(ctx context.Context, tx pgx.Tx) error) error {
	c := l.c
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := op(ctx)
	defer cancel()
	if release {
		defer c.unlock(ctx, l)
	}
	return pgx.BeginFunc(ctx, c.conn, func(tx pgx.Tx) error { return fn(ctx, tx) })
}

// Heartbeat tells the database the job is alive, with its progress (0–1)
// and the epochs completed so far (the records of its metrics.json). It
// returns ErrLost when the job is no longer this claim's or the session
// has ended; other errors may pass.
func (l *Lease) Heartbeat(ctx context.Context, progress float64, epochs []json.RawMessage) error {
	err := l.txn(ctx, false, func(ctx context.Context, tx pgx.Tx) error {
		if err := l.check(ctx, tx, "UPDATE jobs SET heartbeat_at = now(), progress = $4 WHERE experiment_id = $1 AND number = $2 AND fence = $3 AND state = 'running'",
			progress); err != nil {
			return err
		}
		return insertEpochs(ctx, tx, l.Experiment, l.Number, epochs)
	})
	if err != nil && !errors.Is(err, ErrLost) && l.c.conn.IsClosed() {
		// The session, and the job's lock with it, is gone.
		return fmt.Errorf("%w: the database session ended: %v", ErrLost, err)
	}
	return err
}

// check runs an update of the job's row that must match the claim's fence.
func (l *Lease) check(ctx context.Context, tx pgx.Tx, sql string, args ...any) error {
	tag, err := tx.Exec(ctx, sql, append([]any{l.Experiment, l.Number, l.Fence}, args...)...)
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return ErrLost
	}
	return nil
}

// Complete marks the job done with its results (recorded by record in the
// same transaction, with the context it is given), if the claim is still
// the worker's, and releases its lock.
func (l *Lease) Complete(ctx context.Context, record func(ctx context.Context, tx pgx.Tx) error) error {
	return l.end(ctx, "done", "done", "", record)
}

// Fail marks the job failed with the error's message (submitting the
// experiment again retries it) and releases its lock.
func (l *Lease) Fail(ctx context.Context, cause error) error {
	return l.end(ctx, "failed", "failed", cause.Error(), nil)
}

// Release gives the job back (pending again, for any worker to resume
// from its checkpoint), as a worker that is stopped does, and releases its
// lock.
func (l *Lease) Release(ctx context.Context) error {
	return l.end(ctx, "pending", "interrupted", "", nil)
}

// Abandon releases the job's lock and writes nothing: for a claim that
// was lost.
func (l *Lease) Abandon(ctx context.Context) {
	l.c.mu.Lock()
	defer l.c.mu.Unlock()
	l.c.unlock(ctx, l)
}

// end sets the claimed job's state and its attempt's outcome (with
// record's rows, if any) if the claim is still the worker's, and releases
// its lock.
func (l *Lease) end(ctx context.Context, state, outcome, msg string, record func(ctx context.Context, tx pgx.Tx) error) error {
	return l.txn(ctx, true, func(ctx context.Context, tx pgx.Tx) error {
		if err := l.check(ctx, tx, `UPDATE jobs SET state = $4, error = nullif($5, ''),
			finished_at = CASE WHEN $4 IN ('done', 'failed') THEN now() END, progress = CASE WHEN $4 = 'done' THEN 1 ELSE progress END
			WHERE experiment_id = $1 AND number = $2 AND fence = $3 AND state = 'running'`, state, msg); err != nil {
			return err
		}
		if record != nil {
			if err := record(ctx, tx); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, "UPDATE attempts SET outcome = $2, error = nullif($3, ''), finished_at = now() WHERE fence = $1", l.Fence, outcome, msg)
		return err
	})
}

// readEpochs reads the per-epoch records of a training run folder's
// metrics file (none before the first epoch).
func readEpochs(dir string) ([]json.RawMessage, error) {
	path := filepath.Join(dir, checkpoint.MetricsFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []json.RawMessage
	if err := json.Unmarshal(raw, &recs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return recs, nil
}

// insertEpochs records epoch records not yet in the database.
func insertEpochs(ctx context.Context, tx pgx.Tx, exp int64, number int, recs []json.RawMessage) error {
	for _, r := range recs {
		var e struct {
			Epoch *int `json:"epoch"`
		}
		if err := json.Unmarshal(r, &e); err != nil || e.Epoch == nil {
			return fmt.Errorf("epoch record %.80s has no epoch number", r)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO epochs (experiment_id, number, epoch, record) VALUES ($1, $2, $3, $4)
			ON CONFLICT (experiment_id, number, epoch) DO UPDATE SET record = excluded.record`, exp, number, *e.Epoch, string(r)); err != nil {
			return err
		}
	}
	return nil
}
