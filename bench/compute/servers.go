package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// create asks for one server of m1.nano on the bench network.
func (c *cloud) create(ctx context.Context, name string) (string, error) {
	s, err := servers.Create(ctx, c.compute, servers.CreateOpts{Name: name, ImageRef: c.imageID, FlavorRef: c.flavorID,
		Networks: []servers.Network{{UUID: c.netID}}}, nil).Extract()
	if err != nil {
		return "", fmt.Errorf("server create %s: %w", name, err)
	}
	return s.ID, nil
}

// createMany asks for n servers at once, one client each, and returns
// their ids.
func (c *cloud) createMany(ctx context.Context, prefix string, n int) ([]string, error) {
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids[i], errs[i] = c.create(ctx, fmt.Sprintf("%s-%d", prefix, i))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// running is a server ACTIVE, with no task and its guest running.
func running(s servers.Server) bool {
	return s.Status == "ACTIVE" && s.TaskState == "" && s.PowerState == servers.RUNNING
}

// waitActive polls one server every 50 ms until it is ACTIVE and
// running, and returns when that was seen.
func (c *cloud) waitActive(ctx context.Context, id string) (time.Time, error) {
	for {
		s, err := servers.Get(ctx, c.compute, id).Extract()
		if err == nil && running(*s) {
			return time.Now(), nil
		}
		if err == nil && s.Status == "ERROR" {
			return time.Time{}, fmt.Errorf("server %s: ERROR: %s", id, s.Fault.Message)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("server %s not ACTIVE: %v %w", id, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// waitAllActive polls the server list every interval until every one of
// ids is ACTIVE and running, and returns when that was seen.
func (c *cloud) waitAllActive(ctx context.Context, ids []string, interval time.Duration) (time.Time, error) {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for {
		list, err := c.list(ctx)
		n := 0
		for _, s := range list {
			if want[s.ID] && running(s) {
				n++
			}
			if want[s.ID] && s.Status == "ERROR" {
				return time.Time{}, fmt.Errorf("server %s: ERROR: %s", s.ID, s.Fault.Message)
			}
		}
		if err == nil && n == len(ids) {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("%d of %d servers ACTIVE: %v %w", n, len(ids), err, ctx.Err())
		case <-time.After(interval):
		}
	}
}

// list is every server, in detail.
func (c *cloud) list(ctx context.Context) ([]servers.Server, error) {
	pages, err := servers.List(c.compute, servers.ListOpts{Limit: 1000}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return servers.ExtractServers(pages)
}

// waitConsoleAPI polls the server's console output through the API
// every 100 ms until it holds want.
func (c *cloud) waitConsoleAPI(ctx context.Context, id, want string) (time.Time, error) {
	for {
		out, err := servers.ShowConsoleOutput(ctx, c.compute, id, servers.ShowConsoleOutputOpts{}).Extract()
		if err == nil && strings.Contains(out, want) {
			return time.Now(), nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("console of %s through the API: %v %w", id, err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// removeBounded removes the servers within 2 min, whatever the run's
// context: for clean-ups.
func (c *cloud) removeBounded(ids ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return c.remove(ctx, ids...)
}

// remove deletes the servers and waits until they are gone.
func (c *cloud) remove(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		if err := servers.Delete(ctx, c.compute, id).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, 404) {
			return fmt.Errorf("server delete %s: %w", id, err)
		}
	}
	for _, id := range ids {
		for {
			_, err := servers.Get(ctx, c.compute, id).Extract()
			if gophercloud.ResponseCodeIs(err, 404) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("server %s not deleted: %w", id, ctx.Err())
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}
