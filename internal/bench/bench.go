// Package bench measures cotrain's training and inference throughput on a
// model side by side with PyTorch's on the same model, batch and thread
// count. The two frameworks alternate single steps in one invocation, so
// both see the same machine; speed is reported as a ratio.
package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/cotrain/cotrain/attack"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/internal/guard"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

//go:embed torch_ref.py
var torchScript []byte

// Mode is what is timed.
type Mode string

// Modes.
const (
	Train   Mode = "train"   // forward, backward and an SGD step
	Forward Mode = "forward" // inference
	// Attack is one L∞ PGD step in evaluation mode: forward, the
	// cross-entropy's gradient with respect to the input, the signed step
	// and the projections into the ε-box and the pixel box.
	Attack Mode = "attack"
)

// Options configure a benchmark.
type Options struct {
	Mode Mode
	// Model is a models.VGG or a models.ResNet (the architectures the
	// PyTorch reference builds).
	Model   models.Network
	Input   int // image side
	Batch   int
	Steps   int // timed steps of each framework, after one warm-up step each
	Threads int // PyTorch's thread count (torch.set_num_threads)
	// Device is PyTorch's device: "cpu" (default) or "cuda", to compare
	// with cotrain on a GPU backend.
	Device string
}

// Result is the throughput of one framework.
type Result struct {
	Framework string
	StepTimes []time.Duration
	Images    float64 // images per second at the median step time
	GFLOPs    float64 // achieved GFLOP/s at the median step time
	// Resident is the process's resident memory after each step, the
	// warm-up step first (cotrain alone; Linux; empty elsewhere), to check
	// that it stays flat.
	Resident []int64
}

// Comparison holds both frameworks' results from one alternating run.
type Comparison struct {
	Cotrain, PyTorch Result
	// Ratio is cotrain's throughput over PyTorch's (median step times).
	Ratio float64
	// PairedRatio is the median over steps of PyTorch's step time over
	// cotrain's adjacent step time: robust to slow drifts of the machine.
	PairedRatio float64
}

// FLOPs returns the floating-point operations per image: 2 per multiply-add
// of every convolution (the 1×1 readout and shortcuts included) and of a
// linear head; a training step counts 3× the forward pass (forward, and the
// gradients with respect to inputs and to weights).
func FLOPs(m models.Network, input int, mode Mode) (float64, error) {
	if _, _, err := m.Summary(input); err != nil {
		return 0, err
	}
	var macs float64
	switch m := m.(type) {
	case models.VGG:
		macs = vggMACs(m, input)
	case models.ResNet:
		macs = resnetMACs(m, input)
	default:
		return 0, fmt.Errorf("bench: no FLOP count for a %T", m)
	}
	f := 2 * macs
	switch mode {
	case Train:
		f *= 3
	case Attack:
		f *= 2 // forward and the input gradient, no weight gradients
	}
	return f, nil
}

// resnetMACs counts the multiply-adds of a ResNet's convolutions and head.
func resnetMACs(m models.ResNet, input int) float64 {
	h, c := input, m.InputChannels
	macs := float64(h*h) * float64(9*c*m.Width)
	c = m.Width
	for s, n := range m.Blocks() {
		out := m.Width << s
		for b := range n {
			stride := 1
			if b == 0 && s > 0 {
				stride = 2
			}
			oh := (h-1)/stride + 1
			macs += float64(oh*oh) * float64(9*c*out+9*out*out)
			if stride != 1 || c != out {
				macs += float64(oh*oh) * float64(c*out)
			}
			h, c = oh, out
		}
	}
	return macs + float64(c*m.Classes)
}

// vggMACs counts the multiply-adds of a VGG's convolutions and readout.
func vggMACs(m models.VGG, input int) float64 {
	var macs float64
	h, c := input, m.InputChannels
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
	return macs + float64(h*h)*float64(c*m.Classes)
}

func summarize(framework string, times []time.Duration, flops float64, batch int) Result {
	med := median(times).Seconds()
	return Result{Framework: framework, StepTimes: times, Images: float64(batch) / med, GFLOPs: flops * float64(batch) / med / 1e9}
}

func median(times []time.Duration) time.Duration {
	s := slices.Clone(times)
	slices.Sort(s)
	return s[len(s)/2]
}

// stepper runs one timed step.
type stepper func() (time.Duration, error)

// cotrainStepper builds the model on backend b and returns its step.
func cotrainStepper(b backends.Backend, o Options) (stepper, error) {
	mctx := gctx.New()
	if err := nn.SetSeed(mctx, 1); err != nil {
		return nil, err
	}
	if o.Mode == Attack {
		return attackStepper(b, mctx, o)
	}
	opt := &nn.SGD{LR: 0.01, Momentum: 0.75, WeightDecay: 5e-4}
	var step *gctx.Exec
	err := guard.Run(func() {
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
		return nil, err
	}
	x := make([]float32, o.Batch*o.Input*o.Input)
	for i := range x {
		x[i] = float32((i*7919)%1000)/500 - 1
	}
	labels := make([]int32, o.Batch)
	for i := range labels {
		labels[i] = int32(i % o.Model.NumClasses())
	}
	xt := tensors.FromFlatDataAndDimensions(x, o.Batch, o.Input, o.Input, 1)
	lt := tensors.FromFlatDataAndDimensions(labels, o.Batch)
	return func() (time.Duration, error) {
		start := time.Now()
		out, err := step.Exec(xt, lt)
		if err != nil {
			return 0, err
		}
		for _, t := range out {
			t.MustConstFlatData(func(any) {}) // the result is on the host
			t.FinalizeAll()
		}
		return time.Since(start), nil
	}, nil
}

// attackStepper times one PGD step of the attack package on the model
// with fresh weights: pixel images in [0, 1], ε = 0.03, α = 0.01, the
// iterate carried from step to step as the attack carries it.
func attackStepper(b backends.Backend, mctx *gctx.Context, o Options) (stepper, error) {
	t, err := attack.NewTarget(b, mctx, o.Model, data.Normalize{Mean: 0.5, Std: 0.25}, o.Input, o.Input)
	if err != nil {
		return nil, err
	}
	x0 := make([]float32, o.Batch*o.Input*o.Input)
	for i := range x0 {
		x0[i] = float32((i*7919)%1000) / 1000
	}
	labels := make([]int32, o.Batch)
	eps, alpha := make([]float32, o.Batch), make([]float32, o.Batch)
	for i := range labels {
		labels[i], eps[i], alpha[i] = int32(i%o.Model.NumClasses()), 0.03, 0.01
	}
	x := x0
	return func() (time.Duration, error) {
		start := time.Now()
		_, next, err := t.StepPGD(x, x0, labels, eps, alpha, o.Batch)
		if err != nil {
			return 0, err
		}
		x = next
		return time.Since(start), nil
	}, nil
}

// PythonPath is the interpreter that runs the PyTorch reference: Debian's
// python3-torch lives under /usr/bin/python3.
const PythonPath = "/usr/bin/python3"

// torchMallocEnv keeps the memory PyTorch frees inside its process: glibc
// returns large blocks to the kernel on free (every block over its mmap
// threshold, and the top of the heap), and the next step faults them in
// again, zeroed. Run alone that costs PyTorch a few per cent; alternated
// with cotrain's steps, on a virtual machine that hands free memory back
// to its host, it cost PyTorch more than half of a VGG-19-BN training step
// (page zeroing in the kernel; 1.4 s alone, 3.7 s alternated). With mmap
// off and no trimming the blocks stay mapped, PyTorch is faster than with
// glibc's defaults even when it runs alone, and the comparison is not
// skewed by when the other framework's step runs (docs/engine.md).
var torchMallocEnv = []string{
	"MALLOC_MMAP_MAX_=0",
	"MALLOC_TRIM_THRESHOLD_=1099511627776",
	"MALLOC_TOP_PAD_=268435456",
}

// torchProcess is a running PyTorch reference.
type torchProcess struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Scanner
	stderr  *bytes.Buffer
	version string
	dir     string
}

func startTorch(ctx context.Context, o Options) (*torchProcess, error) {
	dir, err := os.MkdirTemp("", "cotrain-bench")
	if err != nil {
		return nil, err
	}
	script := filepath.Join(dir, "torch_ref.py")
	if err := os.WriteFile(script, torchScript, 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	spec, err := models.SpecOf(o.Model)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cfg, err := json.Marshal(spec)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	p := &torchProcess{dir: dir, stderr: &bytes.Buffer{}}
	p.cmd = exec.CommandContext(ctx, PythonPath, script, string(o.Mode), string(cfg),
		strconv.Itoa(o.Batch), strconv.Itoa(o.Input), strconv.Itoa(o.Threads), cmp.Or(o.Device, "cpu"))
	p.cmd.Env = append(os.Environ(), torchMallocEnv...)
	p.cmd.Stderr = p.stderr
	if p.in, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the PyTorch reference %s: %w", PythonPath, err)
	}
	p.out = bufio.NewScanner(stdout)
	if !p.out.Scan() || p.out.Text() != "ready" {
		p.close()
		return nil, p.failure()
	}
	if v, err := exec.CommandContext(ctx, PythonPath, "-c", "import torch; print(torch.__version__)").Output(); err == nil {
		p.version = strings.TrimSpace(string(v))
	}
	return p, nil
}

func (p *torchProcess) failure() error {
	msg := strings.TrimSpace(p.stderr.String())
	if strings.Contains(msg, "No module named 'torch'") {
		msg = "PyTorch is not installed: apt-get install python3-torch"
	}
	return fmt.Errorf("the PyTorch reference (%s) failed: %s", PythonPath, msg)
}

func (p *torchProcess) step() (time.Duration, error) {
	if _, err := io.WriteString(p.in, "step\n"); err != nil {
		return 0, p.failure()
	}
	if !p.out.Scan() {
		return 0, p.failure()
	}
	var sec float64
	if _, err := fmt.Sscanf(p.out.Text(), "step %f", &sec); err != nil {
		return 0, fmt.Errorf("the PyTorch reference printed %q", p.out.Text())
	}
	return time.Duration(sec * float64(time.Second)), nil
}

func (p *torchProcess) close() {
	p.in.Close()
	p.cmd.Wait()
	os.RemoveAll(p.dir)
}

// Compare times cotrain on backend b and PyTorch on the same model, batch
// and threads, alternating single steps (in ABBA order) after one warm-up
// step each.
func Compare(ctx context.Context, b backends.Backend, o Options) (*Comparison, error) {
	if o.Steps < 1 {
		return nil, fmt.Errorf("bench: steps = %d, need at least 1", o.Steps)
	}
	flops, err := FLOPs(o.Model, o.Input, o.Mode)
	if err != nil {
		return nil, err
	}
	ours, err := cotrainStepper(b, o)
	if err != nil {
		return nil, err
	}
	torch, err := startTorch(ctx, o)
	if err != nil {
		return nil, err
	}
	defer torch.close()
	var ct, tt []time.Duration
	for i := 0; i <= o.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		order := []stepper{ours, torch.step}
		if i%2 == 1 {
			order = []stepper{torch.step, ours}
		}
		var d [2]time.Duration
		for j, s := range order {
			if d[j], err = s(); err != nil {
				return nil, err
			}
		}
		if i%2 == 1 {
			d[0], d[1] = d[1], d[0]
		}
		if i > 0 { // step 0 warms up both
			ct, tt = append(ct, d[0]), append(tt, d[1])
		}
	}
	c := &Comparison{
		Cotrain: summarize("cotrain ("+b.Name()+")", ct, flops, o.Batch),
		PyTorch: summarize("PyTorch "+torch.version, tt, flops, o.Batch),
	}
	c.Ratio = c.Cotrain.Images / c.PyTorch.Images
	paired := make([]float64, len(ct))
	for i := range ct {
		paired[i] = tt[i].Seconds() / ct[i].Seconds()
	}
	slices.Sort(paired)
	c.PairedRatio = paired[len(paired)/2]
	return c, nil
}

// Cotrain times cotrain alone on backend b.
func Cotrain(ctx context.Context, b backends.Backend, o Options) (Result, error) {
	flops, err := FLOPs(o.Model, o.Input, o.Mode)
	if err != nil {
		return Result{}, err
	}
	ours, err := cotrainStepper(b, o)
	if err != nil {
		return Result{}, err
	}
	var times []time.Duration
	var rss []int64
	for i := 0; i <= o.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		d, err := ours()
		if err != nil {
			return Result{}, err
		}
		if i > 0 {
			times = append(times, d)
		}
		if m := residentBytes(); m > 0 {
			rss = append(rss, m)
		}
	}
	r := summarize("cotrain ("+b.Name()+")", times, flops, o.Batch)
	r.Resident = rss
	return r, nil
}

// residentBytes is the process's resident set size (Linux; 0 elsewhere).
func residentBytes() int64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, resident int64
	if _, err := fmt.Sscan(string(raw), &size, &resident); err != nil {
		return 0
	}
	return resident * int64(os.Getpagesize())
}
