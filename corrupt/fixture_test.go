package corrupt

import (
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"sync"
	"testing"
)

// blob is an [offset, length] reference into the fixture blob.
type blob [2]int

// fixtures mirrors testdata/fixtures.bin.gz, written by testdata/gen.py
// from OpenCV, SciPy, scikit-image, Pillow and ImageMagick.
type fixtures struct {
	Images map[string]struct {
		H, W, C int
		Pix     blob
	} `json:"images"`
	Disk []struct {
		Table    string
		Severity int
		N        int
		K        blob
	} `json:"disk"`
	ZoomFactors []struct {
		Table    string
		Severity int
		Z        blob
	} `json:"zoomfactors"`
	Outputs []struct {
		Table, Image, Corruption string
		Severity                 int
		Pix                      blob
	} `json:"outputs"`
	PilResize []struct {
		Filter       string
		W, H, NW, NH int
		Src, Dst     blob
	} `json:"pilresize"`
	Luminance struct{ Src, Dst blob } `json:"luminance"`
	CvResize  []struct {
		Kind         string
		W, H, NW, NH int
		Src, Dst     blob
	} `json:"cvresize"`
	CvGray  struct{ Src, Dst blob } `json:"cvgray"`
	SkGauss []struct {
		Sigma float64
		Dst   blob
	} `json:"skgauss"`
	ElasticGauss struct {
		Src   blob
		Sigma []float64
		Dst   blob
	} `json:"elasticgauss"`
	MapCoords struct {
		Img, Dy, Dx, Out blob
	} `json:"mapcoords"`
	WarpAffine struct {
		Pts1, Pts2  []float64
		M, Img, Out blob
	} `json:"warpaffine"`
	Magick []struct {
		Radius       int
		Sigma, Angle float64
		W, H         int
		Src, Dst     blob
	} `json:"magick"`
	NumpyMotion []struct {
		Radius       int
		Sigma, Angle float64
		Image        string
		Dst          blob
	} `json:"numpymotion"`
	GlassShuffle struct {
		Delta, Iters int
		Out          blob
	} `json:"glassshuffle"`
	Plasma []struct {
		N     int
		Decay float64
		Out   blob
	} `json:"plasma"`
	SnowBlend struct {
		Blend float64
		Layer blob
		Out   blob
	} `json:"snowblend"`

	raw []byte
}

func (f *fixtures) u8(b blob) []uint8 { return f.raw[b[0] : b[0]+b[1]] }

func (f *fixtures) f32(b blob) []float32 {
	r := f.u8(b)
	out := make([]float32, len(r)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(r[4*i:]))
	}
	return out
}

func (f *fixtures) f64(b blob) []float64 {
	r := f.u8(b)
	out := make([]float64, len(r)/8)
	for i := range out {
		out[i] = math.Float64frombits(binary.LittleEndian.Uint64(r[8*i:]))
	}
	return out
}

// image returns a fixture input image.
func (f *fixtures) image(name string) Image {
	m := f.Images[name]
	return Image{W: m.W, H: m.H, C: m.C, Pix: append([]uint8(nil), f.u8(m.Pix)...)}
}

var (
	fixOnce sync.Once
	fix     *fixtures
	fixErr  error
)

// loadFixtures reads testdata/fixtures.bin.gz once.
func loadFixtures(t *testing.T) *fixtures {
	t.Helper()
	fixOnce.Do(func() {
		fh, err := os.Open("testdata/fixtures.bin.gz")
		if err != nil {
			fixErr = err
			return
		}
		defer fh.Close()
		zr, err := gzip.NewReader(fh)
		if err != nil {
			fixErr = err
			return
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			fixErr = err
			return
		}
		n := int(binary.LittleEndian.Uint32(data))
		f := &fixtures{}
		if err := json.Unmarshal(data[4:4+n], f); err != nil {
			fixErr = err
			return
		}
		f.raw = data[4+n:]
		fix = f
	})
	if fixErr != nil {
		t.Fatalf("loading fixtures (regenerate with /usr/bin/python3 corrupt/testdata/gen.py): %v", fixErr)
	}
	return fix
}

// agreement counts equal values and the largest absolute difference.
func agreement(a, b []uint8) (exact float64, maxDiff int, meanAbs float64) {
	eq := 0
	s := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		if d == 0 {
			eq++
		}
		s += d
		maxDiff = max(maxDiff, d)
	}
	return float64(eq) / float64(len(a)), maxDiff, float64(s) / float64(len(a))
}
