// Package dashboard serves a live, read-only web page of experiments: their
// jobs with state, progress and ETA, each training job's curves, the
// results table and the report's figures. It reads a run folder (what
// cotrain run writes) or a PostgreSQL job table (cluster), and is plain
// server-rendered HTML (html/template) with no script.
package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/cluster"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/report"
)

// ErrNotFound reports an experiment, job or figure the source lacks.
var ErrNotFound = errors.New("not found")

// Source is where the dashboard reads experiments from.
type Source interface {
	// Experiments lists the experiments (id, name, folder).
	Experiments(ctx context.Context) ([]Summary, error)
	// Experiment returns one experiment's jobs and results.
	Experiment(ctx context.Context, id int64) (*View, error)
	// Epochs returns a job's per-epoch records (metrics.json's).
	Epochs(ctx context.Context, id int64, number int) ([]Epoch, error)
}

// Summary names an experiment.
type Summary struct {
	ID         int64
	Name, Root string
	// Total is the number of jobs, Done of those done.
	Total, Done int
}

// View is one experiment as the dashboard shows it.
type View struct {
	Summary
	Jobs []Job
	// Table is the results table (empty until the report job is done).
	Table string
	// Figures are the report's figure files (report/figures/*.png).
	Figures []string
}

// Job is one job's state.
type Job struct {
	Number int
	Name   string
	// State is pending, started (a run folder's training job with
	// checkpoints), running, done or failed.
	State              string
	Worker             string
	Attempts           int
	Epochs, EpochsDone int
	// ETA is the remaining epochs at the mean epoch time so far (0:
	// unknown); early stopping may end the job sooner.
	ETA   time.Duration
	Error string
}

// Progress is the fraction of the job done: 1 when done, else completed
// epochs over the most epochs of a training job, else 0.
func (j Job) Progress() float64 {
	switch {
	case j.State == "done":
		return 1
	case j.Epochs > 0:
		return min(1, float64(j.EpochsDone)/float64(j.Epochs))
	}
	return 0
}

// Epoch is one epoch's record of a training job.
type Epoch struct {
	Epoch     int                `json:"epoch"`
	LR        float64            `json:"lr"`
	Objective float64            `json:"objective"`
	Metrics   map[string]float64 `json:"metrics"`
	Seconds   float64            `json:"seconds"`
}

func parseEpochs(raw []byte, source string) ([]Epoch, error) {
	var es []Epoch
	if err := json.Unmarshal(raw, &es); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return es, nil
}

// eta is the remaining epochs at the mean epoch duration.
func eta(es []Epoch, max int) time.Duration {
	if len(es) == 0 || max <= len(es) {
		return 0
	}
	total := 0.0
	for _, e := range es {
		total += e.Seconds
	}
	return time.Duration(total / float64(len(es)) * float64(max-len(es)) * float64(time.Second))
}

// figures lists the PNG figures in a report's figures folder.
func figures(root string) []string {
	files, _ := filepath.Glob(filepath.Join(root, "report", report.FiguresDir, "*.png"))
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = filepath.Base(f)
	}
	slices.Sort(names)
	return names
}

// FigurePath returns the file of a figure of an experiment in root, if the
// report has a figure of that name (and only then: no other file is
// served).
func FigurePath(root, name string) (string, error) {
	if slices.Contains(figures(root), name) {
		return filepath.Join(root, "report", report.FiguresDir, name), nil
	}
	return "", fmt.Errorf("figure %q: %w", name, ErrNotFound)
}

// Dir reads one run folder of cotrain run (its experiment.toml names the
// experiment); it is experiment 1.
type Dir struct{ Root string }

func (d Dir) plan() (*experiment.Plan, error) { return experiment.LoadRoot(d.Root) }

// Experiments lists the folder's experiment.
func (d Dir) Experiments(ctx context.Context) ([]Summary, error) {
	v, err := d.Experiment(ctx, 1)
	if err != nil {
		return nil, err
	}
	return []Summary{v.Summary}, nil
}

// Experiment reads the folder's jobs: done when their output exists,
// started when a training job has checkpoints.
func (d Dir) Experiment(ctx context.Context, id int64) (*View, error) {
	if id != 1 {
		return nil, fmt.Errorf("experiment %d: %w", id, ErrNotFound)
	}
	p, err := d.plan()
	if err != nil {
		return nil, err
	}
	v := &View{Summary: Summary{ID: 1, Name: p.Config.Name, Root: p.Root, Total: len(p.Jobs)}, Figures: figures(p.Root)}
	for i, j := range p.Jobs {
		job := Job{Number: i + 1, Name: j.Name, State: j.Status(), Epochs: j.Epochs}
		if j.Dir != "" {
			es, err := d.epochs(j)
			if err != nil {
				job.Error = err.Error()
			}
			job.EpochsDone = len(es)
			if job.State == "started" {
				job.ETA = eta(es, j.Epochs)
			}
		}
		if job.State == "done" {
			v.Done++
		}
		v.Jobs = append(v.Jobs, job)
	}
	if raw, err := os.ReadFile(p.TableFile()); err == nil {
		v.Table = string(raw)
	}
	return v, nil
}

func (d Dir) epochs(j *experiment.Job) ([]Epoch, error) {
	path := filepath.Join(j.Dir, checkpoint.MetricsFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return parseEpochs(raw, path)
}

// Epochs reads a training job's metrics.json.
func (d Dir) Epochs(ctx context.Context, id int64, number int) ([]Epoch, error) {
	p, err := d.plan()
	if err != nil {
		return nil, err
	}
	if id != 1 || number < 1 || number > len(p.Jobs) {
		return nil, fmt.Errorf("job %d of experiment %d: %w", number, id, ErrNotFound)
	}
	return d.epochs(p.Jobs[number-1])
}

// DB reads the experiments of a PostgreSQL job table.
type DB struct{ DB *cluster.DB }

// Experiments lists the database's experiments.
func (d DB) Experiments(ctx context.Context) ([]Summary, error) {
	es, err := d.DB.Experiments(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, len(es))
	for i, e := range es {
		jobs, err := d.DB.Jobs(ctx, e.ID)
		if err != nil {
			return nil, err
		}
		out[i] = Summary{ID: e.ID, Name: e.Name, Root: e.Root, Total: len(jobs)}
		for _, j := range jobs {
			if j.State == "done" {
				out[i].Done++
			}
		}
	}
	return out, nil
}

// Experiment reads an experiment's job rows and its table's result row.
func (d DB) Experiment(ctx context.Context, id int64) (*View, error) {
	e, err := d.DB.Experiment(ctx, id)
	if errors.Is(err, cluster.ErrNotFound) {
		return nil, fmt.Errorf("experiment %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	jobs, err := d.DB.Jobs(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &View{Summary: Summary{ID: id, Name: e.Name, Root: e.Root, Total: len(jobs)}, Figures: figures(e.Root)}
	for _, j := range jobs {
		v.Jobs = append(v.Jobs, Job{Number: j.Number, Name: j.Name, State: j.State, Worker: j.Worker, Attempts: j.Attempts,
			Epochs: j.Epochs, EpochsDone: j.EpochsDone, ETA: j.ETA(), Error: j.Error})
		if j.State == "done" {
			v.Done++
		}
	}
	if p, err := e.Plan(); err == nil {
		rel, _ := filepath.Rel(e.Root, p.TableFile())
		if table, err := d.DB.Result(ctx, id, rel); err == nil {
			v.Table = string(table)
		}
	}
	return v, nil
}

// Epochs reads a job's epoch rows.
func (d DB) Epochs(ctx context.Context, id int64, number int) ([]Epoch, error) {
	v, err := d.Experiment(ctx, id)
	if err != nil {
		return nil, err
	}
	if number < 1 || number > len(v.Jobs) {
		return nil, fmt.Errorf("job %d of experiment %d: %w", number, id, ErrNotFound)
	}
	rows, err := d.DB.Epochs(ctx, id, number)
	if err != nil {
		return nil, err
	}
	return parseEpochs([]byte("["+strings.Join(bytesToStrings(rows), ",")+"]"), fmt.Sprintf("epochs of job %d", number))
}

func bytesToStrings(bs [][]byte) []string {
	s := make([]string, len(bs))
	for i, b := range bs {
		s[i] = string(b)
	}
	return s
}
