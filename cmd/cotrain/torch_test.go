package main

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/internal/npy"
)

// cotrain runs the command in process and returns its exit code and output.
func cotrain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	t.Setenv("COTRAIN_BACKEND", "cpu")
	code := run(context.Background(), args, &out, &out)
	return code, out.String()
}

// TestImportExport imports PyTorch fixtures (torchmap/testdata), runs the
// commands that load run folders on them, exports them in both formats and
// imports the exports again: the variables come back unchanged.
func TestImportExport(t *testing.T) {
	dir := t.TempDir()
	tin := filepath.Join(dir, "tin")
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 10, PerClass: 2, ValPerClass: 1, Seed: 3, Size: 32}); err != nil {
		t.Fatal(err)
	}
	fixtures := "../../torchmap/testdata/"
	vgg, mtl, pred := filepath.Join(dir, "vgg"), filepath.Join(dir, "mtl"), filepath.Join(dir, "pred")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "--from", fixtures + "vgg19bn_small.pt", "--arch", "vgg19bn", "--input", "32", "--out", vgg}, "as a classifier vgg19bn model, 32×32 input: 102 variables"},
		{[]string{"import", "--from", fixtures + "mtl_small.pt", "--arch", "mtl-vgg19bn", "--input", "32", "--out", mtl}, "as a mtl mtl-vgg19bn model"},
		{[]string{"import", "--from", fixtures + "predictor_small.pt", "--arch", "mtl-vgg19bn", "--input", "32", "--out", pred}, "as a predictor mtl-vgg19bn model"},
		{[]string{"responses", "--predictor", pred, "--images", "tinyimagenet:" + tin + ":test", "--out", filepath.Join(dir, "p.npz")}, ""},
		{[]string{"eval", "clean", "--checkpoint", vgg, "--data", "tinyimagenet:" + tin + ":test"}, "of 10 images"},
		{[]string{"eval", "corruptions", "--checkpoint", vgg, "--data", "tinyimagenet:" + tin + ":test", "--corruptions", "gaussian_noise", "--severities", "1", "--out", filepath.Join(dir, "c")}, "gaussian_noise"},
		{[]string{"eval", "clean", "--checkpoint", mtl, "--data", "tinyimagenet:" + tin + ":test"}, "of 10 images"},
		{[]string{"responses", "--predictor", mtl, "--images", "tinyimagenet:" + tin + ":test", "--out", filepath.Join(dir, "r.npz")}, ""},
		{[]string{"export", "--checkpoint", vgg, "--to", filepath.Join(dir, "vgg.safetensors")}, "118 tensors"},
		{[]string{"export", "--checkpoint", mtl, "--to", filepath.Join(dir, "mtl.pt")}, "torch.save zip format"},
		{[]string{"import", "--from", filepath.Join(dir, "vgg.safetensors"), "--arch", "vgg19bn", "--input", "32", "--out", filepath.Join(dir, "vgg2")}, "safetensors"},
		{[]string{"import", "--from", filepath.Join(dir, "mtl.pt"), "--arch", "mtl-vgg19bn", "--input", "32", "--out", filepath.Join(dir, "mtl2")}, "zip format"},
	} {
		code, out := cotrain(t, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Fatalf("cotrain %s: exit %d, want output with %q:\n%s", strings.Join(tc.args, " "), code, tc.want, out)
		}
	}
	for _, pair := range [][2]string{{vgg, "vgg2"}, {mtl, "mtl2"}} {
		a, err := npy.ReadNPZ(filepath.Join(pair[0], checkpoint.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		b, err := npy.ReadNPZ(filepath.Join(dir, pair[1], checkpoint.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Errorf("%s: %d variables after export and import, want %d", pair[1], len(b), len(a))
		}
		for name, x := range a {
			y, ok := b[name]
			if !ok || !slices.Equal(x.Data.([]float32), y.Data.([]float32)) {
				t.Errorf("%s: variable %s changed by export and import", pair[1], name)
			}
		}
	}
	// The wrong architecture is refused, naming the keys.
	code, out := cotrain(t, "import", "--from", fixtures+"vgg19bn_small.pt", "--arch", "resnet18", "--out", filepath.Join(dir, "bad"))
	if code == 0 || !strings.Contains(out, "missing") || !strings.Contains(out, "features.0.weight") {
		t.Errorf("resnet18 import of a VGG: exit %d\n%s", code, out)
	}
	// An existing run folder is kept unless --force.
	code, out = cotrain(t, "import", "--from", fixtures+"vgg19bn_small.pt", "--arch", "vgg19bn", "--input", "32", "--out", vgg)
	if code == 0 || !strings.Contains(out, "--force") {
		t.Errorf("import over a run folder: exit %d\n%s", code, out)
	}
}
