package data

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// openFashionMNIST opens the Debian package's files or skips the test.
func openFashionMNIST(t testing.TB) *FashionMNIST {
	t.Helper()
	if _, err := os.Stat(filepath.Join(FashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): %v", err)
	}
	f, err := OpenFashionMNIST(FashionMNISTDir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// grayStats returns the mean and (population) standard deviation of the
// grayscale values of every pixel of set, accumulated in float64.
func grayStats(t *testing.T, set Set) (mean, std float64) {
	t.Helper()
	var sum, sumsq float64
	var n int
	var plane []float32
	for i := range set.Len() {
		img, _, err := set.Example(i)
		if err != nil {
			t.Fatal(err)
		}
		if len(plane) < img.H*img.W {
			plane = make([]float32, img.H*img.W)
		}
		Gray(img, plane)
		for _, v := range plane[:img.H*img.W] {
			sum += float64(v)
			sumsq += float64(v) * float64(v)
		}
		n += img.H * img.W
	}
	mean = sum / float64(n)
	return mean, math.Sqrt(sumsq/float64(n) - mean*mean)
}

func TestFashionMNISTNormalization(t *testing.T) {
	f := openFashionMNIST(t)
	train, err := f.Split(SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	mean, std := grayStats(t, train)
	t.Logf("Fashion-MNIST train split (%d images): gray mean %.6f std %.6f", train.Len(), mean, std)
	if math.Abs(mean-FashionMNISTMean) > 5e-5 || math.Abs(std-FashionMNISTStd) > 5e-5 {
		t.Errorf("measured mean %.6f std %.6f; constants say %v %v", mean, std, FashionMNISTMean, FashionMNISTStd)
	}
}
