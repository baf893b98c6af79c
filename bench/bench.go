// Package bench measures cotrain's training and inference throughput on a
// model and, in the same invocation, PyTorch's on the same model, batch and
// thread count, so that speed is reported as a ratio.
package bench

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

//go:embed torch_vgg.py
var torchScript []byte

// Mode is what is timed.
type Mode string

// Modes.
const (
	Train   Mode = "train"   // forward, backward and an SGD step
	Forward Mode = "forward" // inference
)

// Options configure a benchmark.
type Options struct {
	Mode    Mode
	Model   models.VGG
	Input   int // image side
	Batch   int
	Steps   int // timed steps after one warm-up step
	Threads int // for PyTorch; cotrain's cpu backend uses its own setting
}

// Result is the throughput of one framework.
type Result struct {
	Framework string
	StepTimes []time.Duration
	Images    float64 // images per second (median step)
	GFLOPs    float64 // achieved GFLOP/s (median step)
}

// FLOPs returns the floating-point operations of one image: 2 per
// multiply-add of every convolution; a training step counts 3× the forward
// pass (forward, gradient with respect to inputs, and to weights).
func FLOPs(m models.VGG, input int, mode Mode) (float64, error) {
	layers, _, err := m.Summary(input)
	if err != nil {
		return 0, err
	}
	var macs float64
	h, c := input, m.InputChannels
	_ = layers
	for _, stage := range m.Stages {
		for _, ch := range stage {
			macs += float64(h*h) * float64(9*c*ch)
			c = ch
		}
		h /= 2
	}
	for _, w := range m.Head {
		macs += float64(h*h) * float64(c*w)
		c = w
	}
	macs += float64(h*h) * float64(c*m.Classes)
	f := 2 * macs
	if mode == Train {
		f *= 3
	}
	return f, nil
}

func summarize(framework string, times []time.Duration, flops float64, batch int) Result {
	s := slices.Clone(times)
	slices.Sort(s)
	med := s[len(s)/2].Seconds()
	return Result{Framework: framework, StepTimes: times, Images: float64(batch) / med, GFLOPs: flops * float64(batch) / med / 1e9}
}

// Cotrain times the model on backend b.
func Cotrain(ctx context.Context, b backends.Backend, o Options) (Result, error) {
	flops, err := FLOPs(o.Model, o.Input, o.Mode)
	if err != nil {
		return Result{}, err
	}
	mctx := gctx.New()
	if err := nn.SetSeed(mctx, 1); err != nil {
		return Result{}, err
	}
	opt := &nn.SGD{LR: 0.01, Momentum: 0.75, WeightDecay: 5e-4}
	var step *gctx.Exec
	err = engine.Try(func() {
		var err error
		step, err = gctx.NewExec(b, mctx, func(ctx *gctx.Context, x, labels *graph.Node) *graph.Node {
			g := x.Graph()
			ctx.SetTraining(g, o.Mode == Train)
			logits := o.Model.Logits(ctx, x)
			if o.Mode == Forward {
				return logits
			}
			loss := nn.CrossEntropy(logits, labels)
			opt.UpdateGraph(ctx, g, loss)
			return loss
		})
		if err != nil {
			panic(err)
		}
	})
	if err != nil {
		return Result{}, err
	}
	x := make([]float32, o.Batch*o.Input*o.Input)
	for i := range x {
		x[i] = float32((i*7919)%1000)/500 - 1
	}
	labels := make([]int32, o.Batch)
	for i := range labels {
		labels[i] = int32(i % o.Model.Classes)
	}
	xt := tensors.FromFlatDataAndDimensions(x, o.Batch, o.Input, o.Input, 1)
	lt := tensors.FromFlatDataAndDimensions(labels, o.Batch)
	var times []time.Duration
	for s := 0; s <= o.Steps; s++ {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		start := time.Now()
		out, err := step.Exec(xt, lt)
		if err != nil {
			return Result{}, err
		}
		for _, t := range out {
			t.MustConstFlatData(func(any) {}) // wait for the result on the host
			t.FinalizeAll()
		}
		if s > 0 {
			times = append(times, time.Since(start))
		}
	}
	return summarize("cotrain ("+b.Name()+")", times, flops, o.Batch), nil
}

// PythonPath is the interpreter that runs the PyTorch reference: Debian's
// python3-torch lives under /usr/bin/python3.
const PythonPath = "/usr/bin/python3"

// PyTorch runs the reference script with the same model and batch.
func PyTorch(ctx context.Context, o Options) (Result, error) {
	flops, err := FLOPs(o.Model, o.Input, o.Mode)
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "cotrain-bench")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "torch_vgg.py")
	if err := os.WriteFile(script, torchScript, 0o644); err != nil {
		return Result{}, err
	}
	cfg, err := json.Marshal(map[string]any{"stages": o.Model.Stages, "head": o.Model.Head, "classes": o.Model.Classes,
		"input_channels": o.Model.InputChannels, "dropout": o.Model.Dropout})
	if err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, PythonPath, script, string(o.Mode), string(cfg),
		strconv.Itoa(o.Batch), strconv.Itoa(o.Input), strconv.Itoa(o.Steps), strconv.Itoa(o.Threads))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "No module named 'torch'") {
			msg = "PyTorch is not installed: apt-get install python3-torch"
		}
		return Result{}, fmt.Errorf("running the PyTorch reference (%s): %v: %s", PythonPath, err, msg)
	}
	var times []time.Duration
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var sec float64
		if _, err := fmt.Sscanf(sc.Text(), "step %f", &sec); err == nil {
			times = append(times, time.Duration(sec*float64(time.Second)))
		}
	}
	if len(times) == 0 {
		return Result{}, fmt.Errorf("the PyTorch reference printed no timings: %q", out)
	}
	return summarize("PyTorch "+torchVersion(ctx), times, flops, o.Batch), nil
}

func torchVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, PythonPath, "-c", "import torch; print(torch.__version__)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
