package models

import "testing"

// TestTorchvisionParameterCounts checks the ImageNet variants against the
// parameter counts torchvision reports (sum of p.numel() over
// model.parameters()): vgg19_bn 143,678,248; resnet18 11,689,512; resnet34
// 21,797,672, for 1000 classes at 224×224.
func TestTorchvisionParameterCounts(t *testing.T) {
	for _, tc := range []struct {
		name string
		net  Network
		want int
	}{
		{"vgg19_bn", VGG19BNImageNet(1000), 143_678_248},
		{"resnet18", ResNetImageNet(18, 1000), 11_689_512},
		{"resnet34", ResNetImageNet(34, 1000), 21_797_672},
	} {
		layers, total, err := tc.net.Summary(224)
		if err != nil {
			t.Fatal(err)
		}
		if total != tc.want {
			t.Errorf("%s: %d parameters, want %d", tc.name, total, tc.want)
		}
		if tc.name == "vgg19_bn" {
			if l := layers[len(layers)-4]; l.Output != [3]int{7, 7, 512} {
				t.Errorf("%s: %s output %v, want 7×7×512", tc.name, l.Name, l.Output)
			}
		}
		if tc.name == "resnet18" {
			if l := layers[len(layers)-3]; l.Output != [3]int{7, 7, 512} {
				t.Errorf("%s: %s output %v, want 7×7×512", tc.name, l.Name, l.Output)
			}
		}
	}
}
