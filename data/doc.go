// Package data holds the image data layer of cotrain: labelled datasets
// (Tiny ImageNet from its standard folder, Fashion-MNIST from the Debian
// package), their deterministic train/validation/test splits, the
// augmentation and preprocessing transforms of the paper (random crop with
// zero padding, horizontal flip, nearest-neighbour rotation, grayscale,
// normalization), and a parallel, deterministic batch loader.
//
// The package does not depend on the ML engine: a Loader produces plain
// float32 batches (NHWC with one channel). Everything random is derived from
// an explicit seed, so a batch depends only on (seed, epoch, sample index),
// whatever the number of workers.
//
// docs/data.md describes the datasets, the splits, the grayscale formula,
// the normalization constants, the dataset spec grammar and the loader's
// determinism guarantee.
package data
