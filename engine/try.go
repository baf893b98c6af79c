package engine

import (
	"errors"
	"fmt"
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Try runs fn and turns a panic raised inside it into an error. GoMLX reports
// graph-building errors by panicking; cotrain converts them at package
// boundaries with Try so that callers see ordinary errors.
func Try(fn func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			switch e := r.(type) {
			case error:
				err = e
			case string:
				err = errors.New(e)
			default:
				err = fmt.Errorf("%v", e)
			}
		}
	}()
	fn()
	return nil
}

// Compile returns a GoMLX executable of fn, a graph function of the model
// variables in ctx, for backend b; graph-building panics become errors.
// Graphs are built at the first call with each input shape.
func Compile[F context.ExecGraphFn](b backends.Backend, ctx *context.Context, fn F) (*context.Exec, error) {
	var exec *context.Exec
	err := Try(func() {
		var err error
		if exec, err = context.NewExec(b, ctx, fn); err != nil {
			panic(err)
		}
	})
	return exec, err
}

// Call runs exec on args (tensors or Go values) and returns its outputs;
// panics while building or running the graph become errors.
func Call(exec *context.Exec, args ...any) ([]*tensors.Tensor, error) {
	var out []*tensors.Tensor
	err := Try(func() {
		var err error
		if out, err = exec.Exec(args...); err != nil {
			panic(err)
		}
	})
	return out, err
}
