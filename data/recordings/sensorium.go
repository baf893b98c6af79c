package recordings

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/cotrain/cotrain/internal/npy"
)

// SensoriumConfig sets how ReadSensorium turns Sensorium 2022 /
// neuralpredictors "static" folders into recordings.
type SensoriumConfig struct {
	// Downsample averages the images over Downsample×Downsample blocks
	// (default 1: unchanged). Li et al. 2019 downsampled their images by a
	// factor of four to 64×36 pixels; Sensorium's 256×144 images become
	// 64×36 with 4. A remainder row or column is dropped.
	Downsample int
	// TestTiers lists the tiers whose trials are the repeated test
	// ("oracle") trials (default "test": the 100 images shown 10 times).
	// "train" trials are training trials and "validation" trials are
	// marked in Session.Validation; trials of any other tier (the
	// competition scans' "final_test", whose responses are withheld) are
	// left out.
	TestTiers []string
	// PixelsPerDegree is the resolution of the stored images, 0 when
	// unknown; the recording's resolution is PixelsPerDegree/Downsample.
	PixelsPerDegree float64
	// TestOnly keeps only the test trials (their responses and behaviour)
	// but reads the images of all trials, as LoadOptions.TestOnly does.
	TestOnly bool
}

// DefaultSensoriumConfig returns the defaults: images unchanged, tier
// "test" as the oracle trials.
func DefaultSensoriumConfig() SensoriumConfig {
	return SensoriumConfig{Downsample: 1, TestTiers: []string{"test"}}
}

// imageIDFiles are the per-trial image-id arrays of meta/trials that
// neuralpredictors' static loader accepts, in its order of preference.
var imageIDFiles = []string{"image_id", "colorframeprojector_image_id", "frame_image_id"}

// IsSensorium reports whether dir looks like a Sensorium / neuralpredictors
// static folder (it has meta/trials/tiers.npy and data/responses).
func IsSensorium(dir string) bool {
	_, err1 := os.Stat(filepath.Join(dir, "meta", "trials", "tiers.npy"))
	st, err2 := os.Stat(filepath.Join(dir, "data", "responses"))
	return err1 == nil && err2 == nil && st.IsDir()
}

// ReadSensorium reads one or more Sensorium 2022 / neuralpredictors static
// folders, one scan (a session) each. A folder holds, per trial X (0-based,
// one file each): data/images/X.npy (the image, (1, H, W) or (H, W)),
// data/responses/X.npy (one response per neuron), and optionally
// data/behavior/X.npy (pupil dilation, its derivative, running speed) with
// data/pupil_center/X.npy (horizontal and vertical eye position); and the
// arrays meta/trials/tiers.npy (train/validation/test/final_test),
// meta/trials/frame_image_id.npy (the image shown; repeated images share an
// id) and meta/neurons/unit_ids.npy. Images are merged across folders by
// id: an image is read from its first presentation. Errors name the file.
func ReadSensorium(dirs []string, cfg SensoriumConfig) (*Recordings, error) {
	if len(dirs) == 0 {
		return nil, errors.New("reading Sensorium folders: no folder given")
	}
	if cfg.Downsample < 1 {
		return nil, fmt.Errorf("reading Sensorium folders: downsample %d must be at least 1", cfg.Downsample)
	}
	if len(cfg.TestTiers) == 0 {
		cfg.TestTiers = []string{"test"}
	}
	r := &Recordings{Meta: Metadata{
		Source:         "Sensorium folders " + strings.Join(dirs, ", "),
		ResponseWindow: "deconvolved calcium activity per image presentation (Sensorium responses)",
		Notes:          fmt.Sprintf("images downsampled %d×; test tiers %v; pupil size is Sensorium's pupil dilation (its derivative is not kept)", cfg.Downsample, cfg.TestTiers),
	}}
	if cfg.PixelsPerDegree > 0 {
		r.Meta.PixelsPerDegree = cfg.PixelsPerDegree / float64(cfg.Downsample)
	}
	im := &imageStack{row: map[int64]int{}}
	for _, dir := range dirs {
		s, err := readSensoriumScan(dir, cfg, im)
		if err != nil {
			return nil, err
		}
		r.Sessions = append(r.Sessions, *s)
	}
	r.Images, r.ImageIDs = im.images(), im.ids
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("reading Sensorium folders: %w", err)
	}
	return r, nil
}

// dataKey is neuralpredictors' data key of a static folder name:
// "static26872-17-20-GrayImageNet-94c6…" becomes "26872-17-20".
var dataKey = regexp.MustCompile(`^static(\d+-\d+-\d+)`)

// sessionName names a scan after its folder.
func sessionName(dir string) string {
	base := filepath.Base(filepath.Clean(dir))
	if m := dataKey.FindStringSubmatch(base); m != nil {
		return m[1]
	}
	return base
}

func readSensoriumScan(dir string, cfg SensoriumConfig, im *imageStack) (*Session, error) {
	trialsDir := filepath.Join(dir, "meta", "trials")
	tiers, shape, err := npy.ReadStringsFile(filepath.Join(trialsDir, "tiers.npy"))
	if err != nil {
		return nil, fmt.Errorf("reading Sensorium folder %s: %w (is this a Sensorium static folder? it needs meta/trials/tiers.npy)", dir, err)
	}
	if len(shape) != 1 {
		return nil, fmt.Errorf("%s: shape %v, want one tier per trial", filepath.Join(trialsDir, "tiers.npy"), shape)
	}
	n := len(tiers)
	ids, err := sensoriumImageIDs(trialsDir, n)
	if err != nil {
		return nil, err
	}
	unitPath := filepath.Join(dir, "meta", "neurons", "unit_ids.npy")
	ua, err := npy.ReadFile(unitPath)
	if err != nil {
		return nil, fmt.Errorf("reading Sensorium folder %s: %w", dir, err)
	}
	units, err := ua.Int64s()
	if err != nil || len(ua.Shape) != 1 {
		return nil, fmt.Errorf("%s: want a 1-D integer array of neuron ids (shape %v, %v)", unitPath, ua.Shape, err)
	}
	behavior, err := behaviorDirs(dir)
	if err != nil {
		return nil, err
	}
	s := &Session{Name: sessionName(dir), Neurons: len(units), NeuronIDs: units}
	if behavior {
		s.Behavior = &Behavior{}
	}
	var validation []bool
	for x := 0; x < n; x++ {
		tier := tiers[x]
		test := slices.Contains(cfg.TestTiers, tier)
		if !test && tier != "train" && tier != "validation" {
			continue
		}
		if cfg.TestOnly && !test {
			if _, err := im.add(ids[x], filepath.Join(dir, "data", "images", fmt.Sprintf("%d.npy", x)), cfg.Downsample); err != nil {
				return nil, err
			}
			continue
		}
		resp, err := readVector(filepath.Join(dir, "data", "responses", fmt.Sprintf("%d.npy", x)), len(units), "one response per neuron of meta/neurons/unit_ids.npy")
		if err != nil {
			return nil, err
		}
		row, err := im.add(ids[x], filepath.Join(dir, "data", "images", fmt.Sprintf("%d.npy", x)), cfg.Downsample)
		if err != nil {
			return nil, err
		}
		if behavior {
			b, err := readVector(filepath.Join(dir, "data", "behavior", fmt.Sprintf("%d.npy", x)), 3, "pupil dilation, its derivative and running speed")
			if err != nil {
				return nil, err
			}
			eye, err := readVector(filepath.Join(dir, "data", "pupil_center", fmt.Sprintf("%d.npy", x)), 2, "horizontal and vertical pupil position")
			if err != nil {
				return nil, err
			}
			s.Behavior.PupilSize = append(s.Behavior.PupilSize, b[0])
			s.Behavior.Running = append(s.Behavior.Running, b[2])
			s.Behavior.PupilCenter = append(s.Behavior.PupilCenter, eye...)
		}
		s.Responses = append(s.Responses, resp...)
		s.ImageIndex = append(s.ImageIndex, row)
		s.Test = append(s.Test, test)
		validation = append(validation, tier == "validation")
		s.Trials++
	}
	if s.Trials == 0 {
		return nil, fmt.Errorf("%s: no trial of tier train, validation or %s", filepath.Join(trialsDir, "tiers.npy"), strings.Join(cfg.TestTiers, "/"))
	}
	if slices.Contains(validation, true) {
		s.Validation = validation
	}
	return s, nil
}

// sensoriumImageIDs reads the per-trial image ids of meta/trials.
func sensoriumImageIDs(trialsDir string, n int) ([]int64, error) {
	for _, name := range imageIDFiles {
		path := filepath.Join(trialsDir, name+".npy")
		if _, err := os.Stat(path); err != nil {
			continue
		}
		a, err := npy.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ids, err := a.Int64s()
		if err != nil || len(a.Shape) != 1 || len(ids) != n {
			return nil, fmt.Errorf("%s: want %d integer image ids, one per entry of tiers.npy (shape %v, %v)", path, n, a.Shape, err)
		}
		return ids, nil
	}
	return nil, fmt.Errorf("%s: none of %s.npy is present; one is needed to group the repeats of the test images", trialsDir, strings.Join(imageIDFiles, ".npy, "))
}

// behaviorDirs reports whether a folder has behaviour: both data/behavior
// and data/pupil_center, or neither.
func behaviorDirs(dir string) (bool, error) {
	b := isDir(filepath.Join(dir, "data", "behavior"))
	p := isDir(filepath.Join(dir, "data", "pupil_center"))
	switch {
	case b && !p:
		return false, fmt.Errorf("%s is missing: behaviour needs data/behavior and data/pupil_center together (remove data/behavior to read the folder without behaviour)", filepath.Join(dir, "data", "pupil_center"))
	case p && !b:
		return false, fmt.Errorf("%s is missing: behaviour needs data/behavior and data/pupil_center together (remove data/pupil_center to read the folder without behaviour)", filepath.Join(dir, "data", "behavior"))
	}
	return b, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// readVector reads a .npy array of want numbers (any shape with that many
// elements, such as (3,) or (1, 3)) as float32.
func readVector(path string, want int, what string) ([]float32, error) {
	a, err := npy.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing (every trial needs one)", path)
	}
	if err != nil {
		return nil, err
	}
	if a.Len() != want {
		return nil, fmt.Errorf("%s: shape %v, want %d values (%s)", path, a.Shape, want, what)
	}
	out := make([]float32, want)
	for i, v := range a.Float64s() {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%s: value %d is %v", path, i, v)
		}
		out[i] = float32(v)
	}
	return out, nil
}

// imageStack collects the images of several folders, one per id.
type imageStack struct {
	h, w int
	ids  []int64
	row  map[int64]int
	px   [][]float32 // float32 holds 8-bit pixel values and their block means exactly enough, at half the memory
}

// add returns the row of image id, reading it from path the first time.
func (s *imageStack) add(id int64, path string, down int) (int, error) {
	if r, ok := s.row[id]; ok {
		return r, nil
	}
	a, err := npy.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%s is missing (every trial needs one)", path)
	}
	if err != nil {
		return 0, err
	}
	shape := slices.Clone(a.Shape)
	if len(shape) == 3 && shape[0] == 1 {
		shape = shape[1:]
	} else if len(shape) == 3 && shape[2] == 1 {
		shape = shape[:2]
	}
	if len(shape) != 2 {
		return 0, fmt.Errorf("%s: shape %v, want a grayscale image (1, H, W) or (H, W)", path, a.Shape)
	}
	h, w := shape[0]/down, shape[1]/down
	if h < 1 || w < 1 {
		return 0, fmt.Errorf("%s: a %d×%d image cannot be downsampled %d×", path, shape[0], shape[1], down)
	}
	if s.px == nil {
		s.h, s.w = h, w
	} else if h != s.h || w != s.w {
		return 0, fmt.Errorf("%s: image is %d×%d after downsampling, earlier images were %d×%d", path, h, w, s.h, s.w)
	}
	src := a.Float64s()
	px := make([]float32, h*w)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var sum float64
			for dy := 0; dy < down; dy++ {
				for dx := 0; dx < down; dx++ {
					sum += src[(y*down+dy)*shape[1]+x*down+dx]
				}
			}
			v := sum / float64(down*down)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%s: pixel (%d, %d) is %v", path, y, x, v)
			}
			px[y*w+x] = float32(v)
		}
	}
	s.row[id] = len(s.ids)
	s.ids = append(s.ids, id)
	s.px = append(s.px, px)
	return s.row[id], nil
}

// images packs the collected images: uint8 when every pixel is an integer
// in [0, 255], else float32 with range [0, 255] when they lie in it, else
// their observed [min, max].
func (s *imageStack) images() Images {
	im := Images{N: len(s.px), H: s.h, W: s.w}
	lo, hi, integral := math.Inf(1), math.Inf(-1), true
	for _, p := range s.px {
		for _, f := range p {
			v := float64(f)
			lo, hi = min(lo, v), max(hi, v)
			integral = integral && v == math.Trunc(v)
		}
	}
	inByteRange := lo >= 0 && hi <= 255
	switch {
	case inByteRange && integral:
		im.U8 = make([]uint8, 0, im.N*im.H*im.W)
		for _, p := range s.px {
			for _, v := range p {
				im.U8 = append(im.U8, uint8(v))
			}
		}
		im.Range = [2]float64{0, 255}
		return im
	case inByteRange:
		im.Range = [2]float64{0, 255}
	case hi > lo:
		im.Range = [2]float64{lo, hi}
	default:
		im.Range = [2]float64{lo, lo + 1}
	}
	im.F32 = make([]float32, 0, im.N*im.H*im.W)
	for _, p := range s.px {
		im.F32 = append(im.F32, p...)
	}
	return im
}
