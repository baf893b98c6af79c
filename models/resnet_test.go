package models

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/nn"
)

// TestResNetParamsMatchTorchvision checks Summary's totals against
// torchvision's parameter counts of the same configurations
// (testdata/resnet_params.json, written by testdata/resnet_torch.py).
func TestResNetParamsMatchTorchvision(t *testing.T) {
	raw, err := os.ReadFile("testdata/resnet_params.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		ResNet
		Params int `json:"params"`
	}
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/resnet_params.json")
	}
	for _, tc := range cases {
		_, total, err := tc.ResNet.Summary(32)
		if err != nil {
			t.Fatalf("%+v: %v", tc.ResNet, err)
		}
		if total != tc.Params {
			t.Errorf("%+v: %d parameters, torchvision has %d", tc.ResNet, total, tc.Params)
		}
	}
}

// TestResNetGraphMatchesSummary builds a narrow ResNet-34 and compares its
// variables with the summary, and the tap shapes with the stage layout.
func TestResNetGraphMatchesSummary(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	r := ResNet{Depth: 34, Width: 2, Classes: 3, InputChannels: 3}
	ctx := context.New()
	nn.SetSeed(ctx, 1)
	var got []shapes.Shape
	_, err = context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) []*graph.Node {
		x := graph.Zeros(g, shapes.Make(dtypes.Float32, 2, 9, 9, 1))
		logits, taps := r.Forward(ctx, x, r.Layers()...)
		for _, n := range append([]*graph.Node{logits}, taps...) {
			got = append(got, n.Shape())
		}
		return []*graph.Node{logits}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []shapes.Shape{
		shapes.Make(dtypes.Float32, 2, 3),
		shapes.Make(dtypes.Float32, 2, 9, 9, 2),
		shapes.Make(dtypes.Float32, 2, 9, 9, 2),
		shapes.Make(dtypes.Float32, 2, 5, 5, 4),
		shapes.Make(dtypes.Float32, 2, 3, 3, 8),
		shapes.Make(dtypes.Float32, 2, 2, 2, 16),
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("output %d: %s, want %s", i, got[i], want[i])
		}
	}
	layers, total, err := r.Summary(9)
	if err != nil {
		t.Fatal(err)
	}
	params := 0
	for v := range ctx.IterVariables() {
		if v.Trainable {
			params += v.Shape().Size()
		}
	}
	if params != total {
		t.Errorf("graph has %d trainable parameters, summary says %d", params, total)
	}
	if n := len(layers); n != 1+16+2 || layers[n-3].Output != [3]int{2, 2, 16} {
		t.Errorf("summary has %d lines, last block %v", n, layers[n-3])
	}
}

// torchVariable maps a torchvision state_dict name and array to the cotrain
// variable it holds (scope, name and value, transposed to cotrain's layout).
func torchVariable(t *testing.T, name string, a *npy.Array) (scope, varName string, value *tensors.Tensor) {
	t.Helper()
	dot := strings.LastIndex(name, ".")
	module, param := name[:dot], name[dot+1:]
	scope = "/" + strings.ReplaceAll(module, ".", "/")
	perm := []int(nil)
	switch {
	case param == "weight" && len(a.Shape) == 4: // [out, in, kh, kw] → [kh, kw, in, out]
		varName, perm = "weights", []int{2, 3, 1, 0}
	case param == "weight" && len(a.Shape) == 2: // [out, in] → [in, out]
		varName, perm = "weights", []int{1, 0}
	case param == "bias" && module == "fc":
		varName = "bias"
	case param == "weight":
		varName = "scale"
	case param == "bias":
		varName = "offset"
	case param == "running_mean":
		varName = "mean"
	case param == "running_var":
		varName = "variance"
	default:
		t.Fatalf("unexpected state_dict entry %s", name)
	}
	return scope, varName, float32Tensor(a, perm)
}

// float32Tensor converts a float64 array to a float32 tensor with its axes
// permuted by perm (nil keeps them).
func float32Tensor(a *npy.Array, perm []int) *tensors.Tensor {
	src := a.Float64s()
	if perm == nil {
		perm = make([]int, len(a.Shape))
		for i := range perm {
			perm[i] = i
		}
	}
	dims := make([]int, len(perm))
	for i, p := range perm {
		dims[i] = a.Shape[p]
	}
	strides := make([]int, len(a.Shape))
	s := 1
	for i := len(a.Shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= a.Shape[i]
	}
	out := make([]float32, len(src))
	idx := make([]int, len(dims))
	for k := range out {
		off := 0
		for i, p := range perm {
			off += idx[i] * strides[p]
		}
		out[k] = float32(src[off])
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < dims[i] {
				break
			}
			idx[i] = 0
		}
	}
	return tensors.FromFlatDataAndDimensions(out, dims...)
}

// loadTorchResNet loads the random-weight torchvision ResNet-18 of
// testdata/resnet_forward.npz into a fresh context by its state_dict names.
// It returns the fixture's arrays and the set of loaded variable names.
func loadTorchResNet(t *testing.T) (ResNet, *context.Context, map[string]*npy.Array, map[string]bool) {
	t.Helper()
	arrays, err := npy.ReadNPZ("testdata/resnet_forward.npz")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.New()
	nn.SetSeed(ctx, 1)
	loaded := map[string]bool{}
	for name, a := range arrays {
		if name == "input" || name == "logits" || strings.HasPrefix(name, "tap.") {
			continue
		}
		scope, v, value := torchVariable(t, name, a)
		ctx.InAbsPath(scope).VariableWithValue(v, value)
		loaded[scope+"/"+v] = true
	}
	return ResNet{Depth: 18, Width: 4, Classes: 5, InputChannels: 3}, ctx, arrays, loaded
}

// TestResNetForwardMatchesTorch loads a tiny random-weight torchvision
// ResNet-18 (testdata/resnet_forward.npz, eval mode) by its state_dict names
// and compares the logits and the Li taps within 1e-4.
func TestResNetForwardMatchesTorch(t *testing.T) {
	r, ctx, arrays, loaded := loadTorchResNet(t)
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	input := float32Tensor(arrays["input"], []int{0, 2, 3, 1})
	outs, err := context.ExecOnceN(b, ctx, func(ctx *context.Context, x *graph.Node) []*graph.Node {
		logits, taps := r.Forward(ctx, x, r.Layers()...)
		return append([]*graph.Node{logits}, taps...)
	}, input)
	if err != nil {
		t.Fatal(err)
	}
	for v := range ctx.IterVariables() {
		if !loaded[v.ScopeAndName()] && !strings.HasPrefix(v.Name(), "#") {
			t.Errorf("variable %s has no torchvision counterpart", v.ScopeAndName())
		}
	}
	names := append([]string{"logits"}, r.Layers()...)
	for i, out := range outs {
		key := names[i]
		if i > 0 {
			key = "tap." + key
		}
		perm := []int{0, 2, 3, 1}
		if i == 0 {
			perm = nil
		}
		want := float32Tensor(arrays[key], perm).Value()
		got := out.Value()
		worst := maxAbsDiff(t, got, want)
		t.Logf("%s: max |cotrain − torch| = %.2g", names[i], worst)
		if worst > 1e-4 {
			t.Errorf("%s: max |cotrain − torch| = %g, want ≤ 1e-4", names[i], worst)
		}
	}
}

// maxAbsDiff is the largest absolute difference of two equally shaped
// float32 tensors' values (nested slices).
func maxAbsDiff(t *testing.T, a, b any) float64 {
	t.Helper()
	fa, fb := flattenAny(a), flattenAny(b)
	if len(fa) != len(fb) || len(fa) == 0 {
		t.Fatalf("%d values against %d", len(fa), len(fb))
	}
	worst := 0.0
	for i := range fa {
		worst = math.Max(worst, math.Abs(float64(fa[i]-fb[i])))
	}
	return worst
}

// flattenAny flattens a float32 scalar or nested float32 slices.
func flattenAny(v any) []float32 {
	switch x := v.(type) {
	case float32:
		return []float32{x}
	case []float32:
		return x
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice {
		panic(fmt.Sprintf("unexpected value type %T", v))
	}
	var out []float32
	for i := range rv.Len() {
		out = append(out, flattenAny(rv.Index(i).Interface())...)
	}
	return out
}

// TestResNetFeaturesStopEarly checks that Features builds only the layers it
// needs: asking for the stem creates only conv1 and bn1.
func TestResNetFeaturesStopEarly(t *testing.T) {
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	r := ResNet{Depth: 18, Width: 2, Classes: 3, InputChannels: 1}
	ctx := context.New()
	nn.SetSeed(ctx, 1)
	_, err = context.ExecOnceN(b, ctx, func(ctx *context.Context, g *graph.Graph) []*graph.Node {
		return r.Features(ctx, graph.Ones(g, shapes.Make(dtypes.Float32, 1, 4, 4, 1)), ResNetStem)
	})
	if err != nil {
		t.Fatal(err)
	}
	scopes, err := r.ScopesThrough(ResNetStem)
	if err != nil {
		t.Fatal(err)
	}
	for v := range ctx.IterVariables() {
		if !slices.Contains(scopes, v.Scope()) && !strings.HasPrefix(v.Name(), "#") {
			t.Errorf("variable %s outside the stem's scopes %v", v.ScopeAndName(), scopes)
		}
	}
}

func TestResNetLiLayers(t *testing.T) {
	tests := []struct {
		r    ResNet
		want []int
	}{
		{ResNet18(10, 1), []int{1, 5, 9, 13, 17}},
		{ResNet34(100, 1), []int{1, 7, 15, 27, 33}},
	}
	for _, tc := range tests {
		if got := tc.r.LiConvLayers(); !slices.Equal(got, tc.want) {
			t.Errorf("resnet%d: Li conv layers %v, want %v", tc.r.Depth, got, tc.want)
		}
		if n := len(tc.r.Layers()); n != len(tc.want) {
			t.Errorf("resnet%d: %d layers, want %d", tc.r.Depth, n, len(tc.want))
		}
	}
	scopes, err := ResNet18(10, 1).ScopesThrough("layer2")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/conv1", "/bn1", "/layer1", "/layer2"}; !slices.Equal(scopes, want) {
		t.Errorf("scopes through layer2 %v, want %v", scopes, want)
	}
	if _, err := ResNet18(10, 1).ScopesThrough("layer5"); err == nil {
		t.Error("ScopesThrough accepted layer5")
	}
}

func TestResNetValidate(t *testing.T) {
	tests := []struct {
		name string
		r    ResNet
	}{
		{"depth 50", ResNet{Depth: 50, Width: 64, Classes: 10, InputChannels: 1}},
		{"width 0", ResNet{Depth: 18, Classes: 10, InputChannels: 1}},
		{"one class", ResNet{Depth: 18, Width: 8, Classes: 1, InputChannels: 1}},
		{"no input channels", ResNet{Depth: 34, Width: 8, Classes: 10}},
	}
	for _, tc := range tests {
		if err := tc.r.Validate(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	for _, r := range []ResNet{ResNet18(10, 1), ResNet34(100, 3)} {
		if err := r.Validate(); err != nil {
			t.Errorf("resnet%d: %v", r.Depth, err)
		}
	}
}

func TestResNetSpecJSON(t *testing.T) {
	tests := []struct {
		name, json string
		want       ResNet
		fail       bool
	}{
		{name: "resnet18", json: `{"arch":"resnet18","width":16,"classes":10,"input_channels":1}`, want: ResNet{Depth: 18, Width: 16, Classes: 10, InputChannels: 1}},
		{name: "resnet34 with depth", json: `{"arch":"resnet34","depth":34,"width":64,"classes":100,"input_channels":1}`, want: ResNet34(100, 1)},
		{name: "depth disagrees", json: `{"arch":"resnet18","depth":34,"width":64,"classes":10,"input_channels":1}`, fail: true},
	}
	for _, tc := range tests {
		var s Spec
		err := json.Unmarshal([]byte(tc.json), &s)
		if tc.fail {
			if err == nil {
				t.Errorf("%s: accepted", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		c, err := s.Core()
		if err != nil || c != tc.want {
			t.Errorf("%s: core %+v (%v), want %+v", tc.name, c, err, tc.want)
		}
		spec, err := SpecOf(tc.want)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		var back Spec
		if err := json.Unmarshal(raw, &back); err != nil || back.Arch != tc.want.Arch() || back.ResNet != tc.want {
			t.Errorf("%s: %s read back as %+v (%v)", tc.name, raw, back, err)
		}
	}
}

// TestResNetTrainingStepMatchesTorch runs the fixture's network in training
// mode (batch statistics) on another batch and compares the cross-entropy
// loss, the gradients of parameters across the network (stem, blocks,
// shortcut, head) and the running statistics after the step with
// PyTorch's (testdata/resnet_train.npz), within 1e-4 relative to each
// array's largest value.
func TestResNetTrainingStepMatchesTorch(t *testing.T) {
	r, ctx, _, _ := loadTorchResNet(t)
	train, err := npy.ReadNPZ("testdata/resnet_train.npz")
	if err != nil {
		t.Fatal(err)
	}
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	grads := []string{"conv1.weight", "bn1.weight", "bn1.bias", "layer1.1.conv2.weight", "layer2.0.downsample.0.weight",
		"layer3.1.bn2.weight", "layer4.1.conv2.weight", "fc.weight", "fc.bias"}
	var vars []*context.Variable
	var perms [][]int
	for _, name := range grads {
		a := train["grad."+name]
		scope, v, _ := torchVariable(t, name, a)
		vars = append(vars, ctx.GetVariableByScopeAndName(scope, v))
		perms = append(perms, map[int][]int{4: {2, 3, 1, 0}, 2: {1, 0}, 1: nil}[len(a.Shape)])
	}
	labels, err := train["labels"].Int64s()
	if err != nil {
		t.Fatal(err)
	}
	l32 := make([]int32, len(labels))
	for i, l := range labels {
		l32[i] = int32(l)
	}
	input := float32Tensor(train["input"], []int{0, 2, 3, 1})
	outs, err := context.ExecOnceN(b, ctx, func(ctx *context.Context, x, y *graph.Node) []*graph.Node {
		ctx.SetTraining(x.Graph(), true)
		loss := nn.CrossEntropy(r.Logits(ctx, x), y)
		return append([]*graph.Node{loss}, nn.Gradients(x.Graph(), loss, vars)...)
	}, input, tensors.FromFlatDataAndDimensions(l32, len(l32)))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got *tensors.Tensor, want *npy.Array, perm []int) {
		t.Helper()
		w := float32Tensor(want, perm)
		scale := 0.0
		for _, v := range flattenAny(w.Value()) {
			scale = math.Max(scale, math.Abs(float64(v)))
		}
		worst := maxAbsDiff(t, flattenAny(got.Value()), flattenAny(w.Value()))
		t.Logf("%s: max |cotrain − torch| = %.2g (largest |value| %.2g)", name, worst, scale)
		if worst > 1e-4*math.Max(scale, 1e-3) {
			t.Errorf("%s: max |cotrain − torch| = %g against values up to %g", name, worst, scale)
		}
	}
	check("loss", outs[0], train["loss"], nil)
	for i, name := range grads {
		check("grad "+name, outs[i+1], train["grad."+name], perms[i])
	}
	for _, module := range []string{"bn1", "layer2.0.downsample.1", "layer4.1.bn2"} {
		for stat, v := range map[string]string{"running_mean": "mean", "running_var": "variance"} {
			scope := "/" + strings.ReplaceAll(module, ".", "/")
			got := ctx.GetVariableByScopeAndName(scope, v).MustValue()
			check(module+"."+stat, got, train["after."+module+"."+stat], nil)
		}
	}
}
