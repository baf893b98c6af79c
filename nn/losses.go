package nn

import (
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// CrossEntropy is the mean over the batch of −log softmax(logits)[label]:
// PyTorch's cross_entropy. logits [N, K], labels [N] integers.
func CrossEntropy(logits, labels *Node) *Node {
	logp := graph.LogSoftmax(logits, -1)
	k := logits.Shape().Dimensions[1]
	onehot := graph.OneHot(labels, k, logits.DType())
	return graph.Neg(graph.ReduceAllMean(graph.ReduceSum(graph.Mul(logp, onehot), 1)))
}

// Correct counts the rows whose arg-max logit equals the label; the result
// is an int32 scalar.
func Correct(logits, labels *Node) *Node {
	pred := graph.ArgMax(logits, 1, dtypes.Int32)
	hit := graph.ConvertDType(graph.Equal(pred, graph.ConvertDType(labels, dtypes.Int32)), dtypes.Int32)
	return graph.ReduceAllSum(hit)
}

// PoissonLoss is the summed Poisson negative log-likelihood without its
// constant, Σ (r̂ − y·log(r̂ + 1e−12)), over batch and neurons, as the
// original single-task V1 training used it (avg_loss=False).
func PoissonLoss(pred, target *Node) *Node {
	return graph.ReduceAllSum(graph.Sub(pred, graph.Mul(target, graph.Log(graph.AddScalar(pred, 1e-12)))))
}

// MSE is the mean over all elements of (pred − target)².
func MSE(pred, target *Node) *Node {
	return graph.ReduceAllMean(graph.Square(graph.Sub(pred, target)))
}

// EuclideanDistance is the mean over all positions of ‖a − b‖₂, the norm
// taken across the last (channel) axis, as √(|a − b|² + 1e−12) so that its
// gradient stays finite where the two agree: the per-position form of
// CosineDistance with the Euclidean distance in place of 1 − cos.
func EuclideanDistance(a, b *Node) *Node {
	d := graph.ReduceSum(graph.Square(graph.Sub(a, b)), a.Rank()-1)
	return graph.ReduceAllMean(graph.Sqrt(graph.AddScalar(d, 1e-12)))
}

// CosineDistance is the mean over all positions of 1 − cos(a, b), the
// cosine taken across the last (channel) axis: PyTorch's
// CosineEmbeddingLoss with target +1 on feature maps, with its guard
// cos = a·b / √((|a|² + 1e−12)(|b|² + 1e−12)).
func CosineDistance(a, b *Node) *Node {
	last := a.Rank() - 1
	dot := graph.ReduceSum(graph.Mul(a, b), last)
	na := graph.AddScalar(graph.ReduceSum(graph.Square(a), last), 1e-12)
	nb := graph.AddScalar(graph.ReduceSum(graph.Square(b), last), 1e-12)
	cos := graph.Div(dot, graph.Sqrt(graph.Mul(na, nb)))
	return graph.ReduceAllMean(graph.OneMinus(cos))
}
