package models

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/nn"
)

// Architectures of ResNet in a Spec: ResNet.Depth 18 or 34.
const (
	ArchResNet18 = "resnet18"
	ArchResNet34 = "resnet34"
)

// ResNetStem is the name of the stem layer of a ResNet: the convolution
// conv1 after bn1 and ReLU (before the ImageNet stem's max-pool).
const ResNetStem = "conv1"

// ResNet is the CIFAR variant of He et al.'s residual network that Li et al.
// (2019 §4.1) regularize: a 3×3 stride-1 stem convolution without bias,
// batch norm and ReLU (no stem max-pool), four stages of basic blocks (two
// 3×3 convolutions without bias, each with batch norm, an identity shortcut
// or, where the shape changes, a 1×1 strided convolution with batch norm,
// ReLU after the sum), global average pooling and a linear head. Stage s has
// Width·2^(s−1) channels; stages 2–4 halve the resolution in their first
// block. ResNet-18 has 2, 2, 2, 2 blocks per stage, ResNet-34 3, 4, 6, 3.
// Stem = StemImageNet gives torchvision's ImageNet ResNets instead (a 7×7
// stride-2 stem and a max-pool), which cotrain import reads.
//
// Variables follow torchvision's module names, scope for module: conv1,
// bn1, layer1/0/conv1, layer1/0/bn1, …, layer2/0/downsample/0 (the
// shortcut's convolution), layer2/0/downsample/1 (its batch norm) and fc.
// A torchvision state_dict name is the scope with "/" read as "." and the
// variable renamed: convolution "weights" [kh, kw, in, out] is "weight"
// [out, in, kh, kw]; batch norm "scale", "offset", "mean", "variance" are
// "weight", "bias", "running_mean", "running_var"; fc "weights" [in, out] is
// "weight" [out, in] and "bias" is "bias". Initialization is torchvision's:
// Kaiming normal (fan out) convolutions, batch norm 1 and 0, PyTorch's
// default linear layer.
//
// Layers are the activations Li et al. compare: ResNetStem ("conv1", Li's
// conv layer 1) and the output of each stage ("layer1" … "layer4", after its
// last block's ReLU). In ResNet-18 they are conv layers 1, 5, 9, 13 and 17
// counted along the main path, the layers Li et al. used; in ResNet-34 the
// same positions — the stem and the end of each stage — are conv layers 1,
// 7, 15, 27 and 33.
type ResNet struct {
	// Depth is 18 or 34.
	Depth int `toml:"depth" json:"depth"`
	// Width is the number of channels of the stem and the first stage
	// (torchvision's 64).
	Width int `toml:"width" json:"width"`
	// Classes is the number of output classes.
	Classes int `toml:"classes" json:"classes"`
	// InputChannels is the number of channels the network sees: 1 for
	// grayscale, 3 for RGB; a single-channel image is broadcast to this many
	// identical channels.
	InputChannels int `toml:"input_channels" json:"input_channels"`
	// Stem is "" or StemCIFAR for Li et al.'s 3×3 stem, StemImageNet for
	// torchvision's 7×7 stride-2 stem with a max-pool (see StemImageNet).
	Stem string `toml:"stem" json:"stem,omitempty"`
}

var _ Network = ResNet{}

// ResNet18 is ResNet-18 at torchvision's width 64.
func ResNet18(classes, inputChannels int) ResNet {
	return ResNet{Depth: 18, Width: 64, Classes: classes, InputChannels: inputChannels}
}

// ResNet34 is ResNet-34 at torchvision's width 64.
func ResNet34(classes, inputChannels int) ResNet {
	return ResNet{Depth: 34, Width: 64, Classes: classes, InputChannels: inputChannels}
}

// Arch is the Spec architecture of the depth: ArchResNet18 or ArchResNet34.
func (r ResNet) Arch() string { return fmt.Sprintf("resnet%d", r.Depth) }

// Blocks lists the number of basic blocks of each stage.
func (r ResNet) Blocks() []int {
	switch r.Depth {
	case 18:
		return []int{2, 2, 2, 2}
	case 34:
		return []int{3, 4, 6, 3}
	}
	return nil
}

// Validate checks the configuration.
func (r ResNet) Validate() error {
	if r.Blocks() == nil {
		return fmt.Errorf("resnet: depth %d; want 18 or 34", r.Depth)
	}
	if r.Width < 1 {
		return fmt.Errorf("resnet: width %d; want at least 1 (torchvision's is 64)", r.Width)
	}
	if r.Classes < 2 {
		return fmt.Errorf("resnet: classes = %d, need at least 2", r.Classes)
	}
	if r.InputChannels < 1 {
		return fmt.Errorf("resnet: input_channels = %d, need at least 1", r.InputChannels)
	}
	return r.validateStem()
}

// stageName is the name of stage s (0-based): layer1 … layer4.
func stageName(s int) string { return fmt.Sprintf("layer%d", s+1) }

// Layers lists the tapped layers in execution order: the stem and the
// output of each stage.
func (r ResNet) Layers() []string {
	out := []string{ResNetStem}
	for s := range r.Blocks() {
		out = append(out, stageName(s))
	}
	return out
}

// LiConvLayers lists, for each of Layers, its conv layer in Li et al.'s
// numbering: convolutions counted from 1 along the main path (shortcuts not
// counted), the stem and the last convolution of each stage.
func (r ResNet) LiConvLayers() []int {
	out := []int{1}
	n := 1
	for _, b := range r.Blocks() {
		n += 2 * b
		out = append(out, n)
	}
	return out
}

// layerIndex returns the position of layer in Layers.
func (r ResNet) layerIndex(layer string) (int, error) {
	i := slices.Index(r.Layers(), layer)
	if i < 0 {
		return 0, fmt.Errorf("resnet: no layer %q (layers: %v)", layer, r.Layers())
	}
	return i, nil
}

// ScopesThrough lists the variable scopes of the layers up to and
// including layer: what a frozen core holds.
func (r ResNet) ScopesThrough(layer string) ([]string, error) {
	idx, err := r.layerIndex(layer)
	if err != nil {
		return nil, err
	}
	scopes := []string{"/conv1", "/bn1"}
	for s := 0; s < idx; s++ {
		scopes = append(scopes, "/"+stageName(s))
	}
	return scopes, nil
}

// conv is a k×k convolution without bias, torchvision's conv3x3 and
// conv1x1 (padding (k−1)/2).
func conv(ctx *context.Context, x *Node, out, k, stride int) *Node {
	return nn.Conv2D(ctx, x, out, k, nn.ConvOptions{Stride: stride, NoBias: true})
}

// block is torchvision's BasicBlock: conv-bn-relu, conv-bn, plus the
// shortcut (a 1×1 strided convolution with batch norm where stride or width
// change), then ReLU.
func block(ctx *context.Context, x *Node, out, stride int) *Node {
	y := nn.ReLU(nn.BatchNorm(ctx.In("bn1"), conv(ctx.In("conv1"), x, out, 3, stride)))
	y = nn.BatchNorm(ctx.In("bn2"), conv(ctx.In("conv2"), y, out, 3, 1))
	short := x
	if stride != 1 || x.Shape().Dimensions[3] != out {
		d := ctx.In("downsample")
		short = nn.BatchNorm(d.In("1"), conv(d.In("0"), x, out, 1, stride))
	}
	return nn.ReLU(graph.Add(y, short))
}

// stride is the stride of the first block of stage s.
func stride(s int) int {
	if s == 0 {
		return 1
	}
	return 2
}

// run applies the stem and the stages through stage last (−1 runs only the
// stem) and returns the activations of Layers up to it.
func (r ResNet) run(ctx *context.Context, x *Node, last int) []*Node {
	if c := x.Shape().Dimensions[3]; c == 1 && r.InputChannels > 1 {
		d := x.Shape().Dimensions
		x = graph.BroadcastToDims(x, d[0], d[1], d[2], r.InputChannels)
	}
	x = nn.ReLU(nn.BatchNorm(ctx.In("bn1"), conv(ctx.In("conv1"), x, r.Width, r.stemKernel(), r.stemStride())))
	outs := []*Node{x}
	x = r.stemPool(x)
	for s, n := range r.Blocks()[:last+1] {
		stage := ctx.In(stageName(s))
		for b := range n {
			st := 1
			if b == 0 {
				st = stride(s)
			}
			x = block(stage.In(fmt.Sprint(b)), x, r.Width<<s, st)
		}
		outs = append(outs, x)
	}
	return outs
}

// indices maps layer names to positions in Layers.
func (r ResNet) indices(layers []string) []int {
	idx := make([]int, len(layers))
	for i, name := range layers {
		j, err := r.layerIndex(name)
		if err != nil {
			panic(err)
		}
		idx[i] = j
	}
	return idx
}

// pick returns outs at idx.
func pick(outs []*Node, idx []int) []*Node {
	taps := make([]*Node, len(idx))
	for i, j := range idx {
		taps[i] = outs[j]
	}
	return taps
}

// Features runs the network on images [N, H, W, C] only as far as the
// deepest of the named layers and returns their activations.
func (r ResNet) Features(ctx *context.Context, x *Node, layers ...string) []*Node {
	idx := r.indices(layers)
	deepest := 0
	if len(idx) > 0 {
		deepest = slices.Max(idx)
	}
	return pick(r.run(ctx, x, deepest-1), idx)
}

// Forward runs the whole network on images [N, H, W, C] and returns the
// logits [N, Classes] and the activations of the named layers.
func (r ResNet) Forward(ctx *context.Context, x *Node, layers ...string) (*Node, []*Node) {
	idx := r.indices(layers)
	outs := r.run(ctx, x, len(r.Blocks())-1)
	pooled := graph.ReduceMean(outs[len(outs)-1], 1, 2)
	c := pooled.Shape().Dimensions[1]
	fc := nn.Dense(ctx.In("fc"), pooled, r.Classes, nn.PyTorchDefaultWeights, nn.PyTorchDefaultBias([]int{c, r.Classes}))
	return fc, pick(outs, idx)
}

// Logits runs the whole classifier.
func (r ResNet) Logits(ctx *context.Context, x *Node) *Node {
	logits, _ := r.Forward(ctx, x)
	return logits
}

// NumClasses is the number of output classes.
func (r ResNet) NumClasses() int { return r.Classes }

// Summary lists the stem, every block, the pool and the head with their
// output shapes for square inputs of side input and their trainable
// parameter counts.
func (r ResNet) Summary(input int) ([]Layer, int, error) {
	if err := r.Validate(); err != nil {
		return nil, 0, err
	}
	if input < 1 {
		return nil, 0, fmt.Errorf("resnet: input side %d; want at least 1", input)
	}
	var out []Layer
	total := 0
	h, c := input, r.InputChannels
	add := func(name string, params int) {
		out = append(out, Layer{Name: name, Output: [3]int{h, h, c}, Params: params})
		total += params
	}
	convBN := func(in, outC, k int) int { return k*k*in*outC + 2*outC }
	k := r.stemKernel()
	p := convBN(c, r.Width, k)
	c = r.Width
	h = (h-1)/r.stemStride() + 1
	add(fmt.Sprintf("conv1 (conv%d×%d+bn+relu)", k, k), p)
	if r.Stem == StemImageNet {
		h = (h-1)/2 + 1
		add("maxpool (3×3, stride 2)", 0)
	}
	for s, n := range r.Blocks() {
		for b := range n {
			outC, st := r.Width<<s, 1
			if b == 0 {
				st = stride(s)
			}
			p := convBN(c, outC, 3) + convBN(outC, outC, 3)
			kind := "block"
			if st != 1 || c != outC {
				p += convBN(c, outC, 1)
				kind = "block+downsample"
			}
			h = (h-1)/st + 1
			c = outC
			add(fmt.Sprintf("%s.%d (%s)", stageName(s), b, kind), p)
		}
	}
	h = 1
	add("global average pool", 0)
	p = c*r.Classes + r.Classes
	c = r.Classes
	add("fc (linear)", p)
	return out, total, nil
}
