package torchmap

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/torchfile"
)

// tolerance is the largest difference from PyTorch's outputs allowed.
const tolerance = 1e-4

// fullEnv opts in to the full-size architectures, generated at test time.
const fullEnv = "COTRAIN_TORCH_FULL"

const py = "/usr/bin/python3"

// fixture is a model written by testdata/torchfixtures.py.
type fixture struct {
	name, arch, dir string
	opts            Options
	input           int
}

// importFixture imports dir/name.pt as a run folder and returns it.
func importFixture(t *testing.T, dir string, f fixture) (string, *Model) {
	t.Helper()
	l, err := torchfile.ReadFile(filepath.Join(dir, f.name+".pt"), "")
	if err != nil {
		t.Fatal(err)
	}
	opts := f.opts
	opts.Arch, opts.Input = f.arch, f.input
	m, err := Import(l.StateDict, opts)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), f.name)
	if err := m.Write(run); err != nil {
		t.Fatal(err)
	}
	return run, m
}

// forward runs the run folder's model in eval mode on PyTorch's input
// (N×C×H×W) and returns the logits (none for a predictor) and, for a model
// with a neural head, the readouts' outputs.
func forward(t *testing.T, run string, input *npy.Array) (logits, readout []float32) {
	t.Helper()
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	info, g, err := checkpoint.LoadRun(run, checkpoint.KindClassifier, checkpoint.KindMTL, checkpoint.KindPredictor)
	if err != nil {
		t.Fatal(err)
	}
	net, err := info.Network()
	if err != nil {
		t.Fatal(err)
	}
	x, shape := permute(input.Data.([]float32), input.Shape, []int{0, 2, 3, 1})
	var outs []*tensors.Tensor
	switch info.Kind {
	case checkpoint.KindPredictor:
		head := models.GaussianHead{Readouts: info.Readouts}
		outs, err = gctx.ExecOnceN(b, g, func(ctx *gctx.Context, x *graph.Node) []*graph.Node {
			return []*graph.Node{head.All(ctx, net.Features(ctx, x, info.NeuralLayer())[0])}
		}, tensors.FromFlatDataAndDimensions(x, shape...))
		if err != nil {
			t.Fatal(err)
		}
		return nil, tensors.MustCopyFlatData[float32](outs[0])
	case checkpoint.KindMTL:
		head := models.GaussianHead{Readouts: info.Readouts}
		outs, err = gctx.ExecOnceN(b, g, func(ctx *gctx.Context, x *graph.Node) []*graph.Node {
			logits, taps := net.Forward(ctx, x, info.NeuralLayer())
			return []*graph.Node{logits, head.All(ctx, taps[0])}
		}, tensors.FromFlatDataAndDimensions(x, shape...))
	default:
		outs, err = gctx.ExecOnceN(b, g, func(ctx *gctx.Context, x *graph.Node) []*graph.Node {
			return []*graph.Node{net.Logits(ctx, x)}
		}, tensors.FromFlatDataAndDimensions(x, shape...))
	}
	if err != nil {
		t.Fatal(err)
	}
	logits = tensors.MustCopyFlatData[float32](outs[0])
	if len(outs) > 1 {
		readout = tensors.MustCopyFlatData[float32](outs[1])
	}
	return logits, readout
}

func readNPY(t *testing.T, path string) *npy.Array {
	t.Helper()
	a, err := npy.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// maxDiff is the largest absolute difference between got and the array at
// path, and the largest magnitude in that array.
func maxDiff(t *testing.T, got []float32, path string) (diff, scale float64) {
	t.Helper()
	want := readNPY(t, path).Data.([]float32)
	if len(got) != len(want) {
		t.Fatalf("%d outputs, want %d (%s)", len(got), len(want), path)
	}
	for i := range got {
		diff = max(diff, math.Abs(float64(got[i]-want[i])))
		scale = max(scale, math.Abs(float64(want[i])))
	}
	return diff, scale
}

// compare checks a run's outputs against PyTorch's.
func compare(t *testing.T, dir, name, run string) {
	t.Helper()
	logits, readout := forward(t, run, readNPY(t, filepath.Join(dir, name+".input.npy")))
	if logits != nil {
		d, scale := maxDiff(t, logits, filepath.Join(dir, name+".logits.npy"))
		t.Logf("%s: max |logits − PyTorch's| = %.3g (max |logit| %.3g)", name, d, scale)
		if d > tolerance {
			t.Errorf("%s: logits differ from PyTorch's by %g > %g", name, d, tolerance)
		}
	}
	if readout != nil {
		d, scale := maxDiff(t, readout, filepath.Join(dir, name+".readout.npy"))
		t.Logf("%s: max |readout − PyTorch's| = %.3g (max |readout| %.3g)", name, d, scale)
		if d > tolerance {
			t.Errorf("%s: readout outputs differ from PyTorch's by %g > %g", name, d, tolerance)
		}
	}
}

// exported is a run folder's export, to be loaded by PyTorch.
type exported struct{ name, dir, file string }

// export writes the run folder's model as a torch.save file in out.
func export(t *testing.T, dir, name, run, out string) exported {
	t.Helper()
	sd, _, err := ExportRun(run)
	if err != nil {
		t.Fatal(err)
	}
	pt := filepath.Join(out, name+".pt")
	if err := torchfile.WriteFile(pt, sd); err != nil {
		t.Fatal(err)
	}
	return exported{name, dir, pt}
}

// checkExports has PyTorch load each export with torch.load(weights_only=True)
// into the fixture's module with load_state_dict(strict=True) and compare
// its outputs with the fixture's: they must be equal. One Python process
// checks them all.
func checkExports(t *testing.T, files []exported) {
	t.Helper()
	args := []string{"testdata/torchfixtures.py", "check"}
	for _, f := range files {
		args = append(args, f.name, f.dir, f.file)
	}
	out, err := exec.Command(py, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch could not load the exports: %v\n%s", err, out)
	}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var diffs map[string]any
		if json.Unmarshal([]byte(line), &diffs) != nil {
			continue
		}
		seen++
		name := diffs["model"]
		for k, v := range diffs {
			if d, ok := v.(float64); ok {
				t.Logf("%s export → torch.load → load_state_dict(strict=True): max |%s − fixture| = %.3g", name, k, d)
				if d != 0 {
					t.Errorf("%s: PyTorch's %s from the exported file differ from the original's by %g", name, k, d)
				}
			}
		}
	}
	if seen != len(files) {
		t.Errorf("PyTorch checked %d exports of %d:\n%s", seen, len(files), out)
	}
}

// identity checks that exporting the run and importing it again gives the
// same variables, bit for bit.
func identity(t *testing.T, run string, m *Model, f fixture) {
	t.Helper()
	sd, _, err := ExportRun(run)
	if err != nil {
		t.Fatal(err)
	}
	opts := f.opts
	opts.Arch, opts.Input = f.arch, f.input
	back, err := Import(sd, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Vars) != len(m.Vars) {
		t.Fatalf("%d variables after export and import, want %d", len(back.Vars), len(m.Vars))
	}
	for i, e := range m.Vars {
		b := back.Vars[i]
		if b.Name != e.Name || !slices.Equal(b.Array.Shape, e.Array.Shape) || !slices.Equal(b.Array.Data.([]float32), e.Array.Data.([]float32)) {
			t.Errorf("variable %s changed by export and import", e.Name)
		}
	}
}

var smallFixtures = []fixture{
	{name: "vgg19bn_small", arch: "vgg19bn", input: 32},
	{name: "mtl_small", arch: ArchMTLVGG19BN, input: 32},
	{name: "predictor_small", arch: ArchMTLVGG19BN, input: 32},
}

// TestImportMatchesPyTorch imports the committed small fixtures and, when
// PyTorch is installed, torchvision's resnet18 generated with random weights
// (45 MB, so not committed); with COTRAIN_TORCH_FULL=1 also the full-size
// vgg19_bn at 224×224 and resnet34. For each it compares the logits and
// readout outputs with PyTorch's, checks that export then import is the
// identity, and has PyTorch load the export strictly and give the same
// outputs.
func TestImportMatchesPyTorch(t *testing.T) {
	fixtures := slices.Clone(smallFixtures)
	for i := range fixtures {
		fixtures[i].dir = "testdata"
	}
	python := exec.Command(py, "-c", "import torch, torchvision").Run() == nil
	if !python {
		t.Logf("%s with torch and torchvision is not available: resnet18 and the exports' torch.load are not checked (install python3-torch and python3-torchvision)", py)
	} else {
		gen := []fixture{{name: "resnet18", arch: "resnet18", input: 64}}
		if os.Getenv(fullEnv) != "" {
			gen = append(gen, fixture{name: "resnet34", arch: "resnet34", input: 64}, fixture{name: "vgg19bn", arch: "vgg19bn", input: 224})
		} else {
			t.Logf("set %s=1 to check the full-size vgg19_bn and resnet34 too", fullEnv)
		}
		dir := t.TempDir()
		args := []string{"testdata/torchfixtures.py", "make", dir}
		for i := range gen {
			gen[i].dir = dir
			args = append(args, gen[i].name)
		}
		if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		fixtures = append(fixtures, gen...)
	}
	var files []exported
	out := t.TempDir()
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			run, m := importFixture(t, f.dir, f)
			if r := m.Info.Model.ResNet; strings.HasPrefix(f.arch, "resnet") && (r.Stem != models.StemImageNet || r.Width != 64 || r.Classes != 1000) {
				t.Errorf("%s read as %+v", f.name, r)
			}
			compare(t, f.dir, f.name, run)
			identity(t, run, m, f)
			files = append(files, export(t, f.dir, f.name, run, out))
		})
	}
	if python {
		checkExports(t, files)
	}
}

// TestImportedRunInfo checks what the importer reads off the shapes.
func TestImportedRunInfo(t *testing.T) {
	_, m := importFixture(t, "testdata", smallFixtures[0])
	v := m.Info.Model.VGG
	if m.Info.Kind != checkpoint.KindClassifier || v.Classifier != models.HeadDense || v.Pool != 7 || v.Classes != 10 ||
		!slices.Equal(v.Head, []int{24, 24}) || v.InputChannels != 3 || v.Stages[4][3] != 32 || m.Info.Input != [2]int{32, 32} {
		t.Errorf("vgg19bn_small: %+v", m.Info)
	}
	_, m = importFixture(t, "testdata", smallFixtures[1])
	want := []models.Readout{{Name: "3631896544452", Neurons: 5}, {Name: "3632669014376", Neurons: 3}}
	v = m.Info.Model.VGG
	if m.Info.Kind != checkpoint.KindMTL || !slices.Equal(m.Info.Readouts, want) || m.Info.NeuralLayer() != "conv3_1" ||
		v.Classifier != "" || v.Classes != 7 || !slices.Equal(v.Head, []int{16, 16}) {
		t.Errorf("mtl_small: %+v", m.Info)
	}
	_, m = importFixture(t, "testdata", smallFixtures[2])
	if m.Info.Kind != checkpoint.KindPredictor || len(m.Info.Readouts) != 3 || m.Info.Readouts[1].Neurons != 6 || m.Info.NeuralLayer() != "conv3_1" {
		t.Errorf("predictor_small: %+v", m.Info)
	}
	// The tap follows v1_block's last convolution (v1_model_layer): cut
	// the block after conv2_1 (modules 0–9 are left) and it reads conv2_1, whose 16
	// channels the readouts' features fit; --tap conv2_1 on the whole
	// block lists the modules left over.
	l, err := torchfile.ReadFile("testdata/predictor_small.pt", "")
	if err != nil {
		t.Fatal(err)
	}
	cut := torchfile.NewStateDict()
	for _, n := range l.Names {
		if rest, ok := strings.CutPrefix(n, v1Block); ok && slices.ContainsFunc([]string{"10.", "11.", "14.", "15."}, func(p string) bool { return strings.HasPrefix(rest, p) }) {
			continue
		}
		cut.Add(n, l.Tensors[n])
	}
	if m, err = Import(cut, Options{Arch: ArchMTLVGG19BN, Input: 32}); err != nil {
		t.Errorf("v1_block through conv2_1: %v", err)
	} else if m.Info.NeuralLayer() != "conv2_1" {
		t.Errorf("v1_block through conv2_1: tap %q", m.Info.NeuralLayer())
	}
	_, err = Import(l.StateDict, Options{Arch: ArchMTLVGG19BN, Input: 32, Tap: "conv2_1"})
	if err == nil || !strings.Contains(err.Error(), "unexpected (14)") || !strings.Contains(err.Error(), "mtl_vgg_core.v1_block.14.weight") {
		t.Errorf("--tap conv2_1 on a conv3_1 predictor: %v", err)
	}
}

// TestMismatchListsEveryKey imports a damaged state dict: every missing,
// unexpected and misshapen key is reported at once.
func TestMismatchListsEveryKey(t *testing.T) {
	l, err := torchfile.ReadFile("testdata/vgg19bn_small.pt", "")
	if err != nil {
		t.Fatal(err)
	}
	sd := torchfile.NewStateDict()
	for _, n := range l.Names {
		switch n {
		case "features.1.running_var", "features.41.bias": // dropped
		case "features.4.weight": // misshapen
			sd.Add(n, torchfile.FromFloat32(make([]float32, 9), 9))
		default:
			sd.Add(n, l.Tensors[n])
		}
	}
	sd.Add("extra.weight", torchfile.FromFloat32([]float32{1}, 1))
	_, err = Import(sd, Options{Arch: "vgg19bn", Input: 32})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"missing (2)", "features.1.running_var", "features.41.bias",
		"wrong shape (1)", "features.4.weight is [9], want [8]", "unexpected (1)", "extra.weight"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// The wrong architecture: a VGG-19 state dict is not a VGG-16.
	if _, err := Import(l.StateDict, Options{Arch: "vgg16bn", Input: 32}); err == nil || !strings.Contains(err.Error(), "unexpected") {
		t.Errorf("vgg16bn accepted a vgg19bn state dict: %v", err)
	}
}
