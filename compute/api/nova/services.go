package nova

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Nova's os-services (services.py). Before 2.53 PUT names an action
// (enable, disable, disable-log-reason, force-down from 2.11) and the
// body names the service by host and binary; from 2.53 PUT names the
// service by uuid.
func (a *API) serviceRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-services", a.op(a.listServices))
	rt.HandleFunc("PUT /os-services/{id}", a.op(a.updateService))
	rt.HandleFunc("DELETE /os-services/{id}", a.op(a.deleteService))
}

// apiServices are the binaries Nova leaves out of the list: they do not
// report through the service group.
var apiServices = []string{"nova-osapi_compute", "nova-metadata"}

// booleanStrings are the strings of parameter_types.boolean's enum, the
// first eight true (as oslo's bool_from_string reads them).
var booleanStrings = []string{"True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
	"False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no"}

// booleanEnum is the enum as Python prints it.
const booleanEnum = "[True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', " +
	"False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No', 'no']"

// boolValue is parameter_types.boolean (a JSON boolean or one of its
// strings) read as bool_from_string reads it; where names the field in
// the refusal ("field/attribute forced_down", "query parameters
// with_servers").
func boolValue(where string, v any) (bool, error) {
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		i := slices.Index(booleanStrings, x)
		if i < 0 {
			return false, badRequest("Invalid input for %s. Value: %s. %s is not one of %s", where, x, py(x), booleanEnum)
		}
		return i < 10, nil
	}
	return false, badRequest("Invalid input for %s. Value: %s. %s is not of type 'boolean', 'string'", where, py(v), py(v))
}

// isUUIDLike is oslo's uuidutils.is_uuid_like: 32 hex digits once
// "urn:", "uuid:", braces and hyphens are dropped, in any case.
func isUUIDLike(s string) bool {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "urn:", ""), "uuid:", "")
	s = strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	if len(s) != 32 {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return true
}

// strictQuery refuses query parameters other than allowed, as Nova's
// strict query schemas (additionalProperties false) word it.
func strictQuery(r *http.Request, allowed ...string) error {
	keys := map[string]any{}
	for k := range r.URL.Query() {
		keys[k] = nil
	}
	return object{m: keys}.only(allowed...)
}

// lastQuery is req.GET[key]: the last value, "" when absent.
func lastQuery(r *http.Request, key string) string {
	vs := r.URL.Query()[key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// serviceView is Nova's _get_service_detail (id the uuid from 2.53,
// forced_down from 2.11).
func serviceView(q *request, sv compute.Service) map[string]any {
	out := map[string]any{"id": sv.ID, "binary": sv.Binary, "host": sv.Host, "zone": sv.Zone,
		"status": "enabled", "state": "down", "updated_at": novaTime(sv.UpdatedAt), "disabled_reason": nil}
	if q.at(53) {
		out["id"] = sv.UUID
	}
	if sv.Disabled {
		out["status"] = "disabled"
	}
	if sv.Up(q.now, 0) {
		out["state"] = "up"
	}
	if sv.DisabledReason != "" {
		out["disabled_reason"] = sv.DisabledReason
	}
	if q.at(11) {
		out["forced_down"] = sv.ForcedDown
	}
	return out
}

func (a *API) listServices(w http.ResponseWriter, r *http.Request, q *request) error {
	if q.at(75) {
		if err := strictQuery(r, "host", "binary"); err != nil {
			return err
		}
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-services:list", noTarget()); err != nil {
		return err
	}
	svcs, err := a.Store.Services(r.Context(), lastQuery(r, "binary"), lastQuery(r, "host"))
	if err != nil {
		return err
	}
	list := []any{}
	for _, sv := range svcs {
		if !slices.Contains(apiServices, sv.Binary) {
			list = append(list, serviceView(q, sv))
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"services": list})
	return nil
}

// stringField is a schema's {'type': 'string', 'minLength': 1,
// 'maxLength': 255}.
func stringField(o object, key string) (string, bool, error) {
	s, has, err := o.str(key)
	if err != nil || !has {
		return "", false, err
	}
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", false, badRequest("Invalid input for field/attribute %s. Value: . '' is too short", key)
	case n > 255:
		return "", false, badRequest("Invalid input for field/attribute %s. Value: %s. %s is too long", key, s, py(s))
	}
	return s, true, nil
}

func (a *API) updateService(w http.ResponseWriter, r *http.Request, q *request) error {
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return badRequest("%s is not of type 'object'", py(v))
	}
	if q.at(53) {
		return a.updateServiceByID(w, r, q, object{m: m})
	}
	return a.serviceAction(w, r, q, object{m: m})
}

// updateServiceByID is PUT /os-services/{uuid} from 2.53.
func (a *API) updateServiceByID(w http.ResponseWriter, r *http.Request, q *request, body object) error {
	var u compute.ServiceUpdate
	status, hasStatus, err := body.str("status")
	if err != nil {
		return err
	}
	if hasStatus {
		if status != "enabled" && status != "disabled" {
			return badRequest("Invalid input for field/attribute status. Value: %s. %s is not one of ['enabled', 'disabled']", status, py(status))
		}
		disabled := status == "disabled"
		u.Disabled = &disabled
	}
	reason, hasReason, err := stringField(body, "disabled_reason")
	if err != nil {
		return err
	}
	if hasReason {
		u.DisabledReason = &reason
	}
	if raw, has := body.m["forced_down"]; has {
		down, err := boolValue("field/attribute forced_down", raw)
		if err != nil {
			return err
		}
		u.ForcedDown = &down
	}
	if err := body.only("status", "disabled_reason", "forced_down"); err != nil {
		return err
	}
	id := r.PathValue("id")
	if !isUUIDLike(id) {
		return badRequest("Invalid uuid %s", id)
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-services:update", noTarget()); err != nil {
		return err
	}
	sv, err := a.Store.UpdateService(r.Context(), id, u)
	if err != nil {
		return err
	}
	out := serviceView(q, sv)
	out["forced_down"] = sv.ForcedDown
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"service": out})
	return nil
}

// serviceActionBody is the body of PUT /os-services/{action} before
// 2.53 (Nova's service_update schema; forced_down from 2.11).
type serviceActionBody struct {
	host, binary, reason string
	hasReason            bool
	forcedDown           any
	hasForcedDown        bool
}

func readServiceAction(q *request, body object) (serviceActionBody, error) {
	var b serviceActionBody
	host, hasHost, err := body.str("host")
	if err != nil {
		return b, err
	}
	if hasHost {
		if err := compute.CheckHostName(host); err != nil {
			return b, err
		}
	}
	b.host = host
	if b.binary, _, err = stringField(body, "binary"); err != nil {
		return b, err
	}
	if b.reason, b.hasReason, err = stringField(body, "disabled_reason"); err != nil {
		return b, err
	}
	allowed := []string{"host", "binary", "disabled_reason"}
	b.forcedDown, b.hasForcedDown = body.m["forced_down"]
	if q.at(11) {
		allowed = append(allowed, "forced_down")
		if b.hasForcedDown {
			if _, err := boolValue("field/attribute forced_down", b.forcedDown); err != nil {
				return b, err
			}
		}
	}
	for _, k := range []string{"host", "binary"} {
		if _, ok := body.m[k]; !ok {
			return b, badRequest("'%s' is a required property", k)
		}
	}
	return b, body.only(allowed...)
}

// serviceAction is PUT /os-services/{action} before 2.53.
func (a *API) serviceAction(w http.ResponseWriter, r *http.Request, q *request, body object) error {
	b, err := readServiceAction(q, body)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-services:update", noTarget()); err != nil {
		return err
	}
	var u compute.ServiceUpdate
	yes, no := true, false
	reply := map[string]any{"host": b.host, "binary": b.binary}
	switch action := r.PathValue("id"); {
	case action == "enable":
		u.Disabled, reply["status"] = &no, "enabled"
	case action == "disable":
		u.Disabled, reply["status"] = &yes, "disabled"
	case action == "disable-log-reason":
		if !b.hasReason {
			return badRequest("Missing disabled reason field")
		}
		u.Disabled, u.DisabledReason = &yes, &b.reason
		reply["status"], reply["disabled_reason"] = "disabled", b.reason
	case action == "force-down" && q.at(11):
		if !b.hasForcedDown {
			return badRequest("Missing forced_down field")
		}
		down, _ := boolValue("field/attribute forced_down", b.forcedDown)
		u.ForcedDown, reply["forced_down"] = &down, down
	default:
		return notFound("Unknown action")
	}
	if b.binary != compute.NovaCompute {
		return badRequest("Updating a %s service is not supported. Only nova-compute services can be updated.", b.binary)
	}
	// A host has a cell mapping while its compute service exists.
	svcs, err := a.Store.Services(r.Context(), compute.NovaCompute, b.host)
	if err != nil {
		return err
	}
	if len(svcs) == 0 {
		return notFound("Host '%s' is not mapped to any cell", b.host)
	}
	if _, err := a.Store.UpdateService(r.Context(), svcs[0].UUID, u); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"service": reply})
	return nil
}

// deleteService is DELETE /os-services/{id}: a compute service is
// refused while its host has instances; it takes its host out of every
// aggregate (the Store does it with the delete) and its node and the
// node's resource provider with it. (Nova also refuses while migrations
// involve the host; the Store has no migrations yet.)
func (a *API) deleteService(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "os_compute_api:os-services:delete", noTarget()); err != nil {
		return err
	}
	id := r.PathValue("id")
	var sv compute.Service
	if q.at(53) {
		if !isUUIDLike(id) {
			return badRequest("Invalid uuid %s", id)
		}
		found, err := a.Store.Service(r.Context(), id)
		if fault.KindOf(err) == fault.NotFound {
			return notFound("Service %s not found.", id)
		} else if err != nil {
			return err
		}
		sv = found
	} else {
		n, err := integerID(id)
		if err != nil {
			return err
		}
		svcs, err := a.Store.Services(r.Context(), "", "")
		if err != nil {
			return err
		}
		i := slices.IndexFunc(svcs, func(s compute.Service) bool { return s.ID == n })
		if i < 0 {
			return notFound("Service %s not found.", id)
		}
		sv = svcs[i]
	}
	if sv.Binary == compute.NovaCompute {
		is, err := a.Store.HostInstances(r.Context(), sv.Host)
		if err != nil {
			return err
		}
		if len(is) > 0 {
			return conflict("Unable to delete compute service that is hosting instances. Migrate or delete the instances first.")
		}
		// The node next: its refusal (allocations left on its
		// provider) leaves everything as it was.
		if err := a.Store.DeleteNode(r.Context(), sv.Host); err != nil {
			return err
		}
	}
	if err := a.Store.DeleteService(r.Context(), sv.UUID); fault.KindOf(err) == fault.NotFound {
		return notFound("Service %s not found.", id)
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
