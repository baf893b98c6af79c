package cpu

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestParallelFor checks that a team's loops cover every index exactly once
// in at most min(size, ⌈n/grain⌉) ranges: on the workers, in a
// loop nested inside a part (which must not wait for itself), from several
// goroutines at once, after the workers have gone to sleep, and on a
// closed team.
func TestParallelFor(t *testing.T) {
	cases := []struct {
		name     string
		size     int
		n, grain int
		nested   bool
		callers  int
		idle     time.Duration // pause before the loop, so that the workers sleep
		closed   bool
	}{
		{name: "one thread", size: 1, n: 100, grain: 1},
		{name: "two threads", size: 2, n: 100, grain: 1},
		{name: "fewer items than threads", size: 4, n: 3, grain: 1},
		{name: "grain limits the parts", size: 8, n: 100, grain: 40},
		{name: "uneven split", size: 3, n: 10, grain: 1},
		{name: "empty", size: 2, n: 0, grain: 1},
		{name: "nested", size: 3, n: 60, grain: 1, nested: true},
		{name: "concurrent callers", size: 2, n: 1000, grain: 1, callers: 4},
		{name: "after the workers sleep", size: 2, n: 50, grain: 1, idle: 3 * spinWait},
		{name: "closed team", size: 4, n: 50, grain: 1, closed: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tm := newTeam(c.size)
			defer tm.close()
			if c.closed {
				tm.close()
			}
			time.Sleep(c.idle)
			check := func() {
				counts := make([]atomic.Int32, c.n)
				var ranges atomic.Int32
				parallelFor(tm, c.n, c.grain, func(from, to int) {
					ranges.Add(1)
					for i := from; i < to; i++ {
						if !c.nested {
							counts[i].Add(1)
							continue
						}
						inner := make([]atomic.Int32, 7)
						parallelFor(tm, len(inner), 1, func(a, b int) {
							for j := a; j < b; j++ {
								inner[j].Add(1)
							}
						})
						for j := range inner {
							if inner[j].Load() != 1 {
								t.Errorf("nested loop of %d: index %d ran %d times", i, j, inner[j].Load())
							}
						}
						counts[i].Add(1)
					}
				})
				for i := range counts {
					if got := counts[i].Load(); got != 1 {
						t.Errorf("index %d ran %d times", i, got)
						return
					}
				}
				if r, most := int(ranges.Load()), min(c.size, (c.n+c.grain-1)/c.grain); r > most {
					t.Errorf("%d ranges, want at most %d", r, most)
				}
			}
			if c.callers == 0 {
				check()
				return
			}
			var wg sync.WaitGroup
			for range c.callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 50 {
						check()
					}
				}()
			}
			wg.Wait()
		})
	}
}
