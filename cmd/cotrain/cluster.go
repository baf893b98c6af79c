package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cotrain/cotrain/cluster"
	"github.com/cotrain/cotrain/experiment"
	"github.com/cotrain/cotrain/recipes"
)

// runJob runs job n of the plan (cotrain run --job N), as a Slurm array
// task does: its inputs must exist.
func runJob(ctx context.Context, file, out string, n int, backend backendOpener, workers int, w io.Writer) error {
	plan, _, err := openPlan(file, out)
	if err != nil {
		return err
	}
	if n < 1 || n > len(plan.Jobs) {
		return usagef("--job %d: the plan has jobs 1 to %d (cotrain run --plan lists them)", n, len(plan.Jobs))
	}
	j := plan.Jobs[n-1]
	deps := plan.Deps()[n-1]
	for _, d := range deps {
		if plan.Jobs[d].Status() != "done" {
			return fmt.Errorf("job %d (%s) needs job %d (%s), which is not done: run it first", n, j.Name, d+1, plan.Jobs[d].Name)
		}
	}
	if j.Status() == "done" {
		fmt.Fprintf(os.Stderr, "job %d (%s) is done: %s exists\n", n, j.Name, j.Output)
		return nil
	}
	b, err := backend.open()
	if err != nil {
		return err
	}
	defer printProfile(b, os.Stderr)
	return plan.RunJobs(ctx, recipes.Env{Backend: b, Progress: os.Stderr, Workers: workers}, w, []*experiment.Job{j}, nil)
}

// submitExperiment puts an experiment's jobs into a PostgreSQL job table
// (cotrain run --db).
func submitExperiment(ctx context.Context, file, out, dsn string, w io.Writer) error {
	plan, text, err := openPlan(file, out)
	if err != nil {
		return err
	}
	root, err := filepath.Abs(plan.Root)
	if err != nil {
		return err
	}
	if err := experiment.SaveText(root, text); err != nil {
		return err
	}
	d, err := cluster.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer d.Close()
	e, err := d.Submit(ctx, plan, text)
	if err != nil {
		return err
	}
	jobs, err := d.Jobs(ctx, e.ID)
	if err != nil {
		return err
	}
	count := countStates(jobs)
	fmt.Fprintf(w, "experiment %d %q: %d jobs (%d done, %d pending, %d running, %d failed), files in %s\n",
		e.ID, e.Name, len(jobs), count["done"], count["pending"], count["running"], count["failed"], e.Root)
	fmt.Fprintf(w, "run them with: cotrain worker --db DSN (on machines that reach %s); follow them with: cotrain status --db DSN %d\n", e.Root, e.ID)
	return nil
}

// interspersed parses the flags that follow positional arguments too
// (cotrain slurm FILE --submit), returning the positional arguments.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		pos = append(pos, args[0])
		if err := fs.Parse(args[1:]); err != nil {
			return nil, usagef("%v", err)
		}
		args = fs.Args()
	}
	return pos, nil
}

// countStates counts the jobs in each state.
func countStates(jobs []cluster.JobRow) map[string]int {
	count := map[string]int{}
	for _, j := range jobs {
		count[j.State]++
	}
	return count
}

func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", os.Getenv("COTRAIN_DB"), "PostgreSQL URL, e.g. postgres://user@host:5432/cotrain (default $COTRAIN_DB)")
}

func workerCommand() command {
	return command{
		name:    "worker",
		summary: "run jobs from a PostgreSQL job table (cotrain run --db)",
		usage:   "--db DSN [--backend B] [--lease D] [--wait]",
		help: `Claims ready jobs (every job they need done) of the experiments in the
database and runs them one at a time, with row locks so that any number
of workers on any machines share the work. A running job heartbeats;
a job whose worker stopped heartbeating (killed, machine lost) is claimed
again after --lease and resumes from its checkpoint. A worker that is
alive but slow keeps its job: its database session holds the job's
advisory lock. Files go to each experiment's folder, which every worker
must reach at the same path (a shared file system); results are rows.

Without --wait the worker exits when no job is ready and none is running.
Ctrl-C (or SIGTERM) gives the running job back to the queue.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			db := dbFlag(fs)
			backend := backendFlag(fs)
			workers := workersFlag(fs)
			lease := fs.Duration("lease", time.Minute, "how long a job's heartbeat may be silent before it is claimed again")
			heartbeat := fs.Duration("heartbeat", 0, "heartbeat interval (default lease/6)")
			poll := fs.Duration("poll", 2*time.Second, "how often an idle worker looks for ready jobs")
			wait := fs.Bool("wait", false, "keep waiting for new jobs when idle")
			name := fs.String("name", "", "the worker's name in the job table (default host:pid)")
			return func(ctx context.Context, args []string, w io.Writer) error {
				if len(args) > 0 {
					return usagef("unexpected arguments %q", args)
				}
				if *db == "" {
					return usagef("give the database with --db")
				}
				d, err := cluster.Open(ctx, *db)
				if err != nil {
					return err
				}
				defer d.Close()
				b, err := backend.open()
				if err != nil {
					return err
				}
				wk := &cluster.Worker{DB: d, Name: *name, Env: recipes.Env{Backend: b, Progress: os.Stderr, Workers: *workers}, Out: w,
					Lease: *lease, Heartbeat: *heartbeat, Poll: *poll, Wait: *wait, Log: os.Stderr}
				n, err := wk.Run(ctx)
				fmt.Fprintf(os.Stderr, "worker %s: %d jobs completed\n", wk.Name, n)
				return err
			}
		},
	}
}

func statusCommand() command {
	return command{
		name:    "status",
		summary: "the jobs and results of experiments in a PostgreSQL job table",
		usage:   "--db DSN [EXPERIMENT]",
		help: `Without EXPERIMENT, lists the experiments in the database. With one (its
id, name or folder), prints its jobs with their state, progress, ETA,
worker and attempts, and the results table once the report job is done.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			db := dbFlag(fs)
			return func(ctx context.Context, args []string, w io.Writer) error {
				if *db == "" {
					return usagef("give the database with --db")
				}
				if len(args) > 1 {
					return usagef("give at most one experiment")
				}
				d, err := cluster.Open(ctx, *db)
				if err != nil {
					return err
				}
				defer d.Close()
				if len(args) == 0 {
					return listExperiments(ctx, d, w)
				}
				e, err := d.Find(ctx, args[0])
				if err != nil {
					return err
				}
				return printStatus(ctx, d, e, w)
			}
		},
	}
}

func listExperiments(ctx context.Context, d *cluster.DB, w io.Writer) error {
	es, err := d.Experiments(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tJOBS\tDONE\tRUNNING\tFAILED\tSUBMITTED\tFOLDER")
	for _, e := range es {
		jobs, err := d.Jobs(ctx, e.ID)
		if err != nil {
			return err
		}
		count := countStates(jobs)
		fmt.Fprintf(tw, "%d\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", e.ID, e.Name, len(jobs), count["done"], count["running"], count["failed"],
			e.Created.Local().Format(time.DateTime), e.Root)
	}
	return tw.Flush()
}

func printStatus(ctx context.Context, d *cluster.DB, e cluster.Experiment, w io.Writer) error {
	jobs, err := d.Jobs(ctx, e.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "experiment %d %q in %s\n", e.ID, e.Name, e.Root)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTATE\tPROGRESS\tETA\tWORKER\tATTEMPTS\tJOB")
	for _, j := range jobs {
		progress, eta := "", ""
		if j.Epochs > 0 && j.State != "pending" {
			progress = fmt.Sprintf("%d/%d epochs", j.EpochsDone, j.Epochs)
		}
		if d := j.ETA(); d > 0 {
			eta = "≤ " + d.Round(time.Second).String()
		}
		name := j.Name
		if j.Error != "" {
			name += ": " + j.Error
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\n", j.Number, j.State, progress, eta, j.Worker, j.Attempts, name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	plan, err := e.Plan()
	if err != nil {
		return err
	}
	rel, _ := filepath.Rel(e.Root, plan.TableFile())
	if table, err := d.Result(ctx, e.ID, rel); err == nil {
		fmt.Fprintf(w, "\n%s", table)
		if !strings.HasSuffix(string(table), "\n") {
			fmt.Fprintln(w)
		}
	}
	return nil
}

func slurmCommand() command {
	return command{
		name:    "slurm",
		summary: "write (and submit) Slurm array scripts for an experiment",
		usage:   "[--out DIR] [--submit] [--partition P] [--gpus-per-job N] [--time T] FILE",
		help: `Writes one sbatch array script per stage of the experiment's plan into
DIR/slurm (stages are the layers of the plan's dependency graph: a job's
stage follows the latest stage of the jobs it needs). Every array task
runs one job of the plan ("cotrain run --job N"), with its log in
DIR/slurm/logs. Jobs already done are left out. With --submit the
scripts are submitted, each stage depending on the one before with
--dependency=afterok, and their job ids are printed.

Tasks are requeueable: a task killed by preemption or requeued with
"scontrol requeue" resumes its job from its last checkpoint, and with
--time a task requeues itself shortly before its time limit. DIR must be
on a file system every node reaches, and the cotrain binary too.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			out := fs.String("out", "", "output folder (default runs/NAME)")
			submit := fs.Bool("submit", false, "submit the scripts with sbatch")
			var o cluster.SlurmOptions
			fs.StringVar(&o.Partition, "partition", "", "Slurm partition")
			fs.StringVar(&o.Account, "account", "", "Slurm account")
			fs.IntVar(&o.GPUsPerJob, "gpus-per-job", 0, "GPUs per task (--gres=gpu:N; 0 asks for none)")
			fs.IntVar(&o.CPUsPerJob, "cpus-per-job", 0, "cores per task (0: the partition's default)")
			fs.StringVar(&o.Memory, "mem", "", "memory per task, e.g. 32G")
			fs.StringVar(&o.Time, "time", "", "time limit per task, e.g. 1-00:00:00")
			fs.IntVar(&o.RequeueBefore, "requeue-before", 300, "with --time: seconds before the limit at which a task requeues itself")
			fs.StringVar(&o.Backend, "backend", "", "the tasks' --backend (default: theirs)")
			fs.StringVar(&o.Binary, "binary", "", "the cotrain binary the tasks run (default: this one)")
			return func(ctx context.Context, args []string, w io.Writer) error {
				args, err := interspersed(fs, args)
				if err != nil {
					return err
				}
				if len(args) != 1 {
					return usagef("give one experiment file (or \"demo\")")
				}
				plan, text, err := openPlan(args[0], *out)
				if err != nil {
					return err
				}
				root, err := filepath.Abs(plan.Root)
				if err != nil {
					return err
				}
				if plan, err = experiment.NewPlan(plan.Config, root); err != nil {
					return err
				}
				if err := experiment.SaveText(root, text); err != nil {
					return err
				}
				if o.Binary == "" {
					if o.Binary, err = os.Executable(); err != nil {
						return err
					}
				}
				scripts, err := cluster.WriteSlurm(plan, o)
				if err != nil {
					return err
				}
				if len(scripts) == 0 {
					fmt.Fprintf(w, "every job of %q is done\n", plan.Config.Name)
					return nil
				}
				for _, s := range scripts {
					fmt.Fprintf(w, "stage %d: %s (%d tasks)\n", s.Stage, s.Path, len(s.Jobs))
				}
				if !*submit {
					return nil
				}
				ids, err := cluster.SubmitSlurm(ctx, scripts, "")
				if err != nil {
					return err
				}
				for i, id := range ids {
					fmt.Fprintf(w, "submitted stage %d as job %s\n", scripts[i].Stage, id)
				}
				return nil
			}
		},
	}
}
