package plugin

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress shows nodes done / failed / running and bytes: one redrawn line
// on a terminal, one plain line per finished node otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	total int

	mu                     sync.Mutex
	done_, failed, running int
	bytes                  int64
	quit                   chan struct{}
	wg                     sync.WaitGroup
}

func newProgress(w io.Writer, tty bool, total int) *progress {
	p := &progress{w: w, tty: tty && w != nil, total: total, quit: make(chan struct{})}
	if p.tty {
		p.wg.Go(func() {
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-p.quit:
					return
				case <-t.C:
					p.mu.Lock()
					p.draw()
					p.mu.Unlock()
				}
			}
		})
	}
	return p
}

func (p *progress) draw() {
	fmt.Fprintf(p.w, "\r\x1b[Knodes %d/%d done, %d failed, %d running, %s", p.done_, p.total, p.failed, p.running, humanBytes(p.bytes))
}

func (p *progress) start() {
	p.mu.Lock()
	p.running++
	p.mu.Unlock()
}

func (p *progress) addBytes(n int64) {
	p.mu.Lock()
	p.bytes += n
	p.mu.Unlock()
}

func (p *progress) done(node string, r *NodeResult, started bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if started {
		p.running = max(p.running-1, 0)
	}
	p.done_++
	if r.Status == NodeFailed {
		p.failed++
	}
	if p.w == nil {
		return
	}
	line := fmt.Sprintf("%s: %s", node, r.Status)
	if r.Mode != "" {
		line += fmt.Sprintf(" (%s mode, %s, %.1fs)", r.Mode, humanBytes(r.Bytes), float64(r.DurationMS)/1000)
	}
	if r.Fallback != "" && r.Mode == ModeAPI {
		line += "; " + r.Fallback
	}
	if r.Error != "" {
		line += ": " + r.Error
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s\n", line)
		p.draw()
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) stop() {
	close(p.quit)
	p.wg.Wait()
	if p.tty {
		p.mu.Lock()
		p.draw()
		fmt.Fprintln(p.w)
		p.mu.Unlock()
	}
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
