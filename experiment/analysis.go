package experiment

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/cotrain/cotrain/analysis"
	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/corrupt"
	"github.com/cotrain/cotrain/report"
	"github.com/cotrain/cotrain/roles"
)

// The analysis jobs' names (Plan.Analysis).
const (
	AnalysisReconstruct = "reconstruct"
	AnalysisSaliency    = "saliency"
)

func (l layout) analysis(kind string) string { return l.path("analysis", kind) }

// validateAnalysis checks that the analyses' models are trained by the
// experiment.
func (c Config) validateAnalysis() error {
	a := c.Analysis
	if err := a.Validate(); err != nil {
		return err
	}
	if !a.Used() {
		return nil
	}
	have := c.roles()
	var need []roles.Role
	if a.Images > 0 {
		need = append(need, a.Models...)
	}
	if a.Saliency.Images > 0 {
		need = append(need, a.Saliency.Models...)
	}
	for _, m := range need {
		if !slices.Contains(have, m) {
			return fmt.Errorf("[analysis]: model %q is not trained by this experiment: add it to models", m)
		}
	}
	if a.ModelSeed != 0 && !slices.Contains(c.Seeds, a.ModelSeed) {
		return fmt.Errorf("[analysis] model_seed %d is not one of the seeds %v", a.ModelSeed, c.Seeds)
	}
	return nil
}

// analysisRuns lists the models of an analysis: the given roles, or every
// classifier of the experiment, at the analysis's seed.
func (c Config) analysisRuns(l layout, want []roles.Role) []analysis.ModelRun {
	seed := c.Analysis.ModelSeed
	if seed == 0 {
		seed = c.Seeds[0]
	}
	if len(want) == 0 {
		for _, r := range c.roles() {
			if r.Classifies() {
				want = append(want, r)
			}
		}
	}
	var runs []analysis.ModelRun
	for _, r := range want {
		runs = append(runs, analysis.ModelRun{Name: r.Title(), Role: r, Dir: l.model(r, seed)})
	}
	return runs
}

// addAnalyses adds the analysis jobs (after the models they read).
func (p *Plan) addAnalyses(l layout) {
	a := p.Config.Analysis
	inputs := func(runs []analysis.ModelRun) []string {
		var in []string
		for _, r := range runs {
			in = append(in, filepath.Join(r.Dir, checkpoint.ModelFile))
		}
		return in
	}
	if a.Images > 0 {
		runs := p.Config.analysisRuns(l, a.Models)
		dir := l.analysis(AnalysisReconstruct)
		p.add(&Job{Name: fmt.Sprintf("analysis: reconstruct %d noisy test images at %d budgets from %d models", a.Images, len(a.Budgets), len(runs)),
			Inputs: inputs(runs), Output: filepath.Join(dir, analysis.GridFile), Results: []string{filepath.Join(dir, analysis.GridFile)},
			run: func(r *runner) error { return r.reconstructGrid(runs, dir) }})
	}
	if a.Saliency.Images > 0 {
		runs := p.Config.analysisRuns(l, a.Saliency.Models)
		dir := l.analysis(AnalysisSaliency)
		p.add(&Job{Name: fmt.Sprintf("analysis: saliency of %d clean test images at %d budgets from %d models", a.Saliency.Images, len(a.Budgets), len(runs)),
			Inputs: inputs(runs), Output: filepath.Join(dir, analysis.SaliencyFile), Results: []string{filepath.Join(dir, analysis.SaliencyFile)},
			run: func(r *runner) error { return r.saliencyAnalysis(runs, dir) }})
	}
}

// Analysis returns the analysis job of kind (AnalysisReconstruct or
// AnalysisSaliency).
func (p *Plan) Analysis(kind string) (*Job, error) {
	out := map[string]string{AnalysisReconstruct: analysis.GridFile, AnalysisSaliency: analysis.SaliencyFile}[kind]
	if out == "" {
		return nil, fmt.Errorf("no analysis %q (known: %s, %s)", kind, AnalysisReconstruct, AnalysisSaliency)
	}
	path := filepath.Join(layout{p.Root}.analysis(kind), out)
	for _, j := range p.Jobs {
		if j.Output == path {
			return j, nil
		}
	}
	return nil, fmt.Errorf("experiment %q has no %s analysis: set images in [analysis] (reconstruct) or [analysis.saliency] (saliency)", p.Config.Name, kind)
}

// analysisOutputs lists the analysis jobs' outputs (the report's inputs).
func (p *Plan) analysisOutputs() []string {
	var out []string
	for _, kind := range []string{AnalysisReconstruct, AnalysisSaliency} {
		if j, err := p.Analysis(kind); err == nil {
			out = append(out, j.Output)
		}
	}
	return out
}

func (r *runner) reconstructGrid(runs []analysis.ModelRun, dir string) error {
	s, err := r.data()
	if err != nil {
		return err
	}
	a, e := r.cfg.Analysis, r.cfg.Evaluation
	cor, err := corrupt.New(corrupt.Options{Table: e.Table, FrostDir: e.FrostDir})
	if err != nil {
		return err
	}
	imgs, err := analysis.LoadImages(s.Test, s.Normalize, a.First, a.Images, &analysis.Noise{Corrupter: cor, Name: a.Noise, Severity: a.Severity, Seed: a.Seed})
	if err != nil {
		return err
	}
	g, _, err := analysis.RunGrid(r.ctx, r.env.Backend, runs, imgs, a, dir, r.log)
	if err != nil {
		return err
	}
	for _, m := range g.Models {
		fmt.Fprintf(r.log, "%s: content share %s over budgets %v (%.0f s)\n", m.Name, formatShares(m.Share), g.Budgets, m.Seconds)
	}
	return nil
}

func formatShares(v []float64) string {
	s := ""
	for i, x := range v {
		if i > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.3f", x)
	}
	return s
}

func (r *runner) saliencyAnalysis(runs []analysis.ModelRun, dir string) error {
	s, err := r.data()
	if err != nil {
		return err
	}
	a := r.cfg.Analysis
	imgs, err := analysis.LoadImages(s.Test, s.Normalize, a.Saliency.First, a.Saliency.Images, nil)
	if err != nil {
		return err
	}
	maps, source := analysis.SaliencyMaps(analysis.SpectralResidualMaps), "spectral residual (Hou & Zhang 2007)"
	if a.Saliency.Maps != "" {
		f, err := analysis.OpenSaliencyFolder(a.Saliency.Maps)
		if err != nil {
			return err
		}
		maps, source = analysis.FolderMaps(f), "maps in "+a.Saliency.Maps
	}
	if _, _, err := analysis.RunGrid(r.ctx, r.env.Backend, runs, imgs, a, dir, r.log); err != nil {
		return err
	}
	d, err := analysis.LoadGrid(dir)
	if err != nil {
		return err
	}
	sal, err := analysis.AnalyzeSaliency(d, maps, source, a.Saliency.Mass, dir)
	if err != nil {
		return err
	}
	for _, c := range sal.Above {
		fmt.Fprintf(r.log, "%s above the diagonal against %s: %s over budgets %v\n", sal.Reference, c.Name, formatShares(c.Fraction), sal.Budgets)
	}
	return nil
}

// analysisFigures renders the analyses that are done, for the report.
func (r *runner) analysisFigures(l layout) ([]report.Figure, []string, error) {
	var grid, sal *analysis.GridData
	var sd *analysis.SaliencyData
	if _, err := os.Stat(filepath.Join(l.analysis(AnalysisReconstruct), analysis.GridFile)); err == nil {
		if grid, err = analysis.LoadGrid(l.analysis(AnalysisReconstruct)); err != nil {
			return nil, nil, err
		}
	}
	if _, err := os.Stat(filepath.Join(l.analysis(AnalysisSaliency), analysis.SaliencyFile)); err == nil {
		if sal, err = analysis.LoadGrid(l.analysis(AnalysisSaliency)); err != nil {
			return nil, nil, err
		}
		if sd, err = analysis.LoadSaliency(l.analysis(AnalysisSaliency)); err != nil {
			return nil, nil, err
		}
	}
	if grid == nil && sd == nil {
		return nil, nil, nil
	}
	return report.AnalysisFigures(grid, sal, sd)
}

// PaperAnalysis is the paper's analysis settings (analysis.Paper) with no
// images, so that an experiment runs the analyses only when it names them
// (paper.toml does: 70 images).
func PaperAnalysis() analysis.Config {
	a := analysis.Paper()
	a.Images, a.Saliency.Images = 0, 0
	return a
}
