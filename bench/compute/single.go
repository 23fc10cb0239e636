package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// apiBoot is one server's create through the API, from the POST.
type apiBoot struct {
	active     time.Duration // ACTIVE and running, as polled every 50 ms
	console    marks         // on the serial log file
	apiFirst   time.Duration // the API's console output has a line
	apiKernel  time.Duration // ... and the kernel's
	apiWaitErr error
}

// bootOne creates one server and times it to ACTIVE, its console marks
// (ready included) and the API's view of its console; then deletes it.
func bootOne(ctx context.Context, c *cloud, name string) (apiBoot, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var b apiBoot
	start := time.Now()
	id, err := c.create(ctx, name)
	if err != nil {
		return b, err
	}
	defer c.removeBounded(id)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		b.console = watchConsole(ctx, c.consoleLog(id), start, true)
	}()
	go func() {
		defer wg.Done()
		b.apiFirst, b.apiKernel, b.apiWaitErr = c.apiConsole(ctx, id, start)
	}()
	at, err := c.waitActive(ctx, id)
	if err != nil {
		cancel()
		wg.Wait()
		return b, err
	}
	b.active = at.Sub(start)
	wg.Wait()
	if b.console.kernel == 0 {
		return b, fmt.Errorf("server %s: no kernel line on its console in 3 min", id)
	}
	return b, nil
}

// apiConsole polls the server's console output through the API every
// 100 ms until it has the kernel's line: when it first had a line, and
// that one.
func (c *cloud) apiConsole(ctx context.Context, id string, start time.Time) (first, kernel time.Duration, err error) {
	for {
		out, err := servers.ShowConsoleOutput(ctx, c.compute, id, servers.ShowConsoleOutputOpts{}).Extract()
		if err == nil {
			if first == 0 && strings.Contains(out, "\n") {
				first = time.Since(start)
			}
			if strings.Contains(out, markKernel) {
				return first, time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return first, 0, fmt.Errorf("console of %s through the API: %v %w", id, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// single boots one guest by hand and one server through the API, rounds
// times interleaved, after one server that fills the agent's image cache.
func single(ctx context.Context, o options, c *cloud) error {
	cold, err := bootOne(ctx, c, "cold")
	if err != nil {
		return fmt.Errorf("first server (cold image cache): %w", err)
	}
	var bare []marks
	var api []apiBoot
	for r := range o.rounds {
		m, err := bareBoot(ctx, o.work, o.image, 1)
		if err != nil {
			return err
		}
		bare = append(bare, m[0])
		b, err := bootOne(ctx, c, fmt.Sprintf("single-%d", r))
		if err != nil {
			return err
		}
		api = append(api, b)
	}
	printSingle(o.rounds, cold, bare, api)
	return nil
}

func printSingle(rounds int, cold apiBoot, bare []marks, api []apiBoot) {
	pick := func(f func(apiBoot) time.Duration) time.Duration {
		var ds []time.Duration
		for _, b := range api {
			ds = append(ds, f(b))
		}
		return median(ds)
	}
	pickBare := func(f func(marks) time.Duration) time.Duration {
		var ds []time.Duration
		for _, m := range bare {
			ds = append(ds, f(m))
		}
		return median(ds)
	}
	bFirst, bKernel := pickBare(func(m marks) time.Duration { return m.first }), pickBare(func(m marks) time.Duration { return m.kernel })
	aFirst := pick(func(b apiBoot) time.Duration { return b.console.first })
	aKernel := pick(func(b apiBoot) time.Duration { return b.console.kernel })
	fmt.Printf("\nOne server, median of %d (seconds from QEMU's exec by hand | from POST /servers)\n\n", rounds)
	fmt.Printf("%-50s %10s %14s %10s %8s\n", "", "bare QEMU", "server create", "overhead", "ratio")
	fmt.Printf("%-50s %10s %14s\n", "ACTIVE and running in the API (polled 50 ms)", "—", secs(pick(func(b apiBoot) time.Duration { return b.active })))
	row := func(what string, bare, api time.Duration) {
		fmt.Printf("%-50s %10s %14s %+10.2f %8.1f\n", what, secs(bare), secs(api), (api - bare).Seconds(), api.Seconds()/bare.Seconds())
	}
	row("first console line (SeaBIOS), serial log file", bFirst, aFirst)
	row("guest's first line (kernel up), serial log file", bKernel, aKernel)
	fmt.Printf("%-50s %10s %14s\n", "guest ready (DHCP, metadata service)", "—", secs(pick(func(b apiBoot) time.Duration { return b.console.ready })))
	fmt.Printf("%-50s %10s %14s\n", "the API's console output has a line", "—", secs(pick(func(b apiBoot) time.Duration { return b.apiFirst })))
	fmt.Printf("%-50s %10s %14s\n", "the API's console output has the kernel line", "—", secs(pick(func(b apiBoot) time.Duration { return b.apiKernel })))
	verdict := "met"
	if aFirst-bFirst > time.Second {
		verdict = "NOT met"
	}
	fmt.Printf("\ngoal: ≤ 1 s of overhead above the bare QEMU start to the first console line: %s (%+.2f s)\n", verdict, (aFirst - bFirst).Seconds())
	fmt.Printf("first server, image not yet in the agent's cache: ACTIVE %s, first console line %s, kernel %s\n",
		secs(cold.active), secs(cold.console.first), secs(cold.console.kernel))
	fmt.Printf("rounds (first line, bare | API; ACTIVE):")
	for i := range api {
		fmt.Printf(" %s|%s;%s", secs(bare[i].first), secs(api[i].console.first), secs(api[i].active))
	}
	fmt.Println()
	for _, b := range api {
		if b.apiWaitErr != nil {
			fmt.Printf("note: %v\n", b.apiWaitErr)
		}
	}
}
