package data

import (
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{"fashion-mnist:test", Spec{Dataset: DatasetFashionMNIST, Split: SplitTest}, ""},
		{"fashion-mnist:train", Spec{Dataset: DatasetFashionMNIST, Split: SplitTrain}, ""},
		{"fashion-mnist:/opt/fm:validation", Spec{DatasetFashionMNIST, "/opt/fm", SplitValidation}, ""},
		{"tinyimagenet:/path/to/tiny-imagenet-200:validation", Spec{DatasetTinyImageNet, "/path/to/tiny-imagenet-200", SplitValidation}, ""},
		{"tinyimagenet:C:/data/tin:test", Spec{DatasetTinyImageNet, "C:/data/tin", SplitTest}, ""},
		{"tinyimagenet:rel/dir:train", Spec{DatasetTinyImageNet, "rel/dir", SplitTrain}, ""},
		{"cifar10:/data/cifar-10-batches-bin:test", Spec{DatasetCIFAR10, "/data/cifar-10-batches-bin", SplitTest}, ""},
		{"cifar100:/data/cifar-100-python:train", Spec{DatasetCIFAR100, "/data/cifar-100-python", SplitTrain}, ""},
		{"cifar10:test", Spec{}, "names no cifar10 folder"},
		{"cifar100::validation", Spec{}, "names no cifar100 folder"},
		{"tinyimagenet:test", Spec{}, "names no Tiny ImageNet folder"},
		{"tinyimagenet::test", Spec{}, "names no Tiny ImageNet folder"},
		{"fashion-mnist::test", Spec{}, "empty folder"},
		{"fashion-mnist", Spec{}, "no colon"},
		{"mnist:test", Spec{}, `unknown data set "mnist"`},
		{"fashion-mnist:val", Spec{}, "ambiguous"},
		{"tinyimagenet:/d:training", Spec{}, `unknown split "training"`},
		{"", Spec{}, "no colon"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSpec(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v; want one containing %q", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), "valid forms: tinyimagenet:<folder>:<split>") {
					t.Errorf("error %q does not list the valid forms", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseSpec = %+v; want %+v", got, tc.want)
			}
			if again, err := ParseSpec(got.String()); err != nil || again != got {
				t.Errorf("String %q does not parse back: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestSpecOpen(t *testing.T) {
	fx := writeFixture(t, false)
	sp, err := ParseSpec("tinyimagenet:" + fx.Root + ":validation")
	if err != nil {
		t.Fatal(err)
	}
	set, err := sp.Open(OpenOptions{Cache: true})
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 6 || set.Name() != "tinyimagenet:validation" {
		t.Errorf("opened %s with %d examples", set.Name(), set.Len())
	}
	if n, err := sp.Normalization(); err != nil || n != (Normalize{Mean: 0.4519, Std: 0.2221}) {
		t.Errorf("normalization %v, %v", n, err)
	}
	if _, err := (Spec{Dataset: DatasetTinyImageNet, Root: fx.Root + "/absent", Split: SplitTest}).Open(OpenOptions{}); err == nil {
		t.Error("opened an absent folder")
	}
	if _, err := (Spec{Dataset: DatasetFashionMNIST, Root: t.TempDir(), Split: SplitTest}).Open(OpenOptions{}); err == nil ||
		!strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("empty Fashion-MNIST folder: error %v does not say how to install it", err)
	}
}
