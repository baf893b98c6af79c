package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// OptimizerScope is the absolute scope holding optimizer state (learning
// rate, step count, momentum and moment buffers).
const OptimizerScope = "/optimizer"

const (
	noDecayParam = "no_weight_decay:"
	lrScaleParam = "lr_scale:"
	clampParam   = "clamp:"
	maxFloat     = math.MaxFloat64
)

// NoWeightDecay exempts the variable name in ctx's scope from weight decay.
func NoWeightDecay(ctx *context.Context, name string) { ctx.SetParam(noDecayParam+name, true) }

// ScaleLearningRate makes the optimizer update the variable name in ctx's
// scope with k times the learning rate.
func ScaleLearningRate(ctx *context.Context, name string, k float64) {
	ctx.SetParam(lrScaleParam+name, k)
}

// scaledLR is v's learning rate: lr times its scale, if any.
func scaledLR(ctx *context.Context, v *context.Variable, lr *Node) *Node {
	if k := varParam(ctx, v, lrScaleParam, 1.0); k != 1 {
		return graph.MulScalar(lr, k)
	}
	return lr
}

// Clamp makes the optimizer project the variable name in ctx's scope onto
// [lo, hi] after every update (the readout keeps μ in [−1, 1] and σ ≥ 0 this
// way, as the original clamps them in place before each forward pass).
func Clamp(ctx *context.Context, name string, lo, hi float64) {
	ctx.SetParam(clampParam+name, [2]float64{lo, hi})
}

func varParam[T any](ctx *context.Context, v *context.Variable, key string, def T) T {
	return context.GetParamOr(ctx.InAbsPath(v.Scope()), key+v.Name(), def)
}

// Optimizer updates trainable variables from their gradients. It satisfies
// GoMLX's optimizers.Interface.
type Optimizer interface {
	// UpdateGraph differentiates loss with respect to every trainable
	// variable the graph uses and applies the update rule.
	UpdateGraph(ctx *context.Context, g *graph.Graph, loss *Node)
	// Apply applies the update rule to vars given their gradients.
	Apply(ctx *context.Context, g *graph.Graph, vars []*context.Variable, grads []*Node)
	// Clear deletes the optimizer's state (momentum, moments, step count),
	// keeping the learning rate.
	Clear(ctx *context.Context) error
}

// TrainableVars lists the trainable variables g uses, in context order.
func TrainableVars(ctx *context.Context, g *graph.Graph) []*context.Variable {
	var vars []*context.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	return vars
}

// Gradients differentiates loss with respect to vars.
func Gradients(g *graph.Graph, loss *Node, vars []*context.Variable) []*Node {
	nodes := make([]*Node, len(vars))
	for i, v := range vars {
		nodes[i] = v.ValueGraph(g)
	}
	return graph.Gradient(loss, nodes...)
}

// SetLearningRate sets the learning rate the next steps use.
func SetLearningRate(ctx *context.Context, dtype dtypes.DType, lr float64) error {
	v := lrVar(ctx, dtype, lr)
	var t *tensors.Tensor
	if dtype == dtypes.Float64 {
		t = tensors.FromValue(lr)
	} else {
		t = tensors.FromValue(float32(lr))
	}
	return v.SetValue(t)
}

// LearningRate reads the current learning rate, or def if none is set.
func LearningRate(ctx *context.Context, def float64) float64 {
	v := ctx.GetVariableByScopeAndName(OptimizerScope, "learning_rate")
	if v == nil {
		return def
	}
	t, err := v.Value()
	if err != nil {
		return def
	}
	switch x := t.Value().(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return def
}

func lrVar(ctx *context.Context, dtype dtypes.DType, initial float64) *context.Variable {
	c := ctx.InAbsPath(OptimizerScope).Checked(false)
	if v := c.GetVariableByScopeAndName(OptimizerScope, "learning_rate"); v != nil {
		return v
	}
	var value any = float32(initial)
	if dtype == dtypes.Float64 {
		value = initial
	}
	return c.VariableWithValue("learning_rate", value).SetTrainable(false)
}

// stateVar returns an optimizer buffer shaped like v, created at zero.
func stateVar(ctx *context.Context, kind string, v *context.Variable) *context.Variable {
	c := ctx.InAbsPath(OptimizerScope + "/" + kind + v.Scope()).Checked(false)
	if s := c.GetVariableByScopeAndName(c.Scope(), v.Name()); s != nil {
		return s
	}
	return c.VariableWithValue(v.Name(), tensors.FromShape(v.Shape())).SetTrainable(false)
}

// decayed adds the coupled weight decay term wd·w to grad unless v is exempt.
func decayed(ctx *context.Context, v *context.Variable, w, grad *Node, wd float64) *Node {
	if wd == 0 || varParam(ctx, v, noDecayParam, false) {
		return grad
	}
	return graph.Add(grad, graph.MulScalar(w, wd))
}

// project applies v's clamp constraint, if any.
func project(ctx *context.Context, v *context.Variable, w *Node) *Node {
	bounds, found := ctx.InAbsPath(v.Scope()).GetParam(clampParam + v.Name())
	if !found {
		return w
	}
	b := bounds.([2]float64)
	if b[1] >= maxFloat {
		return graph.MaxScalar(w, b[0])
	}
	return graph.ClipScalar(w, b[0], b[1])
}

func clearState(ctx *context.Context, kinds ...string) error {
	for _, k := range kinds {
		if err := ctx.InAbsPath(OptimizerScope + "/" + k).DeleteVariablesInScope(); err != nil {
			return fmt.Errorf("clearing optimizer state %s: %w", k, err)
		}
	}
	return nil
}

// SGD is PyTorch's SGD with momentum (no dampening, no Nesterov) and coupled
// weight decay: g ← ∇ + wd·w; b ← μ·b + g; w ← w − lr·b.
type SGD struct {
	LR, Momentum, WeightDecay float64
}

// UpdateGraph implements Optimizer.
func (o *SGD) UpdateGraph(ctx *context.Context, g *graph.Graph, loss *Node) {
	vars := TrainableVars(ctx, g)
	o.Apply(ctx, g, vars, Gradients(g, loss, vars))
}

// Apply implements Optimizer.
func (o *SGD) Apply(ctx *context.Context, g *graph.Graph, vars []*context.Variable, grads []*Node) {
	if len(vars) == 0 {
		return
	}
	lr := lrVar(ctx, vars[0].DType(), o.LR).ValueGraph(g)
	for i, v := range vars {
		w := v.ValueGraph(g)
		step := decayed(ctx, v, w, grads[i], o.WeightDecay)
		if o.Momentum != 0 {
			buf := stateVar(ctx, "momentum", v)
			step = graph.Add(graph.MulScalar(buf.ValueGraph(g), o.Momentum), step)
			buf.SetValueGraph(step)
		}
		v.SetValueGraph(project(ctx, v, graph.Sub(w, graph.Mul(scaledLR(ctx, v, lr), step))))
	}
}

// Clear implements Optimizer.
func (o *SGD) Clear(ctx *context.Context) error { return clearState(ctx, "momentum") }

// Adam is PyTorch's Adam (amsgrad off) with coupled weight decay:
// g ← ∇ + wd·w; m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
// w ← w − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε). Zero Beta1, Beta2 and Eps
// mean PyTorch's defaults 0.9, 0.999 and 1e-8.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
}

func (o *Adam) defaults() (b1, b2, eps float64) {
	b1, b2, eps = o.Beta1, o.Beta2, o.Eps
	if b1 == 0 {
		b1 = 0.9
	}
	if b2 == 0 {
		b2 = 0.999
	}
	if eps == 0 {
		eps = 1e-8
	}
	return
}

// UpdateGraph implements Optimizer.
func (o *Adam) UpdateGraph(ctx *context.Context, g *graph.Graph, loss *Node) {
	vars := TrainableVars(ctx, g)
	o.Apply(ctx, g, vars, Gradients(g, loss, vars))
}

// Apply implements Optimizer.
func (o *Adam) Apply(ctx *context.Context, g *graph.Graph, vars []*context.Variable, grads []*Node) {
	if len(vars) == 0 {
		return
	}
	dt := vars[0].DType()
	b1, b2, eps := o.defaults()
	lr := lrVar(ctx, dt, o.LR).ValueGraph(g)
	c := ctx.InAbsPath(OptimizerScope + "/adam").Checked(false)
	stepVar := c.GetVariableByScopeAndName(c.Scope(), "step")
	if stepVar == nil {
		stepVar = c.VariableWithValue("step", tensors.FromShape(shapes.Make(dt))).SetTrainable(false)
	}
	t := graph.AddScalar(stepVar.ValueGraph(g), 1)
	stepVar.SetValueGraph(t)
	bc1 := graph.OneMinus(graph.Pow(graph.Scalar(g, dt, b1), t))
	bc2 := graph.OneMinus(graph.Pow(graph.Scalar(g, dt, b2), t))
	for i, v := range vars {
		w := v.ValueGraph(g)
		grad := decayed(ctx, v, w, grads[i], o.WeightDecay)
		mVar, vVar := stateVar(ctx, "adam_m", v), stateVar(ctx, "adam_v", v)
		m := graph.Add(graph.MulScalar(mVar.ValueGraph(g), b1), graph.MulScalar(grad, 1-b1))
		s := graph.Add(graph.MulScalar(vVar.ValueGraph(g), b2), graph.MulScalar(graph.Square(grad), 1-b2))
		mVar.SetValueGraph(m)
		vVar.SetValueGraph(s)
		denom := graph.AddScalar(graph.Sqrt(graph.Div(s, bc2)), eps)
		update := graph.Mul(scaledLR(ctx, v, lr), graph.Div(graph.Div(m, bc1), denom))
		v.SetValueGraph(project(ctx, v, graph.Sub(w, update)))
	}
}

// Clear implements Optimizer.
func (o *Adam) Clear(ctx *context.Context) error { return clearState(ctx, "adam", "adam_m", "adam_v") }

// ResetOptimizerState zeroes the optimizer's state (momentum and moment
// buffers, Adam's step count), keeping the learning rate. Unlike Clear it
// keeps the variables, so compiled training steps stay valid.
func ResetOptimizerState(ctx *context.Context) error {
	for v := range ctx.IterVariables() {
		if !strings.HasPrefix(v.Scope(), OptimizerScope) || (v.Scope() == OptimizerScope && v.Name() == "learning_rate") {
			continue
		}
		if err := v.SetValue(tensors.FromShape(v.Shape())); err != nil {
			return fmt.Errorf("resetting %s: %w", v.ScopeAndName(), err)
		}
	}
	return nil
}
