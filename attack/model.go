package attack

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/nn"
)

// Model is what an attack needs of a classifier: its logits [N, classes]
// for images [N, H, W, 1] as it was trained on them (normalized). Every
// models.Network is one.
type Model interface {
	Logits(ctx *gctx.Context, x *graph.Node) *graph.Node
}

// Target is a trained classifier prepared for attacks: the graphs of its
// logits and of their input gradients in pixel space, on one backend, in
// evaluation mode (batch norm with running statistics, no dropout). Pixel
// values are in [0, 1]; the model's normalization runs inside the graphs,
// so perturbations and their norms are in pixel units.
type Target struct {
	// H and W are the image size.
	H, W   int
	logits *gctx.Exec // x → logits
	ce     *gctx.Exec // x, labels → logits, ∇x Σ cross-entropy
	margin *gctx.Exec // x, labels → margin, logits, ∇x Σ margin
	pgd    *gctx.Exec // x, x0, labels, eps, alpha → logits(x), next x
	pgdT   *gctx.Exec // x, x0, labels, targets, eps, alpha → logits(x), next x
	// ctx is the context of the Run in progress, checked at every step.
	ctx context.Context
	// threads is how many goroutines the boundary attack's per-image
	// solver uses: the backend's threads where it says, else GOMAXPROCS.
	threads int
}

// interrupted is the error of the running attack's context, if any.
func (t *Target) interrupted() error {
	if t.ctx == nil {
		return nil
	}
	return t.ctx.Err()
}

// NewTarget compiles the attack graphs of model m, whose variables are in
// g (for a trained run: checkpoint.LoadRun's context), for images of h×w
// pixels normalized by norm.
func NewTarget(b backends.Backend, g *gctx.Context, m Model, norm data.Normalize, h, w int) (*Target, error) {
	if !(norm.Std > 0) {
		return nil, fmt.Errorf("attack: normalization std %v must be positive", norm.Std)
	}
	t := &Target{H: h, W: w, threads: runtime.GOMAXPROCS(0)}
	if tb, ok := b.(interface{ Threads() int }); ok {
		t.threads = tb.Threads()
	}
	mean, std := float64(norm.Mean), float64(norm.Std)
	logits := func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		ctx.SetTraining(x.Graph(), false)
		return m.Logits(ctx, graph.DivScalar(graph.AddScalar(x, -mean), std))
	}
	var err error
	if t.logits, err = nn.Compile(b, g, func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		return logits(ctx, x)
	}); err != nil {
		return nil, err
	}
	if t.ce, err = nn.Compile(b, g, func(ctx *gctx.Context, x, labels *graph.Node) (*graph.Node, *graph.Node) {
		l := logits(ctx, x)
		return l, graph.Gradient(crossEntropySum(l, labels), x)[0]
	}); err != nil {
		return nil, err
	}
	if t.margin, err = nn.Compile(b, g, func(ctx *gctx.Context, x, labels *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
		l := logits(ctx, x)
		m := Margin(l, labels)
		return m, l, graph.Gradient(graph.ReduceAllSum(m), x)[0]
	}); err != nil {
		return nil, err
	}
	if t.pgd, err = nn.Compile(b, g, func(ctx *gctx.Context, x, x0, labels, eps, alpha *graph.Node) (*graph.Node, *graph.Node) {
		l := logits(ctx, x)
		grad := graph.Gradient(crossEntropySum(l, labels), x)[0]
		return l, PGDStep(x, x0, grad, eps, alpha)
	}); err != nil {
		return nil, err
	}
	if t.pgdT, err = nn.Compile(b, g, func(ctx *gctx.Context, x, x0, labels, targets, eps, alpha *graph.Node) (*graph.Node, *graph.Node) {
		l := logits(ctx, x)
		grad := graph.Gradient(graph.ReduceAllSum(targetMargin(l, labels, targets)), x)[0]
		return l, PGDStep(x, x0, grad, eps, alpha)
	}); err != nil {
		return nil, err
	}
	return t, nil
}

// targetMargin is, per row, the target class's logit minus the label's.
func targetMargin(logits, labels, targets *graph.Node) *graph.Node {
	k := logits.Shape().Dimensions[1]
	diff := graph.Sub(graph.OneHot(targets, k, logits.DType()), graph.OneHot(labels, k, logits.DType()))
	return graph.ReduceSum(graph.Mul(logits, diff), 1)
}

// crossEntropySum is Σ over the batch of −log softmax(logits)[label]: each
// image's gradient is that of its own loss.
func crossEntropySum(logits, labels *graph.Node) *graph.Node {
	k := logits.Shape().Dimensions[1]
	onehot := graph.OneHot(labels, k, logits.DType())
	return graph.Neg(graph.ReduceAllSum(graph.Mul(graph.LogSoftmax(logits, -1), onehot)))
}

// Margin is, per row, the label's logit minus the largest other logit:
// positive where the image is classified correctly, negative where it is
// adversarial. The other class is chosen without a gradient (a constant
// one-hot), so the gradient is that of the difference of two logits.
func Margin(logits, labels *graph.Node) *graph.Node {
	k := logits.Shape().Dimensions[1]
	onehot := graph.OneHot(labels, k, logits.DType())
	masked := graph.Where(graph.GreaterThan(onehot, graph.ScalarZero(logits.Graph(), logits.DType())),
		graph.AddScalar(graph.ZerosLike(logits), math.Inf(-1)), logits)
	other := graph.OneHot(graph.StopGradient(graph.ArgMax(masked, 1, dtypes.Int32)), k, logits.DType())
	return graph.ReduceSum(graph.Mul(logits, graph.Sub(onehot, other)), 1)
}

// PGDStep is one step of L∞ projected gradient ascent: x + α·sign(grad),
// projected into the ε-box around x0 and into the pixel box [0, 1]. eps and
// alpha are per image [N].
func PGDStep(x, x0, grad, eps, alpha *graph.Node) *graph.Node {
	col := func(v *graph.Node) *graph.Node { return graph.Reshape(v, v.Shape().Dimensions[0], 1, 1, 1) }
	e := col(eps)
	next := graph.Add(x, graph.Mul(col(alpha), graph.Sign(grad)))
	next = graph.Clip(next, graph.Sub(x0, e), graph.Add(x0, e))
	return graph.ClipScalar(next, 0, 1)
}

func (t *Target) images(x []float32, n int) *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(x, n, t.H, t.W, 1)
}

// Logits returns the logits of n images x (pixel values), row-major [n, classes].
func (t *Target) Logits(x []float32, n int) ([]float32, error) {
	out, err := nn.Call(t.logits, t.images(x, n))
	if err != nil {
		return nil, fmt.Errorf("attack: logits: %w", err)
	}
	l := flat(out[0])
	finalize(out)
	return l, nil
}

// Predict returns the arg-max class of each of n images.
func (t *Target) Predict(x []float32, n int) ([]int32, error) {
	l, err := t.Logits(x, n)
	if err != nil {
		return nil, err
	}
	return argmaxRows(l, n), nil
}

// crossEntropyGrad returns the logits and the input gradient of each
// image's cross-entropy loss.
func (t *Target) crossEntropyGrad(x []float32, labels []int32, n int) (logits, grad []float32, err error) {
	out, err := nn.Call(t.ce, t.images(x, n), tensors.FromFlatDataAndDimensions(labels, n))
	if err != nil {
		return nil, nil, fmt.Errorf("attack: cross-entropy gradient: %w", err)
	}
	logits, grad = flat(out[0]), flat(out[1])
	finalize(out)
	return logits, grad, nil
}

// marginGrad returns each image's margin (Margin), its logits and the
// margin's input gradient.
func (t *Target) marginGrad(x []float32, labels []int32, n int) (margin, logits, grad []float32, err error) {
	out, err := nn.Call(t.margin, t.images(x, n), tensors.FromFlatDataAndDimensions(labels, n))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("attack: margin gradient: %w", err)
	}
	margin, logits, grad = flat(out[0]), flat(out[1]), flat(out[2])
	finalize(out)
	return margin, logits, grad, nil
}

// StepPGD runs one untargeted L∞ PGD step on n images x with clean images
// x0, per-image ε and step α, and returns the logits at x and the next
// iterate: what one iteration of the attack costs (cotrain bench attack).
func (t *Target) StepPGD(x, x0 []float32, labels []int32, eps, alpha []float32, n int) (logits, next []float32, err error) {
	return t.pgdStep(x, x0, labels, nil, eps, alpha, n)
}

// pgdStep runs one PGD step (PGDStep) on n images and returns the logits
// at x and the next iterate: ascent on the cross-entropy, or with targets
// on the margin of the target class over the label.
func (t *Target) pgdStep(x, x0 []float32, labels, targets []int32, eps, alpha []float32, n int) (logits, next []float32, err error) {
	var out []*tensors.Tensor
	if targets == nil {
		out, err = nn.Call(t.pgd, t.images(x, n), t.images(x0, n), tensors.FromFlatDataAndDimensions(labels, n),
			tensors.FromFlatDataAndDimensions(eps, n), tensors.FromFlatDataAndDimensions(alpha, n))
	} else {
		out, err = nn.Call(t.pgdT, t.images(x, n), t.images(x0, n), tensors.FromFlatDataAndDimensions(labels, n),
			tensors.FromFlatDataAndDimensions(targets, n), tensors.FromFlatDataAndDimensions(eps, n), tensors.FromFlatDataAndDimensions(alpha, n))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("attack: PGD step: %w", err)
	}
	logits, next = flat(out[0]), flat(out[1])
	finalize(out)
	return logits, next, nil
}

func flat(t *tensors.Tensor) []float32 {
	var v []float32
	t.MustConstFlatData(func(f any) { v = append([]float32(nil), f.([]float32)...) })
	return v
}

func finalize(out []*tensors.Tensor) {
	for _, t := range out {
		t.FinalizeAll()
	}
}

// argmaxRows returns the arg-max of each of the n rows of l (the first on
// ties, as ArgMax).
func argmaxRows(l []float32, n int) []int32 {
	k := len(l) / n
	pred := make([]int32, n)
	for i := range n {
		row := l[i*k : (i+1)*k]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		pred[i] = int32(best)
	}
	return pred
}
