package cluster

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cotrain/cotrain/experiment"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key that serializes migrations of
// workers starting at once.
const migrationLock = 0x636f7472 // "cotr"

// DB is a PostgreSQL database holding experiments, their jobs and their
// results.
type DB struct {
	pool *pgxpool.Pool
	dsn  string
}

// Open connects to the database named by dsn (postgres://user@host:port/db)
// and applies the migrations it lacks.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database %q: %w (give a URL such as postgres://user@host:5432/cotrain)", redact(dsn), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redact(dsn), err)
	}
	d := &DB{pool: pool, dsn: dsn}
	if _, err := d.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return d, nil
}

// Close closes the database's connections.
func (d *DB) Close() { d.pool.Close() }

// redact hides a password in a DSN for messages.
func redact(dsn string) string {
	if cfg, err := pgx.ParseConfig(dsn); err == nil && cfg.Password != "" {
		return strings.ReplaceAll(dsn, cfg.Password, "****")
	}
	return dsn
}

// Migration is one versioned schema change (migrations/NNNN_name.sql).
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations lists the schema's migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := migrations.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name it NNNN_what.sql", e.Name())
		}
		text, err := migrations.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(text)})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range ms {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migrations: version %d follows %d", m.Version, i)
		}
	}
	return ms, nil
}

// Migrate applies the migrations the database lacks, each in its own
// transaction, and returns their versions. Concurrent callers wait for each
// other. A database migrated by a newer cotrain is an error.
func (d *DB) Migrate(ctx context.Context) ([]int, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("database %s: %w", redact(d.dsn), err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	var current int
	if err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	if current > len(ms) {
		return nil, fmt.Errorf("the database is at schema version %d, newer than this cotrain's %d: upgrade cotrain", current, len(ms))
	}
	var applied []int
	for _, m := range ms[current:] {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migration %04d_%s: %w", m.Version, m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// Experiment is one experiment in the database.
type Experiment struct {
	ID      int64
	Name    string
	Root    string
	Config  []byte
	Created time.Time
}

// Plan rebuilds the experiment's plan from its stored configuration.
func (e Experiment) Plan() (*experiment.Plan, error) {
	c, err := experiment.Parse(fmt.Sprintf("experiment %d (%s) in the database", e.ID, e.Name), e.Config)
	if err != nil {
		return nil, err
	}
	return experiment.NewPlan(c, e.Root)
}

// Submit puts the plan's jobs into the database (config is the experiment
// file's text, which workers rebuild the plan from). The plan's root must
// be a folder every worker reaches. Jobs whose output already exists are
// recorded as done, with their results. Submitting the same experiment
// again (same root) sends failed jobs back to pending; a different
// configuration for a root already in the database is an error.
func (d *DB) Submit(ctx context.Context, p *experiment.Plan, config []byte) (Experiment, error) {
	root, err := filepath.Abs(p.Root)
	if err != nil {
		return Experiment{}, err
	}
	if root != p.Root {
		if p, err = experiment.NewPlan(p.Config, root); err != nil {
			return Experiment{}, err
		}
	}
	e := Experiment{Name: p.Config.Name, Root: root, Config: config}
	deps := p.Deps()
	err = pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		var stored string
		err := tx.QueryRow(ctx, "SELECT id, config, created_at FROM experiments WHERE root = $1 FOR UPDATE", root).Scan(&e.ID, &stored, &e.Created)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if err := tx.QueryRow(ctx, "INSERT INTO experiments (name, root, config) VALUES ($1, $2, $3) RETURNING id, created_at",
				e.Name, root, string(config)).Scan(&e.ID, &e.Created); err != nil {
				return err
			}
			for i, j := range p.Jobs {
				state := "pending"
				if j.Status() == "done" {
					state = "done"
				}
				ds := make([]int32, len(deps[i]))
				for k, dep := range deps[i] {
					ds[k] = int32(dep + 1)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO jobs (experiment_id, number, name, output, deps, epochs, state, finished_at)
					VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 = 'done' THEN now() END)`,
					e.ID, i+1, j.Name, j.Output, ds, j.Epochs, state); err != nil {
					return err
				}
				if state == "done" {
					if err := recordResults(ctx, tx, e, i+1, 0, j); err != nil {
						return err
					}
				}
			}
			return nil
		case err != nil:
			return err
		}
		if stored != string(config) {
			return fmt.Errorf("%s already holds experiment %d with another configuration: give it another --out folder", root, e.ID)
		}
		names, err := jobNames(ctx, tx, e.ID)
		if err != nil {
			return err
		}
		if err := samePlan(p, names); err != nil {
			return fmt.Errorf("experiment %d in the database: %w", e.ID, err)
		}
		_, err = tx.Exec(ctx, "UPDATE jobs SET state = 'pending', error = NULL WHERE experiment_id = $1 AND state = 'failed'", e.ID)
		return err
	})
	if err != nil {
		return Experiment{}, fmt.Errorf("submitting %q: %w", e.Name, err)
	}
	return e, nil
}

func jobNames(ctx context.Context, q pgx.Tx, id int64) ([]string, error) {
	rows, err := q.Query(ctx, "SELECT name FROM jobs WHERE experiment_id = $1 ORDER BY number", id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// samePlan checks that a plan has the jobs the database lists, so that
// job numbers mean the same on every machine.
func samePlan(p *experiment.Plan, names []string) error {
	if len(names) != len(p.Jobs) {
		return fmt.Errorf("it has %d jobs but this cotrain plans %d for it: run the same cotrain version everywhere", len(names), len(p.Jobs))
	}
	for i, j := range p.Jobs {
		if j.Name != names[i] {
			return fmt.Errorf("its job %d is %q but this cotrain plans %q: run the same cotrain version everywhere", i+1, names[i], j.Name)
		}
	}
	return nil
}

// recordResults stores the job's result files as rows (paths relative to
// the experiment's root) and its training metrics as epoch rows.
func recordResults(ctx context.Context, tx pgx.Tx, e Experiment, number int, fence int64, j *experiment.Job) error {
	for _, path := range j.Results {
		raw, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // e.g. a job that records its results only sometimes
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(e.Root, path)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("result %s lies outside the experiment's root %s", path, e.Root)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO results (experiment_id, path, number, fence, content) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (experiment_id, path) DO UPDATE SET number = excluded.number, fence = excluded.fence, content = excluded.content`,
			e.ID, filepath.ToSlash(rel), number, fence, string(raw)); err != nil {
			return fmt.Errorf("recording %s: %w", path, err)
		}
	}
	if j.Dir != "" {
		recs, err := readEpochs(j.Dir)
		if err != nil {
			return err
		}
		return insertEpochs(ctx, tx, e.ID, number, recs)
	}
	return nil
}

// Experiments lists the experiments, newest first.
func (d *DB) Experiments(ctx context.Context) ([]Experiment, error) {
	rows, err := d.pool.Query(ctx, "SELECT id, name, root, config, created_at FROM experiments ORDER BY id DESC")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Experiment, error) {
		var e Experiment
		var cfg string
		err := r.Scan(&e.ID, &e.Name, &e.Root, &cfg, &e.Created)
		e.Config = []byte(cfg)
		return e, err
	})
}

// ErrNotFound reports an experiment, job or result that the database
// does not hold.
var ErrNotFound = errors.New("not in the database")

// Experiment returns the experiment with id.
func (d *DB) Experiment(ctx context.Context, id int64) (Experiment, error) {
	e := Experiment{ID: id}
	var cfg string
	err := d.pool.QueryRow(ctx, "SELECT name, root, config, created_at FROM experiments WHERE id = $1", id).Scan(&e.Name, &e.Root, &cfg, &e.Created)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, fmt.Errorf("experiment %d: %w", id, ErrNotFound)
	}
	e.Config = []byte(cfg)
	return e, err
}

// Find returns the experiment named by s: its id, its root folder or its
// name (the newest of that name).
func (d *DB) Find(ctx context.Context, s string) (Experiment, error) {
	es, err := d.Experiments(ctx)
	if err != nil {
		return Experiment{}, err
	}
	abs, _ := filepath.Abs(s)
	for _, e := range es {
		if strconv.FormatInt(e.ID, 10) == s || e.Root == abs || e.Name == s {
			return e, nil
		}
	}
	return Experiment{}, fmt.Errorf("experiment %q: %w (give its id, name or root folder; cotrain status --db lists them)", s, ErrNotFound)
}

// JobRow is one job's row with what its epochs say.
type JobRow struct {
	Number   int
	Name     string
	Output   string
	Deps     []int32
	State    string // pending, running, done or failed
	Fence    int64
	Worker   string
	Attempts int
	// Epochs is a training job's most epochs, EpochsDone how many it has
	// completed, EpochSeconds their mean duration.
	Epochs       int
	EpochsDone   int
	EpochSeconds float64
	Progress     float64 // 0–1
	Heartbeat    time.Time
	Started      time.Time
	Finished     time.Time
	Error        string
}

// ETA estimates how long a running training job has left: its remaining
// epochs at the mean epoch duration so far (an upper bound: early stopping
// may end it sooner). It is 0 when unknown.
func (j JobRow) ETA() time.Duration {
	if j.State != "running" || j.Epochs == 0 || j.EpochsDone == 0 {
		return 0
	}
	return time.Duration(float64(j.Epochs-j.EpochsDone) * j.EpochSeconds * float64(time.Second))
}

// Jobs lists the experiment's jobs in plan order.
func (d *DB) Jobs(ctx context.Context, id int64) ([]JobRow, error) {
	rows, err := d.pool.Query(ctx, `SELECT j.number, j.name, j.output, j.deps, j.state, j.fence, coalesce(j.worker, ''), j.attempts,
		j.epochs, count(e.epoch), coalesce(avg((e.record->>'seconds')::double precision), 0), j.progress,
		coalesce(j.heartbeat_at, 'epoch'), coalesce(j.started_at, 'epoch'), coalesce(j.finished_at, 'epoch'), coalesce(j.error, '')
		FROM jobs j LEFT JOIN epochs e ON e.experiment_id = j.experiment_id AND e.number = j.number
		WHERE j.experiment_id = $1 GROUP BY j.experiment_id, j.number ORDER BY j.number`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (JobRow, error) {
		var j JobRow
		var epochs int64
		err := r.Scan(&j.Number, &j.Name, &j.Output, &j.Deps, &j.State, &j.Fence, &j.Worker, &j.Attempts, &j.Epochs, &epochs, &j.EpochSeconds,
			&j.Progress, &j.Heartbeat, &j.Started, &j.Finished, &j.Error)
		j.EpochsDone = int(epochs)
		for _, t := range []*time.Time{&j.Heartbeat, &j.Started, &j.Finished} {
			if t.Unix() == 0 {
				*t = time.Time{}
			}
		}
		return j, err
	})
}

// Epochs returns the per-epoch records of a training job, in epoch order
// (the records of its metrics.json).
func (d *DB) Epochs(ctx context.Context, id int64, number int) ([][]byte, error) {
	rows, err := d.pool.Query(ctx, "SELECT record::text FROM epochs WHERE experiment_id = $1 AND number = $2 ORDER BY epoch", id, number)
	if err != nil {
		return nil, err
	}
	recs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = []byte(r)
	}
	return out, err
}

// Result returns a result file's content by its path relative to the
// experiment's root (e.g. "report/table.txt").
func (d *DB) Result(ctx context.Context, id int64, rel string) ([]byte, error) {
	var content string
	err := d.pool.QueryRow(ctx, "SELECT content FROM results WHERE experiment_id = $1 AND path = $2", id, filepath.ToSlash(rel)).Scan(&content)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("result %s of experiment %d: %w (has the job that makes it finished?)", rel, id, ErrNotFound)
	}
	return []byte(content), err
}

// Attempt is one claim of a job by a worker.
type Attempt struct {
	Fence    int64
	Number   int
	Worker   string
	Outcome  string // running, done, failed, lost (re-claimed after its worker stopped), interrupted
	Started  time.Time
	Finished time.Time
	Error    string
}

// Attempts lists every attempt at the experiment's jobs, in claim order.
func (d *DB) Attempts(ctx context.Context, id int64) ([]Attempt, error) {
	rows, err := d.pool.Query(ctx, `SELECT fence, number, worker, outcome, started_at, coalesce(finished_at, 'epoch'), coalesce(error, '')
		FROM attempts WHERE experiment_id = $1 ORDER BY fence`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Attempt, error) {
		var a Attempt
		err := r.Scan(&a.Fence, &a.Number, &a.Worker, &a.Outcome, &a.Started, &a.Finished, &a.Error)
		if a.Finished.Unix() == 0 {
			a.Finished = time.Time{}
		}
		return a, err
	})
}
