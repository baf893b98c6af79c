package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/internal/servicetest"
)

// runningExperiment lays out the run folder of an experiment in progress:
// the V1 recording made, the Baseline's training at epoch 2 of 8, nothing
// else, and (left from an earlier report, to check escaping) a table and a
// figure.
func runningExperiment(t *testing.T) (string, *experiment.Plan) {
	t.Helper()
	root := t.TempDir()
	text := []byte(`name = "dash"
seeds = [1]
models = ["baseline", "mtl-monkey"]
[data]
dataset = "tinyimagenet"
root = "/nonexistent/tin"
[classifier.stopping]
max_epochs = 8
[v1.simulate]
images = "tinyimagenet:/nonexistent/tin:train"
`)
	if err := experiment.SaveText(root, text); err != nil {
		t.Fatal(err)
	}
	p, err := experiment.LoadRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(p.Jobs[0].Output, "recording")
	train := p.Jobs[1]
	if train.Dir == "" || train.Epochs != 8 {
		t.Fatalf("job 2 is %q with %d epochs, want the Baseline's training with 8", train.Name, train.Epochs)
	}
	write(filepath.Join(train.Dir, "state.json"), "{}")
	write(filepath.Join(train.Dir, "metrics.json"), `[
 {"epoch": 1, "lr": 0.1, "objective": 41.5, "improved": true, "action": "", "metrics": {"train_loss": 1.2, "val_accuracy": 41.5}, "seconds": 30},
 {"epoch": 2, "lr": 0.1, "objective": 52.25, "improved": true, "action": "", "metrics": {"train_loss": 0.9, "val_accuracy": 52.25}, "seconds": 34}
]`)
	write(p.TableFile(), "Model  Clean [%]\nBaseline  <b>88.18</b> & more\n")
	img := image.NewGray(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.White)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(root, "report", "figures", "fig2.png"), buf.String())
	return root, p
}

// snapshot lists every file under root with its size and modification
// time.
func snapshot(t *testing.T, root string) string {
	var b strings.Builder
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %d\n", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return b.String()
}

func TestDirSource(t *testing.T) {
	root, p := runningExperiment(t)
	v, err := Dir{Root: root}.Experiment(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if v.Total != len(p.Jobs) || v.Done != 1 || v.Jobs[0].State != "done" || v.Jobs[1].State != "started" || v.Jobs[2].State != "pending" {
		t.Fatalf("view %+v", v)
	}
	// Two epochs of 30 s and 34 s done: six left at 32 s.
	if j := v.Jobs[1]; j.EpochsDone != 2 || j.ETA != 6*32*time.Second || j.Progress() != 0.25 {
		t.Errorf("training job: %d epochs, ETA %s, progress %g; want 2, 3m12s, 0.25", j.EpochsDone, j.ETA, j.Progress())
	}
	if len(v.Figures) != 1 || v.Figures[0] != "fig2.png" || !strings.Contains(v.Table, "88.18") {
		t.Errorf("figures %v, table %q", v.Figures, v.Table)
	}
}

// TestPage loads the dashboard of a running experiment in headless
// Chromium: the job states and the table are in the DOM, the training
// job's page has its curves. Screenshots go to the test's artifacts
// (go test -artifacts).
func TestPage(t *testing.T) {
	root, p := runningExperiment(t)
	srv := httptest.NewServer(Handler(Dir{Root: root}, time.Second, nil))
	defer srv.Close()
	browser := servicetest.Chromium(t)
	dom := browser.DOM(srv.URL + "/")
	for n, state := range map[int]string{1: "done", 2: "started", 3: "pending", len(p.Jobs): "pending"} {
		re := regexp.MustCompile(fmt.Sprintf(`<tr id="job-%d" data-state="%s">`, n, state))
		if !re.MatchString(dom) {
			t.Errorf("job %d is not %s in the page", n, state)
		}
	}
	if !strings.Contains(dom, "2/8 epochs") || !strings.Contains(dom, "≤ 3m12s") {
		t.Errorf("the training job's progress and ETA are not in the page")
	}
	if !strings.Contains(dom, `<pre id="results">Model  Clean [%]`+"\n"+`Baseline  &lt;b&gt;88.18&lt;/b&gt; &amp; more`) {
		t.Errorf("the results table is not in the page (escaped):\n%s", dom)
	}
	if !strings.Contains(dom, `<img src="figures/fig2.png"`) || !strings.Contains(dom, `http-equiv="refresh" content="1"`) {
		t.Errorf("the page lacks its figure or its reload")
	}
	job := browser.DOM(srv.URL + "/e/1/jobs/2")
	if strings.Count(job, "<polyline") != 4 || !strings.Contains(job, "val_accuracy") || !strings.Contains(job, "52.25") {
		t.Errorf("the training job's page lacks its four curves:\n%s", job)
	}
	browser.Screenshot(srv.URL+"/e/1/", filepath.Join(t.ArtifactDir(), "running.png"), 1100, 900)
	browser.Screenshot(srv.URL+"/e/1/jobs/2", filepath.Join(t.ArtifactDir(), "job.png"), 1100, 700)
}

// TestReadOnly checks the answers to bad paths, unknown experiments, jobs
// and figures (404), and to every method that would write (405), and that
// serving changes no file.
func TestReadOnly(t *testing.T) {
	root, p := runningExperiment(t)
	before := snapshot(t, root)
	srv := httptest.NewServer(Handler(Dir{Root: root}, 0, nil))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", http.StatusFound},
		{"GET", "/e/1/", http.StatusOK},
		{"HEAD", "/e/1/", http.StatusOK},
		{"GET", "/e/1/jobs/2", http.StatusOK},
		{"GET", "/e/1/figures/fig2.png", http.StatusOK},
		{"GET", "/nope", http.StatusNotFound},
		{"GET", "/e/", http.StatusNotFound},
		{"GET", "/e/2/", http.StatusNotFound},
		{"GET", "/e/0/", http.StatusNotFound},
		{"GET", "/e/x/", http.StatusNotFound},
		{"GET", "/e/1/jobs/0", http.StatusNotFound},
		{"GET", fmt.Sprintf("/e/1/jobs/%d", len(p.Jobs)+1), http.StatusNotFound},
		{"GET", "/e/1/jobs/two", http.StatusNotFound},
		{"GET", "/e/1/figures/missing.png", http.StatusNotFound},
		{"GET", "/e/1/figures/%2e%2e%2f%2e%2e%2fexperiment.toml", http.StatusNotFound},
		{"GET", "/e/1/figures/..%2f..%2fexperiment.toml", http.StatusNotFound},
		{"GET", "/experiment.toml", http.StatusNotFound},
		{"POST", "/", http.StatusMethodNotAllowed},
		{"POST", "/e/1/", http.StatusMethodNotAllowed},
		{"PUT", "/e/1/jobs/2", http.StatusMethodNotAllowed},
		{"DELETE", "/e/1/", http.StatusMethodNotAllowed},
		{"PATCH", "/e/1/figures/fig2.png", http.StatusMethodNotAllowed},
		{"POST", "/nope", http.StatusMethodNotAllowed},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: %d, want %d (%s)", tc.method, tc.path, resp.StatusCode, tc.want, body)
		}
		if tc.path == "/e/1/figures/fig2.png" && tc.want == 200 && resp.Header.Get("Content-Type") != "image/png" {
			t.Errorf("figure served as %q", resp.Header.Get("Content-Type"))
		}
	}
	if after := snapshot(t, root); after != before {
		t.Errorf("serving changed the run folder:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
