package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/internal/servicetest"
)

// testPlan is a plan of the given models that no test runs: the claim
// protocol needs only its jobs and dependencies.
func testPlan(t *testing.T, root string, models string) (*experiment.Plan, []byte) {
	t.Helper()
	text := []byte(fmt.Sprintf(`name = "claims"
seeds = [1, 2]
models = [%s]
[data]
dataset = "tinyimagenet"
root = "/nonexistent"
[v1]
recordings = "/nonexistent/rec.npz"
`, models))
	c, err := experiment.Parse("claims.toml", text)
	if err != nil {
		t.Fatal(err)
	}
	p, err := experiment.NewPlan(c, root)
	if err != nil {
		t.Fatal(err)
	}
	return p, text
}

func openDB(t *testing.T) *DB {
	t.Helper()
	dsn := servicetest.PostgreSQL(t)
	ctx := context.Background()
	d, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

func TestMigrate(t *testing.T) {
	d := openDB(t)
	ctx := context.Background()
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %v, %v", ms, err)
	}
	// Open applied them all; again there is nothing to do.
	applied, err := d.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Errorf("second migration applied %v (%v), want none", applied, err)
	}
	var version int
	if err := d.pool.QueryRow(ctx, "SELECT max(version) FROM schema_migrations").Scan(&version); err != nil || version != len(ms) {
		t.Errorf("schema version %d (%v), want %d", version, err, len(ms))
	}
	// A database of a newer cotrain is refused.
	if _, err := d.pool.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')", len(ms)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Migrate(ctx); err == nil {
		t.Error("a database at a newer schema version was accepted")
	}
}

// claimAll claims and completes every job with n concurrent claimers, as
// workers do, and returns how often each job was completed.
func claimAll(t *testing.T, d *DB, n int) map[int]int {
	ctx := context.Background()
	var mu sync.Mutex
	completed := map[int]int{}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := d.NewClaimer(ctx, fmt.Sprintf("w%d", w))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close(ctx)
			for {
				l, err := c.Claim(ctx, time.Minute)
				if err != nil {
					errs <- err
					return
				}
				if l == nil {
					if left, err := c.Outstanding(ctx); err != nil || left == 0 {
						errs <- err
						return
					}
					time.Sleep(5 * time.Millisecond)
					continue
				}
				mu.Lock()
				completed[l.Number]++
				mu.Unlock()
				if err := l.Complete(ctx, func(context.Context, pgx.Tx) error { return nil }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return completed
}

// TestClaimsOnce has eight claimers race for the jobs of a plan: every job
// is claimed exactly once, and only after the jobs it needs are done.
func TestClaimsOnce(t *testing.T) {
	d := openDB(t)
	ctx := context.Background()
	p, text := testPlan(t, t.TempDir(), `"baseline", "mtl-monkey", "mtl-shuffled"`)
	e, err := d.Submit(ctx, p, text)
	if err != nil {
		t.Fatal(err)
	}
	completed := claimAll(t, d, 8)
	for i := range p.Jobs {
		if completed[i+1] != 1 {
			t.Errorf("job %d (%s) completed %d times", i+1, p.Jobs[i].Name, completed[i+1])
		}
	}
	// Every job finished after the jobs it needs.
	jobs, err := d.Jobs(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	attempts, err := d.Attempts(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	claimed := map[int]int64{}
	for _, a := range attempts {
		claimed[a.Number] = a.Fence
	}
	for _, j := range jobs {
		if j.State != "done" || j.Attempts != 1 {
			t.Errorf("job %d: %s after %d attempts", j.Number, j.State, j.Attempts)
		}
		for _, dep := range j.Deps {
			if claimed[int(dep)] >= claimed[j.Number] {
				t.Errorf("job %d was claimed (fence %d) before job %d it needs finished (fence %d)", j.Number, claimed[j.Number], dep, claimed[int(dep)])
			}
		}
	}
	// Submitting the same experiment again changes nothing; another
	// configuration for its root is refused.
	if e2, err := d.Submit(ctx, p, text); err != nil || e2.ID != e.ID {
		t.Errorf("resubmission: experiment %d (%v), want %d", e2.ID, err, e.ID)
	}
	if _, err := d.Submit(ctx, p, append(text, '\n')); err == nil {
		t.Error("another configuration for the same root was accepted")
	}
}

// TestSlowWorker checks the fencing: a worker whose heartbeat stopped but
// whose session lives (paused, slow) keeps its job; once its session ends
// the job is claimed again after the lease, with a new fence, and the old
// claim can neither heartbeat nor complete.
func TestSlowWorker(t *testing.T) {
	d := openDB(t)
	ctx := context.Background()
	p, text := testPlan(t, t.TempDir(), `"baseline"`)
	if _, err := d.Submit(ctx, p, text); err != nil {
		t.Fatal(err)
	}
	slow, err := d.NewClaimer(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	other, err := d.NewClaimer(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	first, err := slow.Claim(ctx, time.Minute)
	if err != nil || first == nil || first.Number != 1 {
		t.Fatalf("first claim: %+v, %v", first, err)
	}
	lease := 200 * time.Millisecond
	time.Sleep(3 * lease) // no heartbeat: the lease has run out
	// Job 1 (baseline seed 1) is still locked by the slow worker's live
	// session; the other worker takes the next ready job instead.
	l, err := other.Claim(ctx, lease)
	if err != nil || l == nil || l.Number == first.Number {
		t.Fatalf("the other worker claimed %+v (%v) while the slow worker's session lives", l, err)
	}
	if err := l.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Heartbeat(ctx, 0.5, nil); err != nil {
		t.Fatalf("the slow worker's late heartbeat: %v", err)
	}
	// The slow worker's session ends (killed): its lock goes with it, and
	// after the lease the job is claimed again.
	slow.conn.PgConn().Conn().Close()
	if err := first.Heartbeat(ctx, 0.6, nil); !errors.Is(err, ErrLost) {
		t.Errorf("heartbeat on an ended session: %v, want ErrLost", err)
	}
	slow.Close(ctx)
	time.Sleep(3 * lease)
	second, err := other.Claim(ctx, lease)
	if err != nil || second == nil || second.Number != first.Number || second.Fence <= first.Fence {
		t.Fatalf("re-claim: %+v (%v), want job %d with a fence above %d", second, err, first.Number, first.Fence)
	}
	// A stale claim can do nothing more, even through a new session.
	revived, err := d.NewClaimer(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	defer revived.Close(ctx)
	first.c = revived
	if err := first.Heartbeat(ctx, 0.9, nil); !errors.Is(err, ErrLost) {
		t.Errorf("stale heartbeat: %v, want ErrLost", err)
	}
	if err := first.Complete(ctx, func(context.Context, pgx.Tx) error { return nil }); !errors.Is(err, ErrLost) {
		t.Errorf("stale completion: %v, want ErrLost", err)
	}
	if err := second.Complete(ctx, func(context.Context, pgx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	attempts, err := d.Attempts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, a := range attempts {
		if a.Number == first.Number {
			outcomes = append(outcomes, a.Worker+":"+a.Outcome)
		}
	}
	if fmt.Sprint(outcomes) != "[slow:lost other:done]" {
		t.Errorf("attempts at job %d: %v, want the slow one lost and the other done", first.Number, outcomes)
	}
}

// TestResultRows records an evaluation job's result file as a row when it
// completes, and the plan a worker builds reads it from there, not from
// the file.
func TestResultRows(t *testing.T) {
	d := openDB(t)
	ctx := context.Background()
	root := t.TempDir()
	p, text := testPlan(t, root, `"baseline"`)
	e, err := d.Submit(ctx, p, text)
	if err != nil {
		t.Fatal(err)
	}
	eval := p.Jobs[1] // evaluate baseline seed 1
	if len(eval.Results) != 1 || eval.Results[0] != eval.Output {
		t.Fatalf("job 2 %q records %v", eval.Name, eval.Results)
	}
	if err := os.MkdirAll(filepath.Dir(eval.Output), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(eval.Output, []byte(`{"accuracy": 0.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := d.NewClaimer(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	for n := 1; n <= 2; n++ {
		l, err := c.Claim(ctx, time.Minute)
		if err != nil || l == nil || l.Number != n {
			t.Fatalf("claim %d: %+v, %v", n, l, err)
		}
		if err := l.Complete(ctx, func(ctx context.Context, tx pgx.Tx) error { return recordResults(ctx, tx, e, n, l.Fence, p.Jobs[n-1]) }); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(eval.Output)
	w := &Worker{DB: d}
	_, wp, err := w.plan(ctx, e.ID, map[int64]*experiment.Plan{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := wp.ReadResult(eval.Output)
	if err != nil || string(got) != `{"accuracy": 0.5}` {
		t.Errorf("the worker's plan read %q (%v), want the row", got, err)
	}
	if _, err := wp.ReadResult(filepath.Join(root, "eval", "nothing.json")); !errors.Is(err, ErrNotFound) {
		t.Errorf("a missing result: %v, want ErrNotFound", err)
	}
	if _, err := wp.ReadResult("/elsewhere/x.json"); err == nil {
		t.Error("a result outside the root was read")
	}
}

// TestFailAndRetry: a failed job blocks the jobs that need it, not the
// others; submitting the experiment again sends it back to pending. A job
// whose output exists at submission is done, with its results recorded.
func TestFailAndRetry(t *testing.T) {
	d := openDB(t)
	ctx := context.Background()
	root := t.TempDir()
	p, text := testPlan(t, root, `"baseline"`)
	// Jobs: 1 train seed 1, 2 evaluate it, 3 train seed 2, 4 evaluate it,
	// 5 the report. Seed 2's evaluation exists already.
	done := p.Jobs[3]
	if err := os.MkdirAll(filepath.Dir(done.Output), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(done.Output, []byte(`{"seed": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := d.Submit(ctx, p, text)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(root, done.Output)
	if got, err := d.Result(ctx, e.ID, rel); err != nil || string(got) != `{"seed": 2}` {
		t.Errorf("the result of a job done at submission: %q, %v", got, err)
	}
	c, err := d.NewClaimer(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	l, err := c.Claim(ctx, time.Minute)
	if err != nil || l == nil || l.Number != 1 {
		t.Fatalf("claim: %+v, %v", l, err)
	}
	if err := l.Fail(ctx, errors.New("out of memory")); err != nil {
		t.Fatal(err)
	}
	// Job 2 needs job 1: the next ready job is 3; after it, nothing (4 is
	// done, 5 needs 2).
	l, err = c.Claim(ctx, time.Minute)
	if err != nil || l == nil || l.Number != 3 {
		t.Fatalf("claim after the failure: %+v, %v", l, err)
	}
	if err := l.Complete(ctx, func(context.Context, pgx.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Claim(ctx, time.Minute); err != nil || l != nil {
		t.Fatalf("a job behind the failed one was claimed: %+v, %v", l, err)
	}
	if n, err := c.Outstanding(ctx); err != nil || n != 0 {
		t.Errorf("%d outstanding (%v), want 0: a worker would wait forever", n, err)
	}
	jobs, err := d.Jobs(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, j := range jobs {
		states = append(states, j.State)
	}
	if fmt.Sprint(states) != "[failed pending done done pending]" || jobs[0].Error != "out of memory" {
		t.Errorf("states %v, error %q", states, jobs[0].Error)
	}
	if _, err := d.Submit(ctx, p, text); err != nil {
		t.Fatal(err)
	}
	if l, err := c.Claim(ctx, time.Minute); err != nil || l == nil || l.Number != 1 {
		t.Errorf("after resubmission: %+v, %v, want job 1 again", l, err)
	}
}
