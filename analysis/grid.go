package analysis

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gomlx/gomlx/backends"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/internal/atomicfile"
	"github.com/cotrain/cotrain/internal/npy"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/roles"
)

// Images are the targets of an analysis: test images in the model's
// normalized input space, and for the noisy grid their corrupted copies.
type Images struct {
	H, W int
	// Index lists each image's index in its split.
	Index []int
	// Clean holds the N normalized grayscale images [N, H, W].
	Clean []float32
	// Noisy holds their corrupted copies (nil for a clean analysis).
	Noisy []float32
	// Gray holds the clean grayscale images in [0, 1] (the saliency
	// model's input).
	Gray []float32
}

// Noise corrupts targets: one corruption and severity of a corrupter; the
// image of index i draws its noise from corrupt.ImageRNG(Seed, i).
type Noise struct {
	Corrupter *corrupt.Corrupter
	Name      string
	Severity  int
	Seed      uint64
}

// LoadImages reads n images of set from index first, grayscale and
// normalized as the models were trained; with noise, their corrupted
// copies too.
func LoadImages(set data.Set, norm data.Normalize, first, n int, noise *Noise) (*Images, error) {
	if first+n > set.Len() {
		return nil, fmt.Errorf("analysis images %d..%d: %s has %d images (lower first or images in [analysis])", first, first+n-1, set.Name(), set.Len())
	}
	out := &Images{}
	for i := first; i < first+n; i++ {
		img, _, err := set.Example(i)
		if err != nil {
			return nil, fmt.Errorf("analysis image %d of %s: %w", i, set.Name(), err)
		}
		if out.H == 0 {
			out.H, out.W = img.H, img.W
		} else if img.H != out.H || img.W != out.W {
			return nil, fmt.Errorf("analysis image %d of %s is %d×%d, the first %d×%d", i, set.Name(), img.H, img.W, out.H, out.W)
		}
		g := make([]float32, img.H*img.W)
		data.Gray(img, g)
		out.Gray = append(out.Gray, g...)
		c := append([]float32(nil), g...)
		norm.Apply(c)
		out.Clean = append(out.Clean, c...)
		out.Index = append(out.Index, i)
		if noise != nil {
			ci := corrupt.Image{W: img.W, H: img.H, C: img.C, Pix: img.Pix}
			bad, err := noise.Corrupter.Apply(noise.Name, noise.Severity, ci, corrupt.ImageRNG(noise.Seed, i))
			if err != nil {
				return nil, fmt.Errorf("analysis image %d of %s: %w", i, set.Name(), err)
			}
			nz := make([]float32, img.H*img.W)
			data.Gray(data.Image{H: bad.H, W: bad.W, C: bad.C, Pix: bad.Pix}, nz)
			norm.Apply(nz)
			out.Noisy = append(out.Noisy, nz...)
		}
	}
	return out, nil
}

// N is the number of images.
func (im *Images) N() int { return len(im.Index) }

// targets are the images reconstructed: the noisy copies if any.
func (im *Images) targets() []float32 {
	if im.Noisy != nil {
		return im.Noisy
	}
	return im.Clean
}

// image returns image i of a stack [N, H, W] as float64.
func image64(stack []float32, i, hw int) []float64 {
	out := make([]float64, hw)
	for j, v := range stack[i*hw : (i+1)*hw] {
		out[j] = float64(v)
	}
	return out
}

// ModelRun names a trained model of a grid.
type ModelRun struct {
	Name string     `json:"name"`
	Role roles.Role `json:"role"`
	Dir  string     `json:"dir"`
}

// LoadModel loads a trained classifier's core from its run folder and
// returns the number of input channels its network sees.
func LoadModel(dir, name string) (Model, int, error) {
	info, vars, err := checkpoint.LoadRun(dir, checkpoint.KindClassifier, checkpoint.KindMTL)
	if err != nil {
		return Model{}, 0, err
	}
	core, err := info.Core()
	if err != nil {
		return Model{}, 0, fmt.Errorf("%s: %w", dir, err)
	}
	channels := 1
	if v, ok := core.(models.VGG); ok {
		channels = v.InputChannels
	}
	f, err := os.Open(filepath.Join(dir, checkpoint.ModelFile))
	if err != nil {
		return Model{}, 0, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return Model{}, 0, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	return Model{Name: name, Core: core, Vars: vars, Version: hex.EncodeToString(h.Sum(nil))}, channels, nil
}

// Grid is a reconstruction grid: models × budgets × images. It is what
// grid.json holds; the images are in the folder's .npz files (LoadGrid).
type Grid struct {
	// Kind is "noisy" (the targets are corrupted test images) or "clean".
	Kind string `json:"kind"`
	// Layer, Steps as reconstructed.
	Layer string `json:"layer"`
	Steps int    `json:"steps"`
	// Budgets in the paper's unit, Scale the factor applied to them, and
	// Radii the resulting radius on the one grayscale channel per model
	// (models may see different channel counts).
	Budgets []float64 `json:"budgets"`
	Scale   float64   `json:"scale"`
	// Noise describes the corruption of the targets.
	Noise string `json:"noise,omitempty"`
	H     int    `json:"h"`
	W     int    `json:"w"`
	// Images lists the targets' indices in the test split.
	Images []int       `json:"images"`
	Models []GridModel `json:"models"`
}

// GridModel is one model's row of the grid.
type GridModel struct {
	ModelRun
	Settings Settings  `json:"settings"`
	Radii    []float64 `json:"radii"`
	// Loss is the final loss [budget][image].
	Loss []Floats `json:"loss"`
	// Seconds is the time its reconstructions took.
	Seconds float64 `json:"seconds"`
	// Content is the content/noise decomposition [budget][image] (noisy
	// grids only); MeanContent and MeanNoise are the mean coefficients ᾱ
	// and β̄ per budget, and Share the content share ᾱ/(ᾱ + β̄) (the ratio
	// of the means: per-image ratios are unstable where α + β is near 0).
	Content     [][]Decomposition `json:"content,omitempty"`
	MeanContent Floats            `json:"mean_content,omitempty"`
	MeanNoise   Floats            `json:"mean_noise,omitempty"`
	Share       Floats            `json:"share,omitempty"`
}

// Files of a grid folder.
const (
	GridFile    = "grid.json"
	TargetsFile = "targets.npz"
)

// modelFile is a model's reconstructions [budget, image, H, W].
func modelFile(dir string, r roles.Role) string { return filepath.Join(dir, string(r)+".npz") }

// RunGrid reconstructs every image of imgs at every budget from each model,
// one model at a time (its images × budgets in one batch, or batches of
// cfg.Batch), and writes dir/ROLE.npz per model, TargetsFile and, last,
// GridFile. A model whose file exists is read back, and an interrupted
// model resumes from its checkpoint.
func RunGrid(ctx context.Context, b backends.Backend, runs []ModelRun, imgs *Images, cfg Config, dir string, log io.Writer) (*Grid, [][]float32, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	g := &Grid{Kind: "clean", Layer: cfg.Layer, Steps: cfg.Steps, Budgets: cfg.Budgets, H: imgs.H, W: imgs.W, Images: imgs.Index}
	if imgs.Noisy != nil {
		g.Kind, g.Noise = "noisy", fmt.Sprintf("%s severity %d", cfg.Noise, cfg.Severity)
	}
	if err := writeTargets(filepath.Join(dir, TargetsFile), imgs); err != nil {
		return nil, nil, err
	}
	nb, ni := len(cfg.Budgets), imgs.N()
	var xs [][]float32
	for _, run := range runs {
		m, channels, err := LoadModel(run.Dir, run.Name)
		if err != nil {
			return nil, nil, err
		}
		g.Scale = cfg.Scale(imgs.H, imgs.W, channels)
		s := cfg.Settings(run.Role)
		gm := GridModel{ModelRun: run, Settings: s}
		for _, bud := range cfg.Budgets {
			gm.Radii = append(gm.Radii, ChannelRadius(bud*g.Scale, channels))
		}
		x, loss, secs, err := reconstructModel(ctx, b, m, imgs, gm.Radii, s, cfg, modelFile(dir, run.Role), log)
		if err != nil {
			return nil, nil, err
		}
		gm.Seconds = secs
		for bi := 0; bi < nb; bi++ {
			gm.Loss = append(gm.Loss, loss[bi*ni:(bi+1)*ni])
		}
		if imgs.Noisy != nil {
			gm.Content, gm.MeanContent, gm.MeanNoise, gm.Share = contentShares(x, imgs, nb)
		}
		g.Models = append(g.Models, gm)
		xs = append(xs, x)
	}
	raw, err := json.MarshalIndent(g, "", " ")
	if err != nil {
		return nil, nil, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, GridFile), raw); err != nil {
		return nil, nil, err
	}
	return g, xs, nil
}

// reconstructModel runs (or reads back) one model's reconstructions
// [budget, image, H, W] and their losses.
func reconstructModel(ctx context.Context, b backends.Backend, m Model, imgs *Images, radii []float64, s Settings, cfg Config, path string, log io.Writer) ([]float32, []float64, float64, error) {
	hw, ni := imgs.H*imgs.W, imgs.N()
	fp := fingerprint(m.Name+" "+m.Version, Problem{H: imgs.H, W: imgs.W, Targets: imgs.targets(), Radii: radii}, s)
	if x, loss, secs, err := readModelFile(path, fp); err == nil {
		return x, loss, secs, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, 0, err
	}
	total := len(radii) * ni
	var targets []float32
	var all []float64
	for _, r := range radii {
		targets = append(targets, imgs.targets()...)
		for range ni {
			all = append(all, r)
		}
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = total
	}
	start := time.Now()
	x := make([]float32, 0, total*hw)
	var loss []float64
	var ckpts []string
	for lo := 0; lo < total; lo += batch {
		hi := min(lo+batch, total)
		p := Problem{H: imgs.H, W: imgs.W, Targets: targets[lo*hw : hi*hw], Radii: all[lo:hi]}
		ckpt := fmt.Sprintf("%s.ckpt-%d.npz", path[:len(path)-len(".npz")], lo)
		last := time.Now()
		res, err := Reconstruct(ctx, b, m, p, s, RunOptions{Checkpoint: ckpt, CheckpointEvery: cfg.CheckpointEvery, Progress: func(step, steps int) {
			if log != nil && (time.Since(last) > 30*time.Second || step == steps) {
				last = time.Now()
				fmt.Fprintf(log, "reconstruct %s: targets %d–%d of %d, step %d/%d (%s)\n", m.Name, lo+1, hi, total, step, steps, time.Since(start).Round(time.Second))
			}
		}})
		if err != nil {
			return nil, nil, 0, err
		}
		x = append(x, res.X...)
		loss = append(loss, res.Loss...)
		ckpts = append(ckpts, ckpt)
	}
	secs := time.Since(start).Seconds()
	if err := writeModelFile(path, x, loss, len(radii), ni, imgs.H, imgs.W, secs, fp); err != nil {
		return nil, nil, 0, err
	}
	for _, c := range ckpts {
		os.Remove(c) // done: the model file holds the result
	}
	return x, loss, secs, nil
}

// modelMeta is a model file's metadata.
type modelMeta struct {
	Seconds     float64 `json:"seconds"`
	Fingerprint string  `json:"fingerprint"`
}

func writeModelFile(path string, x []float32, loss []float64, nb, ni, h, w int, secs float64, fp string) error {
	meta, err := npy.JSONEntry("meta", modelMeta{Seconds: secs, Fingerprint: fp})
	if err != nil {
		return err
	}
	return npy.WriteNPZ(path, []npy.Entry{meta,
		{Name: "x", Array: &npy.Array{DType: npy.Float32, Shape: []int{nb, ni, h, w}, Data: x}},
		{Name: "loss", Array: &npy.Array{DType: npy.Float64, Shape: []int{nb, ni}, Data: loss}},
	}, true)
}

// readModelFile reads a model's reconstructions; fp, when not empty, must
// be the fingerprint they were made with.
func readModelFile(path, fp string) ([]float32, []float64, float64, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, nil, 0, err
	}
	a, err := npy.ReadNPZ(path)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w (delete it to reconstruct again)", path, err)
	}
	var meta modelMeta
	if err := npy.DecodeJSON(a, "meta", &meta); err != nil {
		return nil, nil, 0, fmt.Errorf("%s: %w (delete it to reconstruct again)", path, err)
	}
	if fp != "" && meta.Fingerprint != fp {
		return nil, nil, 0, fmt.Errorf("%s holds reconstructions of other images, budgets, settings or model: delete it (or the analysis folder) to reconstruct again", path)
	}
	x, ok1 := a["x"]
	l, ok2 := a["loss"]
	if !ok1 || !ok2 {
		return nil, nil, 0, fmt.Errorf("%s lacks x or loss (delete it to reconstruct again)", path)
	}
	xv, ok := x.Data.([]float32)
	if !ok {
		return nil, nil, 0, fmt.Errorf("%s: x is %s, want float32 (delete it to reconstruct again)", path, x.DType)
	}
	return xv, l.Float64s(), meta.Seconds, nil
}

func writeTargets(path string, imgs *Images) error {
	n, h, w := imgs.N(), imgs.H, imgs.W
	entries := []npy.Entry{npy.IndexEntry("index", imgs.Index),
		{Name: "clean", Array: &npy.Array{DType: npy.Float32, Shape: []int{n, h, w}, Data: imgs.Clean}},
		{Name: "gray", Array: &npy.Array{DType: npy.Float32, Shape: []int{n, h, w}, Data: imgs.Gray}}}
	if imgs.Noisy != nil {
		entries = append(entries, npy.Entry{Name: "noisy", Array: &npy.Array{DType: npy.Float32, Shape: []int{n, h, w}, Data: imgs.Noisy}})
	}
	return npy.WriteNPZ(path, entries, true)
}

// contentShares decomposes every reconstruction of a noisy grid along its
// clean image and its noise: [budget][image], and per budget the mean
// coefficients and the content share of the means.
func contentShares(x []float32, imgs *Images, nb int) ([][]Decomposition, Floats, Floats, Floats) {
	hw, ni := imgs.H*imgs.W, imgs.N()
	out := make([][]Decomposition, nb)
	alpha, beta, share := make(Floats, nb), make(Floats, nb), make(Floats, nb)
	for bi := range out {
		for i := 0; i < ni; i++ {
			c := image64(imgs.Clean, i, hw)
			nz := image64(imgs.Noisy, i, hw)
			for j := range nz {
				nz[j] -= c[j]
			}
			d := Decompose(image64(x, bi*ni+i, hw), c, nz)
			out[bi] = append(out[bi], d)
			alpha[bi] += d.Content / float64(ni)
			beta[bi] += d.Noise / float64(ni)
		}
		share[bi] = math.NaN()
		if s := alpha[bi] + beta[bi]; s > 0 {
			share[bi] = alpha[bi] / s
		}
	}
	return out, alpha, beta, share
}

// GridData is a finished grid with its images, for figures.
type GridData struct {
	Grid *Grid
	// Images are the targets.
	Images *Images
	// X holds each model's reconstructions [budget, image, H, W], in
	// Grid.Models order.
	X [][]float32
}

// Reconstruction returns model m's reconstruction of image i at budget
// bi [H, W].
func (d *GridData) Reconstruction(m, bi, i int) []float32 {
	hw, ni := d.Grid.H*d.Grid.W, len(d.Grid.Images)
	return d.X[m][(bi*ni+i)*hw : (bi*ni+i+1)*hw]
}

// LoadGrid reads a grid folder written by RunGrid.
func LoadGrid(dir string) (*GridData, error) {
	raw, err := os.ReadFile(filepath.Join(dir, GridFile))
	if err != nil {
		return nil, err
	}
	var g Grid
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, GridFile), err)
	}
	t, err := npy.ReadNPZ(filepath.Join(dir, TargetsFile))
	if err != nil {
		return nil, err
	}
	imgs := &Images{H: g.H, W: g.W, Index: g.Images}
	for name, dst := range map[string]*[]float32{"clean": &imgs.Clean, "gray": &imgs.Gray, "noisy": &imgs.Noisy} {
		if a, ok := t[name]; ok {
			v, ok := a.Data.([]float32)
			if !ok {
				return nil, fmt.Errorf("%s: %s is %s, want float32", filepath.Join(dir, TargetsFile), name, a.DType)
			}
			*dst = v
		}
	}
	d := &GridData{Grid: &g, Images: imgs}
	for _, m := range g.Models {
		x, _, _, err := readModelFile(modelFile(dir, m.Role), "")
		if err != nil {
			return nil, err
		}
		if len(x) != len(g.Budgets)*len(g.Images)*g.H*g.W {
			return nil, fmt.Errorf("%s holds %d values, the grid needs %d", modelFile(dir, m.Role), len(x), len(g.Budgets)*len(g.Images)*g.H*g.W)
		}
		d.X = append(d.X, x)
	}
	return d, nil
}
