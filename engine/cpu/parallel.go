package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// team runs the parallel parts of the backend's kernels: the calling
// goroutine takes the first part and size-1 long-lived workers the others.
// Between parts a worker waits by spinning for up to spinWait before it
// sleeps: a step of a network runs hundreds of parallel loops a few
// microseconds apart, and waking a sleeping thread for each (a futex and,
// under a hypervisor, an idle virtual CPU to resume) cost the demo
// network's training step 15 % on two cores (docs/engine.md). Only one
// loop uses the workers at a time; a loop started while they are in use
// (nested, or from another goroutine) runs its parts on goroutines of its
// own.
type team struct {
	size    int
	spin    time.Duration
	workers []*worker
	busy    atomic.Bool    // held by the loop running on the workers
	left    atomic.Int32   // parts of that loop not yet done by the workers
	done    sync.WaitGroup // the same count, for a caller that stops spinning
}

// spinWait is how long an idle worker (and a caller waiting for its
// workers) spins before it sleeps.
const spinWait = 200 * time.Microsecond

// worker is one of a team's goroutines; task is its part of the current
// loop, set by the caller and taken by the worker.
type worker struct {
	task   atomic.Pointer[part]
	asleep atomic.Bool
	wake   chan struct{}
	mine   part // the part the caller hands it (the team is held meanwhile)
}

// part is a range of a loop, or the end of a worker's life (fn nil).
type part struct {
	fn       func(from, to int)
	from, to int
}

// newTeam starts a team of size threads. Its workers spin only when the
// Go scheduler has a processor for each, so that spinning never takes the
// CPU from a thread with work.
func newTeam(size int) *team {
	t := &team{size: max(1, size)}
	if t.size <= runtime.GOMAXPROCS(0) {
		t.spin = spinWait
	}
	t.workers = make([]*worker, t.size-1)
	for i := range t.workers {
		w := &worker{wake: make(chan struct{}, 1)}
		t.workers[i] = w
		go w.run(t)
	}
	return t
}

// close ends the team's workers.
func (t *team) close() {
	for _, w := range t.workers {
		w.give(&part{})
	}
	t.workers = nil
}

// spinUntil spins while cond is false for up to d, yielding the processor
// now and then; it reports whether cond became true.
func spinUntil(d time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	if d <= 0 {
		return false
	}
	deadline := time.Now().Add(d)
	for i := 1; ; i++ {
		if cond() {
			return true
		}
		if i%64 == 0 {
			if time.Now().After(deadline) {
				return false
			}
			runtime.Gosched()
		}
	}
}

func (w *worker) run(t *team) {
	for {
		var p *part
		take := func() bool { p = w.task.Swap(nil); return p != nil }
		if !spinUntil(t.spin, func() bool { return w.task.Load() != nil }) || !take() {
			w.asleep.Store(true)
			if !take() {
				<-w.wake
				take()
			} else if !w.asleep.CompareAndSwap(true, false) {
				<-w.wake // the caller saw us asleep and sent a wake-up: consume it
			}
		}
		if p.fn == nil {
			return
		}
		p.fn(p.from, p.to)
		t.left.Add(-1)
		t.done.Done()
	}
}

// give hands p to the worker, waking it if it sleeps.
func (w *worker) give(p *part) {
	w.task.Store(p)
	if w.asleep.CompareAndSwap(true, false) {
		w.wake <- struct{}{}
	}
}

// parallelFor splits [0, n) into min(threads.size, ⌈n/grain⌉) contiguous
// ranges of (nearly) equal length and runs fn on each, concurrently.
func parallelFor(threads *team, n, grain int, fn func(from, to int)) {
	if grain < 1 {
		grain = 1
	}
	parts := min(threads.size, (n+grain-1)/grain)
	if parts <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	per := (n + parts - 1) / parts
	parts = (n + per - 1) / per
	if len(threads.workers) < parts-1 || !threads.busy.CompareAndSwap(false, true) {
		var wg sync.WaitGroup
		for from := 0; from < n; from += per {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fn(from, min(from+per, n))
			}()
		}
		wg.Wait()
		return
	}
	defer threads.busy.Store(false)
	threads.left.Store(int32(parts - 1))
	threads.done.Add(parts - 1)
	for k := range parts - 1 {
		w := threads.workers[k]
		from := (k + 1) * per
		w.mine = part{fn, from, min(from+per, n)}
		w.give(&w.mine)
	}
	fn(0, per)
	if !spinUntil(threads.spin, func() bool { return threads.left.Load() == 0 }) {
		threads.done.Wait()
	}
}

// elementGrain is the smallest number of elements worth a thread for
// element-wise work.
const elementGrain = 1 << 15

// reduceParts is the most parts a reduction is split into. Reductions are
// split by the size of their data alone, never by the number of threads, so
// that their partial sums, and with them every result of the backend, are
// bit-identical whatever the thread count: a job trained on one thread
// reproduces the same job trained on sixteen.
const reduceParts = 8

// reduceSplit divides n items of a reduction into parts contiguous ranges
// of per items (the last may be shorter), with at least grain items in each
// part where n allows and at most reduceParts parts.
func reduceSplit(n, grain int) (parts, per int) {
	parts = max(1, min(reduceParts, n/max(grain, 1)))
	per = (n + parts - 1) / parts
	if per == 0 {
		return 1, 0
	}
	return (n + per - 1) / per, per
}

// parallelParts runs fn(part, from, to) for each of the parts ranges of
// per items that reduceSplit gave for n items, on up to threads goroutines:
// fn accumulates its range into the part's own partials, which the caller
// then merges in part order.
func parallelParts(threads *team, n, parts, per int, fn func(part, from, to int)) {
	parallelFor(threads, parts, 1, func(pFrom, pTo int) {
		for p := pFrom; p < pTo; p++ {
			fn(p, p*per, min((p+1)*per, n))
		}
	})
}
