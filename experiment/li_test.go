package experiment

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/data/datatest"
	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/recipes"
	"github.com/cotrain/cotrain/report"
	"github.com/cotrain/cotrain/roles"
)

// TestLiDemoPlan checks the demo's Li et al. part: every control with
// three seeds, the targets they need after the jobs that make their
// inputs, the report last, and the part alone pulling in only the
// Baseline the VGG control reads.
func TestLiDemoPlan(t *testing.T) {
	c, err := Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(c, "/runs/demo")
	if err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	train, evals := 0, 0
	for _, j := range p.Jobs {
		for _, in := range j.Inputs {
			if !made[in] {
				t.Errorf("%q reads %s before any job makes it", j.Name, in)
			}
		}
		made[j.Output] = true
		if j.Paper == PaperLi2019 {
			switch {
			case strings.HasPrefix(j.Name, "train li "):
				train++
			case strings.HasPrefix(j.Name, "li: evaluate "):
				evals++
			}
		}
	}
	if want := len(roles.Li()) * 3; train != want || evals != want {
		t.Errorf("%d Li trainings and %d evaluations, want %d each", train, evals, want)
	}
	for _, name := range []string{"model", "data", "shuffle", "vgg"} {
		if !made[filepath.Join("/runs/demo", "mouse", "targets", name+".npz")] {
			t.Errorf("no job makes the %s target", name)
		}
	}
	last := p.Jobs[len(p.Jobs)-1]
	if last.Paper != PaperLi2019 || !strings.Contains(last.Name, "Li et al.") {
		t.Errorf("last job %q, want the Li report", last.Name)
	}
	part := p.Part(PaperLi2019)
	for _, j := range part {
		if j.Paper == "" && j.Name != "train baseline seed 1" {
			t.Errorf("the Li part runs %q of the first paper", j.Name)
		}
	}
	if part[0].Name != "train baseline seed 1" {
		t.Errorf("the Li part starts with %q, want the VGG control's Baseline", part[0].Name)
	}
	for _, j := range p.Part("") {
		if j.Paper != "" {
			t.Errorf("the first paper's part runs %q", j.Name)
		}
	}
}

// TestLiParseErrors checks the [li] section's errors.
func TestLiParseErrors(t *testing.T) {
	task := "[[li.task]]\nname = \"a\"\n[li.task.resnet]\ndepth = 18\nwidth = 4\nclasses = 3\ninput_channels = 1\n"
	for _, tc := range []struct{ text, want string }{
		{"models = []\n" + task, "need mouse recordings"},
		{"models = []\n[li]\ncontrols = 1\n", "unknown setting"},
		{"models = []\n[[li.task]]\nname = \"a\"\ncontrols = [\"none\"]\n[li.task.resnet]\ndepth = 19\nwidth = 4\nclasses = 3\ninput_channels = 1\n", "depth 19"},
		{"models = []\n[[li.task]]\nname = \"a\"\ncontrols = [\"brain\"]\n[li.task.resnet]\ndepth = 18\nwidth = 4\nclasses = 3\ninput_channels = 1\n", `unknown regularizer "brain"`},
		{"models = []\n[[li.task]]\nname = \"a\"\ncontrols = [\"none\"]\nlayers = [\"conv9\"]\n[li.task.resnet]\ndepth = 18\nwidth = 4\nclasses = 3\ninput_channels = 1\n", `layer "conv9"`},
		{"models = []\n[mouse]\nrecordings = \"r.npz\"\n" + task, "the VGG control needs a VGG"},
		{"models = []\n[li]\nnoise = [-1]\n[mouse]\nrecordings = \"r.npz\"\n[[li.task]]\nname = \"a\"\ncontrols = [\"none\"]\n[li.task.resnet]\ndepth = 18\nwidth = 4\nclasses = 3\ninput_channels = 1\n", "noise level -1"},
	} {
		_, err := Parse("test.toml", []byte(tc.text+"[data]\nroot = \"x\"\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.text, err, tc.want)
		}
	}
}

// TestLiRun runs a miniature Li et al. experiment end to end — a simulated
// mouse recording, the denoising predictor, all four targets, every
// control and one α-sweep point with a tiny ResNet-18 for one epoch — and
// checks the report: every regularizer with its seed, γ summing to 1 for
// the regularized ones, the clean accuracy at σ = 0.
func TestLiRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 8 small models")
	}
	tin := t.TempDir()
	if _, err := datatest.WriteTinyImageNetFixture(tin, datatest.TinyImageNetOptions{Classes: 3, PerClass: 40, ValPerClass: 8, Seed: 1, Size: 32}); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf(`
name = "tiny-li"
seeds = [1]
models = ["baseline"]

[data]
dataset = "tinyimagenet"
root = %q

[model]
stages = [[4], [8], [8]]
head = [8]
classes = 3
input_channels = 1
tap = "conv2_1"

[classifier]
batch = 32
[classifier.stopping]
patience = 1
decay_steps = 1
max_epochs = 1

[evaluation]
corruptions = ["contrast"]
bootstrap = 5

[mouse.simulate]
images = "tinyimagenet:%s:train"
count = 40
population = 40
scans = 2
neurons_per_scan = 20
oracle_images = 5
oracle_repeats = 4
seed = 1

[mouse.predictor.core]
channels = [4, 4]
kernels = [5, 3]
skip = 2

[mouse.predictor.recipe]
batch = 16
[mouse.predictor.recipe.stopping]
patience = 1
decay_steps = 1
max_epochs = 1

[li]
noise = [0, 0.1]

[li.recipe]
epochs = 1
batch = 32
stimulus_batch = 8

[[li.task]]
name = "tiny"
alphas = [2]
alpha_seeds = [1]

[li.task.resnet]
depth = 18
width = 2
classes = 3
input_channels = 1
`, tin, tin)
	c, err := Parse("tiny-li.toml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p, err := NewPlan(c, root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cpu.New("")
	if err != nil {
		t.Fatal(err)
	}
	var out, log bytes.Buffer
	if err := p.RunPart(context.Background(), []recipes.Env{{Backend: b, Progress: &log, Workers: 2}}, &out, PaperLi2019); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	for _, want := range []string{"Neural (model)", "Neural (data)", "Shuffle", "VGG", "None", "Neural (model) α=2", "σ=0.1", "layer weights γ"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the Li table lacks %q:\n%s", want, out.String())
		}
	}
	raw, err := os.ReadFile(filepath.Join(root, LiResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	var res report.LiResults
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Models) != len(roles.Li())+1 {
		t.Fatalf("%d models in the results, want the five controls and one sweep point", len(res.Models))
	}
	for _, m := range res.Models {
		e := m.Evals[0]
		if len(e.Accuracy) != 2 || e.Accuracy[0] < 0 || e.Accuracy[0] > 100 {
			t.Errorf("%s: accuracy %v", m.Label(), e.Accuracy)
		}
		sum := 0.0
		for _, g := range e.Gamma {
			sum += g
		}
		if (m.Role == roles.LiNone) != (len(e.Gamma) == 0) || (len(e.Gamma) > 0 && math.Abs(sum-1) > 1e-5) {
			t.Errorf("%s: γ %v", m.Label(), e.Gamma)
		}
	}
	for _, f := range []string{report.LiReportHTM, report.LiTableTXT, "li-fig4-tiny.png", "li-gamma-tiny.png"} {
		if _, err := os.Stat(filepath.Join(root, "report", "li", f)); err != nil {
			t.Error(err)
		}
	}
}

// TestLiPreset checks li2019.toml: grayscale CIFAR-10 with ResNet-18 and
// every control plus the α sweep, CIFAR-100 with ResNet-34 and three
// controls, five seeds, Li's recipe.
func TestLiPreset(t *testing.T) {
	c, err := Load("li2019")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(c, "/runs/li2019")
	if err != nil {
		t.Fatal(err)
	}
	train := map[string]int{}
	for _, j := range p.Jobs {
		if f := strings.Fields(j.Name); len(f) > 3 && f[0] == "train" && f[1] == "li" {
			train[f[2]]++
		}
	}
	if train["cifar10-resnet18"] != 5*5+4*3 || train["cifar100-resnet34"] != 3*5 || len(c.Seeds) != 5 {
		t.Errorf("trainings per task %v with seeds %v; want 37 and 15 with five seeds", train, c.Seeds)
	}
	r := c.Li.Recipe
	if r.Epochs != 40 || r.Batch != 64 || r.StimulusBatch != 64 || r.Alpha != 20 || r.Optimizer.LR != 0.1 || r.Schedule != (recipes.StepConfig{Factor: 0.3, Every: 4, Reset: 20}) {
		t.Errorf("recipe %+v, want Li's", r)
	}
	if c.Li.Tasks[0].ResNet.Depth != 18 || c.Li.Tasks[1].ResNet.Depth != 34 || c.Li.Tasks[1].ResNet.Classes != 100 || c.Li.Tasks[1].Data.Dataset != "cifar100" {
		t.Errorf("tasks %+v", c.Li.Tasks)
	}
	if got := c.Li.Tasks[0].Head().Layers; len(got) != 5 || got[0] != "conv1" || got[1] != "layer1" {
		t.Errorf("ResNet-18 head layers %v, want the stem and the four stages", got)
	}
}
