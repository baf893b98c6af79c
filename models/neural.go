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

// readoutContext is the variable scope of readout k.
func readoutContext(ctx *context.Context, k int) *context.Context {
	return ctx.In("readout").In(fmt.Sprint(k))
}

// Responses predicts the neurons of readout k from the tapped layer of the
// core: Gaussian readout then ELU(y−1)+1 (spec §2.3), giving [N, Neurons]
// positive rates.
func (v VGG) Responses(ctx *context.Context, tapped *Node, k int, r Readout, opts nn.ReadoutOptions) *Node {
	return nn.ELUPlusOne(nn.GaussianReadout(readoutContext(ctx, k), tapped, r.Neurons, opts))
}

// AllResponses runs the core on images [N, H, W, 1] and every readout on
// its tapped layer, concatenating the neurons in readout order: [N, Σ Neurons].
func (v VGG) AllResponses(ctx *context.Context, x *Node, readouts []Readout, opts nn.ReadoutOptions) *Node {
	tapped := v.Core(ctx, x)
	parts := make([]*Node, len(readouts))
	for k, r := range readouts {
		parts[k] = v.Responses(ctx, tapped, k, r, opts)
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return graph.Concatenate(parts, 1)
}

// ReadoutL1 is Σ|w| over the feature weights of readout k, which must have
// been built in the graph of ctx already.
func ReadoutL1(ctx *context.Context, g *graph.Graph, k int) *Node {
	c := readoutContext(ctx, k)
	w := c.GetVariableByScopeAndName(c.Scope(), "features")
	return graph.ReduceAllSum(graph.Abs(w.ValueGraph(g)))
}

// TotalNeurons is the number of neurons over all readouts.
func TotalNeurons(readouts []Readout) int {
	n := 0
	for _, r := range readouts {
		n += r.Neurons
	}
	return n
}
