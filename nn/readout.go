package nn

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// ReadoutOptions configure GaussianReadout. The zero value gives the
// paper's settings (spec §2.3).
type ReadoutOptions struct {
	InitMuRange    float64 // μ ~ U(−r, r); default 0.3
	InitSigmaRange float64 // σ ~ U(0, r); default 0.6
	NoBias         bool
	// LRScale, if not 0 or 1, multiplies the learning rate of every readout
	// variable.
	LRScale float64
	// DecayPosition lets the optimizer's weight decay act on μ and σ, as in
	// the original, where it pulls every read position toward the centre
	// of the map and shrinks the sampling spread. Off, only the feature
	// weights and the bias decay.
	DecayPosition bool
}

// Bounds of the readout's position parameters, applied by the optimizer
// after each update (see Clamp): μ stays in the feature map, σ non-negative.
const (
	readoutMuName    = "mu"
	readoutSigmaName = "sigma"
)

// GaussianReadout predicts n neurons from a feature map x [N, H, W, C]: each
// neuron reads the C features at one position (bilinear interpolation,
// align_corners semantics: −1 and +1 are the centres of the first and last
// pixels), weights them, and adds a bias (legacy neuralpredictors Gaussian2d).
// In training the position is sampled per image and neuron,
// clamp(μ + σ·ε, −1, 1) with ε ~ N(0, 1); in evaluation it is μ.
//
// Variables: "mu" [n, 2] (x, y), "sigma" [n, 2], "features" [C, n] (init
// 1/C) and "bias" [n] (init 0; recipes overwrite it with the mean response of
// a first batch). The result is [N, n], before any output nonlinearity.
func GaussianReadout(ctx *context.Context, x *Node, n int, opts ReadoutOptions) *Node {
	return ShiftedGaussianReadout(ctx, x, n, opts, nil)
}

// ShiftedGaussianReadout is GaussianReadout with every neuron's read
// position moved by a per-image shift [N, 2] (x, y in the readout's [−1, 1]
// grid units), the output of a shifter that follows the eye (Sinz et al.
// 2018): the positions become clamp(μ + shift (+ σ·ε in training), −1, 1).
// A nil shift is GaussianReadout.
func ShiftedGaussianReadout(ctx *context.Context, x *Node, n int, opts ReadoutOptions, shift *Node) *Node {
	g := x.Graph()
	dt := x.DType()
	dims := x.Shape().Dimensions
	batch, h, w, c := dims[0], dims[1], dims[2], dims[3]
	if opts.InitMuRange == 0 {
		opts.InitMuRange = 0.3
	}
	if opts.InitSigmaRange == 0 {
		opts.InitSigmaRange = 0.6
	}
	muVar := Param(ctx, readoutMuName, dt, []int{n, 2}, Uniform(-opts.InitMuRange, opts.InitMuRange))
	sigmaVar := Param(ctx, readoutSigmaName, dt, []int{n, 2}, Uniform(0, opts.InitSigmaRange))
	Clamp(ctx, readoutMuName, -1, 1)
	Clamp(ctx, readoutSigmaName, 0, maxFloat)
	if !opts.DecayPosition {
		NoWeightDecay(ctx, readoutMuName)
		NoWeightDecay(ctx, readoutSigmaName)
	}
	features := Param(ctx, "features", dt, []int{c, n}, Constant(1/float64(c))).ValueGraph(g)
	if opts.LRScale != 0 && opts.LRScale != 1 {
		for _, name := range []string{readoutMuName, readoutSigmaName, "features", "bias"} {
			ScaleLearningRate(ctx, name, opts.LRScale)
		}
	}

	mu := graph.BroadcastToDims(graph.ExpandAxes(muVar.ValueGraph(g), 0), batch, n, 2)
	if shift != nil {
		mu = graph.Add(mu, graph.ExpandAxes(shift, 1))
	}
	grid := mu
	if ctx.IsTraining(g) {
		eps := ctx.RandomNormal(g, shapes.Make(dt, batch, n, 2))
		sigma := graph.ExpandAxes(sigmaVar.ValueGraph(g), 0)
		grid = graph.ClipScalar(graph.Add(mu, graph.Mul(sigma, eps)), -1, 1)
	} else if shift != nil {
		grid = graph.ClipScalar(mu, -1, 1)
	}
	sampled := bilinear(x, grid, h, w) // [N, n, C]
	// y[b, i] = Σ_c sampled[b, i, c] · features[c, i]
	y := graph.ReduceSum(graph.Mul(sampled, graph.ExpandAxes(graph.Transpose(features, 0, 1), 0)), 2)
	if opts.NoBias {
		return y
	}
	bias := Param(ctx, "bias", dt, []int{n}, Constant(0)).ValueGraph(g)
	return graph.Add(y, graph.ExpandAxes(bias, 0))
}

// bilinear samples x [N, H, W, C] at grid [N, n, 2] (x, y in [−1, 1],
// align_corners) and returns [N, n, C].
func bilinear(x, grid *Node, h, w int) *Node {
	g := x.Graph()
	dt := x.DType()
	dims := grid.Shape().Dimensions
	batch, n := dims[0], dims[1]
	gx := graph.Squeeze(graph.Slice(grid, graph.AxisRange(), graph.AxisRange(), graph.AxisElem(0)), 2)
	gy := graph.Squeeze(graph.Slice(grid, graph.AxisRange(), graph.AxisRange(), graph.AxisElem(1)), 2)
	px := graph.MulScalar(graph.AddScalar(gx, 1), float64(w-1)/2)
	py := graph.MulScalar(graph.AddScalar(gy, 1), float64(h-1)/2)
	// Corner indices carry no gradient; the weights do.
	x0 := graph.StopGradient(graph.ClipScalar(graph.Floor(graph.StopGradient(px)), 0, float64(w-1)))
	y0 := graph.StopGradient(graph.ClipScalar(graph.Floor(graph.StopGradient(py)), 0, float64(h-1)))
	wx := graph.Sub(px, x0)
	wy := graph.Sub(py, y0)
	x1 := graph.MinScalar(graph.AddScalar(x0, 1), float64(w-1))
	y1 := graph.MinScalar(graph.AddScalar(y0, 1), float64(h-1))

	b := graph.Iota(g, shapes.Make(dtypes.Int32, batch, n), 0)
	toIdx := func(v *Node) *Node { return graph.ConvertDType(v, dtypes.Int32) }
	corner := func(yy, xx *Node) *Node {
		idx := graph.Stack([]*Node{b, toIdx(yy), toIdx(xx)}, 2) // [N, n, 3]
		return graph.Gather(x, idx)                             // [N, n, C]
	}
	one := graph.ScalarOne(g, dt)
	w00 := graph.Mul(graph.Sub(one, wx), graph.Sub(one, wy))
	w01 := graph.Mul(wx, graph.Sub(one, wy))
	w10 := graph.Mul(graph.Sub(one, wx), wy)
	w11 := graph.Mul(wx, wy)
	e := func(v *Node) *Node { return graph.ExpandAxes(v, 2) }
	out := graph.Mul(corner(y0, x0), e(w00))
	out = graph.Add(out, graph.Mul(corner(y0, x1), e(w01)))
	out = graph.Add(out, graph.Mul(corner(y1, x0), e(w10)))
	return graph.Add(out, graph.Mul(corner(y1, x1), e(w11)))
}
