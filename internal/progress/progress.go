// Package progress prints a progress bar with rate and time remaining. On a
// terminal it redraws one line; elsewhere (logs, CI) it prints a line every
// few seconds, so output stays readable in files.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Bar tracks one task of a known number of steps.
type Bar struct {
	w        io.Writer
	tty      bool
	label    string
	total    int
	unit     string
	start    time.Time
	last     time.Time
	interval time.Duration
	now      func() time.Time
}

// New starts a bar for total steps of unit ("batches", "images", ...). A nil
// writer gives a bar that prints nothing.
func New(w io.Writer, label string, total int, unit string) *Bar {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	b := &Bar{w: w, tty: tty, label: label, total: total, unit: unit, now: time.Now}
	b.interval = 10 * time.Second
	if tty {
		b.interval = 200 * time.Millisecond
	}
	b.start = b.now()
	b.last = b.start
	return b
}

// Update reports done steps and processed items (for the rate, e.g.
// images; 0 uses steps) with an extra note (e.g. the running loss).
func (b *Bar) Update(done, items int, note string) {
	if b.w == nil {
		return
	}
	t := b.now()
	if t.Sub(b.last) < b.interval && done < b.total {
		return
	}
	b.last = t
	b.print(b.line(done, items, note, t))
}

// Done prints the final line with a summary.
func (b *Bar) Done(summary string) {
	if b.w == nil {
		return
	}
	el := b.now().Sub(b.start).Round(time.Second)
	b.print(fmt.Sprintf("%s %s (%s)", b.label, summary, el))
	if b.tty {
		fmt.Fprintln(b.w)
	}
}

func (b *Bar) print(s string) {
	if b.tty {
		fmt.Fprintf(b.w, "\r\033[K%s", s)
		return
	}
	fmt.Fprintln(b.w, s)
}

func (b *Bar) line(done, items int, note string, t time.Time) string {
	el := t.Sub(b.start).Seconds()
	frac := 0.0
	if b.total > 0 {
		frac = float64(done) / float64(b.total)
	}
	const width = 24
	filled := int(frac * width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	if filled < width && filled > 0 {
		bar = strings.Repeat("=", filled-1) + ">" + strings.Repeat(" ", width-filled)
	}
	rate := ""
	if el > 0 {
		n, unit := float64(items), "items"
		if items == 0 {
			n, unit = float64(done), b.unit
		} else if strings.HasSuffix(b.unit, "batches") {
			unit = "images"
		}
		rate = fmt.Sprintf(" %.1f %s/s", n/el, unit)
	}
	eta := ""
	if done > 0 && done < b.total {
		left := time.Duration(el/float64(done)*float64(b.total-done)) * time.Second
		eta = " ETA " + left.Round(time.Second).String()
	}
	s := fmt.Sprintf("%s [%s] %d/%d %s%s%s", b.label, bar, done, b.total, b.unit, rate, eta)
	if note != "" {
		s += "  " + note
	}
	return s
}
