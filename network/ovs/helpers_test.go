package ovs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/network/ovs"
	"github.com/gostack/gostack/network/ovs/ovstest"
)

// ctxFor is a context that ends with the test (or after a minute).
func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// connect starts nothing: it connects a Client to o, closed at cleanup.
func connect(t testing.TB, o *ovstest.OVS) *ovs.Client {
	t.Helper()
	c, err := ovs.Connect(ctxFor(t), o.DB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// vsctl runs ovs-vsctl on o, behind the Client's back, and returns its
// output without the trailing newline and quotes.
func vsctl(t testing.TB, o *ovstest.OVS, args ...string) string {
	t.Helper()
	out, err := o.Runner()(ctxFor(t), nil, "ovs-vsctl", append([]string{"--timeout=20"}, args...)...)
	if err != nil {
		t.Fatalf("ovs-vsctl %s: %v", strings.Join(args, " "), err)
	}
	return strings.Trim(strings.TrimSpace(string(out)), `"`)
}

// nextCfg is the root row's next_cfg, which every write of a Client
// raises: unchanged means no transaction was sent.
func nextCfg(t testing.TB, o *ovstest.OVS) string {
	return vsctl(t, o, "get", "Open_vSwitch", ".", "next_cfg")
}

// drain takes a pending Changed signal, if any.
func drain(c *ovs.Client) {
	select {
	case <-c.Changed():
	default:
	}
}

// waitChanged waits for Changed, then for cond to hold (re-checked at
// each signal), for up to 20 seconds.
func waitChanged(t testing.TB, c *ovs.Client, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case <-c.Changed():
			if cond() {
				return
			}
		case <-deadline:
			t.Fatalf("no Changed with %s", what)
		}
	}
}

func findIface(ifs []ovs.Interface, name string) (ovs.Interface, bool) {
	for _, i := range ifs {
		if i.Name == name {
			return i, true
		}
	}
	return ovs.Interface{}, false
}

// netdevBridge makes a userspace bridge that speaks OpenFlow 1.5 and
// waits for ovs-vswitchd to build it.
func netdevBridge(t testing.TB, c *ovs.Client, name string) {
	t.Helper()
	ctx := ctxFor(t)
	if err := c.EnsureBridge(ctx, name, ovs.BridgeOptions{
		DatapathType: "netdev", FailMode: "secure", Protocols: []string{"OpenFlow10", "OpenFlow15"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSwitch(ctx); err != nil {
		t.Fatal(err)
	}
}
