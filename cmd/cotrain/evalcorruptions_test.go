package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/engine"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/robustness"
)

// execCommand runs one command as run does and returns its output, error
// output and exit code.
func execCommand(t *testing.T, c command, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	fs := flag.NewFlagSet("cotrain "+c.name, flag.ContinueOnError)
	fs.SetOutput(&errOut)
	action := c.flags(fs)
	if err := fs.Parse(args); err != nil {
		return out.String(), errOut.String(), 2
	}
	if err := action(context.Background(), fs.Args(), &out); err != nil {
		fmt.Fprint(&errOut, err)
		if errors.As(err, new(usageError)) {
			return out.String(), errOut.String(), 2
		}
		return out.String(), errOut.String(), 1
	}
	return out.String(), errOut.String(), 0
}

// writeTestImage writes a random w×h image, gray or RGB, as PNG or JPEG.
func writeTestImage(t *testing.T, path string, w, h int, gray bool) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(rng.IntN(256))
		}
		img = g
	} else {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.Set(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(x * 5), uint8(y * 5), 255})
			}
		}
		img = m
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(path, ".jpg") {
		err = jpeg.Encode(f, img, &jpeg.Options{Quality: 90})
	} else {
		err = png.Encode(f, img)
	}
	if err != nil {
		t.Fatal(err)
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	return img
}

func TestCorruptCommand(t *testing.T) {
	dir := t.TempDir()
	rgb, gray, jpg := filepath.Join(dir, "rgb.png"), filepath.Join(dir, "gray.png"), filepath.Join(dir, "photo.jpg")
	writeTestImage(t, rgb, 40, 36, false)
	writeTestImage(t, gray, 33, 48, true)
	writeTestImage(t, jpg, 64, 64, false)
	for _, tc := range []struct {
		name     string
		args     []string
		w, h     int
		wantGray bool
	}{
		{"rgb", []string{"--corruption", "fog", "--severity", "3"}, 40, 36, false},
		{"rgb to gray", []string{"--corruption", "motion_blur", "--severity", "5", "--gray", "--seed", "4"}, 40, 36, true},
		{"tiny table", []string{"--corruption", "glass_blur", "--severity", "1", "--table", "tinyimagenet"}, 40, 36, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.name+".png")
			stdout, stderr, code := execCommand(t, corruptCommand(), append(tc.args, rgb, out)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, out) {
				t.Errorf("output %q does not name %s", stdout, out)
			}
			img := readPNG(t, out)
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("wrote %d×%d, want %d×%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			if _, isGray := img.(*image.Gray); isGray != tc.wantGray {
				t.Errorf("gray output %v, want %v", isGray, tc.wantGray)
			}
		})
	}
	t.Run("gray input stays gray", func(t *testing.T) {
		out := filepath.Join(dir, "g.png")
		if _, stderr, code := execCommand(t, corruptCommand(), "--corruption", "shot_noise", "--severity", "2", gray, out); code != 0 {
			t.Fatal(stderr)
		}
		img := readPNG(t, out)
		if _, ok := img.(*image.Gray); !ok || img.Bounds().Dx() != 33 || img.Bounds().Dy() != 48 {
			t.Fatalf("wrote a %T of %v, want a 33×48 gray image", img, img.Bounds())
		}
	})
	t.Run("noise of an evaluation image", func(t *testing.T) {
		// --index K --seed N gives what eval corruptions feeds for image K.
		out := filepath.Join(dir, "idx.png")
		if _, stderr, code := execCommand(t, corruptCommand(), "--corruption", "gaussian_noise", "--severity", "4", "--seed", "8", "--index", "3", jpg, out); code != 0 {
			t.Fatal(stderr)
		}
		in, err := readImage(jpg)
		if err != nil {
			t.Fatal(err)
		}
		c, err := corrupt.New(corrupt.Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := robustness.CorruptedImage(c, robustness.Cell{Corruption: "gaussian_noise", Severity: 4}, 8, data.Image{H: in.H, W: in.W, C: in.C, Pix: in.Pix}, 3)
		if err != nil {
			t.Fatal(err)
		}
		got := corrupt.FromImage(readPNG(t, out))
		if !slices.Equal(got.Pix, want.Pix) {
			t.Fatal("the written image is not the evaluation's corrupted image 3")
		}
		other := filepath.Join(dir, "idx0.png")
		execCommand(t, corruptCommand(), "--corruption", "gaussian_noise", "--severity", "4", "--seed", "8", jpg, other)
		if slices.Equal(corrupt.FromImage(readPNG(t, other)).Pix, got.Pix) {
			t.Error("image indices 0 and 3 got the same noise")
		}
	})
	t.Run("grid", func(t *testing.T) {
		for _, tc := range []struct {
			in    string
			extra []string
			tiles int
			gray  bool
		}{
			{jpg, nil, 16, false},
			{gray, []string{"--corruptions", "paper", "--columns", "5"}, 15, true},
		} {
			out := filepath.Join(dir, "grid.png")
			args := append([]string{"--grid", "--severity", "5"}, tc.extra...)
			if _, stderr, code := execCommand(t, corruptCommand(), append(args, tc.in, out)...); code != 0 {
				t.Fatal(stderr)
			}
			img := readPNG(t, out)
			in, _ := readImage(tc.in)
			cols := 4
			if tc.extra != nil {
				cols = 5
			}
			rows := (tc.tiles + cols - 1) / cols
			if b := img.Bounds(); b.Dx() < cols*in.W || b.Dy() < rows*in.H {
				t.Errorf("grid of %d tiles is %d×%d, smaller than %d×%d tiles of %d×%d", tc.tiles, b.Dx(), b.Dy(), cols, rows, in.W, in.H)
			}
			if _, isGray := img.(*image.Gray); isGray != tc.gray {
				t.Errorf("grid gray %v, want %v", isGray, tc.gray)
			}
		}
	})

	small := filepath.Join(dir, "small.png")
	writeTestImage(t, small, 20, 20, false)
	out := filepath.Join(dir, "x.png")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no files", []string{"--corruption", "fog", "--severity", "1"}, 2, "want an input and an output file"},
		{"neither", []string{"--severity", "1", rgb, out}, 2, "either --corruption NAME or --grid"},
		{"both", []string{"--grid", "--corruption", "fog", "--severity", "1", rgb, out}, 2, "either --corruption NAME or --grid"},
		{"no severity", []string{"--corruption", "fog", rgb, out}, 2, "--severity 0"},
		{"severity 6", []string{"--corruption", "fog", "--severity", "6", rgb, out}, 2, "want 1 to 5"},
		{"unknown corruption", []string{"--corruption", "rain", "--severity", "1", rgb, out}, 2, `unknown corruption "rain"`},
		{"unknown grid corruption", []string{"--grid", "--corruptions", "fog,rain", "--severity", "1", rgb, out}, 2, `unknown corruption "rain"`},
		{"unknown table", []string{"--corruption", "fog", "--severity", "1", "--table", "cifar", rgb, out}, 2, "unknown corruption table"},
		{"missing input", []string{"--corruption", "fog", "--severity", "1", filepath.Join(dir, "none.png"), out}, 1, "no such file"},
		{"not an image", []string{"--corruption", "fog", "--severity", "1", filepath.Join(dir), out}, 1, ""},
		{"jpeg quality", []string{"--corruption", "fog", "--severity", "1", "--jpeg-quality", "101", rgb, out}, 2, "101"},
		{"too small", []string{"--corruption", "fog", "--severity", "1", small, out}, 1, "32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := execCommand(t, corruptCommand(), tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", code, stderr, tc.code, tc.want)
			}
		})
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a failed command wrote its output")
	}
}

func TestEvalCorruptionsFlagErrors(t *testing.T) {
	dir := t.TempDir()
	notRun := filepath.Join(dir, "empty")
	if err := os.Mkdir(notRun, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "model.npz")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--checkpoint", notRun, "--data", "fashion-mnist:test", "--backend", "cpu"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no checkpoint", []string{"--data", "fashion-mnist:test"}, 2, "--checkpoint and --data are required"},
		{"no data", []string{"--checkpoint", notRun}, 2, "--checkpoint and --data are required"},
		{"arguments", append(slices.Clone(base), "extra"), 2, "unexpected arguments"},
		{"unknown corruption", append(slices.Clone(base), "--corruptions", "fog,rain"), 2, `unknown corruption "rain"`},
		{"corruption twice", append(slices.Clone(base), "--corruptions", "fog,fog"), 2, "listed twice"},
		{"severity 0", append(slices.Clone(base), "--severities", "0"), 2, `"0" is not a severity from 1 to 5`},
		{"severity 6", append(slices.Clone(base), "--severities", "1,2,3,4,5,6"), 2, `"6" is not a severity`},
		{"severities with a gap", append(slices.Clone(base), "--severities", "1,3"), 2, "list severities 1 to k in order"},
		{"severities not from 1", append(slices.Clone(base), "--severities", "3"), 2, "list severities 1 to k in order"},
		{"severity not a number", append(slices.Clone(base), "--severities", "1,x"), 2, `"x" is not a severity`},
		{"unknown table", append(slices.Clone(base), "--table", "cifar"), 2, "unknown corruption table"},
		{"jpeg quality", append(slices.Clone(base), "--jpeg-quality", "-1"), 2, "--jpeg-quality -1"},
		{"folder and jpeg", append(slices.Clone(base), "--tinyimagenet-c", dir, "--jpeg-quality", "85"), 2, "do not apply to --tinyimagenet-c"},
		{"negative limit", append(slices.Clone(base), "--limit", "-1"), 2, "--limit"},
		{"bad seeds", append(slices.Clone(base), "--seeds", "1,a"), 2, `"a" is not an integer`},
		{"missing checkpoint", []string{"--checkpoint", filepath.Join(dir, "nope"), "--data", "fashion-mnist:test"}, 1, "no such file or directory"},
		{"missing seed folder", append(slices.Clone(base), "--seeds", "3"), 1, filepath.Join(notRun, "seed-3")},
		{"checkpoint is a file", []string{"--checkpoint", file, "--data", "fashion-mnist:test"}, 1, "not a directory"},
		{"not a run directory", base, 1, "not a trained model directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := execCommand(t, evalCorruptionsCommand(), tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d with %q", code, stderr, tc.code, tc.want)
			}
		})
	}
}

// TestEvalCorruptionsCommand trains a tiny classifier on a miniature Tiny
// ImageNet and runs the command on it, on the fly and from a
// Tiny-ImageNet-C folder.
func TestEvalCorruptionsCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	dir := t.TempDir()
	runDir := filepath.Join(dir, "runs", "tiny")
	fx := trainTinyClassifiers(t, dir, datatest.TinyImageNetOptions{Classes: 2, PerClass: 8, ValPerClass: 5, Seed: 2}, 1,
		map[string]int64{filepath.Join(runDir, "seed-5"): 5, filepath.Join(runDir, "seed-6"): 6})
	// A Tiny-ImageNet-C folder whose cells are copies of the val images.
	cRoot := filepath.Join(dir, "tin-c")
	for _, c := range []string{"fog", "contrast"} {
		for s := 1; s <= 2; s++ {
			for name, wnid := range fx.ValWNID {
				raw, err := os.ReadFile(filepath.Join(fx.Root, "val", "images", name))
				if err != nil {
					t.Fatal(err)
				}
				d := filepath.Join(cRoot, c, strconv.Itoa(s), wnid)
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(d, name), raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	spec := "tinyimagenet:" + fx.Root + ":test"
	common := []string{"--checkpoint", runDir, "--seeds", "5,6", "--data", spec, "--corruptions", "fog,contrast", "--severities", "1,2", "--backend", "cpu", "--workers", "2"}
	prefix := filepath.Join(dir, "out", "m")
	stdout, stderr, code := execCommand(t, evalCorruptionsCommand(), append(slices.Clone(common), "--out", prefix)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"accuracy % of tiny on tinyimagenet:test (10 images; table imagenet, corruption seed 0)", "seeds 5, 6", "contrast", "clean", prefix + ".json"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	m, err := metrics.LoadAccuracyMatrix(prefix + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != "tiny" || m.NumImages != 10 || !slices.Equal(m.Corruptions, []string{"fog", "contrast"}) || m.Severities != 2 ||
		len(m.Seeds) != 2 || m.Seeds[0].Seed != 5 || m.Seeds[1].Seed != 6 {
		t.Fatalf("matrix %q: %d images, %v × %d, %d seeds", m.Model, m.NumImages, m.Corruptions, m.Severities, len(m.Seeds))
	}
	tab, err := metrics.LoadAccuracyTableCSV(prefix + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	mean, _ := m.MeanTable()
	if !reflect.DeepEqual(tab.Accuracy, mean.Accuracy) || tab.Clean != mean.Clean {
		t.Errorf("CSV table %+v differs from the matrix's mean table %+v", tab, mean)
	}

	// From the folder: its cells are the clean images, so every cell
	// gives the clean results.
	prefix2 := filepath.Join(dir, "out", "folder")
	_, stderr, code = execCommand(t, evalCorruptionsCommand(), append(slices.Clone(common), "--out", prefix2, "--tinyimagenet-c", cRoot, "--limit", "7")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	mf, err := metrics.LoadAccuracyMatrix(prefix2 + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if mf.NumImages != 7 {
		t.Errorf("--limit 7: %d images", mf.NumImages)
	}
	for _, sc := range mf.Seeds {
		for c := range sc.Corrupted {
			for s := range sc.Corrupted[c] {
				if !slices.Equal(sc.Corrupted[c][s], sc.Clean) {
					t.Fatalf("seed %d %s/%d: folder results differ from the clean ones", sc.Seed, mf.Corruptions[c], s+1)
				}
			}
		}
		if !slices.Equal(sc.Clean, m.Seeds[slices.IndexFunc(m.Seeds, func(x metrics.SeedCorrectness) bool { return x.Seed == sc.Seed })].Clean[:7]) {
			t.Errorf("seed %d: clean results of the first 7 images changed", sc.Seed)
		}
	}
	// A cell missing from the folder.
	_, stderr, code = execCommand(t, evalCorruptionsCommand(), append(slices.Clone(common), "--out", prefix2, "--tinyimagenet-c", cRoot, "--severities", "1,2,3")...)
	if code != 1 || !strings.Contains(stderr, "fog at severity 3") {
		t.Errorf("missing folder cell: exit %d, %s", code, stderr)
	}
}

// trainTinyClassifiers writes a miniature Tiny ImageNet into dir/tin and
// trains a one-layer, two-class VGG on it into each run directory of runs
// (with its seed) for the given number of epochs, on the cpu backend.
func trainTinyClassifiers(t *testing.T, dir string, fixture datatest.TinyImageNetOptions, epochs int, runs map[string]int64) *datatest.TinyImageNetFixture {
	t.Helper()
	fx, err := datatest.WriteTinyImageNetFixture(filepath.Join(dir, "tin"), fixture)
	if err != nil {
		t.Fatal(err)
	}
	tin, err := data.OpenTinyImageNet(fx.Root, data.TinyImageNetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	train, _ := tin.Split(data.SplitTrain)
	val, _ := tin.Split(data.SplitValidation)
	b, err := engine.Open(engine.CPU)
	if err != nil {
		t.Fatal(err)
	}
	norm := data.Normalize{Mean: data.TinyImageNetMean, Std: data.TinyImageNetStd}
	for runDir, seed := range runs {
		job := recipes.ClassifierJob{
			Dir:   runDir,
			Model: models.VGG{Stages: [][]int{{4}}, Head: []int{4}, Classes: 2, InputChannels: 1, Tap: "conv1_1"},
			Recipe: recipes.ClassifierConfig{Batch: 8, Optimizer: recipes.SGDConfig{LR: 0.01, Momentum: 0.5},
				Plateau:  recipes.PlateauConfig{Factor: 0.5, Patience: 1, Threshold: 1e-4, ThresholdMode: "rel", MinLR: 1e-4},
				Stopping: recipes.StoppingConfig{Patience: 1, DecaySteps: 1, MaxEpochs: epochs}},
			Data: recipes.ClassifierData{Train: train, Validation: val, TrainPipeline: data.Pipeline{Normalize: norm}, Normalize: norm},
			Seed: seed,
		}
		if _, err := recipes.TrainClassifier(context.Background(), recipes.Env{Backend: b}, job); err != nil {
			t.Fatal(err)
		}
	}
	return fx
}
