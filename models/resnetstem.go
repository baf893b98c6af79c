package models

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
)

// Stems of ResNet.Stem.
const (
	// StemCIFAR is Li et al.'s stem: a 3×3 stride-1 convolution, batch
	// norm and ReLU, no pool.
	StemCIFAR = "cifar"
	// StemImageNet is torchvision's stem: a 7×7 stride-2 convolution
	// (padding 3), batch norm, ReLU and a 3×3 stride-2 max-pool (padding
	// 1). The layer "conv1" is the ReLU's output, before the pool.
	StemImageNet = "imagenet"
)

// ResNetImageNet is torchvision's resnet18 or resnet34 (depth 18 or 34) on
// RGB input: width 64, the ImageNet stem.
func ResNetImageNet(depth, classes int) ResNet {
	return ResNet{Depth: depth, Width: 64, Classes: classes, InputChannels: 3, Stem: StemImageNet}
}

func (r ResNet) validateStem() error {
	if r.Stem != "" && r.Stem != StemCIFAR && r.Stem != StemImageNet {
		return fmt.Errorf("resnet: stem %q must be %q or %q", r.Stem, StemCIFAR, StemImageNet)
	}
	return nil
}

// stemKernel is the side of the stem convolution.
func (r ResNet) stemKernel() int {
	if r.Stem == StemImageNet {
		return 7
	}
	return 3
}

// stemStride is the stride of the stem convolution.
func (r ResNet) stemStride() int {
	if r.Stem == StemImageNet {
		return 2
	}
	return 1
}

// stemPool is the pool after the stem: PyTorch's MaxPool2d(3, 2, 1) for
// the ImageNet stem (its input is a ReLU's, so padding cannot win a
// window), none for the CIFAR stem.
func (r ResNet) stemPool(x *Node) *Node {
	if r.Stem != StemImageNet {
		return x
	}
	return graph.MaxPool(x).Window(3).Strides(2).PaddingPerDim([][2]int{{1, 1}, {1, 1}}).Done()
}
