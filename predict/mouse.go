package predict

import (
	"context"
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// Mouse is a trained mouse predictor (Li et al.'s denoising model, recipes
// MousePredictorJob) ready to predict in eval mode, scan by scan.
type Mouse struct {
	Info checkpoint.RunInfo
	Dir  string
	Head models.MouseHead
	core models.Core
	b    backends.Backend
	g    *gctx.Context
	// exec is the compiled graph of scan k (one at a time: a graph's
	// intermediate buffers grow with the scan's neurons).
	exec *gctx.Exec
	k    int
}

// mouseBatch returns the images per inference call for a scan of n
// neurons: at most 128, fewer for large scans, so that the readout's
// per-image, per-neuron intermediates stay near 2^18 entries per feature
// channel (52 images for 5,000 neurons). The backend keeps buffers for
// reuse, so their size sets the memory of a large target.
func mouseBatch(n int) int { return min(128, max(8, (1<<18)/max(n, 1))) }

// LoadMouse loads the mouse predictor trained in dir.
func LoadMouse(b backends.Backend, dir string) (*Mouse, error) {
	info, g, err := checkpoint.LoadRun(dir, checkpoint.KindMousePredictor)
	if err != nil {
		return nil, err
	}
	if info.Mouse == nil || len(info.Mouse.Readouts) == 0 || len(info.Mouse.Normalize) != len(info.Mouse.Readouts) {
		return nil, fmt.Errorf("%s: %s describes no mouse head with one readout and one behaviour normalization per scan", dir, checkpoint.RunFile)
	}
	core, err := info.Core()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return &Mouse{Info: info, Dir: dir, Head: *info.Mouse, core: core, b: b, g: g, k: -1}, nil
}

// ScanIndex returns the readout of the scan named name.
func (m *Mouse) ScanIndex(name string) (int, error) {
	for k, r := range m.Head.Readouts {
		if r.Name == name {
			return k, nil
		}
	}
	var names []string
	for _, r := range m.Head.Readouts {
		names = append(names, r.Name)
	}
	return 0, fmt.Errorf("the predictor in %s has no readout for scan %q (its scans: %v)", m.Dir, name, names)
}

// scanExec returns scan k's inference graph, compiling it and releasing
// the previous scan's when the scan changes.
func (m *Mouse) scanExec(k int) (*gctx.Exec, error) {
	if m.exec != nil && m.k == k {
		return m.exec, nil
	}
	if m.exec != nil {
		m.exec.Finalize()
		m.exec = nil
	}
	e, err := nn.Compile(m.b, m.g, func(ctx *gctx.Context, x, eye, mod *graph.Node) *graph.Node {
		return m.Head.Responses(ctx, m.core.Features(ctx, x, models.MouseStack)[0], eye, mod, k)
	})
	if err != nil {
		return nil, err
	}
	m.exec, m.k = e, k
	return e, nil
}

// Predict returns scan k's responses to n images (n×H×W normalized as the
// model was trained) with standardized eye positions and modulator inputs
// (n×2 each): n×neurons values, row-major.
func (m *Mouse) Predict(k int, x []float32, n, h, w int, eye, mod []float32) ([]float32, error) {
	e, err := m.scanExec(k)
	if err != nil {
		return nil, err
	}
	out, err := nn.Call(e, tensors.FromFlatDataAndDimensions(x, n, h, w, 1), tensors.FromFlatDataAndDimensions(eye, n, 2),
		tensors.FromFlatDataAndDimensions(mod, n, 2))
	if err != nil {
		return nil, fmt.Errorf("predicting scan %q: %w", m.Head.Readouts[k].Name, err)
	}
	defer out[0].FinalizeAll()
	flat := make([]float32, 0, n*m.Head.Readouts[k].Neurons)
	for _, row := range out[0].Value().([][]float32) {
		flat = append(flat, row...)
	}
	return flat, nil
}

// PredictImages returns scan k's responses to the given image rows of rec
// at the reference behaviour, the mean behaviour of the scan's training
// trials (standardized input 0): the visually driven responses Li et al.
// build S_model from. len(rows)×neurons values.
func (m *Mouse) PredictImages(ctx context.Context, rec *recordings.Recordings, k int, rows []int) ([]float32, error) {
	return m.predictRows(ctx, rec, k, rows, nil)
}

// PredictTrials returns scan k's responses on the given trials of session
// s of rec, each trial with its own behaviour: len(trials)×neurons values.
func (m *Mouse) PredictTrials(ctx context.Context, rec *recordings.Recordings, s *recordings.Session, k int, trials []int) ([]float32, error) {
	rows := make([]int, len(trials))
	for i, t := range trials {
		rows[i] = s.ImageIndex[t]
	}
	if m.Head.UsesBehavior() && s.Behavior == nil {
		return nil, fmt.Errorf("scan %q has no behaviour, which the predictor in %s reads", s.Name, m.Dir)
	}
	return m.predictRows(ctx, rec, k, rows, func(i int) ([2]float32, [2]float32) {
		if s.Behavior == nil {
			return [2]float32{}, [2]float32{}
		}
		return m.Head.Normalize[k].Standardize(s.Behavior.Eye(trials[i]), s.Behavior.Modulators(trials[i]))
	})
}

// predictRows predicts scan k on image rows in batches; behavior(i) gives
// the standardized behaviour of the i-th row (nil: the reference 0).
func (m *Mouse) predictRows(ctx context.Context, rec *recordings.Recordings, k int, rows []int, behavior func(i int) ([2]float32, [2]float32)) ([]float32, error) {
	if k < 0 || k >= len(m.Head.Readouts) {
		return nil, fmt.Errorf("the predictor in %s has %d scans, not %d", m.Dir, len(m.Head.Readouts), k+1)
	}
	h, w := rec.Images.H, rec.Images.W
	if ih, iw := m.Info.Input[0], m.Info.Input[1]; ih != h || iw != w {
		return nil, fmt.Errorf("the model in %s takes %d×%d images, the recording has %d×%d", m.Dir, ih, iw, h, w)
	}
	out := make([]float32, 0, len(rows)*m.Head.Readouts[k].Neurons)
	batch := mouseBatch(m.Head.Readouts[k].Neurons)
	for start := 0; start < len(rows); start += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := rows[start:min(start+batch, len(rows))]
		// A short last batch is padded with its last image, so that every
		// call has one shape (one graph, one set of buffers).
		n := len(chunk)
		if len(rows) > batch {
			n = batch
		}
		x := make([]float32, 0, n*h*w)
		eye := make([]float32, 2*n)
		mod := make([]float32, 2*n)
		for i := 0; i < n; i++ {
			j := min(i, len(chunk)-1)
			px := rec.Images.Pixels(chunk[j])
			m.Info.Normalize.Apply(px)
			x = append(x, px...)
			if behavior != nil {
				e, md := behavior(start + j)
				copy(eye[2*i:], e[:])
				copy(mod[2*i:], md[:])
			}
		}
		p, err := m.Predict(k, x, n, h, w, eye, mod)
		if err != nil {
			return nil, err
		}
		out = append(out, p[:len(chunk)*m.Head.Readouts[k].Neurons]...)
	}
	return out, nil
}
