package cpu

import "sync"

// parallelFor splits [0, n) into at most threads contiguous ranges of at
// least grain elements and runs fn on each, concurrently.
func parallelFor(threads, n, grain int, fn func(from, to int)) {
	if grain < 1 {
		grain = 1
	}
	parts := min(threads, (n+grain-1)/grain)
	if parts <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	per := (n + parts - 1) / parts
	for from := 0; from < n; from += per {
		to := min(from+per, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(from, to)
		}()
	}
	wg.Wait()
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
func parallelParts(threads, n, parts, per int, fn func(part, from, to int)) {
	parallelFor(threads, parts, 1, func(pFrom, pTo int) {
		for p := pFrom; p < pTo; p++ {
			fn(p, p*per, min((p+1)*per, n))
		}
	})
}
