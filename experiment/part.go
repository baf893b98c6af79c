package experiment

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/cotrain/cotrain/recipes"
)

// Papers names the parts of an experiment that run alone (RunPart):
// "safarani2021" (the first paper's models, sweep and report) and
// PaperLi2019.
func Papers() map[string]string {
	return map[string]string{"safarani2021": "", PaperLi2019: PaperLi2019}
}

// RunPart runs the jobs of one paper (Plan.Part) like Run, skipping
// finished ones, with that paper's report job always run, and writes its
// results table to out.
func (p *Plan) RunPart(ctx context.Context, envs []recipes.Env, out io.Writer, name string) error {
	if len(envs) == 0 {
		return errNoEnv
	}
	paper, ok := Papers()[name]
	if !ok {
		return fmt.Errorf("no part %q of an experiment (parts: safarani2021, %s)", name, PaperLi2019)
	}
	jobs := p.Part(paper)
	var always *Job
	for _, j := range jobs {
		if j.Paper == paper {
			always = j // the part's last job: its report
		}
	}
	if always == nil {
		return fmt.Errorf("experiment %q has no jobs of %s", p.Config.Name, name)
	}
	start := time.Now()
	if err := p.RunJobsAt(ctx, envs, out, jobs, always); err != nil {
		return err
	}
	fmt.Fprintf(progressOrDiscard(envs[0]), "%s part of experiment %q finished in %s (this invocation)\n", name, p.Config.Name, time.Since(start).Round(time.Second))
	return nil
}
