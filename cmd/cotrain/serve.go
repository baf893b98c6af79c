package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/cotrain/cotrain/cluster"
	"github.com/cotrain/cotrain/dashboard"
)

func serveCommand() command {
	return command{
		name:    "serve",
		summary: "a live, read-only web dashboard of an experiment",
		usage:   "[--addr 127.0.0.1:8080] RUN_DIR | --db DSN",
		help: `Serves a web page of the experiment in RUN_DIR (a folder cotrain run
writes; its experiment.toml names the experiment), or of every experiment
in a PostgreSQL job table with --db: the jobs with their state, progress
and ETA, reloading while they run; each training job's curves per epoch;
the results table and the report's figures once the report job is done.

The server only reads: it answers GET and HEAD, nothing else. It listens
on localhost unless --addr says otherwise.`,
		flags: func(fs *flag.FlagSet) func(context.Context, []string, io.Writer) error {
			db := fs.String("db", "", "PostgreSQL URL of a job table (instead of RUN_DIR)")
			addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
			refresh := fs.Duration("refresh", 5*time.Second, "how often pages of running experiments reload")
			return func(ctx context.Context, args []string, w io.Writer) error {
				args, err := interspersed(fs, args)
				if err != nil {
					return err
				}
				var src dashboard.Source
				switch {
				case *db != "" && len(args) == 0:
					d, err := cluster.Open(ctx, *db)
					if err != nil {
						return err
					}
					defer d.Close()
					src = dashboard.DB{DB: d}
				case *db == "" && len(args) == 1:
					dir := dashboard.Dir{Root: args[0]}
					if _, err := dir.Experiments(ctx); err != nil {
						return err
					}
					src = dir
				default:
					return usagef("give a run folder or --db, not both")
				}
				l, err := net.Listen("tcp", *addr)
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "serving on http://%s/ (Ctrl-C stops)\n", l.Addr())
				return dashboard.Serve(ctx, l, dashboard.Handler(src, *refresh, os.Stderr))
			}
		},
	}
}
