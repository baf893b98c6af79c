// Package predict loads trained models from their run directories and runs
// them on images: class predictions of classifiers (clean or corrupted
// images) and neural responses of V1 predictors. Models load on any
// backend, whichever trained them.
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
	"github.com/cotrain/cotrain/nn"
)

// Classifier is a trained classifier ready to predict.
type Classifier struct {
	Info checkpoint.RunInfo
	b    backends.Backend
	g    *gctx.Context
	exec *gctx.Exec
}

// LoadClassifier loads the classifier trained in dir (its run.json and
// model.npz): a Baseline, an Oracle or a co-trained model.
func LoadClassifier(b backends.Backend, dir string) (*Classifier, error) {
	info, g, err := checkpoint.LoadRun(dir, checkpoint.KindClassifier, checkpoint.KindMTL, checkpoint.KindSimilarity)
	if err != nil {
		return nil, err
	}
	net, err := info.Network()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	c := &Classifier{Info: info, b: b, g: g}
	c.exec, err = nn.Compile(b, g, func(ctx *gctx.Context, x, labels *graph.Node) (*graph.Node, *graph.Node) {
		logits := net.Logits(ctx, x)
		return graph.ArgMax(logits, 1), nn.Correct(logits, labels)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Predict returns the predicted class of each image of a batch
// (n×H×W×1, normalized as the model was trained).
func (c *Classifier) Predict(x []float32, n, h, w int) ([]int, error) {
	labels := make([]int32, n)
	out, err := nn.Call(c.exec, tensors.FromFlatDataAndDimensions(x, n, h, w, 1), tensors.FromFlatDataAndDimensions(labels, n))
	if err != nil {
		return nil, fmt.Errorf("predicting: %w", err)
	}
	pred := make([]int, n)
	switch p := out[0].Value().(type) {
	case []int32:
		for i, v := range p {
			pred[i] = int(v)
		}
	case []int64:
		for i, v := range p {
			pred[i] = int(v)
		}
	default:
		return nil, fmt.Errorf("predicting: unexpected output %T", p)
	}
	for _, t := range out {
		t.FinalizeAll()
	}
	return pred, nil
}

// Correct runs the classifier over every batch of loader and returns, per
// example in loader order, whether it was classified correctly.
func (c *Classifier) Correct(ctx context.Context, loader *data.Loader) ([]bool, error) {
	var correct []bool
	for b, err := range loader.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		pred, err := c.Predict(b.X, b.N*b.Views, b.H, b.W)
		if err != nil {
			return nil, err
		}
		for i, p := range pred[:b.N] {
			correct = append(correct, p == int(b.Labels[i]))
		}
	}
	return correct, nil
}

// Accuracy is the percentage of true values.
func Accuracy(correct []bool) float64 {
	n := 0
	for _, c := range correct {
		if c {
			n++
		}
	}
	return 100 * float64(n) / float64(max(len(correct), 1))
}
