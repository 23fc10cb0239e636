package nova

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// Nova's os-aggregates (aggregates.py). POST /os-aggregates/{id}/images
// (2.81, image caching on the aggregate's hosts) is not routed: the
// compute agents have no image cache to fill yet.
func (a *API) aggregateRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-aggregates", a.op(a.listAggregates))
	rt.HandleFunc("POST /os-aggregates", a.op(a.createAggregate))
	rt.HandleFunc("GET /os-aggregates/{id}", a.op(a.showAggregate))
	rt.HandleFunc("PUT /os-aggregates/{id}", a.op(a.updateAggregate))
	rt.HandleFunc("DELETE /os-aggregates/{id}", a.op(a.deleteAggregate))
	rt.HandleFunc("POST /os-aggregates/{id}/action", a.op(a.aggregateAction))
}

// novaTime is a time as Nova's jsonutils writes a naive datetime, with
// microseconds and no zone.
func novaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// integerID is Nova's utils.validate_integer(id, 'id').
func integerID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, badRequest("Invalid input received: id must be an integer")
	}
	return id, nil
}

// noTarget is the empty target Nova's admin APIs check their rules on
// (target={}), a new one for each check.
func noTarget() map[string]any { return map[string]any{} }

// aggregateView is Nova's _marshall_aggregate: every field of the
// object (uuid from 2.41), times naive; full adds hosts and metadata,
// which create does not show.
func aggregateView(q *request, ag compute.Aggregate, full bool) map[string]any {
	out := map[string]any{"id": ag.ID, "name": ag.Name, "availability_zone": nil,
		"created_at": novaTime(ag.CreatedAt), "updated_at": nil, "deleted_at": nil, "deleted": false}
	if z, ok := ag.Metadata[compute.AvailabilityZoneKey]; ok {
		out["availability_zone"] = z
	}
	if ag.UpdatedAt != nil {
		out["updated_at"] = novaTime(*ag.UpdatedAt)
	}
	if full {
		out["hosts"], out["metadata"] = ag.Hosts, ag.Metadata
	}
	if q.at(41) {
		out["uuid"] = ag.UUID
	}
	return out
}

func writeAggregate(w http.ResponseWriter, q *request, ag compute.Aggregate) error {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(q, ag, true)})
	return nil
}

func (a *API) listAggregates(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, "os_compute_api:os-aggregates:index", noTarget()); err != nil {
		return err
	}
	aggs, err := a.Store.Aggregates(r.Context())
	if err != nil {
		return err
	}
	list := make([]any, len(aggs))
	for i, ag := range aggs {
		list[i] = aggregateView(q, ag, true)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"aggregates": list})
	return nil
}

// zoneField reads the schemas' availability_zone (oneOf az_name and
// null): set false when absent, "" for null.
func zoneField(o object) (az string, set bool, err error) {
	v, ok := o.m[compute.AvailabilityZoneKey]
	if !ok || v == nil {
		return "", ok, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", false, badRequest("Invalid input for field/attribute availability_zone. Value: %s. %s is not valid under any of the given schemas",
			py(v), py(v))
	}
	return s, true, compute.CheckZoneName(s)
}

// aggregateFields reads the name and zone of a create or update body
// (Nova's schema order: the properties, then required, then the
// additional ones); update allows spaces around the name.
func aggregateFields(v any, update bool) (name *string, az *string, err error) {
	ag, err := topObject(v, "aggregate")
	if err != nil {
		return nil, nil, err
	}
	n, hasName, err := ag.str("name")
	if err != nil {
		return nil, nil, err
	}
	if hasName {
		if err := compute.CheckAggregateName(n, update); err != nil {
			return nil, nil, err
		}
		name = &n
	}
	z, hasZone, err := zoneField(ag)
	if err != nil {
		return nil, nil, err
	}
	if hasZone {
		az = &z
	}
	if !update {
		if err := ag.required("name"); err != nil {
			return nil, nil, err
		}
	}
	if err := onlyIn(ag, "name", compute.AvailabilityZoneKey); err != nil {
		return nil, nil, err
	}
	if update && !hasName && !hasZone {
		return nil, nil, badRequest("Invalid input for field/attribute aggregate. Value: %s. %s is not valid under any of the given schemas",
			py(ag.m), py(ag.m))
	}
	return name, az, nil
}

func (a *API) createAggregate(w http.ResponseWriter, r *http.Request, q *request) error {
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	name, az, err := aggregateFields(v, false)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-aggregates:create", noTarget()); err != nil {
		return err
	}
	zone := ""
	if az != nil {
		zone = *az
	}
	ag, err := a.Store.CreateAggregate(r.Context(), *name, zone)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"aggregate": aggregateView(q, ag, false)})
	return nil
}

// aggregateID checks rule, then the path's id, in Nova's order.
func (a *API) aggregateID(r *http.Request, q *request, rule string) (int64, error) {
	if err := a.authorize(r.Context(), q, "os_compute_api:os-aggregates:"+rule, noTarget()); err != nil {
		return 0, err
	}
	return integerID(r.PathValue("id"))
}

func (a *API) showAggregate(w http.ResponseWriter, r *http.Request, q *request) error {
	id, err := a.aggregateID(r, q, "show")
	if err != nil {
		return err
	}
	ag, err := a.Store.Aggregate(r.Context(), id)
	if err != nil {
		return err
	}
	return writeAggregate(w, q, ag)
}

func (a *API) updateAggregate(w http.ResponseWriter, r *http.Request, q *request) error {
	v, err := readBody(w, r)
	if err != nil {
		return err
	}
	name, az, err := aggregateFields(v, true)
	if err != nil {
		return err
	}
	id, err := a.aggregateID(r, q, "update")
	if err != nil {
		return err
	}
	if az != nil {
		if err := a.checkZoneInstances(r.Context(), id, *az, "Cannot update aggregate %d."); err != nil {
			return err
		}
	}
	// A null zone is the Store's "" zone, which update_aggregate refuses.
	ag, err := a.Store.UpdateAggregate(r.Context(), id, compute.AggregateUpdate{Name: name, AvailabilityZone: az})
	if err != nil {
		return err
	}
	return writeAggregate(w, q, ag)
}

func (a *API) deleteAggregate(w http.ResponseWriter, r *http.Request, q *request) error {
	id, err := a.aggregateID(r, q, "delete")
	if err != nil {
		return err
	}
	if err := a.Store.DeleteAggregate(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// checkZoneInstances is the part of Nova's is_safe_to_update_az the
// Store leaves to its caller: an aggregate's zone may change only while
// none of its hosts has instances. (Nova checks the hosts' other zones
// first; here the Store does that after this check, and an instance
// placed between the two is not seen.)
func (a *API) checkZoneInstances(ctx context.Context, id int64, az, refusal string) error {
	ag, err := a.Store.Aggregate(ctx, id)
	if fault.KindOf(err) == fault.NotFound {
		return nil // the Store's call says so
	} else if err != nil {
		return err
	}
	if z, zoned := ag.Metadata[compute.AvailabilityZoneKey]; az == "" || zoned && z == az {
		return nil
	}
	for _, h := range ag.Hosts {
		is, err := a.Store.HostInstances(ctx, h)
		if err != nil {
			return err
		}
		if len(is) > 0 {
			return badRequest(refusal+" Reason: One or more hosts contain instances in this zone.", id)
		}
	}
	return nil
}

// actionOf is Nova's action_peek: the body's one key names the action.
// A body that is not an object is a 404, as Nova's dispatcher answers
// the AttributeError it meets.
func actionOf(w http.ResponseWriter, r *http.Request) (string, any, error) {
	v, err := readBody(w, r)
	if err != nil {
		return "", nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", nil, notFound("The resource could not be found.")
	}
	if len(m) != 1 {
		return "", nil, badRequest("Malformed request body")
	}
	var name string
	for k := range m {
		name = k
	}
	return name, v, nil
}

func (a *API) aggregateAction(w http.ResponseWriter, r *http.Request, q *request) error {
	name, body, err := actionOf(w, r)
	if err != nil {
		return err
	}
	switch name {
	case "add_host", "remove_host":
		return a.aggregateHost(w, r, q, name, body)
	case "set_metadata":
		return a.setAggregateMetadata(w, r, q, body)
	}
	return badRequest("There is no such action: %s", name)
}

// hostField reads an action's host (parameter_types.fqdn).
func hostField(o object) (string, error) {
	host, has, err := o.str("host")
	if err != nil {
		return "", err
	}
	if has {
		if err := compute.CheckHostName(host); err != nil {
			return "", err
		}
	}
	if err := o.required("host"); err != nil {
		return "", err
	}
	return host, onlyIn(o, "host")
}

// aggregateHost is add_host and remove_host. Nova answers every refusal
// of a remove_host with one message, 404 or 409.
func (a *API) aggregateHost(w http.ResponseWriter, r *http.Request, q *request, action string, body any) error {
	o, err := topObject(body, action)
	if err != nil {
		return err
	}
	host, err := hostField(o)
	if err != nil {
		return err
	}
	id, err := a.aggregateID(r, q, action)
	if err != nil {
		return err
	}
	if action == "add_host" {
		ag, err := a.Store.AddAggregateHost(r.Context(), id, host)
		if err != nil {
			return err
		}
		return writeAggregate(w, q, ag)
	}
	ag, err := a.Store.RemoveAggregateHost(r.Context(), id, host)
	switch fault.KindOf(err) {
	case fault.NotFound:
		return notFound("Cannot remove host %s in aggregate %s", host, r.PathValue("id"))
	case fault.Conflict, fault.BadRequest:
		return conflict("Cannot remove host %s in aggregate %s", host, r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	return writeAggregate(w, q, ag)
}

// setAggregateMetadata is set_metadata (metadata_with_null: values are
// strings or null, a null deletes its key).
func (a *API) setAggregateMetadata(w http.ResponseWriter, r *http.Request, q *request, body any) error {
	o, err := topObject(body, "set_metadata")
	if err != nil {
		return err
	}
	var md map[string]*string
	if raw, has := o.m["metadata"]; has {
		m, ok := raw.(map[string]any)
		if !ok {
			return badRequest("Invalid input for field/attribute metadata. Value: %s. %s is not of type 'object'", pyValue(raw), py(raw))
		}
		md = make(map[string]*string, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			switch v := m[k].(type) {
			case nil:
				md[k] = nil
			case string:
				md[k] = &v
			default:
				// A value's type is checked under a key that matches
				// the pattern; any other key is refused as a key.
				if compute.CheckAggregateMetadata(map[string]*string{k: nil}) == nil {
					return badRequest("Invalid input for field/attribute %s. Value: %s. %s is not of type 'string', 'null'", k, pyValue(v), py(v))
				}
				md[k] = nil
			}
		}
		if err := compute.CheckAggregateMetadata(md); err != nil {
			return err
		}
	}
	if err := o.required("metadata"); err != nil {
		return err
	}
	if err := onlyIn(o, "metadata"); err != nil {
		return err
	}
	id, err := a.aggregateID(r, q, "set_metadata")
	if err != nil {
		return err
	}
	if az, ok := md[compute.AvailabilityZoneKey]; ok && az != nil {
		if err := a.checkZoneInstances(r.Context(), id, *az, "Cannot update metadata of aggregate %d."); err != nil {
			return err
		}
	}
	ag, err := a.Store.SetAggregateMetadata(r.Context(), id, md)
	if err != nil {
		return err
	}
	return writeAggregate(w, q, ag)
}

// onlyIn is o.only worded as Nova words it for a nested object, with
// the object's path and value (body.go's only words the top level's
// refusal, which has neither).
func onlyIn(o object, allowed ...string) error {
	err := o.only(allowed...)
	if err == nil || o.path == "" {
		return err
	}
	return badRequest("Invalid input for field/attribute %s. Value: %s. %s", o.path, py(o.m), fault.Message(err))
}

// pyValue is a value as Nova's "Value: %s" shows it: str() in Python,
// so a string comes unquoted.
func pyValue(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return py(v)
}
