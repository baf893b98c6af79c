package experiment

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/roles"
)

func TestBuiltins(t *testing.T) {
	for _, name := range []string{"demo", "paper"} {
		text, ok := Preset(name)
		if !ok {
			t.Fatalf("no built-in experiment %q", name)
		}
		c, err := Parse(name, text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(c.Models) != len(roles.Table1()) || len(c.Seeds) < 3 {
			t.Errorf("%s runs %v with seeds %v; want all of %v with at least 3 seeds", name, c.Models, c.Seeds, roles.Table1())
		}
		if _, err := NewPlan(c, t.TempDir()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	paper, _ := Preset("paper")
	c, _ := Parse("paper", paper)
	if _, total, err := c.Model.Summary(64); err != nil || total != 39_737_352 {
		t.Errorf("paper model: %d parameters (%v), want 39,737,352", total, err)
	}
	if len(c.Sweep.Ratios) != 12 || c.MTL.Ratio.String() != "1:1" || c.Predictor.Optimizer.LR != 5e-4 {
		t.Errorf("paper: sweep %v, MTL ratio %s, predictor lr %v", c.Sweep.Ratios, c.MTL.Ratio, c.Predictor.Optimizer.LR)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"[classifier]\nbatchsize = 3\n", `unknown setting "classifier.batchsize"`},
		{"models = [\"mtl-rat\"]\n[data]\nroot = \"x\"\n", `unknown model "mtl-rat"`},
		{"models = [\"mtl-monkey\"]\n[data]\nroot = \"x\"\n", "[v1]: give recordings"},
		{"[data]\nroot = \"x\"\n[mtl]\nratio = \"1:0\"\nmodels=[]\n", ""},
		{"models = [\"mtl-monkey\"]\n[data]\nroot = \"x\"\n[v1]\nrecordings = \"r.npz\"\n[mtl]\nratio = \"3\"\n", "batch ratio \"3\""},
		{"models = [\"baseline\"]\n[data]\nroot = \"x\"\n[sweep]\nratios = [\"1:2\"]\n", "add \"mtl-monkey\""},
	} {
		_, err := Parse("test.toml", []byte(tc.text))
		if tc.want == "" {
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

func fullConfig(t testing.TB, root string) Config {
	t.Helper()
	text := fmt.Sprintf(`
name = "tiny"
seeds = [1, 2]
models = ["baseline", "monkey-predictor", "oracle", "mtl-oracle", "mtl-monkey", "mtl-shuffled"]

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
patience = 2
decay_steps = 1
max_epochs = 2

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
patience = 2
decay_steps = 1
max_epochs = 2

[mtl]
batch = 16
[mtl.stopping]
patience = 2
decay_steps = 1
max_epochs = 2

[oracle]
corruptions = ["gaussian_noise", "contrast"]

[evaluation]
corruptions = ["gaussian_noise", "contrast"]
bootstrap = 10

[sweep]
ratios = ["1:1", "1:2"]
seeds = [1]
`, root, root)
	c, err := Parse("tiny.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestPlanOrder checks that every job comes after the jobs that make its
// inputs, and that the plan holds what the experiment asks for.
func TestPlanOrder(t *testing.T) {
	c := fullConfig(t, "/data/tin")
	p, err := NewPlan(c, "/runs/tiny")
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	count := map[string]int{}
	for _, j := range p.Jobs {
		for _, in := range j.Inputs {
			if !made[in] {
				t.Errorf("%q reads %s before any job makes it", j.Name, in)
			}
		}
		made[j.Output] = true
		count[strings.Fields(j.Name)[0]]++
	}
	// 6 kinds: 5 classifiers + predictor, 2 seeds each; the Oracle readout;
	// one extra sweep run (1:1 seed 1 is MTL-Monkey's own).
	if count["train"] != 6*2+1+1 || count["simulate"] != 1 || count["predict"] != 2 || count["shuffle"] != 1 || count["write"] != 1 {
		t.Errorf("job counts %v", count)
	}
	// Evaluations: classifiers (5 kinds × 2 seeds + 1 sweep run) on
	// corruptions, and V1 for predictor, readout, MTL models and the sweep run.
	if count["evaluate"] != (5*2+1)+(2+1+3*2+1) {
		t.Errorf("%d evaluation jobs", count["evaluate"])
	}
	var buf bytes.Buffer
	p.Print(&buf)
	if !strings.Contains(buf.String(), "0 done") || !strings.Contains(buf.String(), "[pending] train mtl-monkey ratio 1:2 seed 1") {
		t.Errorf("plan printout:\n%s", buf.String())
	}
}

// logCancel cancels a run when a log line matches.
type logCancel struct {
	mu     sync.Mutex
	re     *regexp.Regexp
	cancel context.CancelFunc
	log    bytes.Buffer
}

func (l *logCancel) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.log.Write(p)
	if l.re != nil && l.re.Match(l.log.Bytes()) {
		l.cancel()
	}
	return len(p), nil
}

// TestRunResumes runs a miniature experiment with all six models twice:
// straight through, and killed in the middle of a co-training job and run
// again. The resumed run must skip finished jobs and print the same table.
func TestRunResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 17 small models")
	}
	tin := t.TempDir()
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 3, PerClass: 40, ValPerClass: 8, Seed: 1, Size: 32}); err != nil {
		t.Fatal(err)
	}
	c := fullConfig(t, tin)
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	run := func(root string, stopAt string) (string, string, error) {
		p, err := NewPlan(c, root)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		lc := &logCancel{cancel: cancel}
		if stopAt != "" {
			lc.re = regexp.MustCompile(stopAt)
		}
		var out bytes.Buffer
		err = p.Run(ctx, []recipes.Env{{Backend: b, Progress: lc, Workers: 2}}, &out)
		return out.String(), lc.log.String(), err
	}
	straight, _, err := run(filepath.Join(t.TempDir(), "a"), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(straight, "MTL-Shuffled") || !strings.Contains(straight, "report.html") {
		t.Fatalf("results table:\n%s", straight)
	}
	root := filepath.Join(t.TempDir(), "b")
	if _, _, err := run(root, `train mtl-monkey seed 1\n(.|\n)*epoch 1 `); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("interrupted run: %v", err)
	}
	resumed, log, err := run(root, "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log, "train baseline seed 1") || !strings.Contains(log, "resuming") {
		t.Errorf("the resumed run redid finished jobs or did not resume the interrupted one:\n%s", log)
	}
	strip := func(s string) string { // the report path differs
		lines := strings.Split(s, "\n")
		return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "report: ") }), "\n")
	}
	if strip(resumed) != strip(straight) {
		t.Errorf("tables differ:\nstraight:\n%s\nresumed:\n%s", straight, resumed)
	}
	if _, err := os.Stat(filepath.Join(root, "report", "report.html")); err != nil {
		t.Error(err)
	}
}

// TestRunAtOnce runs a miniature experiment with all six models in plan
// order on one single-threaded backend and with two jobs at a time on two:
// the tables and every trained model must be identical, each job must
// have its log, and a failing job must be named with its log.
func TestRunAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 9 small models twice")
	}
	tin := t.TempDir()
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 3, PerClass: 40, ValPerClass: 8, Seed: 1, Size: 32}); err != nil {
		t.Fatal(err)
	}
	c := fullConfig(t, tin)
	c.Seeds = []int64{1}
	envs := func(n int) []recipes.Env {
		es := make([]recipes.Env, n)
		for i := range es {
			b, err := cpu.New("threads=1")
			if err != nil {
				t.Fatal(err)
			}
			es[i] = recipes.Env{Backend: b, Workers: 1}
		}
		return es
	}
	run := func(root string, es []recipes.Env) (table, log string, err error) {
		p, err := NewPlan(c, root)
		if err != nil {
			t.Fatal(err)
		}
		var out, progress bytes.Buffer
		es[0].Progress = &progress
		err = p.Run(context.Background(), es, &out)
		return out.String(), progress.String(), err
	}
	inOrder := filepath.Join(t.TempDir(), "in-order")
	want, _, err := run(inOrder, envs(1))
	if err != nil {
		t.Fatal(err)
	}
	atOnce := filepath.Join(t.TempDir(), "at-once")
	got, log, err := run(atOnce, envs(2))
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	strip := func(s string) string { // the report path differs
		lines := strings.Split(s, "\n")
		return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return strings.HasPrefix(l, "report: ") }), "\n")
	}
	if strip(got) != strip(want) {
		t.Errorf("tables differ:\nin order:\n%s\ntwo at once:\n%s", want, got)
	}
	runningMost, running := 0, 0
	for _, l := range strings.Split(log, "\n") {
		switch {
		case strings.Contains(l, "(log: "):
			running++
			runningMost = max(runningMost, running)
		case strings.Contains(l, "] done in "):
			running--
		}
	}
	if runningMost != 2 {
		t.Errorf("at most %d jobs ran at once, want 2:\n%s", runningMost, log)
	}
	p, err := NewPlan(c, atOnce)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range p.Jobs {
		logFile := filepath.Join(atOnce, LogDir, fmt.Sprintf("%03d.log", i+1))
		if _, err := os.Stat(logFile); err != nil {
			t.Errorf("job %d (%s): %v", i+1, j.Name, err)
		}
		if !strings.Contains(log, fmt.Sprintf("[%d/%d] done in", i+1, len(p.Jobs))) {
			t.Errorf("the progress lacks job %d's end:\n%s", i+1, log)
		}
		if j.Dir == "" {
			continue
		}
		a, err := os.ReadFile(filepath.Join(j.Dir, "model.npz"))
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(atOnce, j.Dir)
		b, err := os.ReadFile(filepath.Join(inOrder, rel, "model.npz"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the model trained two at a time differs from the one trained in order", rel)
		}
	}

	// A job that fails: the V1 recording is unreadable, so the Monkey
	// Predictor's training fails; the error names it and its log, and the
	// jobs that need it never start.
	broken := filepath.Join(t.TempDir(), "broken")
	bp, err := NewPlan(c, broken)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(bp.Recordings), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bp.Recordings, []byte("not an npz"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, log, err = run(broken, envs(2))
	if err == nil || !strings.Contains(err.Error(), "monkey-predictor") || !strings.Contains(err.Error(), filepath.Join(broken, LogDir)) {
		t.Fatalf("err = %v, want the failing job and its log named\n%s", err, log)
	}
	if strings.Contains(log, "train mtl-monkey") {
		t.Errorf("a job that needs the failed one started:\n%s", log)
	}
}
