package analysis

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// Node is a GoMLX graph node.
type Node = graph.Node

// Optimizers of Settings.Optimizer.
const (
	// SGD is plain gradient descent without momentum (the paper's choice
	// for the co-trained models, learning rate 5).
	SGD = "sgd"
	// Adam is PyTorch's Adam (β = 0.9, 0.999, ε = 1e-8; the paper's choice
	// for the Baseline and the Oracle, learning rate 0.01).
	Adam = "adam"
)

// Losses of Settings.Loss.
const (
	// LossMean is the mean squared difference over the layer's elements,
	// the original code's objective.
	LossMean = "mean"
	// LossSum is the squared distance ‖f(x) − f(x₀)‖², the paper's formula.
	LossSum = "sum"
)

// Adam's constants (PyTorch's defaults).
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// Settings configure one reconstruction run.
type Settings struct {
	// Layer is the core layer whose activations are matched (the paper:
	// conv3_1, the co-trained layer).
	Layer string `json:"layer"`
	// Steps is the number of projected gradient steps (the paper: 8,000).
	Steps int `json:"steps"`
	// Optimizer is SGD or Adam; LR its learning rate.
	Optimizer string  `json:"optimizer"`
	LR        float64 `json:"lr"`
	// Loss is LossMean or LossSum, the reduction of the squared
	// difference of activations per image.
	Loss string `json:"loss"`
	// BlurSigma, when positive, smooths the gradient with a Gaussian of
	// this standard deviation in pixels (9 taps at σ = 1, reflect borders)
	// before each step, as the original code preconditions it; 0 uses the
	// raw gradient.
	BlurSigma float64 `json:"blur_sigma"`
	// Seed seeds the standard-normal initial image.
	Seed uint64 `json:"seed"`
	// Sphere projects onto the sphere ‖x‖ = r instead of the ball, as the
	// original's demo did (mei's ChangeNorm; spec §5.1).
	Sphere bool `json:"sphere,omitempty"`
}

// Validate checks the settings.
func (s Settings) Validate() error {
	if s.Layer == "" {
		return errors.New("reconstruction: no layer (the paper: conv3_1)")
	}
	if s.Steps < 1 {
		return fmt.Errorf("reconstruction: steps = %d, need at least 1", s.Steps)
	}
	if s.Optimizer != SGD && s.Optimizer != Adam {
		return fmt.Errorf("reconstruction: optimizer %q must be %q or %q", s.Optimizer, SGD, Adam)
	}
	if !(s.LR > 0) || math.IsInf(s.LR, 0) {
		return fmt.Errorf("reconstruction: learning rate %v must be positive", s.LR)
	}
	if s.Loss != LossMean && s.Loss != LossSum {
		return fmt.Errorf("reconstruction: loss %q must be %q or %q", s.Loss, LossMean, LossSum)
	}
	if s.BlurSigma < 0 {
		return fmt.Errorf("reconstruction: blur_sigma %v must not be negative", s.BlurSigma)
	}
	return nil
}

// Model is a trained core ready to reconstruct from.
type Model struct {
	// Name labels the model in errors and results.
	Name string
	// Core is the architecture; Vars holds its trained variables (a
	// context in reuse mode, as checkpoint.LoadRun returns it).
	Core models.Core
	Vars *gctx.Context
	// Version identifies the weights (LoadModel: a digest of the model
	// file), so that checkpoints and results of other weights are not
	// reused.
	Version string
}

// Problem is a batch of reconstructions: target images, each with its own
// radius. Images × budgets of one model form one batch.
type Problem struct {
	// H and W are the image size.
	H, W int
	// Targets holds N grayscale images [N, H, W] in the model's
	// normalized input space.
	Targets []float32
	// Radii holds the N radii of the ball ‖x‖₂ ≤ r on the grayscale
	// channel (ChannelRadius converts a budget).
	Radii []float64
}

// N is the number of reconstructions.
func (p Problem) N() int { return len(p.Radii) }

// Validate checks the problem.
func (p Problem) Validate() error {
	if p.H < 1 || p.W < 1 {
		return fmt.Errorf("reconstruction: image size %d×%d", p.H, p.W)
	}
	if len(p.Radii) == 0 {
		return errors.New("reconstruction: no targets")
	}
	if len(p.Targets) != len(p.Radii)*p.H*p.W {
		return fmt.Errorf("reconstruction: %d target values for %d images of %d×%d", len(p.Targets), len(p.Radii), p.H, p.W)
	}
	for i, r := range p.Radii {
		if !(r > 0) || math.IsInf(r, 0) {
			return fmt.Errorf("reconstruction: radius %v of target %d must be positive", r, i)
		}
	}
	return nil
}

// ChannelRadius converts a norm budget, stated for the C-channel input the
// network sees (the original's unit: its three identical channels), into
// the radius of the one grayscale channel: budget/√C.
func ChannelRadius(budget float64, channels int) float64 {
	return budget / math.Sqrt(float64(max(channels, 1)))
}

// RunOptions say where a run checkpoints and whom it tells of progress.
type RunOptions struct {
	// Checkpoint is a file the iterate (and the optimizer's state) is
	// written to every CheckpointEvery steps, atomically; a run finding it
	// resumes from it. Empty: no checkpoints.
	Checkpoint      string
	CheckpointEvery int
	// Progress, when set, is called after every step with the steps done.
	Progress func(step, steps int)
	// Observe, when set, receives every iterate [N, H, W] after its
	// projection, starting with the projected initial image at step 0
	// (tests; it copies the batch every step).
	Observe func(step int, x []float32)
}

// Result is a finished reconstruction.
type Result struct {
	// X holds the N reconstructions [N, H, W].
	X []float32
	// Loss is each reconstruction's final loss (Settings.Loss).
	Loss []float64
	// Resumed is the step the run resumed from (0: from the start).
	Resumed int
}

// Reconstruct minimizes ‖f(x) − f(x₀)‖² over x subject to ‖x‖₂ ≤ r for
// every target of p at once, by projected gradient descent: each step
// differentiates the loss, optionally blurs the gradient, takes an SGD or
// Adam step and projects x onto its ball (x ← x·r/max(‖x‖, r)). x starts
// from a standard-normal image (s.Seed) projected onto the ball. The
// network runs in evaluation mode, so the reconstructions of a batch do not
// interact.
func Reconstruct(ctx context.Context, b backends.Backend, m Model, p Problem, s Settings, opt RunOptions) (*Result, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !containsLayer(m.Core.Layers(), s.Layer) {
		return nil, fmt.Errorf("reconstruction from %s: no layer %q (layers: %v)", m.Name, s.Layer, m.Core.Layers())
	}
	n, h, w := p.N(), p.H, p.W
	fp := fingerprint(m.Name+" "+m.Version, p, s)

	featExec, err := nn.Compile(b, m.Vars, func(ctx *gctx.Context, x *Node) *Node {
		return m.Core.Features(ctx, x, s.Layer)[0]
	})
	if err != nil {
		return nil, fmt.Errorf("reconstruction from %s: %w", m.Name, err)
	}
	out, err := nn.Call(featExec, tensors.FromFlatDataAndDimensions(p.Targets, n, h, w, 1))
	if err != nil {
		return nil, fmt.Errorf("reconstruction from %s: target activations: %w", m.Name, err)
	}
	target := out[0]
	defer target.FinalizeAll()

	bh, bw := blurMatrix(h, s.BlurSigma), blurMatrix(w, s.BlurSigma)
	stepExec, err := nn.Compile(b, m.Vars, func(ctx *gctx.Context, in []*Node) []*Node {
		return stepGraph(ctx, m.Core, s, bh, bw, in)
	})
	if err != nil {
		return nil, fmt.Errorf("reconstruction from %s: %w", m.Name, err)
	}

	st := state{x: initial(p, s.Seed, s.Sphere)}
	if s.Optimizer == Adam {
		st.m, st.v = make([]float32, len(st.x)), make([]float32, len(st.x))
	}
	res := &Result{}
	if opt.Checkpoint != "" {
		ok, err := st.load(opt.Checkpoint, fp)
		if err != nil {
			return nil, err
		}
		if ok {
			res.Resumed = st.step
		}
	}
	if opt.Observe != nil && st.step == 0 {
		opt.Observe(0, append([]float32(nil), st.x...))
	}
	dims := []int{n, h, w, 1}
	x := tensors.FromFlatDataAndDimensions(st.x, dims...)
	var mt, vt *tensors.Tensor
	if s.Optimizer == Adam {
		mt, vt = tensors.FromFlatDataAndDimensions(st.m, dims...), tensors.FromFlatDataAndDimensions(st.v, dims...)
	}
	radii := make([]float32, n)
	for i, r := range p.Radii {
		radii[i] = float32(r)
	}
	rt := tensors.FromFlatDataAndDimensions(radii, n)
	defer rt.FinalizeAll()
	var loss *tensors.Tensor
	for st.step < s.Steps {
		if err := ctx.Err(); err != nil {
			if opt.Checkpoint != "" {
				if err := st.capture(x, mt, vt).save(opt.Checkpoint, fp); err != nil {
					return nil, err
				}
			}
			return nil, fmt.Errorf("reconstruction from %s interrupted at step %d: %w", m.Name, st.step, err)
		}
		t := st.step + 1
		args := []any{x, target, rt, float32(s.LR)}
		if s.Optimizer == Adam {
			args = append(args, mt, vt, float32(1-math.Pow(adamBeta1, float64(t))), float32(1-math.Pow(adamBeta2, float64(t))))
		}
		outs, err := nn.Call(stepExec, args...)
		if err != nil {
			return nil, fmt.Errorf("reconstruction from %s, step %d: %w", m.Name, t, err)
		}
		x.FinalizeAll()
		x = outs[0]
		if s.Optimizer == Adam {
			mt.FinalizeAll()
			vt.FinalizeAll()
			mt, vt = outs[1], outs[2]
		}
		if loss != nil {
			loss.FinalizeAll()
		}
		loss = outs[len(outs)-1]
		st.step = t
		if opt.Observe != nil {
			opt.Observe(t, tensors.MustCopyFlatData[float32](x))
		}
		if opt.Checkpoint != "" && opt.CheckpointEvery > 0 && t%opt.CheckpointEvery == 0 && t < s.Steps {
			if err := st.capture(x, mt, vt).save(opt.Checkpoint, fp); err != nil {
				return nil, err
			}
		}
		if opt.Progress != nil {
			opt.Progress(t, s.Steps)
		}
	}
	res.X = tensors.MustCopyFlatData[float32](x)
	// A checkpoint is written only before the last step, so at least one
	// step ran and loss is set.
	for _, v := range tensors.MustCopyFlatData[float32](loss) {
		res.Loss = append(res.Loss, float64(v))
	}
	return res, nil
}

func containsLayer(layers []string, l string) bool {
	for _, x := range layers {
		if x == l {
			return true
		}
	}
	return false
}

// perImageLoss reduces (f − f₀)² per image [N].
func perImageLoss(f, target *Node, loss string) *Node {
	d := graph.Square(graph.Sub(f, target))
	axes := make([]int, f.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	if loss == LossSum {
		return graph.ReduceSum(d, axes...)
	}
	return graph.ReduceMean(d, axes...)
}

// stepGraph is one projected step. Inputs: x [N,H,W,1], the target
// activations, radii [N], lr, and for Adam the moments m, v and the bias
// corrections 1−β₁ᵗ, 1−β₂ᵗ. Outputs: x (and m, v for Adam), the loss [N]
// before the step.
func stepGraph(ctx *gctx.Context, core models.Core, s Settings, bh, bw []float32, in []*Node) []*Node {
	x, target, radii, lr := in[0], in[1], in[2], in[3]
	g := x.Graph()
	n, h, w := x.Shape().Dimensions[0], x.Shape().Dimensions[1], x.Shape().Dimensions[2]
	per := perImageLoss(core.Features(ctx, x, s.Layer)[0], target, s.Loss)
	grad := graph.Gradient(graph.ReduceAllSum(per), x)[0]
	if s.BlurSigma > 0 {
		g3 := graph.Reshape(grad, n, h, w)
		g3 = graph.Einsum("nhw,vw->nhv", g3, graph.Const(g, tensors.FromFlatDataAndDimensions(bw, w, w)))
		g3 = graph.Einsum("nhv,uh->nuv", g3, graph.Const(g, tensors.FromFlatDataAndDimensions(bh, h, h)))
		grad = graph.Reshape(g3, n, h, w, 1)
	}
	var outs []*Node
	switch s.Optimizer {
	case Adam:
		m, v, c1, c2 := in[4], in[5], in[6], in[7]
		m = graph.Add(graph.MulScalar(m, adamBeta1), graph.MulScalar(grad, 1-adamBeta1))
		v = graph.Add(graph.MulScalar(v, adamBeta2), graph.MulScalar(graph.Square(grad), 1-adamBeta2))
		denom := graph.AddScalar(graph.Sqrt(graph.Div(v, c2)), adamEps)
		x = graph.Sub(x, graph.Mul(lr, graph.Div(graph.Div(m, c1), denom)))
		outs = []*Node{project(x, radii, s.Sphere), m, v}
	default:
		x = graph.Sub(x, graph.Mul(lr, grad))
		outs = []*Node{project(x, radii, s.Sphere)}
	}
	return append(outs, per)
}

// project maps every image of x [N,H,W,1] onto its ball, x·r/max(‖x‖, r),
// or with sphere onto its sphere, x·r/‖x‖.
func project(x, radii *Node, sphere bool) *Node {
	n := x.Shape().Dimensions[0]
	norm := graph.Sqrt(graph.ReduceSum(graph.Square(x), 1, 2, 3))
	if !sphere {
		norm = graph.Max(norm, radii)
	}
	scale := graph.Div(radii, norm)
	return graph.Mul(x, graph.Reshape(scale, n, 1, 1, 1))
}

// projectInPlace is project on the host.
func projectInPlace(x []float32, hw int, radii []float64, sphere bool) {
	for i, r := range radii {
		img := x[i*hw : (i+1)*hw]
		norm := math.Sqrt(sumSquares(img))
		if norm > r || (sphere && norm > 0) {
			k := float32(r / norm)
			for j := range img {
				img[j] *= k
			}
		}
	}
}

func sumSquares(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

// initial draws the standard-normal start, projected onto each ball (or
// sphere).
func initial(p Problem, seed uint64, sphere bool) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x7265636f6e))
	x := make([]float32, len(p.Targets))
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	projectInPlace(x, p.H*p.W, p.Radii, sphere)
	return x
}

// blurMatrix is the n×n matrix B with (B·g)ᵢ the Gaussian-blurred g at i:
// a kernel of half-width round(4σ) normalized to sum 1, reflect borders
// (the edge pixel not repeated, as PyTorch's reflect padding). Applied to
// both axes it is the original's separable gradient blur. σ = 0: nil.
func blurMatrix(n int, sigma float64) []float32 {
	if sigma <= 0 {
		return nil
	}
	half := int(math.Round(4 * sigma))
	k := make([]float64, 2*half+1)
	sum := 0.0
	for i := range k {
		d := float64(i - half)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	m := make([]float32, n*n)
	for i := 0; i < n; i++ {
		for t, kv := range k {
			j := reflect(i+t-half, n)
			// Row i of B: output i gathers input j (stepGraph applies B
			// as out[u] = Σ_h B[u, h]·g[h]).
			m[i*n+j] += float32(kv / sum)
		}
	}
	return m
}

// reflect maps an index outside [0, n) back inside by reflection about the
// edge pixels.
func reflect(i, n int) int {
	if n == 1 {
		return 0
	}
	period := 2 * (n - 1)
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - i
	}
	return i
}

// fingerprint identifies a run: the model's name, the problem and the
// settings; a checkpoint of another run is not resumed.
func fingerprint(model string, p Problem, s Settings) string {
	h := sha256.New()
	js, _ := json.Marshal(struct {
		Model    string
		H, W     int
		Radii    []float64
		Settings Settings
	}{model, p.H, p.W, p.Radii, s})
	h.Write(js)
	_ = binary.Write(h, binary.LittleEndian, p.Targets)
	return hex.EncodeToString(h.Sum(nil))
}

// state is what a checkpoint holds.
type state struct {
	step    int
	x, m, v []float32
}

func (st *state) capture(x, m, v *tensors.Tensor) *state {
	st.x = tensors.MustCopyFlatData[float32](x)
	if m != nil {
		st.m, st.v = tensors.MustCopyFlatData[float32](m), tensors.MustCopyFlatData[float32](v)
	}
	return st
}

type checkpointMeta struct {
	Fingerprint string `json:"fingerprint"`
	Step        int    `json:"step"`
}

func (st *state) save(path, fp string) error {
	meta, err := npy.JSONEntry("meta", checkpointMeta{Fingerprint: fp, Step: st.step})
	if err != nil {
		return err
	}
	entries := []npy.Entry{meta, {Name: "x", Array: &npy.Array{DType: npy.Float32, Shape: []int{len(st.x)}, Data: st.x}}}
	if st.m != nil {
		entries = append(entries, npy.Entry{Name: "m", Array: &npy.Array{DType: npy.Float32, Shape: []int{len(st.m)}, Data: st.m}},
			npy.Entry{Name: "v", Array: &npy.Array{DType: npy.Float32, Shape: []int{len(st.v)}, Data: st.v}})
	}
	if err := npy.WriteNPZ(path, entries, false); err != nil {
		return fmt.Errorf("writing reconstruction checkpoint %s: %w", path, err)
	}
	return nil
}

// load reads a checkpoint into st if path exists; false if it does not.
func (st *state) load(path, fp string) (bool, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	arrays, err := npy.ReadNPZ(path)
	if err != nil {
		return false, fmt.Errorf("reading reconstruction checkpoint %s: %w (delete it to start over)", path, err)
	}
	var meta checkpointMeta
	if err := npy.DecodeJSON(arrays, "meta", &meta); err != nil {
		return false, fmt.Errorf("reconstruction checkpoint %s: %w (delete it to start over)", path, err)
	}
	if meta.Fingerprint != fp {
		return false, fmt.Errorf("reconstruction checkpoint %s belongs to other targets, budgets, settings or model: delete it to start over", path)
	}
	get := func(name string, dst []float32) error {
		a, ok := arrays[name]
		if !ok {
			return fmt.Errorf("reconstruction checkpoint %s has no %s (delete it to start over)", path, name)
		}
		v, ok := a.Data.([]float32)
		if !ok || len(v) != len(dst) {
			return fmt.Errorf("reconstruction checkpoint %s: %s does not fit this run (delete it to start over)", path, name)
		}
		copy(dst, v)
		return nil
	}
	if err := get("x", st.x); err != nil {
		return false, err
	}
	if st.m != nil {
		if err := get("m", st.m); err != nil {
			return false, err
		}
		if err := get("v", st.v); err != nil {
			return false, err
		}
	}
	st.step = meta.Step
	return true, nil
}
