package main

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// burst starts o.servers guests by hand at once (the physical limit),
// then creates as many servers at once through the API: until all are
// ACTIVE, until all consoles have their first line and the kernel's,
// and the daemon's CPU meanwhile. It returns the servers, left running.
func burst(ctx context.Context, o options, c *cloud) ([]string, error) {
	n := o.servers
	bare, err := bareBoot(ctx, o.work, o.image, n)
	if err != nil {
		return nil, err
	}
	bctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cpu0 := procCPU(c.pid())
	start := time.Now()
	ids, err := c.createMany(bctx, "burst", n)
	if err != nil {
		return nil, err
	}
	posted := time.Since(start)
	cons := make([]marks, n)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cons[i] = watchConsole(bctx, c.consoleLog(id), start, false)
		}()
	}
	at, err := c.waitAllActive(bctx, ids, 250*time.Millisecond)
	if err != nil {
		cancel()
		wg.Wait()
		return ids, err
	}
	cpuActive := procCPU(c.pid()).sub(cpu0)
	wg.Wait()
	cpuKernel := procCPU(c.pid()).sub(cpu0)
	col := func(ms []marks, f func(marks) time.Duration) time.Duration {
		var ds []time.Duration
		for _, m := range ms {
			ds = append(ds, f(m))
		}
		return maxOf(ds)
	}
	first := func(m marks) time.Duration { return m.first }
	kernel := func(m marks) time.Duration { return m.kernel }
	fmt.Printf("\n%d servers at once (seconds from the first exec by hand | from the first POST; %d clients at once)\n\n", n, n)
	fmt.Printf("%-50s %10s %14s %10s %8s\n", "", "bare QEMU", "server create", "overhead", "ratio")
	fmt.Printf("%-50s %10s %14s\n", "every POST /servers answered", "—", secs(posted))
	fmt.Printf("%-50s %10s %14s\n", "all ACTIVE and running in the API (polled 250 ms)", "—", secs(at.Sub(start)))
	row := func(what string, bare, api time.Duration) {
		fmt.Printf("%-50s %10s %14s %+10.2f %8.1f\n", what, secs(bare), secs(api), (api - bare).Seconds(), api.Seconds()/bare.Seconds())
	}
	row("all first console lines, serial log files", col(bare, first), col(cons, first))
	row("all guests' first lines (kernel up)", col(bare, kernel), col(cons, kernel))
	per := func(d time.Duration) string {
		return fmt.Sprintf("%.1f ms/server", float64(d.Milliseconds())/float64(n))
	}
	fmt.Printf("\ndaemon CPU (the whole all-in-one: APIs, scheduler, network and compute agents; the compute agent runs in it)\n")
	fmt.Printf("  POST to all ACTIVE:        %6.2f s, %s; its children (qemu-img, QEMU before it daemonizes, ovs-vsctl): %.2f s, %s\n",
		cpuActive.self.Seconds(), per(cpuActive.self), cpuActive.children.Seconds(), per(cpuActive.children))
	fmt.Printf("  POST to all kernel lines:  %6.2f s, %s; children %.2f s\n",
		cpuKernel.self.Seconds(), per(cpuKernel.self), cpuKernel.children.Seconds())
	return ids, nil
}
