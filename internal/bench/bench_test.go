package bench

import (
	"context"
	"testing"

	"github.com/cotrain/cotrain/engine/cpu"
	"github.com/cotrain/cotrain/models"
)

func TestFLOPs(t *testing.T) {
	// VGG-19-BN at 64×64: the convolutions are 3.19 GFLOP per image forward
	// (computed by hand: Σ H·W·9·Cin·Cout·2 over the 16 convolutions).
	f, err := FLOPs(models.VGG19BN(200), 64, Forward)
	if err != nil {
		t.Fatal(err)
	}
	convs := 2.0 * (64*64*9*(3*64+64*64) + 32*32*9*(64*128+128*128) + 16*16*9*(128*256+3*256*256) +
		8*8*9*(256*512+3*512*512) + 4*4*9*4*512*512)
	head := 2.0 * 2 * 2 * (512*4096 + 4096*4096 + 4096*200)
	if f != convs+head {
		t.Errorf("FLOPs %v, want %v", f, convs+head)
	}
	tr, _ := FLOPs(models.VGG19BN(200), 64, Train)
	if tr != 3*f {
		t.Errorf("training FLOPs %v, want 3× forward", tr)
	}
	at, _ := FLOPs(models.VGG19BN(200), 64, Attack)
	if at != 2*f {
		t.Errorf("attack-step FLOPs %v, want 2× forward (no weight gradients)", at)
	}
}

func TestResNetFLOPs(t *testing.T) {
	// CIFAR ResNet-18 at 32×32, RGB, 10 classes, by hand: the stem, per
	// stage its first block (with the 1×1 shortcut from stage 2 on) and
	// its second, and the linear head.
	stage := func(h, in, out int) float64 {
		first := h * h * 9 * (in*out + out*out)
		if in != out {
			first += h * h * in * out
		}
		return float64(first + 2*h*h*9*out*out)
	}
	macs := float64(32*32*9*3*64) + stage(32, 64, 64) + stage(16, 64, 128) + stage(8, 128, 256) + stage(4, 256, 512) + 512*10
	f, err := FLOPs(models.ResNet18(10, 3), 32, Forward)
	if err != nil {
		t.Fatal(err)
	}
	if f != 2*macs {
		t.Errorf("FLOPs %v, want %v", f, 2*macs)
	}
	// ResNet-34 has more blocks: more work than ResNet-18, less than twice.
	f34, _ := FLOPs(models.ResNet34(10, 3), 32, Forward)
	if f34 <= f || f34 >= 2.1*f {
		t.Errorf("ResNet-34 FLOPs %v against ResNet-18's %v", f34, f)
	}
}

// BenchmarkVGGTrainStep times one training step of a reduced VGG on the cpu
// backend (the full comparison with PyTorch is `cotrain bench`).
func BenchmarkVGGTrainStep(b *testing.B) {
	be, err := cpu.New("")
	if err != nil {
		b.Fatal(err)
	}
	m := models.VGG{Stages: [][]int{{16}, {32}, {64}}, Head: []int{64}, Classes: 10, InputChannels: 1, Dropout: 0.5, Tap: "conv2_1"}
	o := Options{Mode: Train, Model: m, Input: 32, Batch: 32, Steps: b.N}
	res, err := Cotrain(context.Background(), be, o)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.Images, "images/s")
}

// BenchmarkPGDStep times one L∞ PGD step of the attack package on the same
// reduced VGG (the comparison with PyTorch's PGD loop is `cotrain bench
// attack`).
func BenchmarkPGDStep(b *testing.B) {
	be, err := cpu.New("")
	if err != nil {
		b.Fatal(err)
	}
	m := models.VGG{Stages: [][]int{{16}, {32}, {64}}, Head: []int{64}, Classes: 10, InputChannels: 1, Dropout: 0.5, Tap: "conv2_1"}
	o := Options{Mode: Attack, Model: m, Input: 32, Batch: 32, Steps: b.N}
	res, err := Cotrain(context.Background(), be, o)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(res.Images, "images·steps/s")
}
