package libvirt

import (
	"context"
	"sync"
)

// keyLocks serialise the operations on one guest (a Spawn racing a
// Destroy of the same id), and only those: guests do not wait for each
// other. A waiter gives up when its context ends.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch      chan struct{} // holds a token while the key is locked
	waiters int           // holders and waiters; the entry goes at zero
}

func (l *keyLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*keyLock{}
	}
	k := l.m[key]
	if k == nil {
		k = &keyLock{ch: make(chan struct{}, 1)}
		l.m[key] = k
	}
	k.waiters++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if k.waiters--; k.waiters == 0 {
			delete(l.m, key)
		}
		l.mu.Unlock()
	}
	unlock = func() { <-k.ch; release() }
	select { // a free key is taken whatever the context
	case k.ch <- struct{}{}:
		return unlock, nil
	default:
	}
	select {
	case k.ch <- struct{}{}:
		return unlock, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
