// Package report turns the results of a run of the Safarani et al. 2021
// experiment into the paper's tables and figures: clean accuracy per model
// (Table 2), robustness scores against the Baseline per corruption category
// and overall with bootstrap error bars (Fig. 3A, 3B), accuracy versus
// corruption severity (Fig. 2, Fig. 8), and the batch-ratio sweep with its
// regressions of robustness on clean accuracy and neural predictivity
// (Fig. 3C). It writes a text table, JSON and CSV results, PNG figures and a
// self-contained report.html.
//
// All statistics come from package evaluate; this package only arranges,
// formats and draws them. Every output is a deterministic function of the
// input (the bootstrap seed is part of it). The contents, figure definitions
// and file formats are described in docs/report.md.
package report
