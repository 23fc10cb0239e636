package scheduler

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// parallelMin is the fewest positions worth handing to goroutines: below
// it, starting them costs more than the filtering.
const parallelMin = 512

// Marks of a scanned position.
const (
	unseen uint8 = iota
	passed
	rejected
)

// scan runs seg's filters over its positions and returns the first want
// hosts that pass, in position order, and how many positions that took
// (all of them when fewer than want pass). Positions are split into
// chunks that goroutines take in order (kube-scheduler's parallelizer);
// they stop taking chunks once want hosts have passed, and every chunk
// taken is finished, so the positions looked at form a prefix and the
// answer is the same whatever the parallelism.
func (c *cycle) scan(ctx context.Context, seg segment, want int) ([]*Host, int, error) {
	n := seg.n
	if n == 0 || want <= 0 {
		return nil, 0, nil
	}
	if cap(c.marks) < n {
		c.marks = make([]uint8, n)
	}
	marks := c.marks[:n]
	clear(marks)
	size := len(seg.list)
	at := func(pos int) *Host {
		i := seg.off + pos
		if i >= size {
			i -= size
		}
		return seg.list[i]
	}
	workers := c.s.parallelism
	chunk := max(1, min(int(math.Sqrt(float64(n))), n/workers+1))
	chunks := (n + chunk - 1) / chunk
	if n < parallelMin {
		workers, chunk, chunks = 1, n, 1
	}
	workers = min(workers, chunks)

	var next, found atomic.Int64
	var failed atomic.Pointer[error]
	// fail records the first error; err is copied so that only the error
	// path allocates (taking the loop variable's address would put it on
	// the heap for every host).
	fail := func(err error) { failed.CompareAndSwap(nil, &err) }
	work := func() {
		for found.Load() < int64(want) && failed.Load() == nil {
			ci := int(next.Add(1) - 1)
			if ci >= chunks {
				return
			}
			if err := ctx.Err(); err != nil {
				fail(fmt.Errorf("scheduler: filtering: %w", err))
				return
			}
			local := int64(0)
			for pos, end := ci*chunk, min(n, (ci+1)*chunk); pos < end; pos++ {
				ok, err := c.passes(seg.filters, at(pos))
				if err != nil {
					fail(err)
					return
				}
				if ok {
					marks[pos] = passed
					local++
				} else {
					marks[pos] = rejected
				}
			}
			found.Add(local)
		}
	}
	if workers <= 1 {
		work()
	} else {
		var wg sync.WaitGroup
		for range workers - 1 {
			wg.Go(work)
		}
		work()
		wg.Wait()
	}
	if p := failed.Load(); p != nil {
		return nil, 0, *p
	}
	return collect(marks, want, at)
}

// collect takes the first want passed positions of the looked-at prefix
// of marks, and says how many positions that took.
func collect(marks []uint8, want int, at func(int) *Host) ([]*Host, int, error) {
	out := make([]*Host, 0, min(want, len(marks)))
	used := 0
	for pos := 0; pos < len(marks) && marks[pos] != unseen && len(out) < want; pos++ {
		used = pos + 1
		if marks[pos] == passed {
			out = append(out, at(pos))
		}
	}
	return out, used, nil
}

// passes runs filters on h until one rejects it.
func (c *cycle) passes(filters []*filterSlot, h *Host) (bool, error) {
	for _, f := range filters {
		s := f.f.Filter(c.st, h)
		switch s.Code() {
		case Unschedulable:
			return false, nil
		case Error:
			return false, fmt.Errorf("scheduler: %s on %s: %w", f.name, h.label(), s.Err())
		}
	}
	return true, nil
}
