package recipes

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// torchArray is one array of testdata/similarity_torch.json (written by
// testdata/similarity_torch.py with PyTorch in float64).
type torchArray struct {
	Shape []int     `json:"shape"`
	Data  []float64 `json:"data"`
}

func loadSimilarityFixture(t *testing.T) map[string]torchArray {
	t.Helper()
	raw, err := os.ReadFile("testdata/similarity_torch.json")
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]torchArray
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func (a torchArray) f32() []float32 {
	out := make([]float32, len(a.Data))
	for i, v := range a.Data {
		out[i] = float32(v)
	}
	return out
}

func (a torchArray) tensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(a.f32(), a.Shape...)
}

// nhwc converts an NCHW array to NHWC; a PyTorch conv weight [out, in, kh,
// kw] to cotrain's [kh, kw, in, out] with perm (2, 3, 1, 0).
func (a torchArray) permuted(perm ...int) *tensors.Tensor {
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
	out := make([]float32, len(a.Data))
	idx := make([]int, len(dims))
	for o := range out {
		in := 0
		for i, p := range perm {
			in += idx[i] * strides[p]
		}
		out[o] = float32(a.Data[in])
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

// maxRelDiff is max |got − want| / max |want| (1e-30 for all zeros).
func maxRelDiff(got []float32, want []float64) float64 {
	scale, d := 1e-30, 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range want {
		d = math.Max(d, math.Abs(float64(got[i])-want[i]))
	}
	return d / scale
}

func flat(t *testing.T, x *tensors.Tensor) []float32 {
	t.Helper()
	switch x.Shape().Rank() {
	case 0:
		return []float32{tensors.ToScalar[float32](x)}
	}
	return tensors.MustCopyFlatData[float32](x)
}

// TestSimilarityLossMatchesTorch checks the similarity head's mixture of
// centred cosines, the clamped arctanh loss and its gradient with respect
// to the features and the layer logits against PyTorch, within 1e-5. The
// fixture has a pair of nearly equal images (cosine clamped) and a target
// entry beyond the clamp.
func TestSimilarityLossMatchesTorch(t *testing.T) {
	f := loadSimilarityFixture(t)
	env := testEnv(t)
	head := models.SimilarityHead{Layers: []string{"a", "b"}}
	clamp := f["loss.clamp"].Data[0]
	g := gctx.New()
	g.InAbsPath(models.SimilarityScope).Checked(false).VariableWithValue("logits", f["loss.logits"].tensor())
	exec, err := nn.Compile(env.Backend, g, func(ctx *gctx.Context, f1, f2, target *graph.Node) []*graph.Node {
		s := head.Mix(ctx, []*graph.Node{f1, f2})
		loss := nn.SimilarityLoss(s, target, clamp)
		logits := ctx.GetVariableByScopeAndName(models.SimilarityScope, "logits").ValueGraph(f1.Graph())
		grads := graph.Gradient(loss, f1, f2, logits)
		return append([]*graph.Node{s, loss}, grads...)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := nn.Call(exec, f["loss.f1"].tensor(), f["loss.f2"].tensor(), f["loss.target"].tensor())
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"loss.s", "loss.value", "loss.grad_f1", "loss.grad_f2", "loss.grad_logits"} {
		if d := maxRelDiff(flat(t, out[i]), f[name].Data); d > 1e-5 {
			t.Errorf("%s: relative difference %.3g from PyTorch > 1e-5", name, d)
		} else {
			t.Logf("%s: relative difference %.2g", name, d)
		}
	}
	// The fixture exercises the clamp: the near-duplicate pair's cosine
	// (images 4 and 5) lies beyond it, so it passes no gradient.
	if s := f["loss.s"].Data[4*6+5]; s < 1-clamp {
		t.Fatalf("fixture: the near-duplicate pair's cosine %v is not beyond the clamp", s)
	}
}

// TestSimilarityStepMatchesTorch runs one training step of a tiny VGG with
// the similarity regularizer (SimilarityStep: CE + α·L_sim, SGD with
// momentum and weight decay, the logits exempt) and compares the losses,
// every updated weight, the layer logits and the batch-norm statistics
// with PyTorch's, within 1e-5.
func TestSimilarityStepMatchesTorch(t *testing.T) {
	f := loadSimilarityFixture(t)
	env := testEnv(t)
	model := models.VGG{Stages: [][]int{{2}, {3}}, Classes: 3, InputChannels: 1}
	head := models.SimilarityHead{Layers: []string{"conv1_1", "conv2_1"}}
	if err := head.Validate(model); err != nil {
		t.Fatal(err)
	}
	type param struct {
		torch, scope, name string
		perm               []int
	}
	params := []param{
		{"conv1.weight", "/features/conv1_1/conv", "weights", []int{2, 3, 1, 0}},
		{"conv1.bias", "/features/conv1_1/conv", "bias", nil},
		{"bn1.weight", "/features/conv1_1/bn", "scale", nil},
		{"bn1.bias", "/features/conv1_1/bn", "offset", nil},
		{"conv2.weight", "/features/conv2_1/conv", "weights", []int{2, 3, 1, 0}},
		{"conv2.bias", "/features/conv2_1/conv", "bias", nil},
		{"bn2.weight", "/features/conv2_1/bn", "scale", nil},
		{"bn2.bias", "/features/conv2_1/bn", "offset", nil},
		{"out.weight", "/classifier/out", "weights", []int{2, 3, 1, 0}},
		{"out.bias", "/classifier/out", "bias", nil},
		{"logits", models.SimilarityScope, "logits", nil},
	}
	value := func(a torchArray, perm []int) *tensors.Tensor {
		if perm != nil {
			return a.permuted(perm...)
		}
		return a.tensor()
	}
	g := gctx.New()
	for _, p := range params {
		g.InAbsPath(p.scope).Checked(false).VariableWithValue(p.name, value(f["step.init."+p.torch], p.perm))
	}
	alpha, clamp := f["step.alpha"].Data[0], f["step.clamp"].Data[0]
	opt := &nn.SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4}
	exec, err := nn.Compile(env.Backend, g, func(ctx *gctx.Context, x, labels, stim, target *graph.Node) []*graph.Node {
		ce, sim, _ := SimilarityStep(ctx, model, head, opt, alpha, clamp, x, labels, stim, target)
		return []*graph.Node{ce, sim}
	})
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int32, len(f["step.labels"].Data))
	for i, v := range f["step.labels"].Data {
		labels[i] = int32(v)
	}
	out, err := nn.Call(exec, f["step.x"].permuted(0, 2, 3, 1), tensors.FromValue(labels), f["step.stim"].permuted(0, 2, 3, 1), f["step.target"].tensor())
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, got []float32, want torchArray) {
		t.Helper()
		if d := maxRelDiff(got, want.Data); d > 1e-5 {
			t.Errorf("%s: relative difference %.3g from PyTorch > 1e-5", name, d)
		}
	}
	check("cross-entropy", flat(t, out[0]), f["step.ce"])
	check("similarity loss", flat(t, out[1]), f["step.sim"])
	variable := func(scope, name string) *tensors.Tensor {
		v := g.GetVariableByScopeAndName(scope, name)
		if v == nil {
			t.Fatalf("no variable %s/%s", scope, name)
		}
		val, err := v.Value()
		if err != nil {
			t.Fatal(err)
		}
		return val
	}
	for _, p := range params {
		want := value(f["step.after."+p.torch], p.perm)
		check(p.torch+" after the step", flat(t, variable(p.scope, p.name)), torchArray{Data: f64(tensors.MustCopyFlatData[float32](want))})
	}
	for _, bn := range []struct{ torch, scope string }{{"bn1", "/features/conv1_1/bn"}, {"bn2", "/features/conv2_1/bn"}} {
		check(bn.torch+" running mean", flat(t, variable(bn.scope, "mean")), f["step.after."+bn.torch+".running_mean"])
		check(bn.torch+" running variance", flat(t, variable(bn.scope, "variance")), f["step.after."+bn.torch+".running_var"])
	}
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// TestStepLR checks Li et al.'s schedule: 0.1, ×0.3 every 4 epochs, back
// to 0.1 after epoch 20.
func TestStepLR(t *testing.T) {
	s := PaperSimilarity().Steps()
	for _, tc := range []struct {
		epoch int
		lr    float64
	}{{1, 0.1}, {4, 0.1}, {5, 0.03}, {8, 0.03}, {9, 0.009}, {17, 0.1 * math.Pow(0.3, 4)}, {20, 0.1 * math.Pow(0.3, 4)}, {21, 0.1}, {25, 0.03}, {40, 0.1 * math.Pow(0.3, 4)}} {
		if got := s.At(tc.epoch); math.Abs(got-tc.lr) > 1e-12 {
			t.Errorf("epoch %d: lr %v, want %v", tc.epoch, got, tc.lr)
		}
	}
}

// stripeTarget is a similarity target over stripe images: the centred
// cosines of their pixels.
func stripeTarget(t *testing.T, n int) *SimilarityTarget {
	set := stripes(t, n, 9)
	tg := &SimilarityTarget{Name: "stripes", N: n, H: 32, W: 32, S: make([]float32, n*n)}
	vecs := make([][]float64, n)
	for i := range n {
		img, _, err := set.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		tg.Pixels = append(tg.Pixels, img.Pix...)
		for _, p := range img.Pix {
			vecs[i] = append(vecs[i], float64(p))
		}
	}
	mean := make([]float64, len(vecs[0]))
	for _, v := range vecs {
		for k, x := range v {
			mean[k] += x / float64(n)
		}
	}
	for _, v := range vecs {
		norm := 0.0
		for k := range v {
			v[k] -= mean[k]
			norm += v[k] * v[k]
		}
		for k := range v {
			v[k] /= math.Sqrt(norm)
		}
	}
	for i := range n {
		for j := range n {
			dot := 0.0
			for k := range vecs[i] {
				dot += vecs[i][k] * vecs[j][k]
			}
			tg.S[i*n+j] = float32(dot)
		}
	}
	return tg
}

func tinySimilarityRecipe(epochs int) SimilarityConfig {
	c := PaperSimilarity()
	c.Batch, c.StimulusBatch, c.Epochs = 32, 8, epochs
	c.Optimizer.LR = 0.05
	c.Schedule.Every, c.Schedule.Reset = 1, 2
	return c
}

// TestSimilarityResume interrupts a regularized run after its first epoch
// and resumes it: the same history, γ and final weights as an
// uninterrupted run, whose model file holds the last epoch's weights; the
// learning rate follows the step schedule.
func TestSimilarityResume(t *testing.T) {
	env := testEnv(t)
	job := SimilarityJob{Model: tinyModel(), Head: models.SimilarityHead{Layers: []string{"conv1_1", "conv2_1", "conv3_1"}},
		Recipe: tinySimilarityRecipe(3), Data: classifierData(t), Target: stripeTarget(t, 24), Seed: 3}
	straightDir := filepath.Join(t.TempDir(), "straight")
	job.Dir = straightDir
	straight, err := TrainSimilarity(context.Background(), env, job)
	if err != nil {
		t.Fatal(err)
	}
	if len(straight.History) != 3 {
		t.Fatalf("%d epochs, want 3", len(straight.History))
	}
	wantLR := []float64{0.05, 0.05 * 0.3, 0.05}
	for i, rec := range straight.History {
		if math.Abs(rec.LR-wantLR[i]) > 1e-7 {
			t.Errorf("epoch %d: lr %v, want %v", rec.Epoch, rec.LR, wantLR[i])
		}
		sum := 0.0
		for _, l := range job.Head.Layers {
			sum += rec.Metrics["gamma_"+l]
		}
		if math.Abs(sum-1) > 1e-5 || rec.Metrics["train_similarity_loss"] <= 0 {
			t.Errorf("epoch %d: γ sums to %v, similarity loss %v", rec.Epoch, sum, rec.Metrics["train_similarity_loss"])
		}
	}
	last := loadVars(t, filepath.Join(straightDir, "ckpt-0003.npz"))
	model := loadVars(t, filepath.Join(straightDir, checkpoint.ModelFile))
	for name, w := range model {
		if !slices.Equal(last[name], w) {
			t.Errorf("model variable %s is not the last epoch's", name)
		}
	}

	job.Dir = filepath.Join(t.TempDir(), "resumed")
	ctx, cancel := context.WithCancel(context.Background())
	stopEnv := env
	stopEnv.Progress = &cancelOn{marker: "epoch 1 ", cancel: cancel}
	if _, err := TrainSimilarity(ctx, stopEnv, job); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: %v, want ErrInterrupted", err)
	}
	resumed, err := TrainSimilarity(context.Background(), env, job)
	if err != nil {
		t.Fatal(err)
	}
	for i := range straight.History {
		a, b := straight.History[i], resumed.History[i]
		if a.Objective != b.Objective || a.Metrics["train_loss"] != b.Metrics["train_loss"] || a.LR != b.LR {
			t.Errorf("epoch %d: uninterrupted objective %v loss %v lr %v, resumed %v %v %v",
				a.Epoch, a.Objective, a.Metrics["train_loss"], a.LR, b.Objective, b.Metrics["train_loss"], b.LR)
		}
	}
	got := loadVars(t, filepath.Join(job.Dir, checkpoint.ModelFile))
	for name, w := range model {
		if !slices.Equal(got[name], w) {
			t.Errorf("variable %s differs between the resumed and the uninterrupted run", name)
		}
	}
	info, err := checkpoint.ReadRunInfo(job.Dir)
	if err != nil || info.Kind != checkpoint.KindSimilarity || info.Similarity == nil || len(info.Similarity.Layers) != 3 {
		t.Errorf("run.json: %+v, %v", info, err)
	}
}

// TestStimulusSampler checks that a batch never repeats an image and that
// the draws depend only on the seed and the epoch.
func TestStimulusSampler(t *testing.T) {
	a, b := newStimulusSampler(1, 2, 10, 4), newStimulusSampler(1, 2, 10, 4)
	c := newStimulusSampler(1, 3, 10, 4)
	differ := false
	for range 7 {
		x, y, z := a.batch(), b.batch(), c.batch()
		if !slices.Equal(x, y) {
			t.Fatalf("same seed and epoch, different batches %v and %v", x, y)
		}
		differ = differ || !slices.Equal(x, z)
		seen := map[int]bool{}
		for _, i := range x {
			if seen[i] || i < 0 || i >= 10 {
				t.Fatalf("batch %v repeats an image or leaves the range", x)
			}
			seen[i] = true
		}
	}
	if !differ {
		t.Error("epochs 2 and 3 drew the same batches")
	}
}
