// Package models holds cotrain's network architectures: a VGG with
// configurable width, depth and input size (the paper's VGG-19-BN with a
// fully convolutional readout), the CIFAR ResNet-18 and ResNet-34 of Li et
// al., the mouse V1 core, and the multi-task wiring that adds a
// Gaussian-readout neural head on a tapped layer.
package models

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/nn"
)

// Node is a GoMLX graph node.
type Node = graph.Node

// VGG describes a VGG network: stages of 3×3 convolutions (each followed by
// batch norm and ReLU), a 2×2 max-pool after every stage, and a fully
// convolutional readout of 1×1 convolutions with dropout, closed by a global
// max-pool over positions.
type VGG struct {
	// Stages lists the output channels of each convolution, stage by stage.
	Stages [][]int `toml:"stages"`
	// Head lists the widths of the hidden 1×1 convolutions of the readout.
	Head []int `toml:"head"`
	// Classes is the number of output classes.
	Classes int `toml:"classes"`
	// InputChannels is the number of channels the network sees: a
	// single-channel image is broadcast to this many identical channels.
	InputChannels int `toml:"input_channels"`
	// Dropout is the drop probability after each hidden head layer.
	Dropout float64 `toml:"dropout"`
	// Tap names the layer the neural head reads (for example "conv3_1"):
	// the output of that convolution after its batch norm and ReLU.
	Tap string `toml:"tap"`
	// Init is the initialization of the convolutions: "" or InitVGG for
	// torchvision's VGG scheme (Kaiming normal, fan out, zero bias), or
	// InitPyTorch for PyTorch's layer defaults (Kaiming uniform with a=√5,
	// bias U(±1/√fan_in)), which the original's layer reset used.
	Init string `toml:"init" json:"init,omitempty"`
	// Classifier selects the classification head: "" or HeadConv for the
	// paper's fully convolutional readout, HeadDense for torchvision's
	// dense one (see HeadDense).
	Classifier string `toml:"classifier" json:"classifier,omitempty"`
	// Pool is the side of the adaptive average pool before a dense head
	// (torchvision: 7); 0 flattens the last feature map as it is.
	Pool int `toml:"pool" json:"pool,omitempty"`
}

// Initializations of VGG.Init.
const (
	InitVGG     = "vgg"
	InitPyTorch = "pytorch"
)

// VGG19BN is the paper's classifier (spec §2.1–2.2): configuration "E" with
// batch norm, the fully convolutional readout 512→4096→4096→classes with
// dropout 0.5, grayscale input broadcast to 3 channels, tap at conv3_1.
func VGG19BN(classes int) VGG {
	return VGG{
		Stages:        [][]int{{64, 64}, {128, 128}, {256, 256, 256, 256}, {512, 512, 512, 512}, {512, 512, 512, 512}},
		Head:          []int{4096, 4096},
		Classes:       classes,
		InputChannels: 3,
		Dropout:       0.5,
		Tap:           "conv3_1",
	}
}

// Validate checks the configuration.
func (v VGG) Validate() error {
	if len(v.Stages) == 0 {
		return fmt.Errorf("vgg: no stages")
	}
	for i, s := range v.Stages {
		if len(s) == 0 {
			return fmt.Errorf("vgg: stage %d has no convolutions", i+1)
		}
		for _, c := range s {
			if c <= 0 {
				return fmt.Errorf("vgg: stage %d has a convolution with %d channels", i+1, c)
			}
		}
	}
	if v.Classes < 2 {
		return fmt.Errorf("vgg: classes = %d, need at least 2", v.Classes)
	}
	if v.InputChannels < 1 {
		return fmt.Errorf("vgg: input_channels = %d, need at least 1", v.InputChannels)
	}
	if v.Dropout < 0 || v.Dropout >= 1 {
		return fmt.Errorf("vgg: dropout %v must be in [0, 1)", v.Dropout)
	}
	if v.Tap != "" {
		if _, err := v.layerIndices([]string{v.Tap}); err != nil {
			return fmt.Errorf("vgg: tap: %w", err)
		}
	}
	if v.Init != "" && v.Init != InitVGG && v.Init != InitPyTorch {
		return fmt.Errorf("vgg: init %q must be %q or %q", v.Init, InitVGG, InitPyTorch)
	}
	return v.validateHead()
}

// ScopesThrough lists the variable scopes of the layers up to and
// including layer: what a frozen core holds.
func (v VGG) ScopesThrough(layer string) ([]string, error) {
	idx, err := v.layerIndices([]string{layer})
	if err != nil {
		return nil, err
	}
	var scopes []string
	for _, name := range v.Layers()[:idx[0]+1] {
		scopes = append(scopes, "/features/"+name)
	}
	return scopes, nil
}

// convOptions returns the convolution options of the configured
// initialization.
func (v VGG) convOptions(x *Node, out, k int) nn.ConvOptions {
	if v.Init != InitPyTorch {
		return nn.ConvOptions{}
	}
	shape := []int{k, k, x.Shape().Dimensions[3], out}
	return nn.ConvOptions{WeightInit: nn.PyTorchDefaultWeights, BiasInit: nn.PyTorchDefaultBias(shape)}
}

// MinInput is the smallest input side the pooling stack accepts.
func (v VGG) MinInput() int { return 1 << len(v.Stages) }

// convName is the name of convolution k of stage s (0-based), e.g. conv3_1.
func convName(s, k int) string { return fmt.Sprintf("conv%d_%d", s+1, k+1) }

// block applies conv → batch norm → ReLU.
func (v VGG) block(ctx *context.Context, x *Node, name string, out int) *Node {
	c := ctx.In(name)
	y := nn.Conv2D(c.In("conv"), x, out, 3, v.convOptions(x, out, 3))
	return nn.ReLU(nn.BatchNorm(c.In("bn"), y))
}

// convs lists the convolutions in execution order as (stage, index) pairs.
func (v VGG) convs() [][2]int {
	var out [][2]int
	for s := range v.Stages {
		for k := range v.Stages[s] {
			out = append(out, [2]int{s, k})
		}
	}
	return out
}

// Layers lists the names of the convolutions in execution order: the
// layers Features and Forward accept.
func (v VGG) Layers() []string {
	var names []string
	for _, c := range v.convs() {
		names = append(names, convName(c[0], c[1]))
	}
	return names
}

// layerIndices maps layer names to positions in convs.
func (v VGG) layerIndices(layers []string) ([]int, error) {
	idx := make([]int, len(layers))
	all := v.Layers()
	for i, name := range layers {
		j := slices.Index(all, name)
		if j < 0 {
			return nil, fmt.Errorf("vgg: layer %q is not a convolution of this network (%s … %s)", name, all[0], all[len(all)-1])
		}
		idx[i] = j
	}
	return idx, nil
}

// run applies the convolutions in execution order, each stage's last one
// followed by its pool, and stops after convolution last (an index into
// convs; -1 runs them all, pools included). It returns the output of the
// last layer run and the activations of the convolutions at want.
func (v VGG) run(ctx *context.Context, x *Node, last int, want []int) (*Node, []*Node) {
	features := ctx.In("features")
	taps := make([]*Node, len(want))
	for i, c := range v.convs() {
		x = v.block(features, x, convName(c[0], c[1]), v.Stages[c[0]][c[1]])
		for j, w := range want {
			if w == i {
				taps[j] = x
			}
		}
		if i == last {
			break
		}
		if c[1] == len(v.Stages[c[0]])-1 {
			x = nn.MaxPool2(x)
		}
	}
	return x, taps
}

// broadcastInput turns an [N, H, W, 1] image into InputChannels identical channels.
func (v VGG) broadcastInput(x *Node) *Node {
	if c := x.Shape().Dimensions[3]; c == 1 && v.InputChannels > 1 {
		d := x.Shape().Dimensions
		return graph.BroadcastToDims(x, d[0], d[1], d[2], v.InputChannels)
	}
	return x
}

// Features runs the network on images [N, H, W, 1] only as far as the
// deepest of the named layers and returns their activations (each
// convolution's output after batch norm and ReLU, before any pool).
func (v VGG) Features(ctx *context.Context, x *Node, layers ...string) []*Node {
	idx, err := v.layerIndices(layers)
	if err != nil {
		panic(err)
	}
	_, taps := v.run(ctx, v.broadcastInput(x), slices.Max(idx), idx)
	return taps
}

// Forward runs the whole network on images [N, H, W, 1] and returns the
// logits [N, Classes] and the activations of the named layers.
func (v VGG) Forward(ctx *context.Context, x *Node, layers ...string) (*Node, []*Node) {
	idx, err := v.layerIndices(layers)
	if err != nil {
		panic(err)
	}
	y, taps := v.run(ctx, v.broadcastInput(x), -1, idx)
	return v.head(ctx, y), taps
}

// Logits runs the whole classifier on images [N, H, W, 1].
func (v VGG) Logits(ctx *context.Context, x *Node) *Node {
	logits, _ := v.Forward(ctx, x)
	return logits
}

// NumClasses is the number of output classes.
func (v VGG) NumClasses() int { return v.Classes }

func (v VGG) head(ctx *context.Context, x *Node) *Node {
	if v.Classifier == HeadDense {
		return v.denseHead(ctx, x)
	}
	h := ctx.In("classifier")
	for i, w := range v.Head {
		x = nn.ReLU(nn.Conv2D(h.In(fmt.Sprintf("fc%d", i+1)), x, w, 1, v.convOptions(x, w, 1)))
		x = nn.Dropout(h, x, v.Dropout)
	}
	x = nn.Conv2D(h.In("out"), x, v.Classes, 1, v.convOptions(x, v.Classes, 1))
	return nn.GlobalMaxPool(x)
}

// Layer is one line of a model summary.
type Layer struct {
	Name   string
	Output [3]int // H, W, C
	Params int
}

// Summary lists the layers, their output shapes for square inputs of side
// input, and their trainable parameter counts.
func (v VGG) Summary(input int) ([]Layer, int, error) {
	if err := v.Validate(); err != nil {
		return nil, 0, err
	}
	if input < v.MinInput() {
		return nil, 0, fmt.Errorf("vgg: input side %d is smaller than %d, the least %d pooling stages allow", input, v.MinInput(), len(v.Stages))
	}
	var out []Layer
	h, c := input, v.InputChannels
	total := 0
	add := func(name string, params int) {
		out = append(out, Layer{Name: name, Output: [3]int{h, h, c}, Params: params})
		total += params
	}
	for s, stage := range v.Stages {
		for k, ch := range stage {
			params := 9*c*ch + ch + 2*ch // conv weights and bias, batch-norm scale and offset
			c = ch
			add(convName(s, k)+" (conv3×3+bn+relu)", params)
		}
		h /= 2
		add(fmt.Sprintf("pool%d", s+1), 0)
	}
	if v.Classifier == HeadDense {
		for _, l := range v.denseSummary(h, c) {
			out = append(out, l)
			total += l.Params
		}
		return out, total, nil
	}
	for i, w := range v.Head {
		params := c*w + w
		c = w
		add(fmt.Sprintf("fc%d (conv1×1+relu+dropout)", i+1), params)
	}
	params := c*v.Classes + v.Classes
	c = v.Classes
	add("out (conv1×1)", params)
	h = 1
	add("global max-pool", 0)
	return out, total, nil
}

// FormatSummary renders a summary as an aligned table.
func FormatSummary(layers []Layer, total int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-32s %-16s %12s\n", "layer", "output (H×W×C)", "parameters")
	for _, l := range layers {
		fmt.Fprintf(&b, "%-32s %-16s %12s\n", l.Name, fmt.Sprintf("%d×%d×%d", l.Output[0], l.Output[1], l.Output[2]), thousands(l.Params))
	}
	fmt.Fprintf(&b, "%-32s %-16s %12s\n", "total", "", thousands(total))
	return b.String()
}

// thousands formats n with comma separators.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
