package torchmap

import (
	"fmt"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/torchfile"
)

func resnetArchs() []arch {
	var out []arch
	for _, depth := range []int{18, 34} {
		out = append(out, arch{name: fmt.Sprintf("resnet%d", depth),
			help: fmt.Sprintf("torchvision's resnet%d (conv1, bn1, layerS.B.conv1 …, downsample, fc); a 3×3 conv1 is read as Li et al.'s CIFAR stem", depth),
			infer: func(sd *torchfile.StateDict, opts Options) (checkpoint.RunInfo, error) {
				return inferResNet(sd, opts, depth)
			}})
	}
	return out
}

// resnetLayout is the map of a ResNet: torchvision's module names, which
// cotrain's ResNet scopes follow ("/" for ".").
func resnetLayout(r models.ResNet) *layout {
	l := &layout{}
	k := 3
	if r.Stem == models.StemImageNet {
		k = 7
	}
	l.add("conv1.weight", "/conv1/weights", conv, r.Width, r.InputChannels, k, k)
	l.batchNorm("bn1", "/bn1", r.Width)
	cin := r.Width
	for s, n := range r.Blocks() {
		out := r.Width << s
		for b := range n {
			tp := fmt.Sprintf("layer%d.%d", s+1, b)
			vp := fmt.Sprintf("/layer%d/%d", s+1, b)
			l.add(tp+".conv1.weight", vp+"/conv1/weights", conv, out, cin, 3, 3)
			l.batchNorm(tp+".bn1", vp+"/bn1", out)
			l.add(tp+".conv2.weight", vp+"/conv2/weights", conv, out, out, 3, 3)
			l.batchNorm(tp+".bn2", vp+"/bn2", out)
			if b == 0 && (s > 0 || cin != out) {
				l.add(tp+".downsample.0.weight", vp+"/downsample/0/weights", conv, out, cin, 1, 1)
				l.batchNorm(tp+".downsample.1", vp+"/downsample/1", out)
			}
			cin = out
		}
	}
	l.add("fc.weight", "/fc/weights", dense, r.Classes, cin)
	l.add("fc.bias", "/fc/bias", same, r.Classes)
	return l
}

// resnetLayoutOf is the map of a run's ResNet classifier.
func resnetLayoutOf(info checkpoint.RunInfo) (*layout, error) {
	switch info.Model.Arch {
	case models.ArchResNet18, models.ArchResNet34:
		if info.Kind != checkpoint.KindClassifier {
			return nil, fmt.Errorf("a %s %s has no PyTorch counterpart here (ResNet classifiers do)", info.Model.Arch, info.Kind)
		}
		return resnetLayout(info.Model.ResNet), nil
	}
	return nil, fmt.Errorf("a %s model has no PyTorch counterpart here", info.Model.Arch)
}

// inferResNet reads a ResNet's width, stem, input channels and classes
// off the state dict.
func inferResNet(sd *torchfile.StateDict, opts Options, depth int) (checkpoint.RunInfo, error) {
	r := models.ResNetImageNet(depth, 1000)
	if d := dims(sd, "conv1.weight"); len(d) == 4 {
		r.Width, r.InputChannels = d[0], d[1]
		if d[2] == 3 {
			r.Stem = models.StemCIFAR
		}
	}
	if d := dims(sd, "fc.weight"); len(d) == 2 {
		r.Classes = d[0]
	}
	if err := r.Validate(); err != nil {
		return checkpoint.RunInfo{}, err
	}
	input := opts.Input
	if input == 0 {
		input = imageNetInput
	}
	norm := opts.Normalize
	if norm.Std == 0 {
		norm = ImageNetGray
	}
	if len(opts.Classes) > 0 && len(opts.Classes) != r.Classes {
		return checkpoint.RunInfo{}, fmt.Errorf("%d class names for a head of %d classes", len(opts.Classes), r.Classes)
	}
	return checkpoint.RunInfo{Kind: checkpoint.KindClassifier, Model: models.Spec{Arch: r.Arch(), ResNet: r},
		Normalize: norm, Classes: opts.Classes, Input: [2]int{input, input}}, nil
}
