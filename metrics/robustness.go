package metrics

import (
	"errors"
	"fmt"
	"slices"
)

// Category is a named group of corruptions (Hendrycks & Dietterich 2019).
type Category struct {
	// Name is "noise", "blur", "weather" or "digital".
	Name string `json:"name"`
	// Corruptions lists the member corruptions (imagecorruptions names).
	Corruptions []string `json:"corruptions"`
}

// Taxonomy groups corruptions into categories, in the order scores list
// them; report builds the ImageNet-C one from package corrupt.
type Taxonomy []Category

// category returns the name of the category of a corruption, or "".
func (t Taxonomy) category(corruption string) string {
	for _, cat := range t {
		if slices.Contains(cat.Corruptions, corruption) {
			return cat.Name
		}
	}
	return ""
}

// CategoryScore is the robustness score of one category.
type CategoryScore struct {
	// Name is the category name.
	Name string `json:"name"`
	// Corruptions lists the scored corruptions in the category.
	Corruptions []string `json:"corruptions"`
	// Score is the mean of the per-corruption ratios of the category.
	Score float64 `json:"score"`
}

// RobustnessScore is the robustness of a model relative to the Baseline,
// as a fraction (the Baseline scores 1; the paper plots 100 × Score in %).
type RobustnessScore struct {
	// Score is the mean over the scored corruptions of Ratios.
	Score float64 `json:"score"`
	// Corruptions lists the scored corruptions.
	Corruptions []string `json:"corruptions"`
	// Ratios[c] is Ā_c(model)/Ā_c(Baseline), Ā_c being the accuracy under
	// corruption c averaged over severities and seeds.
	Ratios []float64 `json:"ratios"`
	// Categories holds the per-category scores, in the taxonomy's order
	// (noise, blur, weather, digital), for the categories with at least one
	// scored corruption.
	Categories []CategoryScore `json:"categories"`
}

// categoryGroups returns, for each category of tax with a member among
// corruptions, the category (restricted to those members) and the indices
// of its members in corruptions. Every corruption must have a category.
func categoryGroups(corruptions []string, tax Taxonomy) ([]Category, [][]int, error) {
	if len(tax) == 0 {
		return nil, nil, errors.New("no corruption categories given (report builds the ImageNet-C taxonomy from package corrupt)")
	}
	for _, c := range corruptions {
		if tax.category(c) == "" {
			return nil, nil, fmt.Errorf("corruption %q has no category", c)
		}
	}
	var cats []Category
	var idx [][]int
	for _, cat := range tax {
		var members []string
		var ix []int
		for i, c := range corruptions {
			if slices.Contains(cat.Corruptions, c) {
				members = append(members, c)
				ix = append(ix, i)
			}
		}
		if len(members) > 0 {
			cats = append(cats, Category{Name: cat.Name, Corruptions: members})
			idx = append(idx, ix)
		}
	}
	return cats, idx, nil
}

// scorer turns per-corruption mean accuracies into a RobustnessScore for a
// fixed list of corruptions.
type scorer struct {
	corruptions []string
	cats        []Category
	catIdx      [][]int
}

func newScorer(corruptions []string, tax Taxonomy) (*scorer, error) {
	if err := checkCorruptionNames(corruptions); err != nil {
		return nil, err
	}
	cats, idx, err := categoryGroups(corruptions, tax)
	if err != nil {
		return nil, err
	}
	return &scorer{corruptions: corruptions, cats: cats, catIdx: idx}, nil
}

// score computes the RobustnessScore from Ā_c of the model and of the
// Baseline, in the order of s.corruptions.
func (s *scorer) score(model, baseline []float64) (RobustnessScore, error) {
	r := RobustnessScore{
		Corruptions: append([]string(nil), s.corruptions...),
		Ratios:      make([]float64, len(s.corruptions)),
	}
	for c := range s.corruptions {
		if !(baseline[c] > 0) {
			return RobustnessScore{}, fmt.Errorf("baseline accuracy on %s is %g %%; the ratio is undefined", s.corruptions[c], baseline[c])
		}
		r.Ratios[c] = model[c] / baseline[c]
	}
	r.Score = mean(r.Ratios)
	for k, cat := range s.cats {
		var sum float64
		for _, i := range s.catIdx[k] {
			sum += r.Ratios[i]
		}
		r.Categories = append(r.Categories, CategoryScore{
			Name:        cat.Name,
			Corruptions: append([]string(nil), cat.Corruptions...),
			Score:       sum / float64(len(s.catIdx[k])),
		})
	}
	return r, nil
}

// corruptionMeans returns Ā_c of t for each of corruptions.
func corruptionMeans(t AccuracyTable, corruptions []string, role string) ([]float64, error) {
	out := make([]float64, len(corruptions))
	for i, c := range corruptions {
		a, err := t.CorruptionMean(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", role, err)
		}
		out[i] = a
	}
	return out, nil
}

// pairedTables validates two accuracy tables for comparison and resolves
// the corruption list (nil means every corruption of ref, in its order).
func pairedTables(t, ref AccuracyTable, corruptions []string, role, refRole string) ([]string, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", role, err)
	}
	if err := ref.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", refRole, err)
	}
	if t.Severities() != ref.Severities() {
		return nil, fmt.Errorf("%s has %d severities but %s has %d", role, t.Severities(), refRole, ref.Severities())
	}
	if corruptions == nil {
		corruptions = ref.Corruptions
	}
	return append([]string(nil), corruptions...), nil
}

// Robustness returns the robustness score of Safarani et al. 2021 of model
// relative to baseline over the given corruptions (nil: every corruption of
// baseline; pass corrupt.Paper14() for the paper's 14), grouped into the
// categories of tax:
//
//	score = (1/C) Σ_c Ā_c(model) / Ā_c(baseline),
//
// where Ā_c is the accuracy under corruption c averaged over severities and
// seeds (the tables are expected to be MeanTables), together with the
// per-corruption ratios and the per-category means of the ratios.
func Robustness(model, baseline AccuracyTable, corruptions []string, tax Taxonomy) (RobustnessScore, error) {
	corruptions, err := pairedTables(model, baseline, corruptions, "model", "baseline")
	if err != nil {
		return RobustnessScore{}, err
	}
	s, err := newScorer(corruptions, tax)
	if err != nil {
		return RobustnessScore{}, err
	}
	m, err := corruptionMeans(model, corruptions, "model")
	if err != nil {
		return RobustnessScore{}, err
	}
	b, err := corruptionMeans(baseline, corruptions, "baseline")
	if err != nil {
		return RobustnessScore{}, err
	}
	return s.score(m, b)
}

// CorruptionErrors holds corruption errors relative to a reference model
// (Hendrycks & Dietterich 2019), as fractions (×100 for %).
type CorruptionErrors struct {
	// Corruptions lists the corruptions.
	Corruptions []string `json:"corruptions"`
	// CE[c] = Σ_s E_{s,c} / Σ_s E^ref_{s,c}, with E = 100 − accuracy.
	CE []float64 `json:"ce"`
	// RelativeCE[c] = Σ_s (E_{s,c} − E_clean) / Σ_s (E^ref_{s,c} − E^ref_clean).
	RelativeCE []float64 `json:"relative_ce"`
	// MCE is the mean of CE.
	MCE float64 `json:"mce"`
	// RelativeMCE is the mean of RelativeCE.
	RelativeMCE float64 `json:"relative_mce"`
}

// CorruptionError returns the corruption errors (CE, mCE) and relative
// corruption errors of model against reference over the given corruptions
// (nil: every corruption of reference). It is an error when a reference
// denominator is zero (for the relative CE: when the reference loses no
// accuracy under a corruption).
func CorruptionError(model, reference AccuracyTable, corruptions []string) (CorruptionErrors, error) {
	corruptions, err := pairedTables(model, reference, corruptions, "model", "reference")
	if err != nil {
		return CorruptionErrors{}, err
	}
	if err := checkCorruptionNames(corruptions); err != nil {
		return CorruptionErrors{}, err
	}
	out := CorruptionErrors{
		Corruptions: corruptions,
		CE:          make([]float64, len(corruptions)),
		RelativeCE:  make([]float64, len(corruptions)),
	}
	for i, c := range corruptions {
		mi, ok := model.index(c)
		if !ok {
			return CorruptionErrors{}, fmt.Errorf("model: accuracy table has no corruption %q", c)
		}
		ri, ok := reference.index(c)
		if !ok {
			return CorruptionErrors{}, fmt.Errorf("reference: accuracy table has no corruption %q", c)
		}
		var e, eRef, rel, relRef float64
		for s := range model.Accuracy[mi] {
			e += 100 - model.Accuracy[mi][s]
			eRef += 100 - reference.Accuracy[ri][s]
			rel += model.Clean - model.Accuracy[mi][s]
			relRef += reference.Clean - reference.Accuracy[ri][s]
		}
		if eRef == 0 {
			return CorruptionErrors{}, fmt.Errorf("reference error on %s is 0 at every severity; CE is undefined", c)
		}
		if relRef == 0 {
			return CorruptionErrors{}, fmt.Errorf("reference loses no accuracy on %s; relative CE is undefined", c)
		}
		out.CE[i] = e / eRef
		out.RelativeCE[i] = rel / relRef
	}
	out.MCE = mean(out.CE)
	out.RelativeMCE = mean(out.RelativeCE)
	return out, nil
}
