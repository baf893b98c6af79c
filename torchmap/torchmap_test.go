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

// havePython skips the test when Debian's PyTorch is not installed.
func havePython(t *testing.T) {
	t.Helper()
	if err := exec.Command(py, "-c", "import torch, torchvision").Run(); err != nil {
		t.Skipf("%s with torch and torchvision is not available (%v): install python3-torch and python3-torchvision to check against PyTorch", py, err)
	}
}

// fixture is a model written by testdata/torchfixtures.py.
type fixture struct {
	name, arch string
	opts       Options
	input      int
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
// (N×C×H×W) and returns the logits and, for a model with a neural head,
// the readouts' outputs.
func forward(t *testing.T, run string, input *npy.Array) (logits, readout []float32) {
	t.Helper()
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	info, g, err := checkpoint.LoadRun(run, checkpoint.KindClassifier, checkpoint.KindMTL)
	if err != nil {
		t.Fatal(err)
	}
	net, err := info.Network()
	if err != nil {
		t.Fatal(err)
	}
	x, shape := permute(input.Data.([]float32), input.Shape, []int{0, 2, 3, 1})
	var outs []*tensors.Tensor
	if info.Kind == checkpoint.KindMTL {
		head := models.GaussianHead{Readouts: info.Readouts}
		outs, err = gctx.ExecOnceN(b, g, func(ctx *gctx.Context, x *graph.Node) []*graph.Node {
			logits, taps := net.Forward(ctx, x, info.NeuralLayer())
			return []*graph.Node{logits, head.All(ctx, taps[0])}
		}, tensors.FromFlatDataAndDimensions(x, shape...))
	} else {
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
	d, scale := maxDiff(t, logits, filepath.Join(dir, name+".logits.npy"))
	t.Logf("%s: max |logits − PyTorch's| = %.3g (max |logit| %.3g)", name, d, scale)
	if d > tolerance {
		t.Errorf("%s: logits differ from PyTorch's by %g > %g", name, d, tolerance)
	}
	if readout != nil {
		d, scale := maxDiff(t, readout, filepath.Join(dir, name+".readout.npy"))
		t.Logf("%s: max |readout − PyTorch's| = %.3g (max |readout| %.3g)", name, d, scale)
		if d > tolerance {
			t.Errorf("%s: readout outputs differ from PyTorch's by %g > %g", name, d, tolerance)
		}
	}
}

// exportCheck exports the run folder and has PyTorch load the file into
// the fixture's module with load_state_dict(strict=True) and compare its
// outputs with the fixture's.
func exportCheck(t *testing.T, dir, name, run string) {
	t.Helper()
	sd, _, err := ExportRun(run)
	if err != nil {
		t.Fatal(err)
	}
	pt := filepath.Join(t.TempDir(), name+".pt")
	if err := torchfile.WriteFile(pt, sd); err != nil {
		t.Fatal(err)
	}
	havePython(t)
	out, err := exec.Command(py, "testdata/torchfixtures.py", "check", name, pt, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("PyTorch could not load the export: %v\n%s", err, out)
	}
	var diffs map[string]float64
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &diffs); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for k, d := range diffs {
		t.Logf("%s export → torch.load → load_state_dict(strict=True): max |%s − fixture| = %.3g", name, k, d)
		if d != 0 {
			t.Errorf("%s: PyTorch's %s from the exported file differ from the original's by %g", name, k, d)
		}
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
}

// TestImportMatchesPyTorch imports the committed small fixtures and
// compares the logits and readout outputs with PyTorch's, exports them
// back (PyTorch loads them strictly and gives the same outputs), and checks
// that export then import is the identity.
func TestImportMatchesPyTorch(t *testing.T) {
	for _, f := range smallFixtures {
		t.Run(f.name, func(t *testing.T) {
			run, m := importFixture(t, "testdata", f)
			compare(t, "testdata", f.name, run)
			identity(t, run, m, f)
			exportCheck(t, "testdata", f.name, run)
		})
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

// TestFullSize checks the full-size torchvision VGG-19-BN at 224×224
// (random weights, generated by PyTorch at test time). It takes minutes on
// two cores, so it runs only with COTRAIN_TORCH_FULL=1.
func TestFullSize(t *testing.T) {
	if os.Getenv(fullEnv) == "" {
		t.Skipf("set %s=1 to check the full-size vgg19_bn against PyTorch", fullEnv)
	}
	havePython(t)
	dir := t.TempDir()
	if out, err := exec.Command(py, "testdata/torchfixtures.py", "full", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	f := fixture{name: "vgg19bn", arch: "vgg19bn", input: 224}
	run, m := importFixture(t, dir, f)
	compare(t, dir, f.name, run)
	identity(t, run, m, f)
	exportCheck(t, dir, f.name, run)
}

// TestResNetMatchesPyTorch generates torchvision's resnet18 with random
// weights (45 MB, so not committed) and checks import, outputs, export and
// identity as for the VGGs; resnet34 joins with COTRAIN_TORCH_FULL=1.
func TestResNetMatchesPyTorch(t *testing.T) {
	havePython(t)
	names := []string{"resnet18"}
	if os.Getenv(fullEnv) != "" {
		names = append(names, "resnet34")
	} else {
		t.Logf("set %s=1 to check resnet34 too", fullEnv)
	}
	dir := t.TempDir()
	args := append([]string{"testdata/torchfixtures.py", "resnet", dir}, names...)
	if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			f := fixture{name: name, arch: name, input: 64}
			run, m := importFixture(t, dir, f)
			if r := m.Info.Model.ResNet; r.Stem != models.StemImageNet || r.Width != 64 || r.Classes != 1000 {
				t.Errorf("%s: %+v", name, r)
			}
			compare(t, dir, name, run)
			identity(t, run, m, f)
			exportCheck(t, dir, name, run)
		})
	}
}
