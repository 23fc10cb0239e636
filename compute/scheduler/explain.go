package scheduler

import (
	"fmt"
	"strings"
)

// Bounds of an explanation.
const (
	samplesPerFilter = 5
	maxReasonLen     = 240
	maxExplainLen    = 4096
)

// NoValidHost is the error when a request cannot be placed. It says
// which filter removed the last hosts, with Nova's per-filter counts
// ("(start: N, end: M)") and, for a few rejected hosts of each filter,
// why. Error is one line; Explain is the whole story, for a fault
// message. It matches ErrNoValidHost.
type NoValidHost struct {
	// Instance is the index of the instance that could not be placed,
	// of Count.
	Instance     int
	InstanceUUID string
	Count        int
	// Placed instances were released because fewer than MinCount could
	// be placed (both 0 when the request failed on its first instance
	// or did not need releasing).
	Placed, MinCount int
	// Hosts is how many hosts the scheduler was given.
	Hosts int
	// Reason is set when the request failed before any host was looked
	// at (a PreFilter refused it).
	Reason string
	// Filters are the narrowing steps and the filters that ran, in order.
	Filters []FilterStat
	// ReserveFailed is how many hosts passed every filter but refused
	// the reservation; Reserve gives a few of them with the error.
	ReserveFailed int
	Reserve       []HostReason
}

// FilterStat is what one filter did: Start hosts went in, End came out,
// and Rejected are a few it removed (sorted by host name) with why.
type FilterStat struct {
	Filter     string
	Start, End int
	Rejected   []HostReason
}

// HostReason is why a host was turned down.
type HostReason struct {
	Host   string
	Reason string
}

// Is makes a *NoValidHost match ErrNoValidHost.
func (e *NoValidHost) Is(target error) bool { return target == ErrNoValidHost }

// Error is one line: which instance, and the filter (or reservation, or
// pre-filter) that left no host.
func (e *NoValidHost) Error() string {
	var b strings.Builder
	b.WriteString("no valid host")
	if e.MinCount > 0 {
		fmt.Fprintf(&b, ": only %d of %d instances could be placed, min_count is %d", e.Placed, e.Count, e.MinCount)
	}
	if e.Count > 1 {
		fmt.Fprintf(&b, ": instance %d of %d", e.Instance+1, e.Count)
	}
	b.WriteString(": ")
	b.WriteString(e.cause())
	return b.String()
}

// cause is the one-line reason nothing was left.
func (e *NoValidHost) cause() string {
	switch {
	case e.Reason != "":
		return e.Reason
	case e.ReserveFailed > 0:
		return fmt.Sprintf("reservation failed on all %d hosts that passed the filters", e.ReserveFailed)
	case e.Hosts == 0:
		return "there are no hosts"
	}
	for _, f := range e.Filters {
		if f.End == 0 {
			return fmt.Sprintf("%s returned 0 hosts (start: %d, end: 0)", f.Filter, f.Start)
		}
	}
	return "no host passed the filters"
}

// Explain is the whole explanation on several lines (at most about 4
// KiB): the cause, each filter's counts and sample reasons, and failed
// reservations.
func (e *NoValidHost) Explain() string {
	var b strings.Builder
	b.WriteString(e.Error())
	b.WriteByte('\n')
	if e.InstanceUUID != "" {
		fmt.Fprintf(&b, "instance %s\n", e.InstanceUUID)
	}
	if e.MinCount > 0 && e.Placed > 0 {
		fmt.Fprintf(&b, "the %d instances placed were released\n", e.Placed)
	}
	fmt.Fprintf(&b, "hosts: %d\n", e.Hosts)
	for _, f := range e.Filters {
		fmt.Fprintf(&b, "%s: (start: %d, end: %d)\n", f.Filter, f.Start, f.End)
		writeReasons(&b, f.Rejected, f.Start-f.End)
	}
	if e.ReserveFailed > 0 {
		fmt.Fprintf(&b, "reservation failed on %d hosts:\n", e.ReserveFailed)
		writeReasons(&b, e.Reserve, e.ReserveFailed)
	}
	s := b.String()
	if len(s) > maxExplainLen {
		cut := strings.LastIndexByte(s[:maxExplainLen-len("...\n")], '\n')
		s = s[:cut+1] + "...\n"
	}
	return s
}

func writeReasons(b *strings.Builder, rs []HostReason, total int) {
	for _, r := range rs {
		reason := r.Reason
		if len(reason) > maxReasonLen {
			reason = reason[:maxReasonLen] + "..."
		}
		fmt.Fprintf(b, "  %s: %s\n", r.Host, reason)
	}
	if more := total - len(rs); more > 0 {
		fmt.Fprintf(b, "  and %d more\n", more)
	}
}

// explain builds the NoValidHost for the index-th instance from the
// segments its filtering scanned: it runs the filters again, one host at
// a time, to count what each removed and to keep a few reasons. It runs
// only when nothing passed, so the fast path never formats a reason it
// would throw away.
func (c *cycle) explain(index int) *NoValidHost {
	e := &NoValidHost{Instance: index, InstanceUUID: c.st.uuid, Count: c.st.count, Hosts: len(c.hosts)}
	e.Filters = append(e.Filters, c.narrowed...)
	stats := make([]FilterStat, len(c.filters))
	slot := map[*filterSlot]int{}
	for i, f := range c.filters {
		stats[i].Filter = f.name
		slot[f] = i
	}
	for _, seg := range c.segs {
		for pos := 0; pos < seg.n; pos++ {
			h := seg.list[(seg.off+pos)%len(seg.list)]
			for _, f := range seg.filters {
				st := &stats[slot[f]]
				st.Start++
				s := f.f.Filter(c.st, h)
				if s.Code() == Success || s.Code() == Skip {
					st.End++
					continue
				}
				st.Rejected = insertSample(st.Rejected, HostReason{Host: h.label(), Reason: s.Reason()})
				break
			}
		}
	}
	for _, st := range stats {
		if st.Start > 0 {
			e.Filters = append(e.Filters, st)
		}
	}
	return e
}

// insertSample keeps the samplesPerFilter reasons of the first hosts by
// name, so explanations do not depend on scan order.
func insertSample(rs []HostReason, r HostReason) []HostReason {
	i := len(rs)
	for i > 0 && rs[i-1].Host > r.Host {
		i--
	}
	if i >= samplesPerFilter {
		return rs
	}
	if len(rs) < samplesPerFilter {
		rs = append(rs, HostReason{})
	}
	copy(rs[i+1:], rs[i:len(rs)-1])
	rs[i] = r
	return rs
}

// sampleReasons keeps the first few reasons by host name.
func sampleReasons(all []HostReason) []HostReason {
	var rs []HostReason
	for _, r := range all {
		rs = insertSample(rs, r)
	}
	return rs
}
