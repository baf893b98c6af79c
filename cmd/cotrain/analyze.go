package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/recipes"
)

// analyzeCommand runs one of the experiment's analysis jobs (Safarani et
// al. §4) and the jobs it needs.
func analyzeCommand(kind, summary, help string) command {
	return command{
		name:    "analyze " + kind,
		summary: summary,
		usage:   "--config FILE [--backend B] [--out DIR]",
		help: help + `

The models it reads are trained first if they are not (as "cotrain train"
would train them, into the same folders). The settings come from the
experiment's [analysis] section (docs/analysis.md); results go to
OUT/analysis/` + kind + `/, and "cotrain run" puts the figures into
report.html. An interrupted analysis resumes from its last checkpoint.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			config := fs.String("config", "", "experiment file, or a preset (\"demo\", \"paper\")")
			out := fs.String("out", "", "experiment folder (default runs/NAME)")
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				cfg, err := loadConfig(*config)
				if err != nil {
					return err
				}
				if *out == "" {
					*out = filepath.Join("runs", cfg.Name)
				}
				plan, err := experiment.NewPlan(cfg, *out)
				if err != nil {
					return err
				}
				job, err := plan.Analysis(kind)
				if err != nil {
					return err
				}
				b, err := backend()
				if err != nil {
					return err
				}
				defer printProfile(b, os.Stderr)
				env := recipes.Env{Backend: b, Progress: os.Stderr, Workers: *workers}
				if err := plan.RunJobs(ctx, env, w, plan.WithInputs(job), nil); err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\n", job.Output)
				return nil
			}
		},
	}
}
