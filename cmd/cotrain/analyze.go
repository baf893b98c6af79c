package main

import (
	"context"
	"flag"
	"fmt"
	"io"
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
				plan, err := planOf(*config, *out)
				if err != nil {
					return err
				}
				job, err := plan.Analysis(kind)
				if err != nil {
					return err
				}
				if _, err := runWithInputs(ctx, plan, job, backend, *workers, w, nil); err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\n", job.Output)
				return nil
			}
		},
	}
}
