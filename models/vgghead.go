package models

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/nn"
)

// Classification heads of VGG.Classifier.
const (
	// HeadConv is the paper's fully convolutional readout: 1×1
	// convolutions with ReLU and dropout, closed by a global max-pool.
	HeadConv = "conv"
	// HeadDense is torchvision's classifier: an adaptive average pool to
	// Pool×Pool, flattened channel-major as PyTorch flattens [N, C, H, W],
	// then Linear layers with ReLU and dropout between them.
	HeadDense = "dense"
)

// VGG19BNImageNet is torchvision's vgg19_bn: configuration "E" with batch
// norm on RGB input, a 7×7 adaptive average pool and the dense head
// 25088→4096→4096→classes with dropout 0.5 (ImageNet: 1000 classes).
func VGG19BNImageNet(classes int) VGG {
	v := VGG19BN(classes)
	v.Classifier, v.Pool = HeadDense, 7
	return v
}

func (v VGG) validateHead() error {
	switch v.Classifier {
	case "", HeadConv:
		if v.Pool != 0 {
			return fmt.Errorf("vgg: pool = %d applies only to the %q classifier", v.Pool, HeadDense)
		}
	case HeadDense:
		if v.Pool < 0 {
			return fmt.Errorf("vgg: pool = %d, need 0 (none) or a positive side", v.Pool)
		}
	default:
		return fmt.Errorf("vgg: classifier %q must be %q or %q", v.Classifier, HeadConv, HeadDense)
	}
	return nil
}

// denseHead is torchvision's classifier on the last feature map
// [N, H, W, C]; the variables are /classifier/fc1 … and /classifier/out,
// each "weights" [in, out] and "bias" [out].
func (v VGG) denseHead(ctx *context.Context, x *Node) *Node {
	h := ctx.In("classifier")
	if v.Pool > 0 {
		x = nn.AdaptiveAvgPool2D(x, v.Pool)
	}
	d := x.Shape().Dimensions
	x = graph.Reshape(graph.TransposeAllDims(x, 0, 3, 1, 2), d[0], d[1]*d[2]*d[3])
	for i, w := range v.Head {
		wi, bi := v.denseInit(x, w)
		x = nn.ReLU(nn.Dense(h.In(fmt.Sprintf("fc%d", i+1)), x, w, wi, bi))
		x = nn.Dropout(h, x, v.Dropout)
	}
	wi, bi := v.denseInit(x, v.Classes)
	return nn.Dense(h.In("out"), x, v.Classes, wi, bi)
}

// denseInit is the initialization of a dense layer from x to out units:
// torchvision's N(0, 0.01²) weights and zero bias, or PyTorch's Linear
// defaults.
func (v VGG) denseInit(x *Node, out int) (weights, bias nn.Init) {
	if v.Init != InitPyTorch {
		return nil, nil
	}
	return nn.PyTorchDefaultWeights, nn.PyTorchDefaultBias([]int{x.Shape().Dimensions[1], out})
}

// denseSummary lists the dense head's layers on a side×side×c map.
func (v VGG) denseSummary(side, c int) []Layer {
	var out []Layer
	if v.Pool > 0 {
		side = v.Pool
		out = append(out, Layer{Name: fmt.Sprintf("adaptive avg-pool %d×%d", v.Pool, v.Pool), Output: [3]int{side, side, c}})
	}
	in := side * side * c
	for i, w := range v.Head {
		out = append(out, Layer{Name: fmt.Sprintf("fc%d (linear+relu+dropout)", i+1), Output: [3]int{1, 1, w}, Params: in*w + w})
		in = w
	}
	return append(out, Layer{Name: "out (linear)", Output: [3]int{1, 1, v.Classes}, Params: in*v.Classes + v.Classes})
}
