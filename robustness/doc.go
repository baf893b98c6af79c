// Package robustness runs the corruption benchmark of Safarani et al. 2021:
// a trained classifier is tested on the clean test images and on every
// test image corrupted by each of 14 ImageNet-C corruptions (all 15 but
// glass_blur) at severities 1 to 5, and the per-image results fill an
// evaluate.AccuracyMatrix.
//
// Corrupted images are made on the fly by the data loader's photometric
// view, in the paper's order: the uint8 image is corrupted (package
// corrupt), then converted to gray and normalized with the model's
// constants. The loader's workers corrupt the next batches while the model
// classifies the current one, and the next (corruption, severity) cell
// starts loading before the previous one has been classified, so the
// benchmark streams without pauses.
//
// The corruption noise of test image k in a cell depends only on the
// corruption seed, the corruption, the severity and k: every model
// evaluated with the same seed sees exactly the same corrupted images,
// whatever the number of workers, which is what paired comparisons and the
// bootstrap of package evaluate need.
//
// Instead of corrupting on the fly, an evaluation can read precomputed
// corrupted images from a folder in the Tiny-ImageNet-C layout (Folder).
//
// docs/robustness.md describes the order of operations, the random
// streams, gray data sets, the parameter tables, the Tiny-ImageNet-C
// folders and the measured throughput.
package robustness
