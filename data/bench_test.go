package data

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"github.com/cotrain/cotrain/data/datatest"
)

// runEpochs loads whole epochs until b.N images have been served and
// reports images per second.
func runEpochs(b *testing.B, l *Loader) {
	b.Helper()
	served := 0
	b.ResetTimer()
	for epoch := 0; served < b.N; epoch++ {
		for batch, err := range l.Epoch(context.Background(), epoch) {
			if err != nil {
				b.Fatal(err)
			}
			served += batch.N
		}
	}
	b.ReportMetric(float64(served)/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkLoaderTinyImageNet measures the training loader on 64×64 JPEGs
// (decode, crop, flip, rotation, grayscale, normalization).
func BenchmarkLoaderTinyImageNet(b *testing.B) {
	fx, err := datatest.WriteTinyImageNetFixture(b.TempDir(), datatest.TinyImageNetOptions{Classes: 20, PerClass: 60, ValPerClass: 1, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		workers int
		cache   bool
		views   int
	}{
		{"decode/workers=1", 1, false, 1},
		{fmt.Sprintf("decode/workers=%d", runtime.GOMAXPROCS(0)), 0, false, 1},
		{fmt.Sprintf("cache/workers=%d", runtime.GOMAXPROCS(0)), 0, true, 1},
		{fmt.Sprintf("decode+2views/workers=%d", runtime.GOMAXPROCS(0)), 0, false, 2},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tin, err := OpenTinyImageNet(fx.Root, TinyImageNetOptions{Cache: tc.cache})
			if err != nil {
				b.Fatal(err)
			}
			train, err := tin.Split(SplitTrain)
			if err != nil {
				b.Fatal(err)
			}
			p := TinyImageNetTrainPipeline()
			if tc.views == 2 {
				p.Views = []Photometric{nil, func(img Image, _ *rand.Rand) (Image, error) { return img, nil }}
			}
			l, err := NewLoader(train, LoaderConfig{BatchSize: 128, Shuffle: true, Seed: 1, Pipeline: p, Workers: tc.workers})
			if err != nil {
				b.Fatal(err)
			}
			runEpochs(b, l)
		})
	}
}

// BenchmarkLoaderFashionMNIST measures the loader on the in-memory
// Fashion-MNIST training split, plain and with padding, crop and flip.
func BenchmarkLoaderFashionMNIST(b *testing.B) {
	if _, err := os.Stat(FashionMNISTDir); err != nil {
		b.Skip("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)")
	}
	f, err := OpenFashionMNIST(FashionMNISTDir)
	if err != nil {
		b.Fatal(err)
	}
	train, err := f.Split(SplitTrain)
	if err != nil {
		b.Fatal(err)
	}
	norm := Normalize{Mean: FashionMNISTMean, Std: FashionMNISTStd}
	for _, tc := range []struct {
		name string
		p    Pipeline
	}{
		{"eval", EvalPipeline(norm)},
		{"pad32+crop+flip", Pipeline{
			Geometric: []Transform{Pad{N: 2}, RandomCrop{Size: 32, Padding: 4}, RandomHorizontalFlip{P: 0.5}},
			Normalize: norm,
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := NewLoader(train, LoaderConfig{BatchSize: 128, Shuffle: true, Seed: 1, Pipeline: tc.p})
			if err != nil {
				b.Fatal(err)
			}
			runEpochs(b, l)
		})
	}
}

// BenchmarkDecodeRGB measures decoding one 64×64 colour (4:2:0) JPEG.
func BenchmarkDecodeRGB(b *testing.B) {
	fx, err := datatest.WriteTinyImageNetFixture(b.TempDir(), datatest.TinyImageNetOptions{Classes: 1, PerClass: 2, ValPerClass: 0, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(fx.Root + "/train/" + fx.WNIDs[0] + "/images/" + fx.WNIDs[0] + "_0.JPEG")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := DecodeRGB(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTrainAugmentation measures the per-sample training pipeline on
// a decoded 64×64 RGB image (no decoding).
func BenchmarkTrainAugmentation(b *testing.B) {
	img := NewImage(64, 64, 3)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	p := TinyImageNetTrainPipeline()
	i := 0
	for b.Loop() {
		if _, _, _, err := p.Process(img, 1, 0, i); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRotate measures one nearest-neighbour rotation of a 64×64 RGB
// image.
func BenchmarkRotate(b *testing.B) {
	img := NewImage(64, 64, 3)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	for b.Loop() {
		Rotate(img, 12.5)
	}
}

// BenchmarkGray measures the grayscale conversion of a 64×64 RGB image.
func BenchmarkGray(b *testing.B) {
	img := NewImage(64, 64, 3)
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	dst := make([]float32, 64*64)
	for b.Loop() {
		Gray(img, dst)
	}
}
