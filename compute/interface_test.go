package compute_test

import (
	"context"
	"testing"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// An interface attach and detach as the store keeps them: the port is
// marked while the host works, one operation at a time; the host's
// report clears the mark or takes the port out (and says which port the
// caller releases first); state rules, locks and tenants as Nova's; the
// actions and events recorded.
func TestInterfaceAttachDetach(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newActionEnv(t, eng.DSN)
			ctx := context.Background()
			alice := compute.Viewer{Project: "proj-a"}
			i := e.create(t, "req-create")
			p1 := compute.InstancePort{ID: "port-1", NetworkID: "net-1", MAC: "fa:16:3e:00:00:01", Created: true}
			if _, err := e.s.Place(ctx, i.UUID, "h1", "h1", []compute.InstancePort{p1}); err != nil {
				t.Fatal(err)
			}
			p2 := compute.InstancePort{ID: "port-2", NetworkID: "net-2", MAC: "fa:16:3e:00:00:02", Created: true, Tag: "db"}
			// Building: Nova's 409 naming the state.
			if _, err := e.s.AttachPort(as("req-early"), alice, i.UUID, p2); fault.KindOf(err) != fault.Conflict ||
				fault.Message(err) != "Cannot 'attach_interface' instance "+i.UUID+" while it is in vm_state building" {
				t.Fatalf("attach while building: %v", err)
			}
			e.report(t, i, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: compute.PowerRunning})
			if _, err := e.s.AttachPort(as("req-x"), compute.Viewer{Project: "proj-b"}, i.UUID, p2); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("another project's attach: %v", err)
			}
			got, err := e.s.AttachPort(as("req-attach"), alice, i.UUID, p2)
			if err != nil {
				t.Fatal(err)
			}
			if pp := got.PendingPort(); pp == nil || pp.ID != "port-2" || pp.Pending != compute.PortAttaching || pp.Tag != "db" || len(got.Ports) != 2 {
				t.Fatalf("attaching: %+v", got.Ports)
			}
			// One at a time.
			if _, err := e.s.DetachPort(as("req-busy"), alice, i.UUID, "port-1"); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("detach during an attach: %v", err)
			} else if fe, ok := err.(*fault.Error); !ok || fe.Type != compute.TypeInterfaceBusy {
				t.Fatalf("detach during an attach: %#v", err)
			}
			// Another host's report, a report of a port with nothing under way.
			if _, err := e.s.ReportInterface(ctx, "h2", i.UUID, "port-2", compute.InterfaceReport{Op: compute.PortAttaching, Done: true}); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("another host's report: %v", err)
			}
			if _, err := e.s.CheckInterfaceReport(ctx, "h1", i.UUID, "port-1", compute.InterfaceReport{Op: compute.PortAttaching, Done: true}); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("a report with nothing under way: %v", err)
			}
			if leave, err := e.s.CheckInterfaceReport(ctx, "h1", i.UUID, "port-2", compute.InterfaceReport{Op: compute.PortAttaching, Done: true}); err != nil || leave != nil {
				t.Fatalf("an attach done releases nothing: %v %v", leave, err)
			}
			got, err = e.s.ReportInterface(ctx, "h1", i.UUID, "port-2", compute.InterfaceReport{Op: compute.PortAttaching, Done: true})
			if err != nil || got.PendingPort() != nil || len(got.Ports) != 2 {
				t.Fatalf("attached: %+v %v", got.Ports, err)
			}
			if ev := events(e.action(t, i, "req-attach")); ev != "compute_attach_interface h1 Success" {
				t.Fatalf("attach events: %s", ev)
			}

			// A detach of a port the server does not have; of one it has.
			if _, err := e.s.DetachPort(as("req-nope"), alice, i.UUID, "port-9"); fault.KindOf(err) != fault.NotFound ||
				fault.Message(err) != "Port port-9 is not attached" {
				t.Fatalf("detach an unknown port: %v", err)
			}
			if _, err := e.s.DetachPort(as("req-detach-1"), alice, i.UUID, "port-1"); err != nil {
				t.Fatal(err)
			}
			// The guest did not let go: the port stays, the event says so.
			got, err = e.s.ReportInterface(ctx, "h1", i.UUID, "port-1", compute.InterfaceReport{Op: compute.PortDetaching, Error: "the guest did not release the device"})
			if err != nil || got.PendingPort() != nil || len(got.Ports) != 2 {
				t.Fatalf("detach failed: %+v %v", got.Ports, err)
			}
			if ev := events(e.action(t, i, "req-detach-1")); ev != "compute_detach_interface h1 Error Failed to detach network adapter device from "+i.UUID {
				t.Fatalf("failed detach events: %s", ev)
			}
			if _, err := e.s.DetachPort(as("req-detach-2"), alice, i.UUID, "port-1"); err != nil {
				t.Fatal(err)
			}
			// An old report of an attach, sent again, is not this detach's.
			if _, err := e.s.CheckInterfaceReport(ctx, "h1", i.UUID, "port-1", compute.InterfaceReport{Op: compute.PortAttaching, Done: true}); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("an attach's report during a detach: %v", err)
			}
			// No move while it is under way.
			if _, _, err := e.s.StartResize(as("req-resize"), alice, i.UUID, nil, ""); fault.KindOf(err) != fault.Conflict ||
				fault.Message(err) != "Cannot 'migrate' instance "+i.UUID+" while port port-1 is being detached" {
				t.Fatalf("a migrate during a detach: %v", err)
			}
			leave, err := e.s.CheckInterfaceReport(ctx, "h1", i.UUID, "port-1", compute.InterfaceReport{Op: compute.PortDetaching, Done: true})
			if err != nil || leave == nil || leave.ID != "port-1" || !leave.Created {
				t.Fatalf("a detach done releases its port: %+v %v", leave, err)
			}
			got, err = e.s.ReportInterface(ctx, "h1", i.UUID, "port-1", compute.InterfaceReport{Op: compute.PortDetaching, Done: true})
			if err != nil || len(got.Ports) != 1 || got.Ports[0].ID != "port-2" {
				t.Fatalf("detached: %+v %v", got.Ports, err)
			}

			// An attach the host could not do: the port leaves, to be released.
			p3 := compute.InstancePort{ID: "port-3", NetworkID: "net-1", Created: true}
			if _, err := e.s.AttachPort(as("req-attach-3"), alice, i.UUID, p3); err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.AttachPort(as("req-again"), alice, i.UUID, p3); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("a second attach while one runs: %v", err)
			}
			leave, err = e.s.CheckInterfaceReport(ctx, "h1", i.UUID, "port-3", compute.InterfaceReport{Op: compute.PortAttaching, Error: "no PCI slot"})
			if err != nil || leave == nil || leave.ID != "port-3" {
				t.Fatalf("a failed attach releases its port: %+v %v", leave, err)
			}
			got, err = e.s.ReportInterface(ctx, "h1", i.UUID, "port-3", compute.InterfaceReport{Op: compute.PortAttaching, Error: "no PCI slot"})
			if err != nil || len(got.Ports) != 1 {
				t.Fatalf("attach failed: %+v %v", got.Ports, err)
			}
			if ev := events(e.action(t, i, "req-attach-3")); ev != "compute_attach_interface h1 Error Failed to attach network adapter device to "+i.UUID {
				t.Fatalf("failed attach events: %s", ev)
			}
			// The same port again, after the failure, is welcome.
			if _, err := e.s.AttachPort(as("req-attach-4"), alice, i.UUID, p3); err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.ReportInterface(ctx, "h1", i.UUID, "port-3", compute.InterfaceReport{Op: compute.PortAttaching, Done: true}); err != nil {
				t.Fatal(err)
			}

			// Stopped is fine.
			if _, err := e.s.StartAction(as("req-stop"), admin, i.UUID, "stop"); err != nil {
				t.Fatal(err)
			}
			e.report(t, i, compute.InstanceReport{Task: compute.PoweringOff, VMState: compute.Stopped, PowerState: compute.PowerShutdown})
			if _, err := e.s.DetachPort(as("req-stopped"), alice, i.UUID, "port-3"); err != nil {
				t.Fatalf("detach from a stopped server: %v", err)
			}

			// Locked: refused for the owner, not for an admin.
			l, err := e.s.CreateInstance(as("req-locked"), compute.Instance{UUID: "locked-" + i.UUID[7:], ProjectID: "proj-a", UserID: "alice", Name: "l", Locked: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.s.Place(ctx, l.UUID, "h1", "h1", nil); err != nil {
				t.Fatal(err)
			}
			e.report(t, l, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: compute.PowerRunning})
			if _, err := e.s.AttachPort(as("req-l1"), alice, l.UUID, p1); fault.KindOf(err) != fault.Conflict ||
				fault.Message(err) != "Instance "+l.UUID+" is locked" {
				t.Fatalf("attach to a locked server: %v", err)
			}
			if _, err := e.s.AttachPort(as("req-l2"), admin, l.UUID, p1); err != nil {
				t.Fatalf("an admin's attach to a locked server: %v", err)
			}
		})
	}
}
