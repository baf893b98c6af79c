package data

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

func TestFashionMNISTSplits(t *testing.T) {
	f := openFashionMNIST(t)
	if got := f.Classes(); len(got) != 10 || got[0] != "T-shirt/top" || got[9] != "Ankle boot" {
		t.Errorf("classes %v", got)
	}
	tests := []struct {
		split string
		n     int
		first []int // training-file indices, from NumPy
	}{
		// np.random.seed(1000); idx = list(range(60000)); np.random.shuffle(idx)
		// gives idx[:3] = [50767, 2693, 943], idx[10000:10003] = [1524, 28212, 48225].
		{SplitValidation, 10000, []int{50767, 2693, 943}},
		{SplitTrain, 50000, []int{1524, 28212, 48225}},
		{SplitTest, 10000, nil},
	}
	for _, tc := range tests {
		t.Run(tc.split, func(t *testing.T) {
			set, err := f.Split(tc.split)
			if err != nil {
				t.Fatal(err)
			}
			if set.Len() != tc.n {
				t.Fatalf("%s has %d examples; want %d", set.Name(), set.Len(), tc.n)
			}
			if tc.first != nil && !slices.Equal(set.(*subset).indices[:3], tc.first) {
				t.Errorf("indices start %v; want %v", set.(*subset).indices[:3], tc.first)
			}
			img, label, err := set.Example(set.Len() - 1)
			if err != nil {
				t.Fatal(err)
			}
			if img.H != 28 || img.W != 28 || img.C != 1 || label < 0 || label > 9 {
				t.Errorf("last example is %dx%dx%d with label %d", img.H, img.W, img.C, label)
			}
		})
	}
	// Every class appears equally often in the test file.
	test, _ := f.Split(SplitTest)
	var counts [10]int
	for i := range test.Len() {
		_, l, _ := test.Example(i)
		counts[l]++
	}
	for c, n := range counts {
		if n != 1000 {
			t.Errorf("class %d has %d test images; want 1000", c, n)
		}
	}
}

func TestOpenFashionMNISTMissing(t *testing.T) {
	for _, dir := range []string{filepath.Join(t.TempDir(), "absent"), t.TempDir()} {
		_, err := OpenFashionMNIST(dir)
		if err == nil || !strings.Contains(err.Error(), "install it with: apt-get install dataset-fashion-mnist") {
			t.Errorf("%s: error %v does not say how to install the package", dir, err)
		}
	}
}
