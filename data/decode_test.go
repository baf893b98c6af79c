package data

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestDecodeRGBAgainstPillow(t *testing.T) {
	// testdata/pil holds JPEGs encoded by Pillow and Pillow's decoding of
	// them (make_pil_jpegs.py). Only the IDCT differs (Go's against
	// libjpeg's), so values agree to a few units and almost all exactly.
	tests := []struct {
		name string
		h, w int
	}{
		{"s420_63x61", 63, 61},
		{"s420_64x64", 64, 64},
		{"s422_17x13", 17, 13},
		{"s444_8x9", 8, 9},
		{"gray_12x10", 12, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "pil", tc.name+".jpg"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(filepath.Join("testdata", "pil", tc.name+".rgb"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRGB(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got.H != tc.h || got.W != tc.w || got.C != 3 || len(got.Pix) != len(want) {
				t.Fatalf("decoded %dx%dx%d; want %dx%dx3", got.H, got.W, got.C, tc.h, tc.w)
			}
			maxDiff, sum, differ := 0, 0, 0
			for i := range want {
				d := int(got.Pix[i]) - int(want[i])
				d = max(d, -d)
				maxDiff = max(maxDiff, d)
				sum += d
				if d > 0 {
					differ++
				}
			}
			mean := float64(sum) / float64(len(want))
			t.Logf("max |Go − Pillow| = %d, mean %.3f, %.1f%% of values differ", maxDiff, mean, 100*float64(differ)/float64(len(want)))
			if maxDiff > 4 || mean > 0.15 {
				t.Errorf("max difference %d, mean %.3f; want at most 4 and 0.15", maxDiff, mean)
			}
		})
	}
}

func TestChromaUpsampling(t *testing.T) {
	// Hand computation of libjpeg's triangular filters.
	h2v1 := make([]uint8, 4)
	fancyH2V1([]uint8{0, 100}, h2v1)
	// (0+0+1)>>2, (0+100+2)>>2, (300+0+1)>>2, (300+100+2)>>2
	if want := []uint8{0, 25, 75, 100}; !slices.Equal(h2v1, want) {
		t.Errorf("h2v1 = %v; want %v", h2v1, want)
	}
	// Column sums 3·near + far for near row {0, 16}, far row {16, 16}:
	// {16, 64}; then (3s+prev+8)>>4 and (3s+next+7)>>4.
	sums := make([]int32, 2)
	columnSums([]uint8{0, 16}, []uint8{16, 16}, sums)
	h2v2 := make([]uint8, 3) // odd width: the last output is cut
	fancyH2V2(sums, h2v2)
	if want := []uint8{(64 + 8) >> 4, (48 + 64 + 7) >> 4, (192 + 16 + 8) >> 4}; !slices.Equal(h2v2, want) {
		t.Errorf("h2v2 = %v; want %v", h2v2, want)
	}
}

func TestYCbCrConversion(t *testing.T) {
	tests := []struct {
		y, cb, cr uint8
		want      [3]uint8
	}{
		{128, 128, 128, [3]uint8{128, 128, 128}},
		// R = ⌊(91881·127 + 32768)/65536⌋ = 178; G = ⌊(−46802·127 + 32768)/65536⌋ < 0.
		{0, 128, 255, [3]uint8{178, 0, 0}},
		// Cb' = 72, Cr' = −78: R = 100 + ⌊−7133950/65536⌋ = −9 → 0,
		// G = 100 + ⌊(−1623888 + 3650556 + 32768)/65536⌋ = 131,
		// B = 100 + ⌊(8361360 + 32768)/65536⌋ = 228.
		{100, 200, 50, [3]uint8{0, 131, 228}},
		// G = 255 + ⌊(−2864358 − 5943854 + 32768)/65536⌋ = 255 − 134.
		{255, 255, 255, [3]uint8{255, 121, 255}},
	}
	for _, tc := range tests {
		out := make([]uint8, 3)
		yccRow([]uint8{tc.y}, []uint8{tc.cb}, []uint8{tc.cr}, out)
		if [3]uint8(out) != tc.want {
			t.Errorf("Y'CbCr (%d,%d,%d) → %v; want %v", tc.y, tc.cb, tc.cr, out, tc.want)
		}
	}
}

func TestDecodeRGBPNGAndGray(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 3, 2))
	copy(g.Pix, []uint8{1, 2, 3, 4, 5, 6})
	var buf bytes.Buffer
	if err := png.Encode(&buf, g); err != nil {
		t.Fatal(err)
	}
	m, err := DecodeRGB(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6}; m.H != 2 || m.W != 3 || !slices.Equal(m.Pix, want) {
		t.Errorf("gray PNG → %dx%d %v", m.H, m.W, m.Pix)
	}
	c := image.NewNRGBA(image.Rect(0, 0, 1, 1))
	c.Set(0, 0, color.NRGBA{10, 20, 30, 255})
	buf.Reset()
	if err := png.Encode(&buf, c); err != nil {
		t.Fatal(err)
	}
	if m, err := DecodeRGB(buf.Bytes()); err != nil || !slices.Equal(m.Pix, []uint8{10, 20, 30}) {
		t.Errorf("RGB PNG → %v, %v", m.Pix, err)
	}
	if _, err := DecodeRGB([]byte("not an image")); err == nil {
		t.Error("garbage decoded")
	}
}
