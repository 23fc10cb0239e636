package agent_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/kit/crashpoint"
)

// The agent killed at each point of a sync — after the tunnels, after
// the tags, between the two bridges' flows, before the status report —
// converges when it starts again: the new port is plumbed and ACTIVE,
// traffic flows, and one more restart changes no flow.
func TestAgentCrashPoints(t *testing.T) {
	l := newLab(t)
	a := l.addHost("a", "192.168.77.1/24", false, false)
	n := l.tenantNet("p1", "10.0.0.0/24")
	first := l.port(n, "p1", "a")
	v1 := l.vm(a, first.id, first.mac, first.ip+"/24")
	l.waitActive(first.id)
	for _, point := range []string{"network.agent.tunnels", "network.agent.tagged", "network.agent.tunnel-flows", "network.agent.flows"} {
		t.Run(point, func(t *testing.T) {
			l.stopAgent(a)
			p := l.port(n, "p1", "a")
			v := l.vm(a, p.id, p.mac, p.ip+"/24")
			l.startAgent(a, crashpoint.Env+"="+point)
			done := make(chan struct{})
			go func() { a.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				t.Fatalf("the agent did not reach %s:\n%s", point, a.logs)
			}
			l.startAgent(a)
			l.waitActive(p.id)
			eventually(t, "traffic after the crash", func() error { return ping(v, first.ip) })
			eventually(t, "the restarted agent's first sync", func() error {
				if !strings.Contains(a.logs.String(), "first=true") {
					return fmt.Errorf("not yet")
				}
				return nil
			})
			// Converged: another restart finds nothing to change.
			time.Sleep(time.Second) // started_at has whole seconds
			l.stopAgent(a)
			l.startAgent(a)
			eventually(t, "the next agent's first sync", func() error {
				if !strings.Contains(a.logs.String(), "first=true") {
					return fmt.Errorf("not yet")
				}
				return nil
			})
			if !strings.Contains(a.logs.String(), "flows_added=0 flows_deleted=0") {
				t.Fatalf("after converging, a restart changed flows:\n%s", a.logs)
			}
			if err := ping(v1, p.ip); err != nil {
				t.Fatal(err)
			}
		})
	}
}
