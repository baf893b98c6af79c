package models

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/cotrain/cotrain/nn"
)

// Readout describes one Gaussian readout of a neural head: the neurons of
// one recording session (the Monkey Predictor has one per session), or all
// neurons of a response set (the co-trained models have one).
type Readout struct {
	// Name identifies the readout for people (a session name).
	Name string `json:"name"`
	// Neurons is the number of neurons it predicts.
	Neurons int `json:"neurons"`
}

// GaussianHead is a neural head: one Gaussian readout per entry of
// Readouts, each reading a core layer's feature map at learned positions,
// followed by ELU(y−1)+1 (spec §2.3). Readout k's variables live in the
// scope /readout/k.
type GaussianHead struct {
	Readouts []Readout
	Options  nn.ReadoutOptions
}

// scope is the variable scope of readout k.
func (GaussianHead) scope(ctx *context.Context, k int) *context.Context {
	return ctx.In("readout").In(fmt.Sprint(k))
}

// Responses predicts the neurons of readout k from a feature map
// [N, H, W, C]: [N, Neurons] positive rates.
func (h GaussianHead) Responses(ctx *context.Context, features *Node, k int) *Node {
	return nn.ELUPlusOne(nn.GaussianReadout(h.scope(ctx, k), features, h.Readouts[k].Neurons, h.Options))
}

// All runs every readout on the feature map and concatenates the neurons
// in readout order: [N, Σ Neurons].
func (h GaussianHead) All(ctx *context.Context, features *Node) *Node {
	parts := make([]*Node, len(h.Readouts))
	for k := range h.Readouts {
		parts[k] = h.Responses(ctx, features, k)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return graph.Concatenate(parts, 1)
}

// L1 is Σ|w| over the feature weights of readout k, which must have been
// built in the graph of ctx already.
func (h GaussianHead) L1(ctx *context.Context, g *graph.Graph, k int) *Node {
	c := h.scope(ctx, k)
	w := c.GetVariableByScopeAndName(c.Scope(), "features")
	return graph.ReduceAllSum(graph.Abs(w.ValueGraph(g)))
}

// Neurons is the number of neurons over all readouts.
func (h GaussianHead) Neurons() int {
	n := 0
	for _, r := range h.Readouts {
		n += r.Neurons
	}
	return n
}
