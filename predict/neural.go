package predict

import (
	"context"
	"fmt"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	gctx "github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/data"
	"github.com/cotrain/cotrain/data/recordings"
	"github.com/cotrain/cotrain/data/responses"
	"github.com/cotrain/cotrain/metrics"
	"github.com/cotrain/cotrain/models"
	"github.com/cotrain/cotrain/nn"
)

// Neural is a trained model with a neural head (a predictor or a
// co-trained model) ready to predict responses in eval mode: batch norm
// with running statistics, each readout reading at its mean position μ.
type Neural struct {
	Info    checkpoint.RunInfo
	Dir     string
	neurons int
	exec    *gctx.Exec
}

// LoadNeural loads the model with a neural head trained in dir.
func LoadNeural(b backends.Backend, dir string) (*Neural, error) {
	info, g, err := checkpoint.LoadRun(dir, checkpoint.KindPredictor, checkpoint.KindMTL)
	if err != nil {
		return nil, err
	}
	if len(info.Readouts) == 0 {
		return nil, fmt.Errorf("%s: %s lists no readouts", dir, checkpoint.RunFile)
	}
	core, err := info.Core()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	head := models.GaussianHead{Readouts: info.Readouts}
	layer := info.NeuralLayer()
	m := &Neural{Info: info, Dir: dir, neurons: head.Neurons()}
	m.exec, err = nn.Compile(b, g, func(ctx *gctx.Context, x *graph.Node) *graph.Node {
		return head.All(ctx, core.Features(ctx, x, layer)[0])
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Neurons is the number of neurons the model predicts (all readouts).
func (m *Neural) Neurons() int { return m.neurons }

// Predict returns the responses to a batch of n images (n×H×W×1, normalized
// as the model was trained), n×Neurons values row-major.
func (m *Neural) Predict(x []float32, n, h, w int) ([]float32, error) {
	out, err := nn.Call(m.exec, tensors.FromFlatDataAndDimensions(x, n, h, w, 1))
	if err != nil {
		return nil, fmt.Errorf("predicting responses: %w", err)
	}
	defer out[0].FinalizeAll()
	flat := make([]float32, 0, n*m.neurons)
	for _, row := range out[0].Value().([][]float32) {
		flat = append(flat, row...)
	}
	return flat, nil
}

// ResponseSet predicts the responses to every image of set (normalized as
// the model's RunInfo says), in set order.
func (m *Neural) ResponseSet(ctx context.Context, set data.Set, batch, workers int) (*responses.Set, error) {
	loader, err := data.NewEvalLoader(set, batch, m.Info.Normalize, workers)
	if err != nil {
		return nil, err
	}
	rs := &responses.Set{Source: set.Name(), Images: set.Len(), Neurons: m.neurons,
		Responses: make([]float32, 0, set.Len()*m.neurons), Meta: responses.Metadata{Predictor: m.Dir}}
	for b, err := range loader.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		r, err := m.Predict(b.X, b.N, b.H, b.W)
		if err != nil {
			return nil, err
		}
		rs.Responses = append(rs.Responses, r...)
	}
	if len(rs.Responses) != rs.Images*rs.Neurons {
		return nil, fmt.Errorf("predicted %d responses for %d images of %s", len(rs.Responses)/m.neurons, rs.Images, set.Name())
	}
	return rs, nil
}

// RecordingResponses predicts the responses to every image of a recording,
// normalized as the model's RunInfo says, in image order.
func (m *Neural) RecordingResponses(ctx context.Context, rec *recordings.Recordings, source string) (*responses.Set, error) {
	rows := make([]int, rec.Images.N)
	for i := range rows {
		rows[i] = i
	}
	pred, err := m.predictRecorded(ctx, rec, rows)
	if err != nil {
		return nil, err
	}
	rs := &responses.Set{Source: source, Images: len(rows), Neurons: m.neurons, Meta: responses.Metadata{Predictor: m.Dir}}
	for _, r := range rows {
		rs.Responses = append(rs.Responses, pred[r]...)
	}
	return rs, nil
}

// predictRecorded predicts the responses to the given images of rec.
func (m *Neural) predictRecorded(ctx context.Context, rec *recordings.Recordings, rows []int) (map[int][]float32, error) {
	if h, w := m.Info.Input[0], m.Info.Input[1]; h != rec.Images.H || w != rec.Images.W {
		return nil, fmt.Errorf("the model in %s takes %d×%d images, the recording has %d×%d", m.Dir, h, w, rec.Images.H, rec.Images.W)
	}
	const batch = 128
	h, w := rec.Images.H, rec.Images.W
	pred := make(map[int][]float32, len(rows))
	for start := 0; start < len(rows); start += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := rows[start:min(start+batch, len(rows))]
		x := make([]float32, 0, len(chunk)*h*w)
		for _, r := range chunk {
			px := rec.Images.Pixels(r)
			m.Info.Normalize.Apply(px)
			x = append(x, px...)
		}
		out, err := m.Predict(x, len(chunk), h, w)
		if err != nil {
			return nil, err
		}
		for i, r := range chunk {
			pred[r] = out[i*m.neurons : (i+1)*m.neurons]
		}
	}
	return pred, nil
}

// EvaluateV1 predicts the responses to the test images of rec and computes
// the neural metrics per neuron (spec §4.4): single-trial and
// repeat-average correlations, FEV, FEVe and oracle correlations, with
// means over the neurons sel selects. The model's readouts must cover the
// recording's neurons in session order.
func (m *Neural) EvaluateV1(ctx context.Context, rec *recordings.Recordings, sel metrics.NeuronSelection) (metrics.NeuralReport, error) {
	if n := rec.NumNeurons(); n != m.neurons {
		return metrics.NeuralReport{}, fmt.Errorf("the model in %s predicts %d neurons, the recording has %d", m.Dir, m.neurons, n)
	}
	if h, w := m.Info.Input[0], m.Info.Input[1]; h != rec.Images.H || w != rec.Images.W {
		return metrics.NeuralReport{}, fmt.Errorf("the model in %s takes %d×%d images, the recording has %d×%d",
			m.Dir, h, w, rec.Images.H, rec.Images.W)
	}
	pred, err := m.predictRecorded(ctx, rec, TestImages(rec))
	if err != nil {
		return metrics.NeuralReport{}, err
	}
	return rec.TestMetrics(pred, sel)
}

// TestImages lists the image rows of a recording's test trials.
func TestImages(rec *recordings.Recordings) []int {
	var rows []int
	seen := map[int]bool{}
	for k := range rec.Sessions {
		for _, grp := range rec.Sessions[k].TestByImage() {
			if !seen[grp.Image] {
				seen[grp.Image] = true
				rows = append(rows, grp.Image)
			}
		}
	}
	return rows
}
