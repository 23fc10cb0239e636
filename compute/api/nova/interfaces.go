package nova

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Nova's os-interface (api/openstack/compute/attach_interfaces.py): the
// ports of a server, and their hot-plug. An attach answers once the
// host's agent has plugged the port into the guest (Nova's RPC call to
// the compute host), a detach at once with 202 (Nova's cast).
func (a *API) interfaceRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /servers/{id}/os-interface", a.op(a.listInterfaces))
	rt.HandleFunc("GET /servers/{id}/os-interface/{port}", a.op(a.showInterface))
	rt.HandleFunc("POST /servers/{id}/os-interface", a.op(a.attachInterface))
	rt.HandleFunc("DELETE /servers/{id}/os-interface/{port}", a.op(a.detachInterface))
}

const ruleInterfaces = "os_compute_api:os-attach-interfaces:"

// interfaceWait bounds how long an attach waits for the host (the
// agent's own wait for the network is 300 s by default; Nova's attach
// is a call under its long RPC timeout).
const interfaceWait = 6 * time.Minute

// interfaceView is Nova's _translate_interface_attachment_view, with
// the tag from 2.70.
func interfaceView(q *request, f compute.Interface, tag string) map[string]any {
	out := map[string]any{"net_id": f.NetID, "port_id": f.PortID, "mac_addr": f.MAC, "port_state": f.State, "fixed_ips": f.FixedIPs}
	if q.at(70) {
		out["tag"] = nilIfEmpty(tag)
	}
	return out
}

// interfaces are the ports bound to server i, as the network service
// has them, in Nova's view, with the tags i records.
func (a *API) interfaces(r *http.Request, q *request, i compute.Instance) ([]map[string]any, error) {
	il, ok := a.Networks.(compute.InterfaceLister)
	if !ok {
		return nil, fault.New(fault.NotImplemented, "Network driver does not support this function.")
	}
	fs, err := il.Interfaces(r.Context(), i.UUID)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(fs))
	for _, f := range fs {
		tag := ""
		if k := slices.IndexFunc(i.Ports, func(p compute.InstancePort) bool { return p.ID == f.PortID }); k >= 0 {
			tag = i.Ports[k].Tag
		}
		out = append(out, interfaceView(q, f, tag))
	}
	return out, nil
}

// serverFor is the server of the path, its policy rule checked with
// the server's project as target.
func (a *API) serverFor(r *http.Request, q *request, rule string) (compute.Instance, error) {
	i, err := a.server(r, q)
	if err != nil {
		return i, err
	}
	return i, a.authorize(r.Context(), q, rule, map[string]any{"project_id": i.ProjectID})
}

func (a *API) listInterfaces(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleInterfaces+"list")
	if err != nil {
		return err
	}
	out, err := a.interfaces(r, q, i)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachments": out})
	return nil
}

func (a *API) showInterface(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleInterfaces+"show")
	if err != nil {
		return err
	}
	return a.writeInterface(w, r, q, i, r.PathValue("port"))
}

// writeInterface answers port of server i; a port not bound to it is
// Nova's 404.
func (a *API) writeInterface(w http.ResponseWriter, r *http.Request, q *request, i compute.Instance, port string) error {
	out, err := a.interfaces(r, q, i)
	if err != nil {
		return err
	}
	for _, f := range out {
		if f["port_id"] == port {
			httpapi.WriteJSON(w, http.StatusOK, map[string]any{"interfaceAttachment": f})
			return nil
		}
	}
	return notFound("Instance %s does not have a port with id %s", i.UUID, port)
}

// tagPattern is parameter_types.tag: 1 to 60 characters, no comma or
// slash.
func validTag(s string) bool {
	n := len([]rune(s))
	return n >= 1 && n <= 60 && !strings.ContainsAny(s, ",/")
}

// interfaceRequest reads the create body as Nova's schema (tag from
// 2.49); an empty body asks for a port on the one usable network.
func interfaceRequest(r *http.Request, w http.ResponseWriter, q *request) (compute.NetworkRequest, string, error) {
	var req compute.NetworkRequest
	data, err := readBodyData(w, r)
	if err != nil || len(strings.TrimSpace(string(data))) == 0 {
		return req, "", err
	}
	v, err := decodeBody(data)
	if err != nil {
		return req, "", err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return req, "", badRequest("Invalid input for field/attribute . Value: %s. %s is not of type 'object'", py(v), py(v))
	}
	if err := (object{m: top}).only("interfaceAttachment"); err != nil {
		return req, "", err
	}
	av, ok := top["interfaceAttachment"]
	if !ok {
		return req, "", nil
	}
	m, ok := av.(map[string]any)
	if !ok {
		return req, "", badRequest("Invalid input for field/attribute interfaceAttachment. Value: %s. %s is not of type 'object'", py(av), py(av))
	}
	att := object{m: m, path: "interfaceAttachment"}
	allowed := []string{"net_id", "port_id", "fixed_ips"}
	if q.at(49) {
		allowed = append(allowed, "tag")
	}
	if err := att.only(allowed...); err != nil {
		return req, "", err
	}
	for _, k := range []string{"net_id", "port_id"} {
		s, present, err := att.str(k)
		if err != nil {
			return req, "", err
		}
		if present {
			if _, err := uuid.Parse(s); err != nil {
				return req, "", badRequest("Invalid input for field/attribute %s. Value: %s. %s is not a 'uuid'", k, s, py(s))
			}
		}
		if k == "net_id" {
			req.NetworkID = s
		} else {
			req.PortID = s
		}
	}
	tag, _, err := att.str("tag")
	if err != nil {
		return req, "", err
	}
	if _, present := m["tag"]; present && !validTag(tag) {
		return req, "", badRequest("Invalid input for field/attribute tag. Value: %s. %s does not match '^[^,/]*$'", tag, py(tag))
	}
	if fv, present := m["fixed_ips"]; present {
		l, ok := fv.([]any)
		if !ok {
			return req, "", badRequest("Invalid input for field/attribute fixed_ips. Value: %s. %s is not of type 'array'", py(fv), py(fv))
		}
		if len(l) != 1 {
			limit := "is too short"
			if len(l) > 1 {
				limit = "is too long"
			}
			return req, "", badRequest("Invalid input for field/attribute fixed_ips. Value: %s. %s %s", py(fv), py(fv), limit)
		}
		e, ok := l[0].(map[string]any)
		if !ok {
			return req, "", badRequest("Invalid input for field/attribute fixed_ips. Value: %s. %s is not of type 'object'", py(fv), py(l[0]))
		}
		ip := object{m: e, path: "fixed_ips"}
		if err := ip.only("ip_address"); err != nil {
			return req, "", err
		}
		s, present, err := ip.str("ip_address")
		if err != nil {
			return req, "", err
		}
		if !present {
			return req, "", badRequest("Invalid input for field/attribute fixed_ips. Value: %s. 'ip_address' is a required property", py(fv))
		}
		if _, err := netip.ParseAddr(s); err != nil {
			return req, "", badRequest("Invalid input for field/attribute ip_address. Value: %s. %s is not valid under any of the given schemas", s, py(s))
		}
		req.FixedIP = s
	}
	if req.NetworkID != "" && req.PortID != "" {
		return req, "", badRequest("Must not input both network_id and port_id")
	}
	if req.FixedIP != "" && req.NetworkID == "" {
		return req, "", badRequest("Must input network_id when request IP address")
	}
	return req, tag, nil
}

// attachInterface makes (or binds) the port on the server's host, adds
// it to the server for the host's agent, and waits for the agent to
// hot-plug it: 200 with the interface, or Nova's 500 when the host
// could not. Another interface operation under way on the server is
// waited for first, as Nova's compute host serializes them.
func (a *API) attachInterface(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleInterfaces+"create")
	if err != nil {
		return err
	}
	req, tag, err := interfaceRequest(r, w, q)
	if err != nil {
		return err
	}
	if a.Networks == nil {
		return fault.New(fault.NotImplemented, "Network driver does not support this function.")
	}
	ctx := r.Context()
	deadline := time.Now().Add(interfaceWait)
	if i, err = busyWait(r, deadline, func() (compute.Instance, error) {
		return a.Store.CheckAttachInterface(ctx, q.viewer(), i.UUID)
	}); err != nil {
		return stateError(err, "attach_interface", i.UUID)
	}
	if req.NetworkID == "" && req.PortID == "" {
		ids, err := a.Networks.Usable(ctx, i.ProjectID)
		if err != nil {
			return err
		}
		switch len(ids) {
		case 0:
			return badRequest("No specific network was requested and none are available for project '%s'.", i.ProjectID)
		case 1:
			req.NetworkID = ids[0]
		default:
			return badRequest("More than one possible network found. Specify network ID(s) to select which one(s) to connect to.")
		}
	}
	if req.PortID != "" && slices.ContainsFunc(i.Ports, func(p compute.InstancePort) bool { return p.ID == req.PortID }) {
		return conflict("Port %s is still in use.", req.PortID)
	}
	req.Attach = true
	ports, err := a.Networks.Allocate(ctx, i.ProjectID, i.UUID, i.Host, []compute.NetworkRequest{req})
	if err != nil {
		return err
	}
	p := ports[0]
	p.Tag = tag
	// Another attach or detach that began meanwhile is waited for, with
	// the port kept.
	if _, err := busyWait(r, deadline, func() (compute.Instance, error) {
		return a.Store.AttachPort(ctx, q.viewer(), i.UUID, p)
	}); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if rerr := a.Networks.Release(rctx, i.UUID, ports); rerr != nil {
			httpapi.Logger(ctx).Warn("compute: a port made for an attach that was refused was not released", "port", p.ID, "err", rerr)
		}
		return stateError(err, "attach_interface", i.UUID)
	}
	// The agent plugs it: wait for its report.
	for {
		cur, err := a.Store.Instance(ctx, compute.Viewer{Admin: true}, i.UUID)
		if err != nil {
			return err
		}
		k := slices.IndexFunc(cur.Ports, func(x compute.InstancePort) bool { return x.ID == p.ID })
		switch {
		case k < 0:
			httpapi.WriteJSON(w, http.StatusInternalServerError, map[string]any{"computeFault": map[string]any{"code": 500,
				"message": "Failed to attach network adapter device to " + i.UUID}})
			return nil
		case cur.Ports[k].Pending == "":
			return a.writeInterface(w, r, q, cur, p.ID)
		case time.Now().After(deadline):
			return fault.New(fault.Unavailable, "The attach of port %s to instance %s is still under way on host %s.", p.ID, i.UUID, i.Host)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stateError words a state refusal of an interface operation as
// Nova's raise_http_conflict_for_instance_invalid_state.
func stateError(err error, action, id string) error {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Type == "InstanceInvalidState" {
		return conflict("Cannot '%s' instance %s while it is in %s", action, id, stateOf(err))
	}
	return err
}

// busyWait runs op again, every 100 ms until deadline, while it finds
// another interface operation under way on the server.
func busyWait[T any](r *http.Request, deadline time.Time, op func() (T, error)) (T, error) {
	for {
		v, err := op()
		var fe *fault.Error
		if err == nil || !errors.As(err, &fe) || fe.Type != compute.TypeInterfaceBusy || time.Now().After(deadline) {
			return v, err
		}
		select {
		case <-r.Context().Done():
			return v, r.Context().Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// detachInterface marks the port for the host's agent to unplug: 202;
// the port is released once the agent has taken it out of the guest.
func (a *API) detachInterface(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.serverFor(r, q, ruleInterfaces+"delete")
	if err != nil {
		return err
	}
	port := r.PathValue("port")
	if _, err := busyWait(r, time.Now().Add(interfaceWait), func() (compute.Instance, error) {
		return a.Store.DetachPort(r.Context(), q.viewer(), i.UUID, port)
	}); err != nil {
		return stateError(err, "detach_interface", i.UUID)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
