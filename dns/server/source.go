package server

import (
	"sync"
	"sync/atomic"
)

// Source gives the zones to answer from. The server calls Zones once per
// query and uses the result for that query only, so a Source can swap
// its zones at any time. *Zones and *Dynamic are Sources.
type Source interface {
	Zones() *Zones
}

// Watcher is a Source that reports when its zones are replaced. A Server
// whose Source is a Watcher sends NOTIFY for every zone whose SOA serial
// changed (see Config.NotifyTargets). *Dynamic is a Watcher.
type Watcher interface {
	Source
	// Watch returns the current zones and a channel closed once they
	// have been replaced.
	Watch() (*Zones, <-chan struct{})
}

var (
	_ Source  = (*Zones)(nil)
	_ Watcher = (*Dynamic)(nil)
)

// Dynamic is a Source whose zones are replaced whole with Set. Queries
// read it with one atomic load and never wait for Set. The zero value
// holds no zones and is ready to use.
type Dynamic struct {
	mu  sync.Mutex // serialises Set and the first Watch
	cur atomic.Pointer[dynState]
}

type dynState struct {
	zones    *Zones
	replaced chan struct{}
}

// Zones returns the zones last Set, or nil (no zones).
func (d *Dynamic) Zones() *Zones {
	if st := d.cur.Load(); st != nil {
		return st.zones
	}
	return nil
}

// Set replaces the zones. Queries already running finish on the old ones.
func (d *Dynamic) Set(z *Zones) {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.cur.Swap(&dynState{zones: z, replaced: make(chan struct{})})
	if old != nil {
		close(old.replaced)
	}
}

// Watch returns the current zones and a channel closed by the next Set.
func (d *Dynamic) Watch() (*Zones, <-chan struct{}) {
	if st := d.cur.Load(); st != nil {
		return st.zones, st.replaced
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	st := d.cur.Load()
	if st == nil {
		st = &dynState{replaced: make(chan struct{})}
		d.cur.Store(st)
	}
	return st.zones, st.replaced
}
