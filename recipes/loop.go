package recipes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/internal/progress"
	"github.com/cotrain/cotrain/nn"
)

// Env is the environment a recipe runs in.
type Env struct {
	Backend backends.Backend
	// Progress receives progress bars and per-epoch summaries; nil is quiet.
	Progress io.Writer
	// Workers is the number of data-loading goroutines (0: all cores).
	Workers int
}

// ErrInterrupted reports a run stopped by its context; re-running the same
// command resumes it from its last completed epoch.
var ErrInterrupted = errors.New("training interrupted")

// ErrDiverged reports a run whose loss or validation objective became NaN
// or infinite.
var ErrDiverged = errors.New("training diverged")

// EpochRecord is one epoch's entry in the metrics log.
type EpochRecord struct {
	Epoch     int                `json:"epoch"`
	LR        float64            `json:"lr"`
	Objective float64            `json:"objective"`
	Improved  bool               `json:"improved"`
	Action    nn.Action          `json:"action"`
	Metrics   map[string]float64 `json:"metrics"`
	Seconds   float64            `json:"seconds"`
}

// runState is what a run directory remembers between invocations.
type runState struct {
	ConfigHash string            `json:"config_hash"`
	Epoch      int               `json:"epoch"` // completed epochs
	Plateau    *nn.Plateau       `json:"plateau"`
	Stopping   *nn.EarlyStopping `json:"stopping"`
	Latest     string            `json:"latest"` // checkpoint of all variables after Epoch
	Best       string            `json:"best"`   // checkpoint of the best model variables
	Finished   bool              `json:"finished"`
	Diverged   string            `json:"diverged,omitempty"`
	History    []EpochRecord     `json:"history"`
}

// trainer is the recipe-specific part of a run.
type trainer interface {
	// epoch trains one epoch; report(done, total, images, note) tracks it.
	epoch(ctx context.Context, epoch int, report func(done, total, images int, note string)) (map[string]float64, error)
	// validate returns the monitored objective and other metrics.
	validate(ctx context.Context) (float64, map[string]float64, error)
}

// loop is one run's training loop configuration.
type loop struct {
	dir        string
	configHash string
	mode       nn.Mode
	lr         float64
	plateau    PlateauConfig
	stopping   StoppingConfig
	dtype      dtypes.DType
	objective  string // the monitored metric's name, for messages
	// steps, if set, fixes every epoch's learning rate (a step schedule
	// instead of the plateau): the run lasts stopping.MaxEpochs epochs, no
	// best weights are restored, and the model file holds the weights after
	// the last epoch.
	steps func(epoch int) float64
}

// LoopResult summarizes a finished run.
type LoopResult struct {
	Epochs        int
	BestEpoch     int
	BestObjective float64
	History       []EpochRecord
}

// ReadResult reads the result of the finished run in dir from its state
// file.
func ReadResult(dir string) (*LoopResult, error) {
	path := filepath.Join(dir, checkpoint.StateFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("no training state in %s: %w", dir, err)
	}
	var s runState
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s is damaged: %w", path, err)
	}
	if !s.Finished {
		return nil, fmt.Errorf("the run in %s has not finished (%d epochs so far)", dir, s.Epoch)
	}
	return s.result(), nil
}

// result summarizes the run.
func (s *runState) result() *LoopResult {
	return &LoopResult{Epochs: s.Epoch, BestEpoch: s.Stopping.BestEpoch, BestObjective: s.Stopping.Best, History: s.History}
}

func (l *loop) path(name string) string { return filepath.Join(l.dir, name) }

func (l *loop) loadState() (*runState, error) {
	raw, err := os.ReadFile(l.path(checkpoint.StateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s runState
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fmt.Errorf("%s is damaged (%v); delete the run directory %s to start over", l.path(checkpoint.StateFile), err, l.dir)
	}
	if s.ConfigHash != l.configHash {
		return nil, fmt.Errorf("run directory %s was started with a different configuration or seed; "+
			"use another --out directory, or delete it to start over", l.dir)
	}
	return &s, nil
}

func (l *loop) saveState(s *runState) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteBytes(l.path(checkpoint.StateFile), raw); err != nil {
		return err
	}
	hist, err := json.MarshalIndent(s.History, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(l.path(checkpoint.MetricsFile), hist)
}

// run trains until early stopping ends the run, checkpointing every epoch.
// A run directory with a state file resumes from its last completed epoch.
func (l *loop) run(ctx context.Context, env Env, g *gctx.Context, t trainer) (*LoopResult, error) {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating run directory: %w", err)
	}
	st, err := l.loadState()
	if err != nil {
		return nil, err
	}
	if st != nil {
		if err := checkpoint.Load(l.path(st.Latest), g); err != nil {
			return nil, fmt.Errorf("resuming %s: %w", l.dir, err)
		}
		if st.Finished {
			return l.finish(st, g)
		}
		fmt.Fprintf(progressOrDiscard(env), "resuming %s after epoch %d\n", l.dir, st.Epoch)
	} else {
		plateau, err := l.plateau.schedule(l.lr, l.mode)
		if err != nil {
			return nil, err
		}
		st = &runState{ConfigHash: l.configHash, Plateau: plateau, Stopping: l.stopping.stopping(l.mode)}
		if err := nn.SetLearningRate(g, l.dtype, l.lr); err != nil {
			return nil, err
		}
		obj, _, err := t.validate(ctx)
		if err != nil {
			return nil, err
		}
		// The original feeds the untrained model's objective to the scheduler
		// too; in the default schedule only Reduce changes the rate.
		st.Plateau.Step(obj)
		st.Stopping.Start(obj)
		fmt.Fprintf(progressOrDiscard(env), "before training: %s %.4g\n", l.objective, obj)
		if err := l.checkpoint(st, g, true); err != nil {
			return nil, err
		}
	}
	for !st.Stopping.Finished {
		if err := ctx.Err(); err != nil {
			return nil, ErrInterrupted
		}
		epoch := st.Epoch + 1
		start := time.Now()
		if l.steps != nil {
			if err := nn.SetLearningRate(g, l.dtype, l.steps(epoch)); err != nil {
				return nil, err
			}
		}
		bar := newBar(env, fmt.Sprintf("epoch %d", epoch))
		metrics, err := t.epoch(ctx, epoch, bar.update)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ErrInterrupted
			}
			return nil, err
		}
		obj, vm, err := t.validate(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ErrInterrupted
			}
			return nil, err
		}
		for k, v := range vm {
			metrics[k] = v
		}
		diverged := ""
		if loss, ok := metrics["train_loss"]; ok && !finite(loss) {
			diverged = fmt.Sprintf("the training loss is %v at epoch %d", loss, epoch)
			obj = math.NaN()
		} else if !finite(obj) {
			diverged = fmt.Sprintf("the validation %s is %v at epoch %d", l.objective, obj, epoch)
		}
		lr := nn.LearningRate(g, l.lr)
		newLR := lr
		if l.stopping.OriginalSchedule {
			newLR, _ = st.Plateau.Step(obj)
		}
		improved, action := st.Stopping.Observe(obj)
		if l.steps != nil && action == nn.RestoreBest {
			action = nn.Continue
		}
		if action == nn.RestoreBest && !l.stopping.OriginalSchedule {
			newLR, _ = st.Plateau.Reduce()
		}
		rec := EpochRecord{Epoch: epoch, LR: lr, Objective: obj, Improved: improved, Action: action, Metrics: metrics,
			Seconds: time.Since(start).Seconds()}
		bar.done(fmt.Sprintf("%s %.4g%s (best %.4g at epoch %d), lr %.3g", l.objective, obj, mark(improved), st.Stopping.Best, st.Stopping.BestEpoch, lr))
		st.History = append(st.History, rec)
		st.Epoch = epoch
		if improved {
			if err := l.saveBest(st, g); err != nil {
				return nil, err
			}
		}
		if action == nn.RestoreBest && diverged == "" {
			if err := l.restoreBest(st, g); err != nil {
				return nil, err
			}
		}
		if newLR != lr {
			if err := nn.SetLearningRate(g, l.dtype, newLR); err != nil {
				return nil, err
			}
		}
		if diverged != "" {
			st.Diverged = diverged
		}
		if err := l.checkpoint(st, g, false); err != nil {
			return nil, err
		}
	}
	return l.finish(st, g)
}

// finish restores the best weights (with a step schedule: the last
// epoch's) and writes the model file.
func (l *loop) finish(st *runState, g *gctx.Context) (*LoopResult, error) {
	final := st.Best
	if l.steps != nil {
		final = st.Latest
	}
	if err := checkpoint.Load(l.path(final), g); err != nil {
		return nil, fmt.Errorf("restoring the final model: %w", err)
	}
	if err := checkpoint.Save(l.path(checkpoint.ModelFile), g, checkpoint.Model); err != nil {
		return nil, err
	}
	if !st.Finished {
		st.Finished = true
		if err := l.saveState(st); err != nil {
			return nil, err
		}
	}
	res := st.result()
	if st.Diverged != "" {
		return res, fmt.Errorf("%w: %s; the best model (epoch %d, %s %.4g) is in %s — lower the learning rate and run again in a new directory",
			ErrDiverged, st.Diverged, res.BestEpoch, l.objective, res.BestObjective, l.path(checkpoint.ModelFile))
	}
	return res, nil
}

func (l *loop) saveBest(st *runState, g *gctx.Context) error {
	name := fmt.Sprintf("best-%04d.npz", st.Epoch)
	if err := checkpoint.Save(l.path(name), g, checkpoint.Model); err != nil {
		return err
	}
	old := st.Best
	st.Best = name
	return l.removeLater(old)
}

// restoreBest reloads the best weights; unless configured to keep it, the
// optimizer state is reset so that momentum from the abandoned trajectory
// does not move the restored weights.
func (l *loop) restoreBest(st *runState, g *gctx.Context) error {
	if err := checkpoint.Load(l.path(st.Best), g); err != nil {
		return fmt.Errorf("restoring the best weights: %w", err)
	}
	if !l.stopping.KeepMomentum {
		return nn.ResetOptimizerState(g)
	}
	return nil
}

// checkpoint writes all variables and then the state that points at them,
// so that a run killed at any moment resumes from a consistent epoch.
func (l *loop) checkpoint(st *runState, g *gctx.Context, first bool) error {
	name := fmt.Sprintf("ckpt-%04d.npz", st.Epoch)
	if err := checkpoint.Save(l.path(name), g, nil); err != nil {
		return err
	}
	if first {
		best := fmt.Sprintf("best-%04d.npz", st.Epoch)
		if err := checkpoint.Save(l.path(best), g, checkpoint.Model); err != nil {
			return err
		}
		st.Best = best
	}
	old := st.Latest
	st.Latest = name
	if err := l.saveState(st); err != nil {
		return err
	}
	l.removeLater(old)
	l.pruneOrphans(st)
	return nil
}

// removeLater deletes a superseded checkpoint file (best effort).
func (l *loop) removeLater(name string) error {
	if name != "" {
		os.Remove(l.path(name))
	}
	return nil
}

// pruneOrphans removes checkpoint files a killed run left behind.
func (l *loop) pruneOrphans(st *runState) {
	for _, pattern := range []string{"ckpt-*.npz", "best-*.npz"} {
		matches, _ := filepath.Glob(l.path(pattern))
		for _, m := range matches {
			if b := filepath.Base(m); b != st.Latest && b != st.Best {
				os.Remove(m)
			}
		}
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func mark(improved bool) string {
	if improved {
		return " *"
	}
	return ""
}

func progressOrDiscard(env Env) io.Writer {
	if env.Progress == nil {
		return io.Discard
	}
	return env.Progress
}

// bar adapts a progress bar to the trainer's report callback.
type bar struct {
	env   Env
	label string
	b     *progress.Bar
}

func newBar(env Env, label string) *bar { return &bar{env: env, label: label} }

func (b *bar) update(done, total, images int, note string) {
	if b.b == nil {
		b.b = progress.New(b.env.Progress, b.label, total, "batches")
	}
	b.b.Update(done, images, note)
}

func (b *bar) done(summary string) {
	if b.b == nil {
		b.b = progress.New(b.env.Progress, b.label, 0, "batches")
	}
	b.b.Done(summary)
}

// scalar reads a numeric scalar output of a graph.
func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case int32:
		return float64(v)
	case int64:
		return float64(v)
	}
	return math.NaN()
}
