// Package attack finds minimal adversarial perturbations of trained
// classifiers, as Li et al. 2019 (§4.2, Fig. 5) measure adversarial
// robustness: per image the smallest L∞ or L2 perturbation, within the
// pixel box [0, 1], that changes the model's decision, found by strong
// gradient attacks with a search over their settings and the best kept.
//
// L∞ is PGD with a random start inside a search for the minimal ε per
// image over a grid of step sizes and iteration budgets; L2 is the
// Brendel–Bethge boundary attack from an adversarial starting point, with
// DDN as a cheaper cross-check (and as one of the starting points). The
// attacks run any Model (every models.Network) on any backend through
// compiled graphs of its logits and their input gradients, batched and in
// evaluation mode. Every reported perturbation is checked by a forward
// pass; images the model already misclassifies count as 0 and images no
// attack flips as +Inf, which the median handles.
package attack
