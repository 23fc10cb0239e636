package compute_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/fault"
)

// Volume attach and detach as the store keeps them: marked while the
// host works, device names given in order, Nova's refusals, one
// operation at a time (interfaces included), the actions recorded, and
// no move of a server with volumes.
func TestVolumeAttachDetach(t *testing.T) {
	for _, eng := range testenv.Engines(t) {
		t.Run(eng.Name, func(t *testing.T) {
			e := newActionEnv(t, eng.DSN)
			ctx := context.Background()
			alice := compute.Viewer{Project: "proj-a"}
			i := e.create(t, "req-create")
			if _, err := e.s.Place(ctx, i.UUID, "h1", "h1", nil); err != nil {
				t.Fatal(err)
			}
			v1 := compute.InstanceVolume{VolumeID: "vol-1", AttachmentID: "att-1", ID: "bdm-1"}
			if _, err := e.s.AttachVolume(as("req-early"), alice, i.UUID, v1); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("attach while building: %v", err)
			}
			e.report(t, i, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active, PowerState: compute.PowerRunning})
			if _, err := e.s.AttachVolume(as("req-x"), compute.Viewer{Project: "proj-b"}, i.UUID, v1); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("another project's attach: %v", err)
			}
			got, err := e.s.AttachVolume(as("req-attach"), alice, i.UUID, v1)
			if err != nil {
				t.Fatal(err)
			}
			if x := got.PendingVolume(); x == nil || x.Device != "/dev/vdb" || x.Pending != compute.PortAttaching {
				t.Fatalf("attaching: %+v", got.Volumes)
			}
			// One operation at a time, interfaces included.
			if _, err := e.s.AttachPort(as("req-port"), alice, i.UUID, compute.InstancePort{ID: "port-9"}); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("an interface attach during a volume attach: %v", err)
			}
			if _, err := e.s.CheckVolumeReport(ctx, "h1", i.UUID, "vol-1", compute.VolumeReport{Op: compute.PortDetaching, Done: true}); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("a detach's report during an attach: %v", err)
			}
			if _, err := e.s.ReportVolume(ctx, "h2", i.UUID, "vol-1", compute.VolumeReport{Op: compute.PortAttaching, Done: true}); fault.KindOf(err) != fault.NotFound {
				t.Fatalf("another host's report: %v", err)
			}
			if got, err = e.s.ReportVolume(ctx, "h1", i.UUID, "vol-1", compute.VolumeReport{Op: compute.PortAttaching, Done: true}); err != nil || got.PendingVolume() != nil {
				t.Fatalf("attached: %+v %v", got.Volumes, err)
			}
			if ev := events(e.action(t, i, "req-attach")); ev != "compute_attach_volume h1 Success" {
				t.Fatalf("attach events: %s", ev)
			}
			// Nova's refusals: the same volume, a device in use.
			if _, err := e.s.AttachVolume(as("req-again"), alice, i.UUID, v1); fault.KindOf(err) != fault.BadRequest {
				t.Fatalf("the same volume again: %v", err)
			}
			if _, err := e.s.AttachVolume(as("req-dev"), alice, i.UUID, compute.InstanceVolume{VolumeID: "vol-2", Device: "/dev/vdb"}); fault.KindOf(err) != fault.Conflict {
				t.Fatalf("a device in use: %v", err)
			}
			got, err = e.s.AttachVolume(as("req-attach-2"), alice, i.UUID, compute.InstanceVolume{VolumeID: "vol-2", AttachmentID: "att-2"})
			if err != nil || got.PendingVolume().Device != "/dev/vdc" {
				t.Fatalf("a second volume: %+v %v", got.Volumes, err)
			}
			// The host could not: the volume leaves, the event says so.
			if got, err = e.s.ReportVolume(ctx, "h1", i.UUID, "vol-2", compute.VolumeReport{Op: compute.PortAttaching, Error: "login refused"}); err != nil || len(got.Volumes) != 1 {
				t.Fatalf("a failed attach: %+v %v", got.Volumes, err)
			}
			if ev := events(e.action(t, i, "req-attach-2")); ev != "compute_attach_volume h1 Error Failed to attach volume vol-2 to instance "+i.UUID {
				t.Fatalf("failed attach events: %s", ev)
			}
			// No move while a volume is being attached (a settled volume
			// moves with the server: its destination connects it).
			if _, err := e.s.AttachVolume(as("req-attach-3"), alice, i.UUID, compute.InstanceVolume{VolumeID: "vol-3", AttachmentID: "att-3"}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.s.StartResize(as("req-move"), alice, i.UUID, nil, ""); fault.KindOf(err) != fault.Conflict ||
				!strings.Contains(fault.Message(err), "while volume vol-3 is being attached") {
				t.Fatalf("a migrate while a volume is attached: %v", err)
			}
			if _, err := e.s.ReportVolume(ctx, "h1", i.UUID, "vol-3", compute.VolumeReport{Op: compute.PortAttaching, Error: "no"}); err != nil {
				t.Fatal(err)
			}
			// Detach.
			if _, err := e.s.DetachVolume(as("req-nope"), alice, i.UUID, "vol-9"); fault.KindOf(err) != fault.NotFound ||
				fault.Message(err) != "Instance "+i.UUID+" is not attached to volume vol-9" {
				t.Fatalf("detach of a volume not attached: %v", err)
			}
			if _, err := e.s.DetachVolume(as("req-detach"), alice, i.UUID, "vol-1"); err != nil {
				t.Fatal(err)
			}
			x, err := e.s.CheckVolumeReport(ctx, "h1", i.UUID, "vol-1", compute.VolumeReport{Op: compute.PortDetaching, Done: true})
			if err != nil || x.AttachmentID != "att-1" {
				t.Fatalf("the detach's volume: %+v %v", x, err)
			}
			if got, err = e.s.ReportVolume(ctx, "h1", i.UUID, "vol-1", compute.VolumeReport{Op: compute.PortDetaching, Done: true}); err != nil || len(got.Volumes) != 0 {
				t.Fatalf("detached: %+v %v", got.Volumes, err)
			}
			if ev := events(e.action(t, i, "req-detach")); ev != "compute_detach_volume h1 Success" {
				t.Fatalf("detach events: %s", ev)
			}
		})
	}
}
