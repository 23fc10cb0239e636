package ovs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// Client is a connection to an ovsdb-server's Open_vSwitch database with a
// cache of its bridges, ports and interfaces, kept current by a monitor.
// It reconnects by itself; while it is disconnected, reads answer from
// the last state seen and writes fail with ErrNotConnected.
type Client struct {
	endpoint string
	dbm      model.ClientDBModel
	pidFile  string // ovs-vswitchd's, next to a unix endpoint; "" for tcp

	mu      sync.Mutex
	sess    *session      // the current connection; never nil after Connect
	updated chan struct{} // closed and replaced at every change
	changed chan struct{} // buffered 1: Changed

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// session is one connection: its libovsdb client and that client's
// cache, which keeps the last state after the connection is lost.
type session struct {
	cli   client.Client
	cache *cache.TableCache
}

// Poll interval of the connection and ovs-vswitchd watch, and the
// longest pause between two reconnection attempts.
const (
	watchEvery   = 250 * time.Millisecond
	maxReconnect = 2 * time.Second
)

// Connect connects to the OVSDB endpoint ("unix:/path/db.sock",
// "tcp:host:port"; Daemons.DB) and fills the cache before it returns.
//
// When endpoint is a unix socket, the Client also watches
// ovs-vswitchd.pid in the socket's directory: a restarted ovs-vswitchd has
// lost every OpenFlow flow but writes nothing new to the database, so its
// new process id is what shows it.
func Connect(ctx context.Context, endpoint string) (*Client, error) {
	dbm, err := dbModel()
	if err != nil {
		return nil, fmt.Errorf("ovs: connect: %w", err)
	}
	c := &Client{
		endpoint: endpoint,
		dbm:      dbm,
		updated:  make(chan struct{}),
		changed:  make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if u, err := url.Parse(endpoint); err == nil && u.Scheme == "unix" {
		c.pidFile = filepath.Join(filepath.Dir(u.Opaque+u.Path), switchName+".pid")
	}
	s, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	c.sess = s
	c.wg.Add(1)
	go c.watch(s)
	c.notify()
	return c, nil
}

// dial makes a new connection and monitors the four tables.
func (c *Client) dial(ctx context.Context) (*session, error) {
	cli, err := client.NewOVSDBClient(c.dbm, client.WithEndpoint(c.endpoint))
	if err != nil {
		return nil, fmt.Errorf("ovs: connect %s: %w", c.endpoint, err)
	}
	if err := cli.Connect(ctx); err != nil {
		return nil, fmt.Errorf("ovs: connect %s: %w", c.endpoint, err)
	}
	s := &session{cli: cli, cache: cli.Cache()}
	wake := func(string, model.Model) { c.notify() }
	s.cache.AddEventHandler(&cache.EventHandlerFuncs{
		AddFunc:    wake,
		DeleteFunc: wake,
		UpdateFunc: func(string, model.Model, model.Model) { c.notify() },
	})
	if _, err := cli.Monitor(ctx, monitorOf(cli)); err != nil {
		cli.Close()
		return nil, fmt.Errorf("ovs: monitor %s: %w", c.endpoint, err)
	}
	return s, nil
}

// watch replaces a lost connection and signals a new ovs-vswitchd.
func (c *Client) watch(s *session) {
	defer c.wg.Done()
	pid := readPID(c.pidFile)
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-s.cli.DisconnectNotify():
		case <-tick.C:
		}
		if s.cli.CurrentEndpoint() == "" { // no RPC connection
			s.cli.Close()
			if s = c.redial(); s == nil {
				return
			}
		}
		if p := readPID(c.pidFile); p != pid {
			pid = p
			c.notify()
		}
	}
}

// redial connects again, with growing pauses, until it succeeds (the
// new session is installed and Changed signalled) or Close.
func (c *Client) redial() *session {
	pause := 50 * time.Millisecond
	for {
		select {
		case <-c.done:
			return nil
		case <-time.After(pause):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s, err := c.dial(ctx)
		cancel()
		if err == nil {
			c.mu.Lock()
			c.sess = s
			c.mu.Unlock()
			c.notify()
			return s
		}
		pause = min(2*pause, maxReconnect)
	}
}

func readPID(path string) string {
	if path == "" {
		return ""
	}
	b, _ := os.ReadFile(path)
	return string(b)
}

// Close stops the Client and closes its connection.
func (c *Client) Close() {
	c.closeOnce.Do(func() {
		close(c.done)
		c.wg.Wait()
		c.session().cli.Close()
	})
}

// Changed receives after every change of the cached tables (bridges,
// ports, interfaces and the root row), after a reconnection and when a
// new ovs-vswitchd runs. Signals are coalesced (the channel holds one): an
// agent re-reads what it needs and re-plumbs on each. One is pending
// after Connect.
func (c *Client) Changed() <-chan struct{} { return c.changed }

// Connected reports whether the Client holds a live connection.
func (c *Client) Connected() bool {
	return c.session().cli.CurrentEndpoint() != ""
}

func (c *Client) notify() {
	c.mu.Lock()
	close(c.updated)
	c.updated = make(chan struct{})
	c.mu.Unlock()
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

func (c *Client) session() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// snapshot reads the cache.
func (c *Client) snapshot() (*snapshot, *session) {
	s := c.session()
	snap := &snapshot{
		bridges: map[string]*bridgeRow{},
		ports:   map[string]*portRow{},
		ifaces:  map[string]*ifaceRow{},
	}
	rows := func(table string) map[string]model.Model {
		if t := s.cache.Table(table); t != nil {
			return t.RowsShallow()
		}
		return nil
	}
	for _, m := range rows(tableRoot) {
		snap.root = m.(*rootRow)
	}
	for u, m := range rows(tableBridge) {
		snap.bridges[u] = m.(*bridgeRow)
	}
	for u, m := range rows(tablePort) {
		snap.ports[u] = m.(*portRow)
	}
	for u, m := range rows(tableInterface) {
		snap.ifaces[u] = m.(*ifaceRow)
	}
	return snap, s
}

// waitFor waits until done holds for the cache, or ctx ends.
func (c *Client) waitFor(ctx context.Context, done func(*snapshot) bool) error {
	for {
		c.mu.Lock()
		updated := c.updated
		c.mu.Unlock()
		if s, _ := c.snapshot(); done(s) {
			return nil
		}
		select {
		case <-updated:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Interface is an OVS interface as the cache holds it.
type Interface struct {
	Name, Type  string
	Bridge      string            // the bridge of its port
	OFPort      int               // -1 (failed) or 0 until ovs-vswitchd attaches it
	MAC         string            // mac_in_use
	ExternalIDs map[string]string // iface-id, attached-mac, ...
	Options     map[string]string
	Tag         int    // its port's VLAN tag, 0 for none
	Error       string // why ovs-vswitchd could not attach it
}

// Interfaces returns the interfaces of bridge (every bridge's for ""),
// sorted by name, from the cache: no round trip.
func (c *Client) Interfaces(bridge string) []Interface {
	s, _ := c.snapshot()
	var out []Interface
	for _, b := range s.bridges {
		if bridge != "" && b.Name != bridge {
			continue
		}
		for _, pu := range b.Ports {
			p := s.ports[pu]
			if p == nil {
				continue
			}
			for _, iu := range p.Interfaces {
				if i := s.ifaces[iu]; i != nil {
					out = append(out, toInterface(i, p, b))
				}
			}
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

func toInterface(i *ifaceRow, p *portRow, b *bridgeRow) Interface {
	return Interface{
		Name:        i.Name,
		Type:        i.Type,
		Bridge:      b.Name,
		OFPort:      deref(i.OFPort),
		MAC:         deref(i.MACInUse),
		ExternalIDs: clone(i.ExternalIDs),
		Options:     clone(i.Options),
		Tag:         deref(p.Tag),
		Error:       deref(i.Error),
	}
}

// WaitOFPort waits until ovs-vswitchd has given the interface named iface
// an OpenFlow port number, and returns it. It fails at once when
// ovs-vswitchd reports an error for the interface (ofport -1), and when ctx
// ends.
func (c *Client) WaitOFPort(ctx context.Context, iface string) (int, error) {
	var port int
	var ierr string
	err := c.waitFor(ctx, func(s *snapshot) bool {
		for _, i := range s.ifaces {
			if i.Name != iface {
				continue
			}
			port, ierr = deref(i.OFPort), deref(i.Error)
			return port > 0 || (port < 0 && ierr != "")
		}
		return false
	})
	if err != nil {
		return 0, fmt.Errorf("ovs: wait for ofport of %q: %w", iface, err)
	}
	if port < 0 {
		return port, fmt.Errorf("ovs: interface %q: %s", iface, ierr)
	}
	return port, nil
}

// WaitSwitch waits until ovs-vswitchd has applied every change made to
// the database so far (its cur_cfg has reached next_cfg, which each write
// of this Client raises, as ovs-vsctl does): then a new bridge's OpenFlow
// socket exists and new ports are attached. It waits for ever if
// ovs-vswitchd does not run; bound it with ctx.
func (c *Client) WaitSwitch(ctx context.Context) error {
	err := c.waitFor(ctx, func(s *snapshot) bool {
		return s.root != nil && s.root.CurCfg >= s.root.NextCfg
	})
	if err != nil {
		return fmt.Errorf("ovs: wait for ovs-vswitchd: %w", err)
	}
	return nil
}

// transact runs ops, with the root row's next_cfg raised, and checks
// every result.
func (c *Client) transact(ctx context.Context, s *session, snap *snapshot, ops []ovsdb.Operation) error {
	if snap.root == nil {
		return fmt.Errorf("ovs: the database has no Open_vSwitch row")
	}
	r := &rootRow{UUID: snap.root.UUID}
	bump, err := s.cli.Where(r).Mutate(r, model.Mutation{Field: &r.NextCfg, Mutator: ovsdb.MutateOperationAdd, Value: 1})
	if err != nil {
		return err
	}
	ops = append(ops, bump...)
	res, err := s.cli.Transact(ctx, ops...)
	if errors.Is(err, client.ErrNotConnected) {
		return ErrNotConnected
	}
	if err != nil {
		return err
	}
	if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
		return err
	}
	return nil
}

// plan computes the operations that would bring the database to what a
// call wants; none when it is there already.
type plan func(*snapshot, *session) ([]ovsdb.Operation, error)

// apply runs a plan: nothing when it has nothing to do, else one
// transaction, then a wait until the cache shows the result, so that the
// next call plans on it.
func (c *Client) apply(ctx context.Context, p plan) error {
	snap, s := c.snapshot()
	ops, err := p(snap, s)
	if err != nil || len(ops) == 0 {
		return err
	}
	if s.cli.CurrentEndpoint() == "" {
		return ErrNotConnected
	}
	if err := c.transact(ctx, s, snap, ops); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var perr error
	werr := c.waitFor(wctx, func(snap *snapshot) bool {
		ops, err := p(snap, s)
		perr = err
		return err != nil || len(ops) == 0
	})
	if perr != nil {
		return perr
	}
	if werr != nil {
		return fmt.Errorf("the cache did not show the change: %w", werr)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func clone(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
