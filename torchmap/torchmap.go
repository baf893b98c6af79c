// Package torchmap maps PyTorch state dicts onto cotrain's variables and
// back: torchvision's VGG-BN classifiers (features.N…, classifier.N…),
// neural_cotraining's co-trained MTL_VGG with its Gaussian readouts
// (mtl_vgg_core.v1_block.N…, mtl_vgg_core.unshared_block.N…,
// classification_readout.N…, v1_readout.<session>.mu|sigma|features|bias)
// and torchvision's ResNets. Import infers the architecture's widths from
// the tensors' shapes and returns a run folder's RunInfo and variables;
// Export is its inverse. Names or shapes that do not fit are reported all
// at once.
package torchmap

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/torchfile"
)

// convert says how a PyTorch tensor becomes a cotrain variable.
type convert int

const (
	// same: identical shape and layout (biases, batch-norm vectors).
	same convert = iota
	// conv: [out, in, kh, kw] ↔ [kh, kw, in, out].
	conv
	// dense: Linear [out, in] ↔ [in, out].
	dense
	// squeeze: the same elements without the unit axes of the PyTorch
	// shape (the readout's μ [1, n, 1, 2] ↔ [n, 2], features [1, C, 1, n] ↔
	// [C, n]).
	squeeze
)

// perms are the axis permutations: cotrain axis a is PyTorch axis perm[a].
var perms = map[convert][]int{conv: {2, 3, 1, 0}, dense: {1, 0}}

// pair is one tensor of the map.
type pair struct {
	torch string // PyTorch name
	v     string // cotrain variable (scope path and name)
	shape []int  // PyTorch shape
	how   convert
}

// varShape is the cotrain shape of the pair's variable.
func (p pair) varShape() []int {
	switch p.how {
	case conv, dense:
		perm := perms[p.how]
		out := make([]int, len(perm))
		for a, t := range perm {
			out[a] = p.shape[t]
		}
		return out
	case squeeze:
		var out []int
		for _, d := range p.shape {
			if d != 1 {
				out = append(out, d)
			}
		}
		if len(out) < 2 { // keep the readout's 2-D shape when a dimension is 1
			return []int{p.shape[1], p.shape[3]}
		}
		return out
	}
	return slices.Clone(p.shape)
}

// layout is the map of one architecture: its tensor pairs and the
// PyTorch-only counters (batch norm's num_batches_tracked, which cotrain
// does not keep: it is 0 on export, and unused in eval mode).
type layout struct {
	pairs    []pair
	counters []string
}

func (l *layout) add(torch, v string, how convert, shape ...int) {
	l.pairs = append(l.pairs, pair{torch: torch, v: v, shape: shape, how: how})
}

// batchNorm adds a BatchNorm2d of c channels at torch prefix tp and
// cotrain scope vp.
func (l *layout) batchNorm(tp, vp string, c int) {
	l.add(tp+".weight", vp+"/scale", same, c)
	l.add(tp+".bias", vp+"/offset", same, c)
	l.add(tp+".running_mean", vp+"/mean", same, c)
	l.add(tp+".running_var", vp+"/variance", same, c)
	l.counters = append(l.counters, tp+".num_batches_tracked")
}

// Options configure Import.
type Options struct {
	// Arch is one of Archs().
	Arch string
	// Input is the side of the square images the model will see (the
	// run's input size); 0 takes the architecture's default.
	Input int
	// Tap is the layer a co-trained model's or predictor's readouts read;
	// empty takes the last convolution of its v1_block (conv3_1 for
	// neural_cotraining's v1_model_layer=17). For a classifier it is the
	// tap recorded in the model spec (default conv3_1).
	Tap string
	// Normalize is the normalization of the (grayscale) input images; the
	// zero value takes the architecture's default.
	Normalize data.Normalize
	// Classes are the class names, if known.
	Classes []string
}

// Model is an imported model: what a run folder holds.
type Model struct {
	Info checkpoint.RunInfo
	// Vars are the variables in map order (model.npz's entries).
	Vars []npy.Entry
}

// Write writes the model as a finished run folder: run.json and model.npz.
func (m *Model) Write(dir string) error {
	if err := checkpoint.WriteRunInfo(dir, m.Info); err != nil {
		return err
	}
	return npy.WriteNPZ(filepath.Join(dir, checkpoint.ModelFile), m.Vars, false)
}

// arch is one importable architecture.
type arch struct {
	name string
	help string
	// infer reads the model's configuration off the state dict's shapes.
	infer func(sd *torchfile.StateDict, opts Options) (checkpoint.RunInfo, error)
}

// Archs lists the architectures Import accepts, each with a line of help.
func Archs() [][2]string {
	var out [][2]string
	for _, a := range archs() {
		out = append(out, [2]string{a.name, a.help})
	}
	return out
}

func lookup(name string) (arch, error) {
	var names []string
	for _, a := range archs() {
		if a.name == name {
			return a, nil
		}
		names = append(names, a.name)
	}
	return arch{}, fmt.Errorf("unknown architecture %q (known: %s)", name, strings.Join(names, ", "))
}

// Import maps a state dict onto cotrain's variables.
func Import(sd *torchfile.StateDict, opts Options) (*Model, error) {
	a, err := lookup(opts.Arch)
	if err != nil {
		return nil, err
	}
	sd = stripModulePrefix(sd)
	info, err := a.infer(sd, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a.name, err)
	}
	l, err := layoutOf(info)
	if err != nil {
		return nil, err
	}
	if err := l.check(sd, a.name); err != nil {
		return nil, err
	}
	m := &Model{Info: info}
	for _, p := range l.pairs {
		t := sd.Tensors[p.torch]
		vals, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.torch, err)
		}
		data, shape := toVar(vals, p)
		arr, err := npy.New(data, shape...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.torch, err)
		}
		m.Vars = append(m.Vars, npy.Entry{Name: p.v, Array: arr})
	}
	return m, nil
}

// stripModulePrefix removes the "module." that torch.nn.DataParallel puts
// before every name, when all names have it.
func stripModulePrefix(sd *torchfile.StateDict) *torchfile.StateDict {
	for _, n := range sd.Names {
		if !strings.HasPrefix(n, "module.") {
			return sd
		}
	}
	out := torchfile.NewStateDict()
	for _, n := range sd.Names {
		out.Add(strings.TrimPrefix(n, "module."), sd.Tensors[n])
	}
	return out
}

// check lists every key of sd that is missing, unexpected or of the wrong
// shape for the layout.
func (l *layout) check(sd *torchfile.StateDict, archName string) error {
	var missing, wrong, unexpected []string
	known := map[string]bool{}
	for _, p := range l.pairs {
		known[p.torch] = true
		t, ok := sd.Tensors[p.torch]
		switch {
		case !ok:
			missing = append(missing, fmt.Sprintf("%s %v", p.torch, p.shape))
		case !slices.Equal(t.Shape, p.shape):
			wrong = append(wrong, fmt.Sprintf("%s is %v, want %v", p.torch, t.Shape, p.shape))
		}
	}
	for _, c := range l.counters {
		known[c] = true
	}
	for _, n := range sd.Names {
		if !known[n] {
			unexpected = append(unexpected, fmt.Sprintf("%s %v", n, sd.Tensors[n].Shape))
		}
	}
	if len(missing)+len(wrong)+len(unexpected) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the state dict does not fit %s", archName)
	for _, part := range []struct {
		what string
		keys []string
	}{{"missing", missing}, {"wrong shape", wrong}, {"unexpected", unexpected}} {
		if len(part.keys) > 0 {
			fmt.Fprintf(&b, "\n  %s (%d): %s", part.what, len(part.keys), strings.Join(part.keys, "; "))
		}
	}
	b.WriteString("\n(is --arch right? is this the model's state_dict?)")
	return fmt.Errorf("%s", b.String())
}

// toVar converts PyTorch values to the pair's cotrain layout.
func toVar(vals []float32, p pair) ([]float32, []int) {
	if perm, ok := perms[p.how]; ok {
		return permute(vals, p.shape, perm)
	}
	return vals, p.varShape()
}

// fromVar converts a cotrain variable to the pair's PyTorch layout.
func fromVar(vals []float32, p pair) []float32 {
	perm, ok := perms[p.how]
	if !ok {
		return vals
	}
	inv := make([]int, len(perm))
	for a, t := range perm {
		inv[t] = a
	}
	out, _ := permute(vals, p.varShape(), inv)
	return out
}

// permute returns x (of shape) with its axes permuted: axis a of the
// result is axis perm[a] of x.
func permute(x []float32, shape, perm []int) ([]float32, []int) {
	rank := len(shape)
	outShape := make([]int, rank)
	for a, t := range perm {
		outShape[a] = shape[t]
	}
	stride := make([]int, rank) // strides of x
	s := 1
	for a := rank - 1; a >= 0; a-- {
		stride[a] = s
		s *= shape[a]
	}
	out := make([]float32, len(x))
	idx := make([]int, rank) // index into the result
	for j := range out {
		src := 0
		for a, t := range perm {
			src += idx[a] * stride[t]
		}
		out[j] = x[src]
		for a := rank - 1; a >= 0; a-- {
			idx[a]++
			if idx[a] < outShape[a] {
				break
			}
			idx[a] = 0
		}
	}
	return out, outShape
}

// Export maps a run folder's variables to the PyTorch state dict of the
// matching module (torchvision's, or neural_cotraining's MTL_VGG for a
// co-trained model). Variables outside the PyTorch module (a co-trained
// model's loss weights) are left out.
func Export(info checkpoint.RunInfo, vars map[string]*npy.Array) (*torchfile.StateDict, error) {
	l, err := layoutOf(info)
	if err != nil {
		return nil, err
	}
	var problems []string
	sd := torchfile.NewStateDict()
	counters := map[string]bool{}
	for _, c := range l.counters {
		counters[strings.TrimSuffix(c, ".num_batches_tracked")] = true
	}
	for _, p := range l.pairs {
		a, ok := vars[p.v]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is missing", p.v))
			continue
		}
		if want := p.varShape(); !slices.Equal(a.Shape, want) {
			problems = append(problems, fmt.Sprintf("%s is %v, want %v", p.v, a.Shape, want))
			continue
		}
		vals, ok := a.Data.([]float32)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s is %s, want float32", p.v, a.DType))
			continue
		}
		sd.Add(p.torch, torchfile.FromFloat32(fromVar(vals, p), p.shape...))
		// num_batches_tracked follows running_var, as in PyTorch's state dicts.
		if prefix, ok := strings.CutSuffix(p.torch, ".running_var"); ok && counters[prefix] {
			sd.Add(prefix+".num_batches_tracked", torchfile.FromInt64([]int64{0}))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("the variables do not fit the model in run.json:\n  %s", strings.Join(problems, "\n  "))
	}
	return sd, nil
}

// ExportRun reads the run folder dir and exports its model.
func ExportRun(dir string) (*torchfile.StateDict, checkpoint.RunInfo, error) {
	info, err := checkpoint.ReadRunInfo(dir)
	if err != nil {
		return nil, info, err
	}
	vars, err := npy.ReadNPZ(filepath.Join(dir, checkpoint.ModelFile))
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w (is training finished?)", dir, err)
	}
	sd, err := Export(info, vars)
	if err != nil {
		return nil, info, fmt.Errorf("exporting %s: %w", dir, err)
	}
	return sd, info, nil
}
