package nn

import (
	"github.com/gomlx/gomlx/pkg/core/graph"
)

// cosineGuard keeps the norm of a centred feature vector away from zero in
// CenteredCosines: a vector equal to the batch mean gets cosine 0 with
// every other image instead of NaN.
const cosineGuard = 1e-12

// CenteredCosines is the representational similarity of a batch (Li et al.
// 2019 Eq. 9): the features f [B, ...] are flattened per image to f_i,
// centred by their mean over the batch, f̄ = mean_i f_i, and
// S_ij = (f_i − f̄)·(f_j − f̄) / (‖f_i − f̄‖ ‖f_j − f̄‖), each norm taken as
// √(‖f_i − f̄‖² + 1e−12). The result is [B, B], symmetric, 1 on the
// diagonal (for a vector that differs from the mean).
func CenteredCosines(f *Node) *Node {
	b := f.Shape().Dimensions[0]
	x := graph.Reshape(f, b, -1)
	c := graph.Sub(x, graph.ReduceAndKeep(x, graph.ReduceMean, 0))
	sq := graph.ReduceAndKeep(graph.Square(c), graph.ReduceSum, 1)
	u := graph.Div(c, graph.Sqrt(graph.AddScalar(sq, cosineGuard)))
	return graph.MatMul(u, graph.Transpose(u, 0, 1))
}

// Atanh is the inverse hyperbolic tangent ½·(log1p(x) − log1p(−x)) for x in
// (−1, 1).
func Atanh(x *Node) *Node {
	return graph.MulScalar(graph.Sub(graph.Log1p(x), graph.Log1p(graph.Neg(x))), 0.5)
}

// SimilarityLoss is Li et al.'s similarity loss (Eq. 8) averaged over the
// image pairs of a batch: the mean over the B(B−1)/2 pairs i < j of
// [atanh(S_ij) − atanh(T_ij)]², for a model similarity s and a target t,
// both [B, B]. Both are clamped to [−1 + clamp, 1 − clamp] before the
// arctanh, so that a cosine of ±1 gives a finite loss (a clamped model
// cosine gets no gradient). The diagonal (an image with itself) and the
// lower triangle (the same pairs again) do not count.
func SimilarityLoss(s, t *Node, clamp float64) *Node {
	g := s.Graph()
	b := s.Shape().Dimensions[0]
	mask := make([][]float64, b)
	for i := range mask {
		mask[i] = make([]float64, b)
		for j := i + 1; j < b; j++ {
			mask[i][j] = 1
		}
	}
	pairs := float64(b*(b-1)) / 2
	lo, hi := -1+clamp, 1-clamp
	d := graph.Sub(Atanh(graph.ClipScalar(s, lo, hi)), Atanh(graph.ClipScalar(t, lo, hi)))
	m := graph.ConvertDType(graph.Const(g, mask), s.DType())
	return graph.DivScalar(graph.ReduceAllSum(graph.Mul(graph.Square(d), m)), pairs)
}
