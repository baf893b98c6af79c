// Package cluster runs an experiment's plan on many machines with the
// engines labs already have: Slurm job arrays (one array per stage of the
// plan, chained with afterok dependencies, each task running one job), and
// a PostgreSQL job table that any number of workers claim ready jobs from
// with row locks, heartbeats and per-job advisory locks, recording every
// result as rows.
//
// It is generic over the plan's jobs: dependencies are the plan's files (a
// job needs the jobs whose output it reads), so jobs that other parts of
// the system add to the plan run here unchanged.
package cluster
