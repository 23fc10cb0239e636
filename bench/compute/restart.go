package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// guestProc names one guest's QEMU for good: its pid and start time.
type guestProc struct {
	pid   int
	start string
}

// guestProcOf is the QEMU of server id, from the driver's pid file.
func (c *cloud) guestProcOf(id string) guestProc {
	f := filepath.Join(c.data, "compute", "qemu", id, "qemu.pid")
	if c.driver == "libvirt" {
		f = "/run/libvirt/qemu/instance-" + id + ".pid"
	}
	b, _ := os.ReadFile(f)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		return guestProc{}
	}
	return guestProc{pid: pid, start: startTime(pid)}
}

// restart brings the running guests to o.restart, waits until each has
// booted, kills the daemon (SIGKILL) and starts it again on the same
// data: until healthy, until each agent's first sync (and what that sync
// did), until every server is ACTIVE and running through the API; then,
// one sync period later, the guests whose QEMU is not the one it was.
func restart(ctx context.Context, o options, c *cloud, ids []string) error {
	ids, err := fill(ctx, c, ids, o.restart)
	if err != nil {
		return err
	}
	booted := waitBooted(ctx, c, ids)
	before := map[string]guestProc{}
	for _, id := range ids {
		before[id] = c.guestProcOf(id)
	}
	c.kill()
	start, err := c.start(o.gostack)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := c.healthy(rctx); err != nil {
		return err
	}
	healthy := time.Since(start)
	if _, err := c.connect(rctx); err != nil {
		return err
	}
	computeSync, err := firstSync(rctx, c, "compute agent: synced")
	if err != nil {
		return err
	}
	netSync, err := firstSync(rctx, c, "network agent: synced")
	if err != nil {
		return err
	}
	at, err := c.waitAllActive(rctx, ids, 100*time.Millisecond)
	if err != nil {
		return err
	}
	converged := latest(computeSync.at, netSync.at, at).Sub(start)
	// One more sync period (10 s) and its margin: a guest the agent
	// restarts late counts too.
	time.Sleep(time.Until(computeSync.at.Add(12 * time.Second)))
	restarted := 0
	for _, id := range ids {
		if p := c.guestProcOf(id); p != before[id] || p.pid == 0 {
			restarted++
		}
	}
	fmt.Printf("\nDaemon killed (SIGKILL) with %d running guests (%d of them past their ready line), started again on the same data\n\n", len(ids), booted)
	fmt.Printf("%-58s %8s\n", "healthy (/healthcheck)", secs(healthy))
	fmt.Printf("%-58s %8s   %s\n", "compute agent's first sync done (its log)", secs(computeSync.at.Sub(start)),
		attrs(computeSync, "instances", "guests", "started", "power", "orphans", "took"))
	fmt.Printf("%-58s %8s   %s\n", "network agent's first sync done (its log)", secs(netSync.at.Sub(start)),
		attrs(netSync, "ports", "plumbed", "flows_added", "flows_deleted", "took"))
	fmt.Printf("%-58s %8s\n", "every server ACTIVE and running in the API", secs(at.Sub(start)))
	fmt.Printf("%-58s %8s\n", "converged (the latest of the three)", secs(converged))
	fmt.Printf("%-58s %8d   (goal 0; QEMU pid and start time compared %s after the sync)\n", "guests restarted", restarted, "12 s")
	if c.driver == "qemu" {
		fmt.Printf("%-58s %8d\n", "QEMUs started by the new daemon (its log)", len(c.logs.find("compute/qemu: started")))
	}
	return nil
}

// fill deletes servers past m, or creates more, 10 at a time, until m
// run.
func fill(ctx context.Context, c *cloud, ids []string, m int) ([]string, error) {
	if len(ids) > m {
		if err := c.removeBounded(ids[m:]...); err != nil {
			return nil, err
		}
		ids = ids[:m]
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
	defer cancel()
	for len(ids) < m {
		more, err := c.createMany(ctx, fmt.Sprintf("r%d", len(ids)), min(10, m-len(ids)))
		if err != nil {
			return nil, err
		}
		if _, err := c.waitAllActive(ctx, more, time.Second); err != nil {
			return nil, err
		}
		ids = append(ids, more...)
	}
	return ids, nil
}

// waitBooted waits, up to 10 min, until every guest's console has its
// ready line, so that the restart is not measured under boot load, and
// returns how many did.
func waitBooted(ctx context.Context, c *cloud, ids []string) int {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if m := watchConsole(ctx, c.consoleLog(id), time.Now(), true); m.ready != 0 {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return n
}

// firstSync waits for the first log line msg of the daemon's run.
func firstSync(ctx context.Context, c *cloud, msg string) (logLine, error) {
	for {
		if l := c.logs.find(msg); len(l) > 0 {
			return l[0], nil
		}
		select {
		case <-ctx.Done():
			return logLine{}, fmt.Errorf("no %q in the log: %w; it ends:\n%s", msg, ctx.Err(), c.logs.tail(30))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// attrs formats some of a log line's attributes; durations (JSON
// nanoseconds) as such.
func attrs(l logLine, keys ...string) string {
	var out []string
	for _, k := range keys {
		v, ok := l.attrs[k]
		if !ok {
			continue
		}
		if f, isNum := v.(float64); isNum && k == "took" {
			v = time.Duration(f).Round(time.Millisecond)
		}
		out = append(out, fmt.Sprintf("%s=%v", k, v))
	}
	return strings.Join(out, " ")
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}
