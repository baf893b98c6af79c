package roles

import (
	"fmt"
	"strings"
)

// The regularizers of Li et al. 2019 Fig. 4: what a similarity-regularized
// ResNet is trained toward.
const (
	// LiNone is trained without the similarity regularizer.
	LiNone Role = "none"
	// LiNeuralModel is regularized toward S_model, the denoising
	// predictor's similarity (the paper's S_neural).
	LiNeuralModel Role = "neural-model"
	// LiNeuralData is regularized toward S_data, the single trials'
	// similarity.
	LiNeuralData Role = "neural-data"
	// LiShuffle is regularized toward S_model with its images permuted
	// (rows and columns alike).
	LiShuffle Role = "shuffle"
	// LiVGG is regularized toward the feature similarity of a VGG's conv3_1.
	LiVGG Role = "vgg"
)

// Li lists the regularizers of Li et al.'s Fig. 4 in the paper's legend
// order.
func Li() []Role { return []Role{LiNone, LiNeuralModel, LiNeuralData, LiShuffle, LiVGG} }

// ParseLi reads a regularizer name of Li et al.'s Fig. 4.
func ParseLi(s string) (Role, error) {
	for _, r := range Li() {
		if Role(s) == r {
			return r, nil
		}
	}
	var names []string
	for _, r := range Li() {
		names = append(names, string(r))
	}
	return "", fmt.Errorf("unknown regularizer %q; use one of %s", s, strings.Join(names, ", "))
}

// IsLi reports whether the role is one of Li et al.'s regularizers.
func (r Role) IsLi() bool {
	for _, l := range Li() {
		if r == l {
			return true
		}
	}
	return false
}

// liTitle is the label of Li et al.'s Fig. 4 legend.
func liTitle(r Role) (string, bool) {
	switch r {
	case LiNone:
		return "None", true
	case LiNeuralModel:
		return "Neural (model)", true
	case LiNeuralData:
		return "Neural (data)", true
	case LiShuffle:
		return "Shuffle", true
	case LiVGG:
		return "VGG", true
	}
	return "", false
}
