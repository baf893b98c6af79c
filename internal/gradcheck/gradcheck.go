// Package gradcheck compares the gradients GoMLX's autodiff computes on a
// backend against central finite differences, in float64. It checks both
// graph inputs and the trainable variables a function creates in its context.
package gradcheck

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/internal/guard"
)

// Func builds a scalar float64 loss from inputs; it may create and use
// variables in ctx.
type Func func(ctx *context.Context, inputs []*graph.Node) *graph.Node

// Options tune a check. The zero value uses the defaults.
type Options struct {
	Step        float64 // finite-difference step; default 1e-6
	MaxElements int     // elements probed per tensor (a seeded random subset); default 64
	Seed        uint64  // seed for the element subset and for the context RNG, reset before every evaluation
}

// Result is the relative error of one gradient:
// ‖analytic − numeric‖ / max(‖analytic‖, ‖numeric‖, 1e-12) over the probed elements.
type Result struct {
	Name   string
	RelErr float64
}

// Check evaluates fn's gradient with respect to each input and each
// trainable variable fn uses, analytically on backend and numerically.
func Check(backend backends.Backend, ctx *context.Context, fn Func, inputs []*tensors.Tensor, opts Options) (results []Result, err error) {
	if opts.Step == 0 {
		opts.Step = 1e-6
	}
	if opts.MaxElements == 0 {
		opts.MaxElements = 64
	}
	var vars []*context.Variable
	gradExec, err := context.NewExec(backend, ctx, func(ctx *context.Context, xs []*graph.Node) []*graph.Node {
		ctx.SetTraining(xs[0].Graph(), true)
		loss := fn(ctx, xs)
		vars = vars[:0]
		wrt := append([]*graph.Node(nil), xs...)
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(loss.Graph()) {
				vars = append(vars, v)
				wrt = append(wrt, v.ValueGraph(loss.Graph()))
			}
		}
		return append([]*graph.Node{loss}, graph.Gradient(loss, wrt...)...)
	})
	if err != nil {
		return nil, err
	}
	lossExec, err := context.NewExec(backend, ctx, func(ctx *context.Context, xs []*graph.Node) *graph.Node {
		ctx.SetTraining(xs[0].Graph(), true)
		return fn(ctx, xs)
	})
	if err != nil {
		return nil, err
	}
	run := func(e *context.Exec) ([]*tensors.Tensor, error) {
		if err := ctx.SetRNGStateFromSeed(int64(opts.Seed)); err != nil {
			return nil, err
		}
		args := make([]any, len(inputs))
		for i, t := range inputs {
			args[i] = t
		}
		var out []*tensors.Tensor
		err := guard.Run(func() {
			var err error
			if out, err = e.Exec(args...); err != nil {
				panic(err)
			}
		})
		return out, err
	}
	analytic, err := run(gradExec)
	if err != nil {
		return nil, fmt.Errorf("computing analytic gradients: %w", err)
	}
	loss := func() (float64, error) {
		out, err := run(lossExec)
		if err != nil {
			return 0, err
		}
		return out[0].Value().(float64), nil
	}
	rng := rand.New(rand.NewPCG(opts.Seed, 1))

	probe := func(name string, values []float64, set func([]float64) error, grad []float64) error {
		idx := rng.Perm(len(values))
		if len(idx) > opts.MaxElements {
			idx = idx[:opts.MaxElements]
		}
		var diff, na, nn float64
		for _, i := range idx {
			orig := values[i]
			values[i] = orig + opts.Step
			if err := set(values); err != nil {
				return err
			}
			plus, err := loss()
			if err != nil {
				return err
			}
			values[i] = orig - opts.Step
			if err := set(values); err != nil {
				return err
			}
			minus, err := loss()
			if err != nil {
				return err
			}
			values[i] = orig
			numeric := (plus - minus) / (2 * opts.Step)
			diff += (grad[i] - numeric) * (grad[i] - numeric)
			na += grad[i] * grad[i]
			nn += numeric * numeric
		}
		if err := set(values); err != nil {
			return err
		}
		results = append(results, Result{name, math.Sqrt(diff) / max(math.Sqrt(na), math.Sqrt(nn), 1e-12)})
		return nil
	}

	for i, in := range inputs {
		values := tensors.MustCopyFlatData[float64](in)
		grad := tensors.MustCopyFlatData[float64](analytic[1+i])
		set := func(v []float64) error {
			inputs[i] = tensors.FromFlatDataAndDimensions(v, in.Shape().Dimensions...)
			return nil
		}
		if err := probe(fmt.Sprintf("input %d", i), values, set, grad); err != nil {
			return nil, err
		}
	}
	for j, v := range vars {
		value, err := v.Value()
		if err != nil {
			return nil, err
		}
		values := tensors.MustCopyFlatData[float64](value)
		grad := tensors.MustCopyFlatData[float64](analytic[1+len(inputs)+j])
		dims := v.Shape().Dimensions
		set := func(x []float64) error {
			return v.SetValue(tensors.FromFlatDataAndDimensions(append([]float64(nil), x...), dims...))
		}
		if err := probe(v.ScopeAndName(), values, set, grad); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// Random returns a float64 tensor of the given dimensions with entries drawn
// uniformly from [-1, 1).
func Random(rng *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = 2*rng.Float64() - 1
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}
