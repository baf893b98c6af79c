// Command cotrain trains image classifiers together with recordings from the
// visual cortex and measures their robustness to image corruptions: the
// system of Safarani et al. 2021 (and Li et al. 2019) in Go.
//
// Run "cotrain help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/cotrain/cotrain/experiment"
)

// command is one subcommand.
type command struct {
	name    string // e.g. "eval clean"
	summary string
	usage   string // argument synopsis after the name
	help    string // longer description
	flags   func(fs *flag.FlagSet) func(ctx context.Context, args []string, out io.Writer) error
}

// commands lists every subcommand.
func commands() []command {
	return []command{
		demoCommand(),
		runCommand(),
		workerCommand(),
		statusCommand(),
		slurmCommand(),
		serveCommand(),
		trainCommand(),
		evalCleanCommand(),
		evalCorruptionsCommand(),
		evalAdversarialCommand(),
		corruptCommand(),
		responsesCommand(),
		v1SimulateCommand(),
		v1MetricsCommand(),
		mouseSimulateCommand(),
		mouseTrainCommand(),
		similarityCommand(),
		analyzeCommand(experiment.AnalysisReconstruct, "reconstruct noisy test images under norm constraints (Figs. 5, 10, 11)",
			`Reconstructs noisy test images (Gaussian noise, severity 2) from the co-trained
layer of every classifier of the experiment under each norm constraint, and
measures each reconstruction's share of content versus noise.`),
		analyzeCommand(experiment.AnalysisSaliency, "the saliency norm-ratio analysis of reconstructions (Figs. 6, 7)",
			`Reconstructs clean test images from MTL-Monkey, the Oracle and the Baseline,
binarizes their saliency maps (a folder of maps, or the built-in spectral
residual model) and compares how much of each reconstruction's energy falls
on the salient region (Eq. 1), also for the spectral control.`),
		modelSummaryCommand(),
		importCommand(),
		exportCommand(),
		benchCommand("train"),
		benchCommand("forward"),
		benchCommand("attack"),
		doctorCommand(),
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches args and returns the exit code.
func run(ctx context.Context, args []string, out, errOut io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			args = append(args[1:], "--help")
		} else {
			printUsage(errOut, cmds)
			if len(args) == 0 {
				return 2
			}
			return 0
		}
	}
	// Longest match of the leading words: "eval clean" before "eval".
	var cmd *command
	var rest []string
	for i := range cmds {
		words := strings.Fields(cmds[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == cmds[i].name {
			if cmd == nil || len(words) > len(strings.Fields(cmd.name)) {
				cmd, rest = &cmds[i], args[len(words):]
			}
		}
	}
	if cmd == nil {
		fmt.Fprintf(errOut, "cotrain: unknown command %q\n\n", strings.Join(args, " "))
		printUsage(errOut, cmds)
		return 2
	}
	fs := flag.NewFlagSet("cotrain "+cmd.name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	action := cmd.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(errOut, "usage: cotrain %s %s\n\n%s\n", cmd.name, cmd.usage, wrap(cmd.help))
		if hasFlags(fs) {
			fmt.Fprintln(errOut, "\nflags:")
			fs.PrintDefaults()
		}
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := action(ctx, fs.Args(), out); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(errOut, "cotrain %s: %v\n(run \"cotrain %s --help\" for usage)\n", cmd.name, err, cmd.name)
			return 2
		}
		fmt.Fprintf(errOut, "cotrain %s: %v\n", cmd.name, err)
		return 1
	}
	return 0
}

// usageError marks an error in how a command was called.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func printUsage(w io.Writer, cmds []command) {
	fmt.Fprint(w, `cotrain trains image classifiers together with recordings from the visual
cortex (Safarani et al. 2021) and measures their robustness to image
corruptions.

usage: cotrain COMMAND [flags] [arguments]

commands:
`)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "cotrain COMMAND --help" for a command's flags. The compute backend is
chosen with --backend or $COTRAIN_BACKEND (cpu, simplego, xla).
`)
}

// wrap indents a help text.
func wrap(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}
