package models

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/nn"
)

// SimilarityScope is the variable scope of the similarity head's layer
// weights.
const SimilarityScope = "/similarity"

// similarityLogits is the name of the head's trainable logits [K].
const similarityLogits = "logits"

// SimilarityHead is Li et al. 2019's similarity head (Eqs. 9–10): it
// compares the images of a batch by several core layers. For each layer k
// the features are flattened, centred over the batch and their cosines
// taken (nn.CenteredCosines): S_k [B, B]. The model similarity is the
// mixture S = Σ_k γ_k S_k with γ = softmax of K trainable logits (scope
// /similarity, variable "logits", initialized to 0: equal weights), so
// γ_k ≥ 0 and Σ γ_k = 1. The logits are exempt from weight decay.
type SimilarityHead struct {
	// Layers names the core layers compared (for Li's ResNet-18 the conv
	// layers 1, 5, 9, 13 and 17).
	Layers []string `json:"layers"`
}

// Validate checks that core has every layer of the head.
func (h SimilarityHead) Validate(core Core) error {
	if len(h.Layers) == 0 {
		return fmt.Errorf("similarity head: no layers")
	}
	for i, name := range h.Layers {
		if !slices.Contains(core.Layers(), name) {
			return fmt.Errorf("similarity head: layer %q is not a layer of the model (layers: %v)", name, core.Layers())
		}
		if slices.Contains(h.Layers[:i], name) {
			return fmt.Errorf("similarity head: layer %q is named twice", name)
		}
	}
	return nil
}

// Gamma is the layer weights γ = softmax(logits) [K] in the graph g, the
// logits created (at 0) with dtype dt.
func (h SimilarityHead) Gamma(ctx *context.Context, g *graph.Graph, dt dtypes.DType) *Node {
	c := ctx.InAbsPath(SimilarityScope)
	nn.NoWeightDecay(c, similarityLogits)
	logits := nn.Param(c, similarityLogits, dt, []int{len(h.Layers)}, nn.Constant(0)).ValueGraph(g)
	return graph.Softmax(logits, 0)
}

// Mix is S = Σ_k γ_k S_k for the features of the head's layers, in order,
// each [B, ...]: the model similarity [B, B].
func (h SimilarityHead) Mix(ctx *context.Context, features []*Node) *Node {
	if len(features) != len(h.Layers) {
		panic(fmt.Sprintf("similarity head: %d feature maps for %d layers", len(features), len(h.Layers)))
	}
	g := features[0].Graph()
	gamma := h.Gamma(ctx, g, features[0].DType())
	cos := make([]*Node, len(features))
	for k, f := range features {
		cos[k] = nn.CenteredCosines(f)
	}
	stacked := graph.Stack(cos, 0) // [K, B, B]
	return graph.ReduceSum(graph.Mul(stacked, graph.Reshape(gamma, len(cos), 1, 1)), 0)
}

// Similarity runs core on the images x [B, H, W, 1] as far as the head's
// deepest layer and returns the model similarity [B, B].
func (h SimilarityHead) Similarity(ctx *context.Context, core Core, x *Node) *Node {
	return h.Mix(ctx, core.Features(ctx, x, h.Layers...))
}

// GammaValues reads the layer weights γ from a context that holds the
// head's logits (a trained model's variables); ok is false without them.
func (h SimilarityHead) GammaValues(ctx *context.Context) (gamma []float64, ok bool) {
	v := ctx.GetVariableByScopeAndName(SimilarityScope, similarityLogits)
	if v == nil {
		return nil, false
	}
	t, err := v.Value()
	if err != nil {
		return nil, false
	}
	var logits []float64
	switch d := t.Value().(type) {
	case []float32:
		for _, x := range d {
			logits = append(logits, float64(x))
		}
	case []float64:
		logits = d
	default:
		return nil, false
	}
	if len(logits) != len(h.Layers) {
		return nil, false
	}
	return softmax(logits), true
}

// softmax is exp(x_k − max x) / Σ exp(x_j − max x).
func softmax(x []float64) []float64 {
	m := slices.Max(x)
	out := make([]float64, len(x))
	sum := 0.0
	for i, v := range x {
		out[i] = math.Exp(v - m)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}
