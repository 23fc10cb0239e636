package cinder

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// snapshotFilters are the filters Cinder's resource_filters.json lets
// every user give on snapshots from 3.31; before, its controller's
// _get_snapshot_filter_options.
var (
	snapshotFilters       = []string{"name", "status", "volume_id", "metadata", "availability_zone"}
	snapshotFilterOptions = []string{"status", "volume_id", "name", "metadata"}
)

// snapshotColumns are the columns of Cinder's Snapshot model, which its
// database layer filters on (an admin's filters); host, cluster_name
// and availability_zone are the volume's.
var snapshotColumns = []string{"cgsnapshot_id", "created_at", "deleted", "deleted_at", "display_description", "display_name",
	"encryption_key_id", "group_snapshot_id", "id", "progress", "project_id", "provider_auth", "provider_id", "provider_location",
	"scheduled_at", "status", "updated_at", "use_quota", "user_id", "volume_id", "volume_size", "volume_type_id",
	"host", "cluster_name", "availability_zone"}

// listSnapshots is GET /snapshots and /snapshots/detail, as Cinder's
// _items reads its query: sort, pages, with_count (3.45), the filters,
// then volume:get_all_snapshots.
func (a *API) listSnapshots(detail bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		query := newListQuery(r.URL.Query())
		keys, dirs, err := query.readSort()
		if err != nil {
			return err
		}
		p, err := query.readPage()
		if err != nil {
			return err
		}
		for i, k := range keys {
			if k == "name" {
				keys[i] = "display_name"
			}
		}
		withCount := false
		if q.at(45) {
			if _, ok := query.Values["with_count"]; ok {
				if withCount, err = query.boolParam("with_count"); err != nil {
					return err
				}
				delete(query.Values, "with_count")
			}
		}
		f, none, err := snapshotFilter(q, query)
		if err != nil {
			return err
		}
		if err := a.authorize(r.Context(), q, "volume:get_all_snapshots", nil); err != nil {
			return err
		}
		f.SortKeys, f.SortDirs, f.Marker = keys, dirs, p.marker
		var snaps []storage.Snapshot
		if p.limit > 0 && !none {
			f.Limit = p.limit + p.offset
			if snaps, _, err = a.Store.Snapshots(r.Context(), q.viewer(), f); err != nil {
				return err
			}
			snaps = snaps[min(p.offset, len(snaps)):]
		}
		ext := detail && a.snapshotExtensions(r.Context(), q)
		collection := "snapshots"
		if detail {
			collection = "snapshots/detail"
		}
		res := listAnswer(q, r, "snapshots", "snapshots_links", collection, snaps, func(n storage.Snapshot) string { return n.ID },
			func(n storage.Snapshot) map[string]any {
				if !detail {
					return snapshotSummary(n)
				}
				view := q.snapshotView(n)
				if ext {
					addSnapshotExtensions(n, view)
				}
				return view
			})
		if withCount {
			f.Marker, f.Limit = "", 0
			var all []storage.Snapshot
			if !none {
				if all, _, err = a.Store.Snapshots(r.Context(), q.viewer(), f); err != nil {
					return err
				}
			}
			res["count"] = len(all)
		}
		httpapi.WriteJSON(w, http.StatusOK, res)
		return nil
	}
}

// snapshotFilter reads the filters left in query as Cinder's snapshot
// controller does at the request's microversion. From 3.31 a user's
// filter that resource_filters.json does not list is refused (its like
// form name~ too: Cinder accepts key~ only when key~ itself is listed;
// all_tenants is dropped), and name~, description~ and consumes_quota
// become display_name~, display_description~ and use_quota; before, a
// user's other filters are dropped, metadata before 3.22 and use_quota
// always. Admins may give any column of Cinder's Snapshot. none is
// Cinder's empty answer: a metadata filter that is not a dict, a key
// that is no column, use_quota false. A column the Store cannot filter
// on yet is refused with a 400 that names it.
func snapshotFilter(q *request, query listQuery) (f storage.SnapshotFilter, none bool, err error) {
	if q.at(resourceFilter) {
		for k := range query.Values {
			if strings.IndexFunc(k, func(r rune) bool { return r >= 0x80 }) >= 0 {
				return f, false, badRequest("Filter keys can only contain ASCII characters.")
			}
		}
		if !q.admin {
			var invalid []string
			for k := range query.Values {
				if !slices.Contains(snapshotFilters, k) && !(q.at(34) && slices.Contains(snapshotFilters, k+"~")) && k != "all_tenants" {
					invalid = append(invalid, k)
				}
			}
			delete(query.Values, "all_tenants")
			if len(invalid) > 0 {
				slices.Sort(invalid)
				return f, false, badRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
			}
		}
		for from, to := range map[string]string{"name~": "display_name~", "description~": "display_description~", "consumes_quota": "use_quota"} {
			if vs, ok := query.Values[from]; ok {
				delete(query.Values, from)
				query.Values[to] = vs
			}
		}
	} else {
		if !q.at(snapshotMetaFilter) {
			delete(query.Values, "metadata")
		}
		delete(query.Values, "use_quota")
		if !q.admin {
			for k := range query.Values {
				if !slices.Contains(snapshotFilterOptions, k) {
					delete(query.Values, k)
				}
			}
		}
	}
	if s, ok := query.pop("metadata"); ok {
		md, err := pyLiteralDict(s)
		f.Metadata, none = md, err != nil
	}
	if _, ok := query.Values["use_quota"]; ok {
		use, err := query.boolParam("use_quota")
		if err != nil {
			return f, false, err
		}
		delete(query.Values, "use_quota")
		none = none || !use // every snapshot counts against the quotas
	}
	if s, ok := query.pop("name"); ok {
		query.Values.Set("display_name", s)
	}
	if s, ok := query.pop("all_tenants"); ok {
		b, _ := pyjson.Bool(s) // oslo's bool_from_string, not strict: anything else is false
		f.AllProjects = q.admin && b
	}
	if s, ok := query.pop("project_id"); ok && f.AllProjects {
		f.ProjectID = s // without all_tenants Cinder sets the caller's own
	}
	if s, ok := query.pop("display_name"); ok {
		f.Name = s
	}
	if s, ok := query.pop("display_name~"); ok {
		f.NameLike = s
	}
	if s, ok := query.pop("status"); ok {
		f.Status = storage.SnapshotStatus(s)
	}
	if s, ok := query.pop("volume_id"); ok {
		f.VolumeID = s
	}
	none2, err := leftFilters(query, snapshotColumns, "snapshot")
	return f, none || none2, err
}
