package nova

import (
	"net/http"
	"strconv"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/httpapi"
)

// Nova's os-migrations (api/openstack/compute/migrations.py): the
// migration records of cold moves, for admins by default. The query is
// Nova's per microversion: loose filters before 2.59; from 2.59 a
// strict schema with limit, marker (a uuid) and changes-since, from 2.66
// changes-before, from 2.80 user_id and project_id.
func (a *API) migrationRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /os-migrations", a.op(a.listMigrations))
}

const ruleMigrations = "os_compute_api:os-migrations:index"

func (a *API) listMigrations(w http.ResponseWriter, r *http.Request, q *request) error {
	if err := a.authorize(r.Context(), q, ruleMigrations, map[string]any{}); err != nil {
		return err
	}
	filters := []string{"hidden", "host", "instance_uuid", "source_compute", "status", "migration_type"}
	paged := q.at(59)
	if paged {
		allowed := append(filters, "limit", "marker", "changes-since")
		if q.at(66) {
			allowed = append(allowed, "changes-before")
		}
		if q.at(80) {
			allowed = append(allowed, "user_id", "project_id")
		}
		checks := map[string]func(string) error{"limit": nonNegative("limit"), "changes-since": dateTime("changes-since"),
			"changes-before": dateTime("changes-before")}
		for _, k := range allowed {
			check, single := checks[k], true
			if check == nil {
				check = anyString
			}
			if err := queryItems(r, k, single, check); err != nil {
				return err
			}
		}
		if err := strictQuery(r, allowed...); err != nil {
			return err
		}
	}
	f := compute.MigrationFilter{Host: lastQuery(r, "host"), SourceCompute: lastQuery(r, "source_compute"), Status: lastQuery(r, "status"),
		Type: lastQuery(r, "migration_type"), InstanceID: lastQuery(r, "instance_uuid")}
	if q.at(80) {
		f.UserID, f.ProjectID = lastQuery(r, "user_id"), lastQuery(r, "project_id")
	}
	if paged {
		f.ChangesSince, _ = parseISOTime(lastQuery(r, "changes-since"))
		if q.at(66) {
			f.ChangesBefore, _ = parseISOTime(lastQuery(r, "changes-before"))
			if !f.ChangesSince.IsZero() && !f.ChangesBefore.IsZero() && f.ChangesBefore.Before(f.ChangesSince) {
				return badRequest("The value of changes-since must be less than or equal to changes-before.")
			}
		}
		var err error
		if f.Limit, f.Marker, err = pageLimit(r); err != nil {
			return err
		}
	}
	var ms []compute.Migration
	// Hidden migrations (Nova's cross-cell ones) are never shown: gostack
	// has none, so asking for them finds nothing. Nova's limit 0 lists
	// nothing.
	if hidden, _ := strconv.ParseBool(lastQuery(r, "hidden")); !hidden && (!paged || f.Limit > 0) {
		var err error
		if ms, err = a.Store.Migrations(r.Context(), f); err != nil {
			return err
		}
	}
	hostIP, flavorID := a.nodeIPs(r), a.flavorIDs(r)
	list := make([]any, len(ms))
	for n, m := range ms {
		v := map[string]any{"id": m.ID, "instance_uuid": m.InstanceID, "status": m.Status,
			"source_compute": m.Source, "source_node": m.SourceNode, "dest_compute": nilIfEmpty(m.Dest), "dest_node": nilIfEmpty(m.DestNode),
			"dest_host": nilIfEmpty(hostIP(m.Dest)), "old_instance_type_id": flavorID(m.OldFlavor.ID), "new_instance_type_id": flavorID(m.NewFlavor.ID),
			"created_at": perfectTime(m.CreatedAt), "updated_at": perfectTime(m.UpdatedAt)}
		if q.at(23) {
			v["migration_type"] = m.Type
		}
		if paged {
			v["uuid"] = m.UUID
		}
		if q.at(80) {
			v["user_id"], v["project_id"] = nilIfEmpty(m.UserID), nilIfEmpty(m.ProjectID)
		}
		list[n] = v
	}
	body := map[string]any{"migrations": list}
	if paged && len(ms) > 0 {
		if l := nextLinks(r, "os-migrations", len(ms), ms[len(ms)-1].UUID); l != nil {
			body["migrations_links"] = l
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, body)
	return nil
}

// nodeIPs is the host_ip of each compute host's node, read once a
// request (Nova's dest_host).
func (a *API) nodeIPs(r *http.Request) func(host string) string {
	var ips map[string]string
	return func(host string) string {
		if ips == nil {
			ips = map[string]string{}
			nodes, _ := a.Store.Nodes(r.Context(), 0, 0)
			for _, n := range nodes {
				ips[n.Host] = n.HostIP
			}
		}
		return ips[host]
	}
}

// flavorIDs is the integer id of a flavor by its flavorid (Nova's
// instance_type_id), nil for a flavor since deleted.
func (a *API) flavorIDs(r *http.Request) func(flavorid string) any {
	ids := map[string]any{}
	return func(flavorid string) any {
		if v, ok := ids[flavorid]; ok {
			return v
		}
		var v any
		if f, err := a.Store.Flavor(r.Context(), compute.Viewer{Admin: true}, flavorid); err == nil {
			v = f.ID
		}
		ids[flavorid] = v
		return v
	}
}
