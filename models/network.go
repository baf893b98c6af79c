package models

import (
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// Core is the shared trunk of a model: layers with names, run on images
// [N, H, W, 1]. Heads read a core layer's activations: a GaussianHead
// predicts neurons from one, a classification head turns the last into
// logits, a similarity head compares images by several. So one core serves
// classification, neural prediction and similarity regularization, as
// neuralpredictors separates cores from readouts.
type Core interface {
	// Validate checks the configuration.
	Validate() error
	// Layers lists, in execution order, the names of the layers Features
	// can return.
	Layers() []string
	// Features runs the core on images [N, H, W, 1] only as far as the
	// deepest of the named layers and returns their activations.
	Features(ctx *context.Context, x *Node, layers ...string) []*Node
	// ScopesThrough lists the variable scopes of the layers up to and
	// including layer: what a frozen core holds.
	ScopesThrough(layer string) ([]string, error)
}

// Network is a classifier: a core with a classification head (VGG, ResNet).
type Network interface {
	Core
	// NumClasses is the number of output classes.
	NumClasses() int
	// Forward runs the whole network and returns the logits [N, classes]
	// and the activations of the named layers.
	Forward(ctx *context.Context, x *Node, layers ...string) (*Node, []*Node)
	// Logits runs the whole network: [N, classes].
	Logits(ctx *context.Context, x *Node) *Node
	// Summary lists the layers, their output shapes for square inputs of
	// side input, and the trainable parameter count.
	Summary(input int) ([]Layer, int, error)
}

var _ Network = VGG{}
