package experiment

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cotrain/cotrain/analysis"
	"github.com/cotrain/cotrain/checkpoint"
	"github.com/cotrain/cotrain/report"
)

// TestAnalysisPlan checks that the demo's analysis jobs read the first
// seed's classifiers, come after them and before the report, which reads
// their outputs.
func TestAnalysisPlan(t *testing.T) {
	c, err := Load("demo")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	p, err := NewPlan(c, root)
	if err != nil {
		t.Fatal(err)
	}
	report, err := p.reportJob()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		kind   string
		models int
	}{{AnalysisReconstruct, 5}, {AnalysisSaliency, 3}} {
		j, err := p.Analysis(tc.kind)
		if err != nil {
			t.Fatal(err)
		}
		if len(j.Inputs) != tc.models {
			t.Errorf("%s reads %d models, want %d: %v", tc.kind, len(j.Inputs), tc.models, j.Inputs)
		}
		at := slices.Index(p.Jobs, j)
		for _, in := range j.Inputs {
			if !strings.Contains(in, "seed-1") || filepath.Base(in) != checkpoint.ModelFile {
				t.Errorf("%s reads %s, want a seed-1 model", tc.kind, in)
			}
			for i, other := range p.Jobs {
				if other.Output == in && i > at {
					t.Errorf("%s (job %d) comes before %s (job %d), which makes its input", tc.kind, at+1, other.Name, i+1)
				}
			}
		}
		if !slices.Contains(report.Inputs, j.Output) {
			t.Errorf("the report does not wait for the %s analysis", tc.kind)
		}
	}
	if _, err := p.Analysis("nonsense"); err == nil {
		t.Error("an unknown analysis was found")
	}
}

// reportJob is the job that writes report.html (the Li et al. report may
// come after it).
func (p *Plan) reportJob() (*Job, error) {
	for _, j := range p.Jobs {
		if j.Output == filepath.Join(filepath.Dir(p.TableFile()), report.ReportHTML) {
			return j, nil
		}
	}
	return nil, fmt.Errorf("no job writes %s", report.ReportHTML)
}

// TestAnalysisConfigErrors checks the [analysis] errors a user can make.
func TestAnalysisConfigErrors(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"models = [\"baseline\"]\n[data]\nroot = \"x\"\n[analysis]\nimages = 2\nbudgets = []\n", "no budgets"},
		{"models = [\"baseline\"]\n[data]\nroot = \"x\"\n[analysis.saliency]\nimages = 2\n", `model "mtl-monkey" is not trained`},
		{"models = [\"baseline\"]\n[data]\nroot = \"x\"\n[analysis]\nimages = 2\nseverity = 6\n", "severity 6"},
		{"models = [\"baseline\"]\n[data]\nroot = \"x\"\n[analysis]\nimages = 2\n[analysis.classifier]\noptimizer = \"lbfgs\"\n", `optimizer "lbfgs"`},
	} {
		_, err := Parse("test.toml", []byte(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.text, err, tc.want)
		}
	}
	// Without images the analyses are off: the paper's defaults alone add
	// no job.
	c, err := Parse("test.toml", []byte("models = [\"baseline\"]\n[data]\nroot = \"x\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Analysis.Used() || c.Analysis.Steps != 8000 || !slices.Equal(c.Analysis.Budgets, analysis.PaperBudgets()) {
		t.Errorf("defaults: used %v, steps %d, budgets %v", c.Analysis.Used(), c.Analysis.Steps, c.Analysis.Budgets)
	}
}
