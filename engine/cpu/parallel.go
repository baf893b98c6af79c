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
