// Package metrics holds the numeric core of cotrain's evaluation: neural
// predictivity metrics on repeated test trials (single-trial and
// repeat-averaged correlation, FEV and FEVe, oracle correlations), per-image
// classification correctness under corruptions with the paper's robustness
// score and its per-category breakdown, bootstrap error bars over test
// images, mCE, and the ordinary-least-squares regressions of Safarani et al.
// 2021 Fig. 3C.
//
// Every formula, convention (zero-variance neurons, NaN handling) and choice
// (bootstrap unit and count) is written out in docs/metrics.md.
package metrics
