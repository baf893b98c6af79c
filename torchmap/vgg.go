package torchmap

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/torchfile"
)

// Default inputs of the architectures.
const (
	imageNetInput = 224 // torchvision's ImageNet models
	cotrainInput  = 64  // neural_cotraining's Tiny ImageNet models
	defaultTap    = "conv3_1"
)

// ImageNetGray normalizes grayscale images for torchvision's ImageNet
// models: the means of ImageNet's per-channel mean (0.485, 0.456, 0.406)
// and standard deviation (0.229, 0.224, 0.225), since a grayscale image
// enters as three equal channels.
var ImageNetGray = data.Normalize{Mean: 0.449, Std: 0.226}

// vggStages are the convolutions per stage of torchvision's VGG
// configurations, and vggWidths their channels.
var (
	vggStages = map[string][]int{
		"vgg11bn": {1, 1, 2, 2, 2},
		"vgg13bn": {2, 2, 2, 2, 2},
		"vgg16bn": {2, 2, 3, 3, 3},
		"vgg19bn": {2, 2, 4, 4, 4},
	}
	vggWidths = []int{64, 128, 256, 512, 512}
)

// ArchMTLVGG19BN is neural_cotraining's co-trained MTL_VGG (VGG-19-BN).
const ArchMTLVGG19BN = "mtl-vgg19bn"

func archs() []arch {
	var out []arch
	for _, name := range []string{"vgg11bn", "vgg13bn", "vgg16bn", "vgg19bn"} {
		out = append(out, arch{name: name,
			help: "torchvision's " + strings.TrimSuffix(name, "bn") + "_bn, or neural_cotraining's classifier with its conv readout (features.N, classifier.N)",
			infer: func(sd *torchfile.StateDict, opts Options) (checkpoint.RunInfo, error) {
				return inferVGG(sd, opts, vggStages[name], false)
			}})
	}
	out = append(out, arch{name: ArchMTLVGG19BN,
		help: "neural_cotraining's co-trained MTL_VGG with Gaussian readouts (mtl_vgg_core.v1_block.N, unshared_block.N, classification_readout.N, v1_readout.<session>.*); without the classification branch, its Monkey Predictor",
		infer: func(sd *torchfile.StateDict, opts Options) (checkpoint.RunInfo, error) {
			return inferVGG(sd, opts, vggStages["vgg19bn"], true)
		}})
	return append(out, resnetArchs()...)
}

// vggIndices are the module indices of each convolution in torchvision's
// features sequence: conv, batch norm and ReLU take three places, each
// stage's max-pool one.
func vggIndices(stages [][]int) [][]int {
	idx := 0
	out := make([][]int, len(stages))
	for s, st := range stages {
		for range st {
			out[s] = append(out[s], idx)
			idx += 3
		}
		idx++
	}
	return out
}

// v1Block is the prefix of MTL_VGG's shared block: all a Monkey Predictor
// (an MTL_VGG with only the neural branch) has besides its readouts.
const v1Block = "mtl_vgg_core.v1_block."

// only keeps the pairs and counters whose PyTorch names start with prefix.
func (l *layout) only(prefix string) *layout {
	out := &layout{}
	for _, p := range l.pairs {
		if strings.HasPrefix(p.torch, prefix) {
			out.pairs = append(out.pairs, p)
		}
	}
	for _, c := range l.counters {
		if strings.HasPrefix(c, prefix) {
			out.counters = append(out.counters, c)
		}
	}
	return out
}

// mtlNames is the naming of MTL_VGG's core: the features before the tap's
// ReLU ends (v1_model_layer) in v1_block, the rest in unshared_block,
// counted from there.
func mtlNames(v models.VGG, tap string) (func(int) string, error) {
	layers := v.Layers()
	k := slices.Index(layers, tap)
	if k < 0 {
		return nil, fmt.Errorf("tap %q is not a convolution (%s … %s)", tap, layers[0], layers[len(layers)-1])
	}
	var flat []int
	for _, st := range vggIndices(v.Stages) {
		flat = append(flat, st...)
	}
	boundary := flat[k] + 3
	return func(i int) string {
		if i < boundary {
			return fmt.Sprintf("%s%d", v1Block, i)
		}
		return fmt.Sprintf("mtl_vgg_core.unshared_block.%d", i-boundary)
	}, nil
}

// vggLayout is the map of a VGG: feat names module i of the features
// sequence, cls is the classifier's prefix, input the image side.
func vggLayout(v models.VGG, input int, feat func(int) string, cls string) *layout {
	l := &layout{}
	cin := v.InputChannels
	side := input
	for s, st := range vggIndices(v.Stages) {
		for k, i := range st {
			out := v.Stages[s][k]
			vp := fmt.Sprintf("/features/conv%d_%d", s+1, k+1)
			l.add(feat(i)+".weight", vp+"/conv/weights", conv, out, cin, 3, 3)
			l.add(feat(i)+".bias", vp+"/conv/bias", same, out)
			l.batchNorm(feat(i+1), vp+"/bn", out)
			cin = out
		}
		side /= 2
	}
	in := cin
	if v.Classifier == models.HeadDense {
		if v.Pool > 0 {
			side = v.Pool
		}
		in = cin * side * side
	}
	widths := append(slices.Clone(v.Head), v.Classes)
	for i, w := range widths {
		vp := fmt.Sprintf("/classifier/fc%d", i+1)
		if i == len(widths)-1 {
			vp = "/classifier/out"
		}
		tp := fmt.Sprintf("%s.%d", cls, 3*i)
		if v.Classifier == models.HeadDense {
			l.add(tp+".weight", vp+"/weights", dense, w, in)
		} else {
			l.add(tp+".weight", vp+"/weights", conv, w, in, 1, 1)
		}
		l.add(tp+".bias", vp+"/bias", same, w)
		in = w
	}
	return l
}

// readoutLayout adds one legacy Gaussian2d per readout, reading c channels.
func readoutLayout(l *layout, readouts []models.Readout, c int) {
	for k, r := range readouts {
		tp := "v1_readout." + r.Name
		vp := fmt.Sprintf("/readout/%d", k)
		l.add(tp+".mu", vp+"/mu", squeeze, 1, r.Neurons, 1, 2)
		l.add(tp+".sigma", vp+"/sigma", squeeze, 1, r.Neurons, 1, 2)
		l.add(tp+".features", vp+"/features", squeeze, 1, c, 1, r.Neurons)
		l.add(tp+".bias", vp+"/bias", same, r.Neurons)
	}
}

// layoutOf is the map of a run's model.
func layoutOf(info checkpoint.RunInfo) (*layout, error) {
	switch info.Model.Arch {
	case models.ArchVGG, "":
		v := info.Model.VGG
		switch info.Kind {
		case checkpoint.KindClassifier:
			return vggLayout(v, info.Input[0], func(i int) string { return fmt.Sprintf("features.%d", i) }, "classifier"), nil
		case checkpoint.KindMTL, checkpoint.KindPredictor:
			tap := info.NeuralLayer()
			names, err := mtlNames(v, tap)
			if err != nil {
				return nil, err
			}
			l := vggLayout(v, info.Input[0], names, "classification_readout")
			if info.Kind == checkpoint.KindPredictor {
				l = l.only(v1Block)
			}
			c, err := tapChannels(v, tap)
			if err != nil {
				return nil, err
			}
			readoutLayout(l, info.Readouts, c)
			return l, nil
		}
		return nil, fmt.Errorf("a %s model has no PyTorch counterpart here (classifiers, predictors and co-trained models do)", info.Kind)
	}
	return resnetLayoutOf(info)
}

// tapChannels is the number of channels of a VGG layer.
func tapChannels(v models.VGG, layer string) (int, error) {
	for s, st := range v.Stages {
		for k, c := range st {
			if fmt.Sprintf("conv%d_%d", s+1, k+1) == layer {
				return c, nil
			}
		}
	}
	return 0, fmt.Errorf("tap %q is not a convolution of the VGG", layer)
}

// dims returns the shape of sd's tensor name, or nil.
func dims(sd *torchfile.StateDict, name string) []int {
	if t, ok := sd.Tensors[name]; ok {
		return t.Shape
	}
	return nil
}

// inferVGG reads a VGG's widths, head and classes off the state dict
// (what it cannot read stays at VGG-19-BN's values, and the full check
// then reports the keys).
func inferVGG(sd *torchfile.StateDict, opts Options, counts []int, mtl bool) (checkpoint.RunInfo, error) {
	input := opts.Input
	if input == 0 {
		input = imageNetInput
		if mtl {
			input = cotrainInput
		}
	}
	v := models.VGG19BN(1000)
	v.Stages = make([][]int, len(counts))
	for s, n := range counts {
		for range n {
			v.Stages[s] = append(v.Stages[s], vggWidths[s])
		}
	}
	tap := opts.Tap
	if tap == "" && mtl {
		tap = v1Tap(sd, v)
	}
	if tap == "" {
		tap = defaultTap
	}
	v.Tap = tap
	if slices.Index(v.Layers(), tap) < 0 {
		return checkpoint.RunInfo{}, fmt.Errorf("tap %q is not a convolution (%s … %s)", tap, v.Layers()[0], v.Layers()[len(v.Layers())-1])
	}
	feat := func(i int) string { return fmt.Sprintf("features.%d", i) }
	cls := "classifier"
	if mtl {
		names, err := mtlNames(v, tap)
		if err != nil {
			return checkpoint.RunInfo{}, err
		}
		feat, cls = names, "classification_readout"
	}
	for s, st := range vggIndices(v.Stages) {
		for k, i := range st {
			if d := dims(sd, feat(i)+".weight"); len(d) == 4 {
				v.Stages[s][k] = d[0]
				if s == 0 && k == 0 {
					v.InputChannels = d[1]
				}
			}
		}
	}
	// A Monkey Predictor is an MTL_VGG without the classification branch:
	// its spec keeps VGG-19-BN's layers after the tap and the paper's 200
	// classes, as cotrain's predictors record them.
	predictor := mtl && !hasPrefix(sd, "classification_readout.") && !hasPrefix(sd, "mtl_vgg_core.unshared_block.")
	if predictor {
		v.Classes = 200
		return neuralInfo(sd, opts, v, input, checkpoint.KindPredictor)
	}
	// The head: classifier.0, .3, .6 …; its last layer gives the classes.
	var widths []int
	rank := 0
	for i := 0; ; i++ {
		d := dims(sd, fmt.Sprintf("%s.%d.weight", cls, 3*i))
		if d == nil {
			break
		}
		widths = append(widths, d[0])
		if i == 0 {
			rank = len(d)
		}
	}
	if len(widths) == 0 {
		return checkpoint.RunInfo{}, fmt.Errorf("the state dict has no %s.0.weight: no classification head", cls)
	}
	v.Head, v.Classes = widths[:len(widths)-1], widths[len(widths)-1]
	if rank == 2 {
		v.Classifier = models.HeadDense
		last := v.Stages[len(v.Stages)-1]
		c := last[len(last)-1]
		in := dims(sd, cls+".0.weight")[1]
		side := input >> len(v.Stages)
		switch in {
		case c * 49:
			v.Pool = 7
		case c * side * side:
			v.Pool = 0
		default:
			return checkpoint.RunInfo{}, fmt.Errorf("%s.0.weight reads %d features: neither %d×7×7 (torchvision's pool) nor %d×%d×%d (the last map of a %d-pixel input; is --input right?)",
				cls, in, c, c, side, side, input)
		}
	}
	if err := v.Validate(); err != nil {
		return checkpoint.RunInfo{}, err
	}
	if mtl {
		return neuralInfo(sd, opts, v, input, checkpoint.KindMTL)
	}
	norm := opts.Normalize
	if norm == (data.Normalize{}) {
		norm = ImageNetGray
	}
	info := checkpoint.RunInfo{Kind: checkpoint.KindClassifier, Model: models.Spec{Arch: models.ArchVGG, VGG: v},
		Classes: opts.Classes, Input: [2]int{input, input}, Normalize: norm}
	if len(opts.Classes) > 0 && len(opts.Classes) != v.Classes {
		return info, fmt.Errorf("%d class names for a head of %d classes", len(opts.Classes), v.Classes)
	}
	return info, nil
}

// neuralInfo describes an MTL_VGG (kind KindMTL) or its neural branch
// alone (KindPredictor), with one readout per session of v1_readout.
func neuralInfo(sd *torchfile.StateDict, opts Options, v models.VGG, input int, kind checkpoint.Kind) (checkpoint.RunInfo, error) {
	norm := opts.Normalize
	if norm == (data.Normalize{}) {
		norm = data.Normalize{Mean: data.TinyImageNetMean, Std: data.TinyImageNetStd}
	}
	info := checkpoint.RunInfo{Kind: kind, Model: models.Spec{Arch: models.ArchVGG, VGG: v}, Tap: v.Tap,
		Normalize: norm, Input: [2]int{input, input}, Readouts: inferReadouts(sd)}
	if kind == checkpoint.KindMTL {
		info.Classes = opts.Classes
		if len(opts.Classes) > 0 && len(opts.Classes) != v.Classes {
			return info, fmt.Errorf("%d class names for a head of %d classes", len(opts.Classes), v.Classes)
		}
	}
	if len(info.Readouts) == 0 {
		return info, fmt.Errorf("the state dict has no v1_readout.<session>.mu: no Gaussian readout")
	}
	return info, nil
}

// v1Tap is the layer an MTL_VGG's readouts read: the last convolution of
// its v1_block (neural_cotraining's v1_model_layer ends after that
// convolution's ReLU), or "" when the block has none.
func v1Tap(sd *torchfile.StateDict, v models.VGG) string {
	tap := ""
	for s, st := range vggIndices(v.Stages) {
		for k, i := range st {
			if len(dims(sd, fmt.Sprintf("%s%d.weight", v1Block, i))) == 4 {
				tap = fmt.Sprintf("conv%d_%d", s+1, k+1)
			}
		}
	}
	return tap
}

// hasPrefix reports whether a name of sd starts with prefix.
func hasPrefix(sd *torchfile.StateDict, prefix string) bool {
	for _, n := range sd.Names {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// inferReadouts lists the sessions of v1_readout in state-dict order.
func inferReadouts(sd *torchfile.StateDict) []models.Readout {
	var out []models.Readout
	for _, n := range sd.Names {
		rest, ok := strings.CutPrefix(n, "v1_readout.")
		if !ok {
			continue
		}
		session, ok := strings.CutSuffix(rest, ".mu")
		if !ok {
			continue
		}
		neurons := 0
		if d := sd.Tensors[n].Shape; len(d) == 4 {
			neurons = d[1]
		}
		out = append(out, models.Readout{Name: session, Neurons: neurons})
	}
	return out
}
