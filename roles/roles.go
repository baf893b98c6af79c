// Package roles names the roles models play in cotrain's experiments: the
// six models of Safarani et al. 2021 Table 1 (the Baseline, the Monkey
// Predictor, the Oracle and the three co-trained models) and the
// regularizers of Li et al. 2019 Fig. 4 (li.go). It is the one
// vocabulary the experiment files, the job plan, the command line and the
// report share.
package roles

import (
	"fmt"
	"strings"
)

// Role says what a model is in an experiment. It picks the jobs that make
// the model, its label in tables and its colour in the figures.
type Role string

// The roles of the paper's Table 1, plus Other for anything else.
const (
	// Baseline is a classifier trained on clean images only.
	Baseline Role = "baseline"
	// MonkeyPredictor predicts V1 responses and does not classify.
	MonkeyPredictor Role = "monkey-predictor"
	// Oracle is a classifier trained on corrupted images, whose layers up
	// to conv3_1 are then frozen and the rest retrained on clean images.
	Oracle Role = "oracle"
	// MTLOracle is co-trained on the Oracle's conv3_1 responses.
	MTLOracle Role = "mtl-oracle"
	// MTLMonkey is co-trained on the Monkey Predictor's responses.
	MTLMonkey Role = "mtl-monkey"
	// MTLShuffled is co-trained on shuffled Monkey Predictor responses.
	MTLShuffled Role = "mtl-shuffled"
	// Other is any other model (a report input that names no role).
	Other Role = "other"
)

// Table1 lists the roles of the paper's Table 1 in the order their jobs
// run: every role comes after the roles it needs.
func Table1() []Role {
	return []Role{Baseline, MonkeyPredictor, Oracle, MTLOracle, MTLMonkey, MTLShuffled}
}

// Parse reads a role name, with the empty name read as Other.
func Parse(s string) (Role, error) {
	if s == "" {
		return Other, nil
	}
	r := Role(s)
	for _, v := range append(Table1(), Other) {
		if r == v {
			return r, nil
		}
	}
	var names []string
	for _, v := range Table1() {
		names = append(names, string(v))
	}
	return "", fmt.Errorf("unknown model kind %q; use one of %s", s, strings.Join(names, ", "))
}

// Title is the role's label in tables and legends, as the paper writes it.
func (r Role) Title() string {
	switch r {
	case Baseline:
		return "Baseline"
	case MonkeyPredictor:
		return "Monkey Predictor"
	case Oracle:
		return "Oracle"
	case MTLOracle:
		return "MTL-Oracle"
	case MTLMonkey:
		return "MTL-Monkey"
	case MTLShuffled:
		return "MTL-Shuffled"
	}
	if t, ok := liTitle(r); ok {
		return t
	}
	return string(r)
}

// IsMTL reports whether the role is a co-trained (multi-task) classifier.
func (r Role) IsMTL() bool { return r == MTLMonkey || r == MTLOracle || r == MTLShuffled }

// Classifies reports whether the role's model classifies images.
func (r Role) Classifies() bool { return r != MonkeyPredictor }

// NeedsV1 reports whether making the role's model needs V1 recordings.
func (r Role) NeedsV1() bool { return r != Baseline && r != Oracle && r != Other && !r.IsLi() }

// Needs lists the roles whose models the role's jobs read, besides the
// Baseline every classifier is compared with.
func (r Role) Needs() []Role {
	switch r {
	case MTLMonkey, MTLShuffled:
		return []Role{MonkeyPredictor}
	case MTLOracle:
		return []Role{Oracle}
	}
	return nil
}
