package cpu

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"
)

// profile accumulates kernel time per op (and per convolution path).
type profile struct {
	mu    sync.Mutex
	time  map[string]time.Duration
	calls map[string]int
}

func newProfile() *profile {
	return &profile{time: map[string]time.Duration{}, calls: map[string]int{}}
}

func (p *profile) add(key string, d time.Duration) {
	p.mu.Lock()
	p.time[key] += d
	p.calls[key]++
	p.mu.Unlock()
}

// profileKey names a node for the profile: a fused group by its steps, any
// other node by its op and, for convolutions, the input and kernel shapes.
func profileKey(n *node) string {
	if g, ok := n.attr.(*fusedGroup); ok {
		return g.String()
	}
	key := n.op.String()
	if n.op == backends.OpTypeConvGeneral {
		key += fmt.Sprintf("(in %v, kernel %v)", n.inputs[0].shape.Dimensions, n.inputs[1].shape.Dimensions)
	}
	return key
}

// Profile reports the kernel time per op accumulated since the backend was
// created with the "profile" option, largest first, and resets it. It
// returns "" when profiling is off.
func (b *Backend) Profile() string {
	p := b.profile
	if p == nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	keys := make([]string, 0, len(p.time))
	var total time.Duration
	for k, d := range p.time {
		keys = append(keys, k)
		total += d
	}
	slices.SortFunc(keys, func(a, b string) int { return int(p.time[b] - p.time[a]) })
	var sb strings.Builder
	fmt.Fprintf(&sb, "%-70s %10s %6s %7s\n", "op", "time", "calls", "share")
	for _, k := range keys {
		fmt.Fprintf(&sb, "%-70s %10s %6d %6.1f%%\n", k, p.time[k].Round(time.Millisecond), p.calls[k], 100*float64(p.time[k])/float64(total))
	}
	fmt.Fprintf(&sb, "%-70s %10s\n", "total", total.Round(time.Millisecond))
	p.time, p.calls = map[string]time.Duration{}, map[string]int{}
	return sb.String()
}
