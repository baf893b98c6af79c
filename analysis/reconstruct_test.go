package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/backends"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

func cpuBackend() (backends.Backend, error) { return cpu.New("") }

func testBackend(t *testing.T) backends.Backend {
	t.Helper()
	b, err := cpuBackend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// smallModel is a randomly initialized two-stage VGG, its variables
// created by one forward pass.
func smallModel(t *testing.T, b backends.Backend, channels int) Model {
	t.Helper()
	v := models.VGG{Stages: [][]int{{16}, {16}}, Head: []int{8}, Classes: 2, InputChannels: channels}
	ctx := gctx.New()
	exec, err := nn.Compile(b, ctx, func(ctx *gctx.Context, x *Node) *Node { return v.Logits(ctx, x) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Call(exec, make4(1, 8, 8)); err != nil {
		t.Fatal(err)
	}
	return Model{Name: "small", Core: v, Vars: ctx.Reuse()}
}

func make4(n, h, w int) any {
	out := make([][][][]float32, n)
	for i := range out {
		out[i] = make([][][]float32, h)
		for y := range out[i] {
			out[i][y] = make([][]float32, w)
			for x := range out[i][y] {
				out[i][y][x] = make([]float32, 1)
			}
		}
	}
	return out
}

func randomImages(n, hw int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*hw)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

func norm(x []float32) float64 { return math.Sqrt(sumSquares(x)) }

// TestProjectionKeepsBudget checks every iterate of both optimizers,
// including the initial image, against its radius.
func TestProjectionKeepsBudget(t *testing.T) {
	b := testBackend(t)
	m := smallModel(t, b, 3)
	const h, w = 8, 8
	targets := randomImages(3, h*w, 1)
	radii := []float64{0.5, 2, 20}
	for _, tc := range []struct {
		name string
		s    Settings
	}{
		{"sgd", Settings{Layer: "conv2_1", Steps: 12, Optimizer: SGD, LR: 50, Loss: LossMean, BlurSigma: 1, Seed: 1}},
		{"adam", Settings{Layer: "conv2_1", Steps: 12, Optimizer: Adam, LR: 0.5, Loss: LossSum, Seed: 2}},
		{"sphere", Settings{Layer: "conv2_1", Steps: 12, Optimizer: Adam, LR: 0.5, Loss: LossSum, Seed: 2, Sphere: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps := 0
			var active bool
			_, err := Reconstruct(context.Background(), b, m, Problem{H: h, W: w, Targets: targets, Radii: radii}, tc.s, RunOptions{
				Observe: func(step int, x []float32) {
					steps++
					for i, r := range radii {
						nx := norm(x[i*h*w : (i+1)*h*w])
						if nx > r*(1+1e-5) || (tc.s.Sphere && nx < r*(1-1e-5)) {
							t.Errorf("step %d, target %d: ‖x‖ = %v, r = %v", step, i, nx, r)
						}
						if i == 0 && nx > r*(1-1e-4) {
							active = true
						}
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if steps != tc.s.Steps+1 {
				t.Errorf("observed %d iterates, want %d", steps, tc.s.Steps+1)
			}
			if !active {
				t.Error("the smallest budget was never active: the test does not exercise the projection")
			}
		})
	}
}

// TestUnconstrainedConverges reconstructs from the first layer with a
// radius above ‖x₀‖: the minimizer is x₀ itself, and the iterate must get
// there.
func TestUnconstrainedConverges(t *testing.T) {
	b := testBackend(t)
	m := smallModel(t, b, 1)
	const h, w = 8, 8
	targets := randomImages(2, h*w, 3)
	radii := []float64{2 * norm(targets[:h*w]), 2 * norm(targets[h*w:])}
	s := Settings{Layer: "conv1_1", Steps: 600, Optimizer: Adam, LR: 0.05, Loss: LossMean, Seed: 4}
	res, err := Reconstruct(context.Background(), b, m, Problem{H: h, W: w, Targets: targets, Radii: radii}, s, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range radii {
		x, x0 := res.X[i*h*w:(i+1)*h*w], targets[i*h*w:(i+1)*h*w]
		d := make([]float32, len(x))
		for j := range d {
			d[j] = x[j] - x0[j]
		}
		if rel := norm(d) / norm(x0); rel > 0.05 {
			t.Errorf("target %d: ‖x − x₀‖/‖x₀‖ = %.4f after %d steps (loss %.3g), want < 0.05", i, rel, s.Steps, res.Loss[i])
		}
	}
}

// TestResume interrupts a run after its checkpoint and checks that the
// resumed run ends where an uninterrupted one does.
func TestResume(t *testing.T) {
	b := testBackend(t)
	m := smallModel(t, b, 1)
	const h, w = 8, 8
	p := Problem{H: h, W: w, Targets: randomImages(2, h*w, 5), Radii: []float64{1, 3}}
	s := Settings{Layer: "conv2_1", Steps: 10, Optimizer: Adam, LR: 0.1, Loss: LossMean, Seed: 6}
	whole, err := Reconstruct(context.Background(), b, m, p, s, RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(t.TempDir(), "ckpt.npz")
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Reconstruct(ctx, b, m, p, s, RunOptions{Checkpoint: ckpt, CheckpointEvery: 4, Progress: func(step, _ int) {
		if step == 6 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("the cancelled run did not stop")
	}
	res, err := Reconstruct(context.Background(), b, m, p, s, RunOptions{Checkpoint: ckpt, CheckpointEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 6 {
		t.Errorf("resumed from step %d, want 6 (the interrupted run's last)", res.Resumed)
	}
	for i := range whole.X {
		if math.Abs(float64(whole.X[i]-res.X[i])) > 1e-5 {
			t.Fatalf("x[%d] = %v resumed, %v uninterrupted", i, res.X[i], whole.X[i])
		}
	}
	other := s
	other.Seed = 7
	if _, err := Reconstruct(context.Background(), b, m, p, other, RunOptions{Checkpoint: ckpt}); err == nil {
		t.Error("a checkpoint of other settings was resumed")
	}
}

// TestBlurMatrix checks the blur against a direct convolution with reflect
// padding, and that its rows sum to 1.
func TestBlurMatrix(t *testing.T) {
	const n = 7
	m := blurMatrix(n, 1)
	// numpy: np.pad(g, 4, mode="reflect") convolved with the kernel.
	g := []float64{1, 0, 0, 2, 0, 0, -1}
	k := make([]float64, 9)
	sum := 0.0
	for i := range k {
		k[i] = math.Exp(-float64((i-4)*(i-4)) / 2)
		sum += k[i]
	}
	pad := func(i int) float64 { // reflect, edge not repeated
		for i < 0 || i >= n {
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*(n-1) - i
			}
		}
		return g[i]
	}
	for i := 0; i < n; i++ {
		want, got, row := 0.0, 0.0, 0.0
		for t := range k {
			want += k[t] / sum * pad(i+t-4)
		}
		for j := 0; j < n; j++ {
			got += float64(m[i*n+j]) * g[j]
			row += float64(m[i*n+j])
		}
		if math.Abs(got-want) > 1e-6 || math.Abs(row-1) > 1e-6 {
			t.Errorf("row %d: blurred %v, want %v; row sum %v", i, got, want, row)
		}
	}
}
