package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// A source with several endpoints (the kubelet's five, the pprof targets)
// shares its --timeout between them, so one slow or endless answer cannot
// starve the ones after it (issue #12: an endless /metrics/cadvisor used to
// cost the whole timeout and /metrics/resource was never fetched).
//
// First pass: each endpoint in turn gets an even share of what is left, so
// time a quick endpoint leaves unused passes to the next. An answer still
// running at the end of its share is dropped, not kept, and tried again in
// the second pass, which splits what is left between the endpoints that
// were cut: a large but finite answer (/pods of a big node, a kubelet slow
// to build its summary) then gets the time the others did not need, and
// only an answer cut in the second pass too is kept as far as it got.
var (
	errShareSpent = errors.New("cut at its share of --timeout")
	errFirstShare = errors.New("cut at its first share of --timeout; tried again after the others")
	errNotStarted = errors.New("not started")
)

// fetchShared runs fetch for endpoints 0..n-1 in the two passes above.
// errs[i] is endpoint i's outcome (errNotStarted when the source was
// stopped first); stopped is the source context's cause when it ended early.
func fetchShared(ctx context.Context, n int, fetch func(ctx context.Context, i int) error) (errs []error, stopped error) {
	errs = make([]error, n)
	for i := range errs {
		errs[i] = errNotStarted
	}
	dl, ok := ctx.Deadline()
	if !ok {
		for i := range n {
			if ctx.Err() != nil {
				return errs, context.Cause(ctx)
			}
			errs[i] = fetch(ctx, i)
		}
		return errs, nil
	}
	// A tenth of the source's time is kept back for writing what the last
	// answer read before the runner gives up on the source.
	reserve := time.Until(dl) / 10
	var again []int
	for i := range n {
		if ctx.Err() != nil {
			return errs, context.Cause(ctx)
		}
		sctx, cancel := shareOf(ctx, dl, reserve, n-i, errFirstShare)
		errs[i] = fetch(sctx, i)
		cancel()
		if errors.Is(errs[i], errFirstShare) {
			again = append(again, i)
		}
	}
	for j, i := range again {
		if ctx.Err() != nil {
			return errs, context.Cause(ctx)
		}
		sctx, cancel := shareOf(ctx, dl, reserve, len(again)-j, errShareSpent)
		errs[i] = fetch(sctx, i)
		cancel()
	}
	return errs, nil
}

// shareOf is the next of left endpoints' even share of the time until dl
// less reserve, ending with cause.
func shareOf(ctx context.Context, dl time.Time, reserve time.Duration, left int, cause error) (context.Context, context.CancelFunc) {
	d := max((time.Until(dl)-reserve)/time.Duration(left), time.Millisecond)
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("%w (%s)", cause, d.Round(time.Millisecond)))
}

// shareCause is ctx's cause when an endpoint share ended it, else nil.
func shareCause(ctx context.Context) error {
	if c := context.Cause(ctx); errors.Is(c, errShareSpent) || errors.Is(c, errFirstShare) {
		return c
	}
	return nil
}

// shareCut passes a body through. When the endpoint's last share is spent
// (not the source as a whole, nor a first share, which is tried again) it
// ends the body at EOF, so what arrived in time is kept.
type shareCut struct {
	r    io.Reader
	ctx  context.Context
	keep bool // a cut text answer is kept; a cut binary one is worthless
	n    int64
	cut  bool
}

func (c *shareCut) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.keep && errors.Is(context.Cause(c.ctx), errShareSpent) {
		c.cut = true
		return n, io.EOF
	}
	return n, err
}
