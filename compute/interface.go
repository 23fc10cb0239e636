package compute

import (
	"context"
	"slices"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// Interface attach and detach (Nova's os-interface). The instance's
// ports are the desired state: a port being attached is in Ports marked
// PortAttaching, one being detached stays there marked PortDetaching.
// The host's agent hot-plugs (or unplugs) it and reports; the report
// clears the mark, or takes the port out of Ports — and then the caller
// releases it in the network service. One interface operation runs at a
// time per instance (Nova's compute manager serializes them with the
// instance's lock); a second one finds the instance busy.
const (
	PortAttaching = "attaching"
	PortDetaching = "detaching"
	// VolumeExtending marks a volume its host is to tell the guest grew
	// (Nova's volume-extended event).
	VolumeExtending = "extending"
)

// Nova's events of the two operations (compute_<method>).
const (
	EventAttachInterface = "compute_attach_interface"
	EventDetachInterface = "compute_detach_interface"
)

// The state rules of the two (nova/compute/api.py): an instance that
// has run, active, paused or stopped, with no task under way.
var (
	attachInterface = Action{Name: "attach_interface", VM: []VMState{Active, Paused, Stopped}, Task: noTask, Launched: true, Record: "attach_interface"}
	detachInterface = Action{Name: "detach_interface", VM: []VMState{Active, Paused, Stopped}, Task: noTask, Launched: true, Record: "detach_interface"}
)

// TypeInterfaceBusy is the fault.Error Type of an interface operation
// refused because another one is under way on the instance.
const TypeInterfaceBusy = "InstanceInterfaceBusy"

// Interface is a port of an instance as Nova's os-interface shows it.
type Interface struct {
	PortID   string        `json:"port_id"`
	NetID    string        `json:"net_id"`
	MAC      string        `json:"mac_addr"`
	State    string        `json:"port_state"`
	FixedIPs []InterfaceIP `json:"fixed_ips"`
}

// InterfaceIP is one fixed IP of an Interface.
type InterfaceIP struct {
	SubnetID  string `json:"subnet_id"`
	IPAddress string `json:"ip_address"`
}

// InterfaceLister is a Networks that reads, in detail, the ports bound
// to an instance (Nova lists ports by device_id for os-interface).
type InterfaceLister interface {
	Interfaces(ctx context.Context, instance string) ([]Interface, error)
}

// PendingPort is the port an interface operation is under way on, nil
// for none.
func (i Instance) PendingPort() *InstancePort {
	for k := range i.Ports {
		if i.Ports[k].Pending != "" {
			return &i.Ports[k]
		}
	}
	return nil
}

// checkInterface is what the interface and volume operations check
// first: v sees the instance, a locked one refuses non-admins, the state
// rules of a, no other interface or volume operation under way.
func checkInterface(v Viewer, i *Instance, a Action) error {
	if !v.sees(i.ProjectID) {
		return instanceNotFound(i.UUID)
	}
	if i.Locked && !v.Admin {
		return novaError(fault.Conflict, "InstanceIsLocked", "Instance %s is locked", i.UUID)
	}
	if err := a.Check(i.UUID, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
		return err
	}
	return busy(i)
}

func pendingVerb(pending string) string {
	switch pending {
	case PortDetaching:
		return "detached"
	case VolumeExtending:
		return "extended"
	}
	return "attached"
}

// CheckAttachInterface is AttachPort's check without the write: the
// API's refusal before it makes a port.
func (s *Store) CheckAttachInterface(ctx context.Context, v Viewer, id string) (Instance, error) {
	i, err := s.Instance(ctx, v, id)
	if err != nil {
		return i, err
	}
	return i, checkInterface(v, &i, attachInterface)
}

// AttachPort adds port p (made or bound for the instance on its host by
// the network service) to instance id, marked PortAttaching, and records
// the attach_interface action with its event on the host. The caller
// releases p when this fails.
func (s *Store) AttachPort(ctx context.Context, v Viewer, id string, p InstancePort) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if err := checkInterface(v, i, attachInterface); err != nil {
			return err
		}
		if slices.ContainsFunc(i.Ports, func(q InstancePort) bool { return q.ID == p.ID }) {
			return novaError(fault.Conflict, "PortInUse", "Port %s is still in use.", p.ID)
		}
		p.Pending = PortAttaching
		i.Ports = append(i.Ports, p)
		return s.startInterfaceAction(ctx, tx, *i, attachInterface, EventAttachInterface)
	})
}

// DetachPort marks port portID of instance id PortDetaching and records
// the detach_interface action; a port the instance does not have is
// Nova's 404 "Port <id> is not attached".
func (s *Store) DetachPort(ctx context.Context, v Viewer, id, portID string) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if err := checkInterface(v, i, detachInterface); err != nil {
			return err
		}
		k := slices.IndexFunc(i.Ports, func(q InstancePort) bool { return q.ID == portID })
		if k < 0 {
			return novaError(fault.NotFound, "PortNotFound", "Port %s is not attached", portID)
		}
		i.Ports[k].Pending = PortDetaching
		return s.startInterfaceAction(ctx, tx, *i, detachInterface, EventDetachInterface)
	})
}

func (s *Store) startInterfaceAction(ctx context.Context, tx *sqlstore.Tx, i Instance, a Action, event string) error {
	now := s.now()
	action, err := s.recordAction(ctx, tx, i.UUID, a.Record, now)
	if err != nil {
		return err
	}
	return startEvent(ctx, tx, action, event, i.Host, now)
}

// InterfaceReport is a host agent's report of an interface operation:
// done, or failed with Error (the port stays as it was before the
// operation: an attach that failed is taken out, a detach that failed
// leaves the port attached).
type InterfaceReport struct {
	// Op is the operation reported on, the port's mark when the agent
	// read it (PortAttaching, PortDetaching): a report of another one
	// than the port's now (an old one sent again) is refused.
	Op    string `json:"op"`
	Done  bool   `json:"done,omitempty"`
	Error string `json:"error,omitempty"`
}

// CheckInterfaceReport is ReportInterface's check without the write: the
// report's port is pending on instance id, placed on host. It returns
// the port the report takes out of the instance (nil if none), which
// the caller releases before it applies the report, so a crash between
// the two leaves the report to be sent again, not a port bound to
// nothing.
func (s *Store) CheckInterfaceReport(ctx context.Context, host, id, portID string, r InterfaceReport) (*InstancePort, error) {
	is, err := getInstance(ctx, s.db, "uuid = ? AND deleted_at IS NULL", id)
	if err != nil {
		return nil, err
	}
	if len(is) == 0 || is[0].Host != host {
		return nil, instanceNotFound(id)
	}
	p, err := pendingReported(is[0], portID, r.Op)
	if err != nil {
		return nil, err
	}
	if leaves(p.Pending, r) {
		out := *p
		return &out, nil
	}
	return nil, nil
}

// leaves reports whether a report on an operation pending takes its port
// or volume out of the instance: a detach done, an attach failed.
func leaves(pending string, r InterfaceReport) bool {
	return pending == PortDetaching && r.Error == "" || pending == PortAttaching && r.Error != ""
}

func pendingReported(i Instance, portID, op string) (*InstancePort, error) {
	k := slices.IndexFunc(i.Ports, func(q InstancePort) bool { return q.ID == portID })
	if k < 0 || i.Ports[k].Pending == "" || i.Ports[k].Pending != op {
		return nil, novaError(fault.Conflict, "UnexpectedInterfaceState", "Port %s of instance %s is not being %s.", portID, i.UUID, pendingVerb(op))
	}
	return &i.Ports[k], nil
}

// ReportInterface applies a host agent's report on port portID of
// instance id: the mark is cleared, or the port leaves Ports (a detach
// done, an attach failed); the operation's event ends. A report from
// another host is a 404, one about a port with nothing under way a 409.
func (s *Store) ReportInterface(ctx context.Context, host, id, portID string, r InterfaceReport) (Instance, error) {
	return s.writeInstance(ctx, id, func(tx *sqlstore.Tx, i *Instance) error {
		if i.Host != host {
			return instanceNotFound(id)
		}
		p, err := pendingReported(*i, portID, r.Op)
		if err != nil {
			return err
		}
		event := EventAttachInterface
		if p.Pending == PortDetaching {
			event = EventDetachInterface
		}
		if leaves(p.Pending, r) {
			i.Ports = slices.DeleteFunc(i.Ports, func(q InstancePort) bool { return q.ID == portID })
		} else {
			p.Pending = ""
		}
		end := eventEnd{}
		if r.Error != "" {
			msg := "Failed to attach network adapter device to " + id
			if event == EventDetachInterface {
				msg = "Failed to detach network adapter device from " + id
			}
			end = eventEnd{err: true, details: msg, traceback: r.Error}
		}
		return finishEvents(ctx, tx, id, event, end, s.now())
	})
}
