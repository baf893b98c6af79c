package nn

import (
	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/internal/guard"
)

// Compile returns a GoMLX executable of fn, a graph function of the model
// variables in ctx, for backend b; graph-building panics become errors.
// Graphs are built at the first call with each input shape.
func Compile[F context.ExecGraphFn](b backends.Backend, ctx *context.Context, fn F) (*context.Exec, error) {
	var exec *context.Exec
	err := guard.Run(func() {
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
	err := guard.Run(func() {
		var err error
		if out, err = exec.Exec(args...); err != nil {
			panic(err)
		}
	})
	return out, err
}
