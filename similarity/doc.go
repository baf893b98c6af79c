// Package similarity computes Li et al. 2019's representational similarity
// of neural populations ("Learning From Brains How to Regularize Machines",
// §2, Eqs. 1–6) and holds the resulting target matrix that a similarity
// regularizer trains toward.
//
// The per-neuron weights are the signal-to-noise weight w_a = σ_a/η_a from
// the repeated oracle images (Eq. 1) and the predictivity v_a, the
// correlation of a predictor's output with the held-out responses (§2.2).
// A population response to image i is a vector r_i (raw trials scaled by
// w, or predictions scaled by w·v); the vectors are centred across images
// and normalized, and the similarity of images i and j is the dot product
// of their unit vectors: S_data for single trials (Eq. 2), S_oracle for
// the mean over all cross-trial pairs of two oracle images (Eq. 3) and
// S_model for the predictions (Eq. 6). A Target is one such matrix over a
// set of images, averaged over scans, stored with the images in an .npz
// file (Save, Load); Shuffled gives the Shuffle control of Li's Fig. 4.
package similarity
