package models

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/nn"
)

// ArchMouse names the MouseCore in a Spec.
const ArchMouse = "mouse"

// MouseStack is the MouseCore layer a readout reads: the concatenation of
// every layer's output along channels.
const MouseStack = "stack"

// MouseCore is the core of Li et al.'s (2019 §2.2) denoising predictor, the
// "simple 3-layer CNN with skip connections" of Sinz et al. 2018 and Walker
// et al. 2019 as neuralpredictors' Stacked2dCore builds it: each layer is a
// "same" convolution without bias, batch norm and ELU; with Skip > 1 a
// layer reads the concatenation of the previous min(Skip, l) layers'
// outputs instead of the last one; the readout reads MouseStack, all
// layers' outputs concatenated. Layers are named layer0, layer1, … and
// their variables live under /features/layerK/{conv,bn}.
type MouseCore struct {
	// Channels lists the output channels of each layer.
	Channels []int `toml:"channels" json:"channels"`
	// Kernels lists the kernel size of each layer (odd).
	Kernels []int `toml:"kernels" json:"kernels"`
	// Skip is Stacked2dCore's skip: 0 or 1 chains the layers, k > 1 feeds
	// layer l the last min(k, l) outputs.
	Skip int `toml:"skip" json:"skip"`
}

// LiMouseCore is the paper-scale core: three layers of 32 channels with a
// 9×9 input kernel and 7×7 hidden kernels, fully skip-connected. Li et al.
// give no sizes; these are Stacked2dCore's usual mouse settings (Sensorium
// 2022 baseline kernels).
func LiMouseCore() MouseCore {
	return MouseCore{Channels: []int{32, 32, 32}, Kernels: []int{9, 7, 7}, Skip: 3}
}

var _ Core = MouseCore{}

// Validate checks the configuration.
func (m MouseCore) Validate() error {
	if len(m.Channels) == 0 || len(m.Channels) != len(m.Kernels) {
		return fmt.Errorf("mouse core: %d channel counts and %d kernel sizes; want one of each per layer", len(m.Channels), len(m.Kernels))
	}
	for i := range m.Channels {
		if m.Channels[i] < 1 || m.Kernels[i] < 1 || m.Kernels[i]%2 == 0 {
			return fmt.Errorf("mouse core: layer %d has %d channels and kernel %d; want ≥ 1 channel and an odd kernel", i, m.Channels[i], m.Kernels[i])
		}
	}
	if m.Skip < 0 {
		return fmt.Errorf("mouse core: skip %d must not be negative", m.Skip)
	}
	return nil
}

func layerName(l int) string { return fmt.Sprintf("layer%d", l) }

// Layers lists the layers in execution order, then MouseStack.
func (m MouseCore) Layers() []string {
	var out []string
	for l := range m.Channels {
		out = append(out, layerName(l))
	}
	return append(out, MouseStack)
}

// ScopesThrough lists the variable scopes of the layers up to layer.
func (m MouseCore) ScopesThrough(layer string) ([]string, error) {
	idx := slices.Index(m.Layers(), layer)
	if idx < 0 {
		return nil, fmt.Errorf("mouse core: no layer %q (layers: %v)", layer, m.Layers())
	}
	var scopes []string
	for l := 0; l <= min(idx, len(m.Channels)-1); l++ {
		scopes = append(scopes, "/features/"+layerName(l))
	}
	return scopes, nil
}

// Features runs the core on images [N, H, W, 1] as far as the deepest of
// the named layers.
func (m MouseCore) Features(ctx *context.Context, x *Node, layers ...string) []*Node {
	all := m.Layers()
	deepest := 0
	for _, name := range layers {
		i := slices.Index(all, name)
		if i < 0 {
			panic(fmt.Errorf("mouse core: no layer %q (layers: %v)", name, all))
		}
		deepest = max(deepest, i)
	}
	features := ctx.In("features")
	var outs []*Node
	for l := 0; l < len(m.Channels) && l <= deepest; l++ {
		in := x
		if l > 0 {
			in = outs[l-1]
			if m.Skip > 1 {
				in = concat(outs[l-min(m.Skip, l):])
			}
		}
		c := features.In(layerName(l))
		y := nn.Conv2D(c.In("conv"), in, m.Channels[l], m.Kernels[l], nn.ConvOptions{NoBias: true, WeightInit: nn.PyTorchDefaultWeights})
		outs = append(outs, nn.ELU(nn.BatchNorm(c.In("bn"), y)))
	}
	taps := make([]*Node, len(layers))
	for i, name := range layers {
		if name == MouseStack {
			taps[i] = concat(outs)
		} else {
			taps[i] = outs[slices.Index(all, name)]
		}
	}
	return taps
}

func concat(xs []*Node) *Node {
	if len(xs) == 1 {
		return xs[0]
	}
	return graph.Concatenate(xs, 3)
}

// Params returns the number of trainable parameters of the core.
func (m MouseCore) Params() int {
	total, in := 0, 1
	for l, c := range m.Channels {
		if l > 0 {
			in = m.Channels[l-1]
			if m.Skip > 1 {
				in = 0
				for _, p := range m.Channels[l-min(m.Skip, l) : l] {
					in += p
				}
			}
		}
		total += m.Kernels[l]*m.Kernels[l]*in*c + 2*c
	}
	return total
}

// Behaviour inputs of a MouseHead: the shifter reads the eye position,
// the modulator pupil size and running speed (recordings.Behavior), each
// standardized with the training trials' mean and standard deviation.
const (
	EyeInputs       = 2
	ModulatorInputs = 2
)

// MouseHead is the neural head of Li et al.'s denoising predictor: per
// scan, a Gaussian readout of the core's MouseStack, read at positions
// moved by a shifter network of the eye position, and a modulator network
// of pupil size and running speed whose output multiplies each neuron's
// response (Sinz et al. 2018; neuralpredictors' MLPShifter and
// MLPModulator). Scan k's variables live in /readout/k, /shifter/k and
// /modulator/k.
type MouseHead struct {
	Readouts []Readout `json:"readouts"`
	// Shifter and Modulator switch the two networks on.
	Shifter   bool `json:"shifter"`
	Modulator bool `json:"modulator"`
	// ShifterHidden and ModulatorHidden are the hidden widths (defaults 5
	// and 10).
	ShifterHidden   int `json:"shifter_hidden,omitempty"`
	ModulatorHidden int `json:"modulator_hidden,omitempty"`
	// Normalize holds, per scan, the training trials' mean and standard
	// deviation of the eye position (x, y) and of the modulator inputs
	// (pupil size, running speed), which the head standardizes with.
	Normalize []BehaviorNorm `json:"normalize,omitempty"`
	// Options configure the Gaussian readouts.
	Options nn.ReadoutOptions `json:"-"`
}

// BehaviorNorm standardizes one scan's behaviour: (v − Mean)/Std.
type BehaviorNorm struct {
	EyeMean [EyeInputs]float32       `json:"eye_mean"`
	EyeStd  [EyeInputs]float32       `json:"eye_std"`
	ModMean [ModulatorInputs]float32 `json:"modulator_mean"`
	ModStd  [ModulatorInputs]float32 `json:"modulator_std"`
}

// Standardize returns the standardized eye position and modulator inputs
// (pupil size, running speed) of one trial.
func (n BehaviorNorm) Standardize(eye, mod [2]float32) (e, m [2]float32) {
	for i := 0; i < 2; i++ {
		e[i] = (eye[i] - n.EyeMean[i]) / n.EyeStd[i]
		m[i] = (mod[i] - n.ModMean[i]) / n.ModStd[i]
	}
	return e, m
}

// UsesBehavior reports whether the head reads behaviour.
func (h MouseHead) UsesBehavior() bool { return h.Shifter || h.Modulator }

// Neurons is the number of neurons over all readouts.
func (h MouseHead) Neurons() int { return GaussianHead{Readouts: h.Readouts}.Neurons() }

// Responses predicts scan k's neurons from the core's features [N, H, W, C]
// and the standardized behaviour of each image's trial: eye [N, 2] and mod
// [N, 2] (either may be nil when its network is off). The result is
// [N, Neurons] positive rates.
func (h MouseHead) Responses(ctx *context.Context, features, eye, mod *Node, k int) *Node {
	n := h.Readouts[k].Neurons
	var shift *Node
	if h.Shifter {
		hidden := h.ShifterHidden
		if hidden == 0 {
			hidden = 5
		}
		c := ctx.In("shifter").In(fmt.Sprint(k))
		z := graph.Tanh(nn.Dense(c.In("hidden"), eye, hidden, nn.XavierNormal, nil))
		shift = graph.Tanh(nn.Dense(c.In("out"), z, 2, nn.XavierNormal, nil))
	}
	r := nn.ELUPlusOne(nn.ShiftedGaussianReadout(ctx.In("readout").In(fmt.Sprint(k)), features, n, h.Options, shift))
	if h.Modulator {
		hidden := h.ModulatorHidden
		if hidden == 0 {
			hidden = 10
		}
		c := ctx.In("modulator").In(fmt.Sprint(k))
		z := nn.ReLU(nn.Dense(c.In("hidden"), mod, hidden, nn.XavierNormal, nil))
		// The output layer starts at 0, so the gain ELU(0) + 1 starts at 1.
		gain := graph.AddScalar(nn.ELU(nn.Dense(c.In("out"), z, n, nn.Constant(0), nil)), 1)
		r = graph.Mul(r, gain)
	}
	return r
}

// L1 is Σ|w| over the feature weights of readout k, which must have been
// built in the graph of ctx already.
func (h MouseHead) L1(ctx *context.Context, g *graph.Graph, k int) *Node {
	return GaussianHead{Readouts: h.Readouts}.L1(ctx, g, k)
}
