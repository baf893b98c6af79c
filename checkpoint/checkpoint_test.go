package checkpoint

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/simplego"
	"github.com/cotrain/cotrain/nn"
)

// TestRoundTrip trains one step (creating optimizer state), saves, loads
// into a fresh context and checks every variable and the model output.
func TestRoundTrip(t *testing.T) {
	b, err := simplego.New("")
	if err != nil {
		t.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions([]float32{0.1, -0.2, 0.3, 0.4, -0.5, 0.6, 0.7, -0.8}, 2, 2, 2, 1)
	model := func(ctx *context.Context, x *graph.Node) *graph.Node {
		h := nn.BatchNorm(ctx.In("bn"), nn.Conv2D(ctx.In("conv"), x, 3, 3, nn.ConvOptions{}))
		return graph.ReduceAllSum(graph.Square(h))
	}
	ctx := context.New()
	nn.SetSeed(ctx, 1)
	opt := &nn.SGD{LR: 0.1, Momentum: 0.9}
	train, _ := context.NewExec(b, ctx, func(ctx *context.Context, x *graph.Node) *graph.Node {
		ctx.SetTraining(x.Graph(), true)
		loss := model(ctx, x)
		opt.UpdateGraph(ctx, x.Graph(), loss)
		return loss
	})
	if _, err := train.Exec(x); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	all, weights := filepath.Join(dir, "all.npz"), filepath.Join(dir, "model.npz")
	if err := Save(all, ctx, nil); err != nil {
		t.Fatal(err)
	}
	if err := Save(weights, ctx, Model); err != nil {
		t.Fatal(err)
	}

	loaded := context.New()
	if err := Load(all, loaded); err != nil {
		t.Fatal(err)
	}
	for v := range ctx.IterVariables() {
		w := loaded.GetVariableByScopeAndName(v.Scope(), v.Name())
		if w == nil {
			t.Fatalf("%s missing after load", v.ScopeAndName())
		}
		if !reflect.DeepEqual(v.MustValue().Value(), w.MustValue().Value()) {
			t.Errorf("%s differs after load", v.ScopeAndName())
		}
		if strings.HasPrefix(v.Scope(), nn.OptimizerScope) && w.Trainable {
			t.Errorf("optimizer state %s loaded as trainable", w.ScopeAndName())
		}
	}

	evalOut := func(ctx *context.Context) float32 {
		out, err := context.ExecOnce(b, ctx, model, x)
		if err != nil {
			t.Fatal(err)
		}
		return out.Value().(float32)
	}
	m := context.New()
	if err := Load(weights, m); err != nil {
		t.Fatal(err)
	}
	if m.GetVariableByScopeAndName(nn.OptimizerScope+"/momentum/conv", "weights") != nil {
		t.Error("model checkpoint contains optimizer state")
	}
	if a, b := evalOut(ctx), evalOut(m); a != b {
		t.Errorf("model output %v before save, %v after load", a, b)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if err := Load(filepath.Join(dir, "missing.npz"), context.New()); err == nil || !strings.Contains(err.Error(), "missing.npz") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.npz")
	os.WriteFile(bad, []byte("not a zip"), 0o644)
	if err := Load(bad, context.New()); err == nil || !strings.Contains(err.Error(), "bad.npz") {
		t.Errorf("corrupt file: %v", err)
	}
	// Shape mismatch against an existing model variable.
	ctx := context.New()
	ctx.In("conv").VariableWithValue("weights", tensors.FromFlatDataAndDimensions([]float32{1, 2}, 2))
	src := context.New()
	src.In("conv").VariableWithValue("weights", tensors.FromFlatDataAndDimensions([]float32{1, 2, 3}, 3))
	path := filepath.Join(dir, "w.npz")
	if err := Save(path, src, nil); err != nil {
		t.Fatal(err)
	}
	if err := Load(path, ctx); err == nil || !strings.Contains(err.Error(), "another architecture") {
		t.Errorf("shape mismatch: %v", err)
	}
}
