package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/network"
)

// agentRoutes are Neutron's agents extension (admin only, as Neutron's
// default policy has it) and the internal API of the host agents.
//
// The internal API is the whole contract between the controller and a
// host agent, which never opens the database: it reports itself, reads
// its host's desired state, and reports the status of the ports it
// plumbed. It needs a token with the service or admin role, as the watch
// feed does.
func (a *API) agentRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /v2.0/agents", a.authed(a.adminOnly(a.listAgents)))
	rt.HandleFunc("GET /v2.0/agents/{id}", a.authed(a.adminOnly(a.showAgent)))
	rt.HandleFunc("PUT /v2.0/agents/{id}", a.authed(a.adminOnly(a.updateAgent)))
	rt.HandleFunc("DELETE /v2.0/agents/{id}", a.authed(a.adminOnly(a.deleteAgent)))
	rt.HandleFunc("GET /internal/hosts/{host}", a.authed(a.serviceOnly(a.hostState)))
	rt.HandleFunc("PUT /internal/hosts/{host}/agent", a.authed(a.serviceOnly(a.reportAgent)))
	rt.HandleFunc("PUT /internal/hosts/{host}/ports", a.authed(a.serviceOnly(a.portStatus)))
	rt.HandleFunc("PUT /internal/hosts/{host}/dhcp/{network}", a.authed(a.serviceOnly(a.dhcpPort)))
	rt.HandleFunc("PUT /internal/hosts/{host}/floatingips", a.authed(a.serviceOnly(a.fipStatus)))
}

func (a *API) adminOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) {
		if !q.admin {
			fail(w, r, notAuthorized("get_agent"))
			return
		}
		h(w, r, q)
	}
}

// serviceOnly lets through a token with the service or admin role, for
// a host name as a host may have (RFC 1123 characters, at most 255).
func (a *API) serviceOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) {
		if !q.caller.HasRole("service") && !q.caller.HasRole("admin") {
			fail(w, r, &fault.Error{Kind: fault.Forbidden, Type: "PolicyNotAuthorized",
				Message: "the agents' internal API needs the service or admin role"})
			return
		}
		host := r.PathValue("host")
		if !validHost(host) {
			fail(w, r, badRequest("%q is not a host name", shortText(host)))
			return
		}
		// A host is one service user's: the first to act as its agent.
		if !q.caller.HasRole("admin") {
			if err := a.Store.BindHostAgent(r.Context(), host, q.caller.UserID); err != nil {
				fail(w, r, err)
				return
			}
		}
		h(w, r, q)
	}
}

// validHost: letters, digits, '-', '_' and '.', 1 to 255 of them.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

func shortText(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func (a *API) downTime() time.Duration {
	if a.AgentDownTime > 0 {
		return a.AgentDownTime
	}
	return network.DefaultAgentDownTime
}

func renderAgent(ag network.Agent) map[string]any {
	return map[string]any{
		"id": ag.ID, "agent_type": ag.AgentType, "binary": ag.Binary, "host": ag.Host, "topic": ag.Topic,
		"availability_zone": nullable(ag.AvailabilityZone), "admin_state_up": ag.AdminStateUp, "alive": ag.Alive,
		"description": nullable(ag.Description), "configurations": ag.Configurations,
		"created_at": isoTime(ag.CreatedAt), "started_at": isoTime(ag.StartedAt), "heartbeat_timestamp": isoTime(ag.HeartbeatAt),
		"resources_synced": nil,
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (a *API) listAgents(w http.ResponseWriter, r *http.Request, q *request) {
	ags, err := a.Store.Agents(r.Context(), a.downTime())
	if err != nil {
		fail(w, r, err)
		return
	}
	lp, err := a.parseList(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := []map[string]any{}
	for _, ag := range ags {
		m := renderAgent(ag)
		if matches(m, lp.filter) {
			out = append(out, pick(m, lp.fields))
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"agents": out})
}

// matches applies Neutron's equality filters to a rendered resource.
func matches(m map[string]any, f network.Filter) bool {
	for k, vs := range f {
		v, ok := m[k]
		if !ok {
			return false
		}
		got, _ := json.Marshal(v)
		hit := false
		for _, want := range vs {
			if string(got) == want || string(got) == `"`+want+`"` {
				hit = true
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func (a *API) showAgent(w http.ResponseWriter, r *http.Request, q *request) {
	ag, err := a.Store.GetAgent(r.Context(), r.PathValue("id"), a.downTime())
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"agent": renderAgent(ag)})
}

func (a *API) updateAgent(w http.ResponseWriter, r *http.Request, q *request) {
	attrs, err := decode(w, r, "agent")
	if err == nil {
		err = known(attrs, "admin_state_up", "description")
	}
	var u network.AgentUpdate
	if err == nil {
		u.AdminStateUp, err = boolean(attrs, "admin_state_up")
	}
	if err == nil {
		u.Description, err = str(attrs, "description", 255)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	ag, err := a.Store.UpdateAgent(r.Context(), r.PathValue("id"), u, a.downTime())
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"agent": renderAgent(ag)})
}

func (a *API) deleteAgent(w http.ResponseWriter, r *http.Request, q *request) {
	if err := a.Store.DeleteAgent(r.Context(), r.PathValue("id")); err != nil {
		fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// AgentReport is the body of PUT /internal/hosts/{host}/agent.
type AgentReport struct {
	AgentType      string         `json:"agent_type"`
	Binary         string         `json:"binary"`
	Topic          string         `json:"topic,omitempty"`
	TunnelIP       string         `json:"tunnel_ip,omitempty"`
	Configurations map[string]any `json:"configurations,omitempty"`
	Start          bool           `json:"start,omitempty"`
}

func (a *API) reportAgent(w http.ResponseWriter, r *http.Request, q *request) {
	var body struct {
		Agent *AgentReport `json:"agent"`
	}
	if err := httpapi.DecodeJSON(w, r, &body, httpapi.MaxBytes(maxBody)); err != nil {
		fail(w, r, err)
		return
	}
	if body.Agent == nil {
		fail(w, r, badRequest("Resource body required"))
		return
	}
	if body.Agent.AgentType != network.OVSAgent {
		fail(w, r, badRequest("agent_type %q: this API serves %q", shortText(body.Agent.AgentType), network.OVSAgent))
		return
	}
	if len(body.Agent.Binary) > 255 || len(body.Agent.Topic) > 255 {
		fail(w, r, badRequest("binary and topic are at most 255 characters"))
		return
	}
	rep := network.AgentReport{AgentType: body.Agent.AgentType, Binary: body.Agent.Binary, Host: r.PathValue("host"),
		Topic: body.Agent.Topic, Configurations: body.Agent.Configurations, Start: body.Agent.Start}
	if body.Agent.TunnelIP != "" {
		ip, err := netip.ParseAddr(body.Agent.TunnelIP)
		if err == nil {
			ip = ip.Unmap()
		}
		if err != nil || ip.Zone() != "" || ip.IsUnspecified() || ip.IsLoopback() || ip.IsMulticast() || ip.IsLinkLocalUnicast() {
			fail(w, r, badRequest("tunnel_ip %q is not an address other hosts can tunnel to", shortText(body.Agent.TunnelIP)))
			return
		}
		rep.TunnelIP = ip
	}
	ag, err := a.Store.ReportAgent(r.Context(), rep)
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"agent": renderAgent(ag)})
}

func (a *API) hostState(w http.ResponseWriter, r *http.Request, q *request) {
	st, err := a.Store.HostState(r.Context(), r.PathValue("host"))
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
}

// PortStatuses is the body of PUT /internal/hosts/{host}/ports: what the
// host's agent observed, port id → ACTIVE, DOWN or BUILD. The answer
// lists the ports skipped because they are not bound to the host (any
// more).
type PortStatuses struct {
	Ports map[string]string `json:"ports"`
}

func (a *API) portStatus(w http.ResponseWriter, r *http.Request, q *request) {
	var body PortStatuses
	statusReport(w, r, &body, func() map[string]string { return body.Ports }, a.Store.SetPortStatuses)
}

// statusReport reads a report of statuses into body, records them with
// set for the path's host, and answers the ids set skipped.
func statusReport(w http.ResponseWriter, r *http.Request, body any, statuses func() map[string]string,
	set func(ctx context.Context, host string, statuses map[string]string) ([]string, error)) {
	if err := httpapi.DecodeJSON(w, r, body, httpapi.MaxBytes(8<<20)); err != nil {
		fail(w, r, err)
		return
	}
	skipped, err := set(r.Context(), r.PathValue("host"), statuses())
	if err != nil {
		fail(w, r, err)
		return
	}
	if skipped == nil {
		skipped = []string{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"skipped": skipped})
}

// dhcpPort gives the host's DHCP service on a network its port (created
// or completed), which the agent then plumbs like any other.
func (a *API) dhcpPort(w http.ResponseWriter, r *http.Request, q *request) {
	p, err := a.Store.EnsureDHCPPort(r.Context(), r.PathValue("host"), r.PathValue("network"))
	if err != nil {
		fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"port": a.renderPort(r.Context(), p)})
}

// FloatingIPStatuses is the body of PUT /internal/hosts/{host}/floatingips:
// the floating IPs of the host's routers, id → ACTIVE, DOWN or ERROR.
type FloatingIPStatuses struct {
	FloatingIPs map[string]string `json:"floatingips"`
}

func (a *API) fipStatus(w http.ResponseWriter, r *http.Request, q *request) {
	var body FloatingIPStatuses
	statusReport(w, r, &body, func() map[string]string { return body.FloatingIPs }, a.Store.SetFloatingIPStatuses)
}
