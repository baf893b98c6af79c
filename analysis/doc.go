// Package analysis holds Safarani et al.'s explanation of robustness (§4,
// Figs. 4–7, 10, 11, appendix A): the resource-constrained reconstruction
// of images from one layer of a trained core (minimize ‖f(x) − f(x₀)‖²
// subject to ‖x‖₂ ≤ r), the spectral control (the reconstruction's Fourier
// amplitude with the original's phase), the share of a reconstruction along
// the clean image versus along the noise of a noisy target, and the
// saliency norm ratio ρ = ‖salient(I)‖²/‖I‖² with masks binarized at a
// cumulative saliency mass, from external saliency maps or the built-in
// spectral-residual model (Hou & Zhang 2007).
//
// Images are one grayscale channel [H, W] in the model's normalized input
// space; a network that sees C channels receives the channel broadcast, as
// in training. The original optimized three channels independently
// (spec §5.1); here the one channel is optimized, and budgets are stated
// as the norm of the C-channel input the network sees (√C times the norm of
// the channel), the original's unit. docs/analysis.md describes the
// definitions and choices.
package analysis
