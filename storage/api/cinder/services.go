package cinder

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/httpapi"
)

// serviceRoutes are Cinder's os-services (contrib/services.py) for the
// volume services: one cinder-volume service per backend (host@backend),
// made of the Store's pools.
func (a *API) serviceRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-services", a.op(a.listServices))
	rt.HandleFunc("PUT /os-services/{action}", a.op(a.updateService))
}

// volumeBinary is the binary of Cinder's volume service.
const volumeBinary = "cinder-volume"

// volumeService is a backend as Cinder's service list shows it: its
// pools' zone, disabled when every pool is, up when one is, updated at
// the last report.
type volumeService struct {
	host, zone, reason string
	disabled, up       bool
	updated            time.Time
	pools              []string
}

// volumeServices groups the Store's pools by backend (host@backend).
func (a *API) volumeServices(ctx context.Context) ([]*volumeService, error) {
	backends, err := a.Store.Backends(ctx)
	if err != nil {
		return nil, err
	}
	var out []*volumeService
	byHost := map[string]*volumeService{}
	for _, b := range backends {
		host, _, _ := strings.Cut(b.Host, "#")
		s := byHost[host]
		if s == nil {
			s = &volumeService{host: host, zone: b.AvailabilityZone, disabled: true}
			byHost[host] = s
			out = append(out, s)
		}
		s.disabled = s.disabled && b.Disabled
		s.up = s.up || b.Up
		if s.reason == "" {
			s.reason = b.DisabledReason
		}
		if b.UpdatedAt.After(s.updated) {
			s.updated = b.UpdatedAt
		}
		s.pools = append(s.pools, b.Host)
	}
	return out, nil
}

// listServices is an admin's GET /os-services: the volume services
// (filters host, binary), with os-extended-services' fields.
func (a *API) listServices(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:services:index", nil); err != nil {
		return err
	}
	svcs, err := a.volumeServices(r.Context())
	if err != nil {
		return err
	}
	query := r.URL.Query()
	out := []map[string]any{}
	for _, s := range svcs {
		if h, ok := query["host"]; ok && h[len(h)-1] != s.host && !strings.HasPrefix(s.host, h[len(h)-1]+"@") {
			continue
		}
		if b, ok := query["binary"]; ok && b[len(b)-1] != volumeBinary {
			continue
		}
		v := map[string]any{"binary": volumeBinary, "host": s.host, "zone": s.zone,
			"status": map[bool]string{true: "disabled", false: "enabled"}[s.disabled],
			"state":  map[bool]string{true: "up", false: "down"}[s.up], "updated_at": isoTime(s.updated),
			"disabled_reason": orNull(s.reason), "replication_status": "not-capable", "active_backend_id": nil, "frozen": false}
		if q.at(7) {
			v["cluster"] = nil
		}
		if q.at(49) {
			v["backend_state"] = "up"
		}
		out = append(out, v)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"services": out})
	return nil
}

// updateService is an admin's PUT /os-services/{enable, disable,
// disable-log-reason} of a volume service: every pool of the backend.
func (a *API) updateService(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "volume_extension:services:update", nil); err != nil {
		return err
	}
	action := r.PathValue("action")
	s := serviceSchema
	switch action {
	case "enable", "disable":
	case "disable-log-reason":
		s = serviceReasonSchema
	case "freeze", "thaw", "failover_host", "failover", "set-log", "get-log":
		return badRequest("The os-services action %s is not supported.", action)
	default:
		return badRequest("Invalid input received: Unknown action")
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := s.check(nil, body); err != nil {
		return err
	}
	host := body.Get("host")
	if host.Null() || host.Text == "" {
		return badRequest("Invalid input received: Host field is missing.")
	}
	binary, service := "", ""
	if b := body.Get("binary"); b != nil {
		binary = b.Text
	}
	if sv := body.Get("service"); sv != nil {
		service = sv.Text
	}
	key := binary
	if key == "" {
		key = service
	}
	svcs, err := a.volumeServices(r.Context())
	if err != nil {
		return err
	}
	i := slices.IndexFunc(svcs, func(s *volumeService) bool { return s.host == host.Text })
	if key != volumeBinary || i < 0 {
		return notFound("Service %s could not be found on host %s.", key, host.Text)
	}
	disabled, reason := action != "enable", ""
	out := map[string]any{"disabled": disabled, "host": host.Text, "service": service, "binary": binary,
		"status": map[bool]string{true: "disabled", false: "enabled"}[disabled]}
	if action == "disable-log-reason" {
		if d := body.Get("disabled_reason"); d != nil {
			reason = d.Text
		}
		out["disabled_reason"] = orNull(reason)
	}
	for _, p := range svcs[i].pools {
		if _, err := a.Store.SetBackendDisabled(r.Context(), p, disabled, reason); err != nil {
			return err
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}
