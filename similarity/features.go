package similarity

import "fmt"

// FeatureTarget is the similarity of a network layer's features on the
// images of base (Li et al.'s "VGG" control): features holds, for each of
// base's N images in order, m values (the layer's activations flattened);
// they are centred over the N images and normalized like population
// responses (UnitVectors) and S_ij = e_i·e_j. The result has base's images
// and ids, kind KindFeatures, and names the model in Notes. features is
// overwritten with the unit vectors.
func FeatureTarget(base *Target, features []float32, m int, model string) (*Target, error) {
	if m < 1 || len(features) != base.N*m {
		return nil, fmt.Errorf("similarity: %d feature values for %d images of %d features", len(features), base.N, m)
	}
	s, err := Matrix(features, base.N, m, nil)
	if err != nil {
		return nil, err
	}
	return &Target{N: base.N, S: s, H: base.H, W: base.W, Pixels: base.Pixels, ImageIDs: base.ImageIDs,
		Meta: Metadata{Kind: KindFeatures, Recordings: base.Meta.Recordings, Notes: "feature similarity of " + model}}, nil
}
