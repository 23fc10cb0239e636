package cinder

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/kit/pyjson"
	"github.com/gostack/gostack/storage"
)

// volumeRoutes are Cinder's volumes (v3/volumes.py, the volume actions
// and admin actions extensions, v3/volume_metadata.py).
func (a *API) volumeRoutes(rt *httpapi.Router) {
	rt.HandleFunc("POST /volumes", a.op(a.createVolume))
	rt.HandleFunc("GET /volumes", a.op(a.listVolumes(false)))
	rt.HandleFunc("GET /volumes/detail", a.op(a.listVolumes(true)))
	rt.HandleFunc("GET /volumes/summary", a.since(12, a.volumeSummaryTotals))
	rt.HandleFunc("GET /volumes/{id}", a.op(a.showVolume))
	rt.HandleFunc("PUT /volumes/{id}", a.op(a.updateVolume))
	rt.HandleFunc("DELETE /volumes/{id}", a.op(a.deleteVolume))
	rt.HandleFunc("POST /volumes/{id}/action", a.op(a.volumeAction))
	a.volumeMetadataRoutes(rt)
}

// volumeTarget is the policy target of a volume: its fields over the
// caller's project and user (Cinder's target_obj).
func volumeTarget(q *request, v storage.Volume) map[string]any {
	return map[string]any{"project_id": v.ProjectID, "user_id": v.UserID, "id": v.ID,
		"availability_zone": v.AvailabilityZone, "status": string(v.Status)}
}

func (q *request) viewer() storage.Viewer {
	return storage.Viewer{Project: q.caller.ProjectID, Admin: q.admin}
}

// getVolume is Cinder's volume_api.get: the volume if the caller sees
// it and volume:get allows, else VolumeNotFound (a refused get does not
// tell the volume exists).
func (a *API) getVolume(ctx context.Context, q *request, id string) (storage.Volume, error) {
	v, err := a.Store.Volume(ctx, q.viewer(), id)
	if err != nil {
		return storage.Volume{}, err
	}
	if !a.allowed(ctx, q, "volume:get", volumeTarget(q, v)) {
		return storage.Volume{}, notFound("Volume %s could not be found.", id)
	}
	return v, nil
}

func (a *API) showVolume(w http.ResponseWriter, r *http.Request, q *request) error {
	v, err := a.getVolume(r.Context(), q, r.PathValue("id"))
	if err != nil {
		return err
	}
	view := q.volumeView(v, a.typeName(r.Context(), v.VolumeTypeID))
	a.volumeExtensions(r.Context(), q).add(v, view)
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volume": view})
	return nil
}

// createVolume is Cinder's create, its checks in Cinder's order: the
// body's schema and the scheduler hints' (which Cinder's default
// filters, and the Store's, do not act on), then what the volume is made
// from, then the policy, then the Store's checks (size, type, zone,
// source, quotas).
func (a *API) createVolume(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	if err := volumeCreateSchemaAt(q).check(nil, body); err != nil {
		return err
	}
	if h := body.Get("OS-SCH-HNT:scheduler_hints"); !h.Null() {
		hints := &pyjson.Value{Kind: '{', Keys: []string{"OS-SCH-HNT:scheduler_hints"}, Items: []*pyjson.Value{h}}
		if err := schedulerHintsSchema.check(nil, hints); err != nil {
			return err
		}
	}
	vol := body.Get("volume")
	c := storage.VolumeCreate{UserID: q.caller.UserID, Metadata: map[string]string{}}
	c.Name = textField(vol, "name", "display_name")
	c.Description = textField(vol, "description", "display_description")
	if t := vol.Get("volume_type"); !t.Null() && t.Text != "" {
		// Cinder's VolumeType.get_by_name_or_id, before anything else.
		if _, err := a.Store.FindVolumeType(r.Context(), q.viewer(), t.Text); err != nil {
			return err
		}
		c.VolumeType = t.Text
	}
	if md := vol.Get("metadata"); md != nil && md.Kind == '{' {
		for i, k := range md.Keys {
			c.Metadata[k] = md.Items[i].Text
		}
	}
	if err := a.volumeSources(r.Context(), q, vol, &c); err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:create", nil); err != nil {
		return err
	}
	// Cinder's volume API wants an int-like size (str(int(size)) ==
	// str(size): no "01"); its create flow then a size, or a source's.
	if s := vol.Get("size"); !s.Null() {
		n, _ := pyjson.Int(s.Str())
		if n == nil || n.String() != s.Str() || n.Sign() <= 0 {
			return badRequest("Invalid input received: Invalid volume size provided for create request: %s (size argument must be an integer (or string representation of an integer) and greater than zero).", s.Str())
		}
		c.Size = n.Int64()
	} else if c.SourceVolID == "" && c.SnapshotID == "" && c.BackupID == "" {
		return badRequest("Invalid input received: Volume size 'None' must be an integer and greater than 0")
	}
	if z := vol.Get("availability_zone"); !z.Null() {
		c.AvailabilityZone = z.Text
	}
	if c.ImageID != "" {
		// Cinder's create flow: the image read again and checked
		// against the volume's size.
		img, err := a.Images.Image(r.Context(), q.caller.ProjectID, c.ImageID)
		if err != nil {
			return imageNotFound(c.ImageID, err)
		}
		if err := storage.CheckImage(img, c.Size); err != nil {
			return err
		}
		c.ImageMetadata = storage.ImageMetadata(img)
	}
	v, err := a.Store.CreateVolume(r.Context(), q.viewer(), c)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusAccepted, map[string]any{"volume": q.volumeView(v, a.typeName(r.Context(), v.VolumeTypeID))})
	return nil
}

// volumeSources checks what a create makes the volume from, as Cinder's
// controller does before its policy: a snapshot and a source volume the
// caller sees (and volume:get_snapshot, volume:get allow), an image
// the caller sees, a backup the caller sees (3.47, backup:get); group
// ids name nothing (there are no groups), and the multiattach flag is
// Cinder's refusal.
func (a *API) volumeSources(ctx context.Context, q *request, vol *pyjson.Value, c *storage.VolumeCreate) error {
	if s := vol.Get("snapshot_id"); !s.Null() {
		if _, err := a.getSnapshot(ctx, q, s.Text); err != nil {
			return err
		}
		c.SnapshotID = s.Text
	}
	if s := vol.Get("source_volid"); !s.Null() {
		if _, err := a.getVolume(ctx, q, s.Text); err != nil {
			return err
		}
		c.SourceVolID = s.Text
	}
	for _, k := range []string{"consistencygroup_id", "group_id"} {
		if g := vol.Get(k); !g.Null() && (k == "consistencygroup_id" || q.at(13)) {
			return notFound("Group %s could not be found.", g.Text) // no group exists
		}
	}
	image := vol.Get("imageRef")
	if i := vol.Get("image_id"); i != nil {
		image = i
	}
	// Cinder's check_exclusive_options comes before the image is read.
	if !image.Null() && (!vol.Get("snapshot_id").Null() || !vol.Get("source_volid").Null()) {
		return badRequest("Invalid input received: May specify only one of backup, imageRef, snapshot, source volume")
	}
	if !image.Null() {
		id, err := a.imageFromRef(ctx, q, image.Text)
		if err != nil {
			return err
		}
		c.ImageID = id
	}
	if b := vol.Get("backup_id"); !b.Null() && b.Text != "" && q.at(47) {
		if _, err := a.getBackup(ctx, q, b.Text); err != nil {
			return err
		}
		if c.SnapshotID != "" || c.SourceVolID != "" || c.ImageID != "" {
			return badRequest("Invalid input received: May specify only one of backup, imageRef, snapshot, source volume")
		}
		c.BackupID = b.Text
	}
	if m := vol.Get("multiattach"); m != nil {
		if m.Kind == 'n' {
			return badRequest("Value 'None' for 'multiattach' is not a boolean.")
		}
		if boolOf(m) {
			return badRequest("multiattach parameter has been removed. The default behavior is to use multiattach enabled volume types. " +
				"Contact your administrator to create a multiattach enabled volume type and use it to create multiattach volumes.")
		}
	}
	return nil
}

// imageFromRef is Cinder's _image_uuid_from_ref: the image a create's
// imageRef names — an id, or a URL ending in one (as Nova gives it) —
// if the caller sees it. Names are not looked up (Cinder tries the ref
// as an image name last): such a ref gets Cinder's answer for an image
// not found.
func (a *API) imageFromRef(ctx context.Context, q *request, ref string) (string, error) {
	if a.Images == nil {
		return "", badRequest("Creating a volume from an image is not possible: this cloud has no image service.")
	}
	id := ref[strings.LastIndex(ref, "/")+1:]
	if u, err := uuid.Parse(id); err == nil {
		if img, err := a.Images.Image(ctx, q.caller.ProjectID, u.String()); err == nil {
			return img.ID, nil
		} else if fault.KindOf(err) != fault.NotFound {
			return "", err
		}
	}
	return "", badRequest("Invalid image identifier or unable to access requested image.")
}

// imageNotFound is Cinder's ImageNotFound for err when the image
// service did not find image id, err otherwise.
func imageNotFound(id string, err error) error {
	if fault.KindOf(err) == fault.NotFound {
		return notFound("Image %s could not be found.", id)
	}
	return err
}

// textField is the value of the first of keys present (Cinder reads
// name, or display_name when no name), stripped as Cinder's
// validate_name_and_description strips it; nil for null or absent.
func textField(obj *pyjson.Value, keys ...string) *string {
	for _, k := range keys {
		if v := obj.Get(k); v != nil {
			if v.Kind != '"' {
				return nil
			}
			s := pyStrip(v.Text)
			return &s
		}
	}
	return nil
}

func (a *API) updateVolume(w http.ResponseWriter, r *http.Request, q *request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if body == nil {
		return errNoBody
	}
	s := volumeUpdateSchema
	if q.at(53) {
		s = volumeUpdateV353Schema
	}
	if err := s.check(nil, body); err != nil {
		return err
	}
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:update", volumeTarget(q, v)); err != nil {
		return err
	}
	vol := body.Get("volume")
	var u storage.VolumeUpdate
	for _, f := range []struct {
		keys []string
		dst  ***string
	}{{[]string{"name", "display_name"}, &u.Name}, {[]string{"description", "display_description"}, &u.Description}} {
		if slices.ContainsFunc(f.keys, vol.Has) {
			s := textField(vol, f.keys...)
			*f.dst = &s
		}
	}
	if md := vol.Get("metadata"); md != nil {
		u.Metadata = map[string]string{}
		for i, k := range md.Keys {
			u.Metadata[k] = md.Items[i].Text
		}
	}
	v, err = a.Store.UpdateVolume(r.Context(), q.viewer(), id, u)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volume": q.volumeView(v, a.typeName(r.Context(), v.VolumeTypeID))})
	return nil
}

// deleteVolume is Cinder's delete: cascade and (from 3.23) force, as
// query parameters; force needs volume:force_delete.
func (a *API) deleteVolume(w http.ResponseWriter, r *http.Request, q *request) error {
	query := newListQuery(r.URL.Query())
	cascade, err := query.boolParam("cascade")
	if err != nil {
		return err
	}
	force := false
	if q.at(23) {
		if force, err = query.boolParam("force"); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	v, err := a.getVolume(r.Context(), q, id)
	if err != nil {
		return err
	}
	if force {
		if err := a.authorize(r.Context(), q, "volume:force_delete", volumeTarget(q, v)); err != nil {
			return err
		}
	}
	if err := a.authorize(r.Context(), q, "volume:delete", volumeTarget(q, v)); err != nil {
		return err
	}
	if _, err := a.Store.DeleteVolume(r.Context(), q.viewer(), id, storage.DeleteOptions{Force: force, Cascade: cascade}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// volumeFilters are the filters Cinder's resource_filters.json lets
// every user give on volumes; admins may give any.
var volumeFilters = []string{"name", "status", "metadata", "bootable", "migration_status", "availability_zone",
	"group_id", "size", "created_at", "updated_at"}

// listVolumes is GET /volumes and /volumes/detail, as Cinder's
// _get_volumes reads its query.
func (a *API) listVolumes(detail bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *request) error {
		query := newListQuery(r.URL.Query())
		p, err := query.readPage()
		if err != nil {
			return err
		}
		keys, dirs, err := query.readSort()
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
		f, none, err := a.volumeFilter(q, query, q.at(31))
		if err != nil {
			return err
		}
		if err := a.authorize(r.Context(), q, "volume:get_all", nil); err != nil {
			return err
		}
		f.SortKeys, f.SortDirs, f.Marker = keys, dirs, p.marker
		var vols []storage.Volume
		if p.limit > 0 && !none {
			f.Limit = p.limit + p.offset
			if vols, _, err = a.Store.Volumes(r.Context(), q.viewer(), f); err != nil {
				return err
			}
			vols = vols[min(p.offset, len(vols)):]
		}
		ext := a.volumeExtensions(r.Context(), q)
		collection := "volumes"
		if detail {
			collection = "volumes/detail"
		}
		res := listAnswer(q, r, "volumes", "volumes_links", collection, vols, func(v storage.Volume) string { return v.ID },
			func(v storage.Volume) map[string]any {
				if !detail {
					return q.volumeSummary(v)
				}
				view := q.volumeView(v, a.typeName(r.Context(), v.VolumeTypeID))
				ext.add(v, view)
				return view
			})
		if withCount {
			f.Marker, f.Limit = "", 0
			var all []storage.Volume
			if !none {
				if all, _, err = a.Store.Volumes(r.Context(), q.viewer(), f); err != nil {
					return err
				}
			}
			res["count"] = len(all)
		}
		httpapi.WriteJSON(w, http.StatusOK, res)
		return nil
	}
}

// volumeFilter reads the filters left in query as Cinder does at the
// request's microversion: strict (the list from 3.31), a user's filter
// that resource_filters.json does not list is refused (all_tenants is
// dropped), else it is dropped silently; admins may give any. The
// filters Cinder takes that the Store cannot apply yet are refused
// with a 400 that says so. none is Cinder's empty answer to a metadata
// filter that is not a dict.
func (a *API) volumeFilter(q *request, query listQuery, strict bool) (f storage.VolumeFilter, none bool, err error) {
	if strict && !q.admin {
		var invalid []string
		for k := range query.Values {
			if strings.ToValidUTF8(k, "") != k {
				return f, false, badRequest("Filter keys can only contain ASCII characters.")
			}
			ok := slices.Contains(volumeFilters, k) || q.at(34) && strings.HasSuffix(k, "~") && slices.Contains(volumeFilters, strings.TrimSuffix(k, "~"))
			if !ok && k != "all_tenants" {
				invalid = append(invalid, k)
			}
		}
		delete(query.Values, "all_tenants")
		if len(invalid) > 0 {
			slices.Sort(invalid)
			return f, false, badRequest("Invalid filters %s are found in query options.", strings.Join(invalid, ","))
		}
	} else if !q.admin {
		for k := range query.Values {
			if !slices.Contains(volumeFilters, k) {
				delete(query.Values, k)
			}
		}
	}
	if q.admin {
		all, err := query.boolParam("all_tenants")
		if err != nil {
			return f, false, err
		}
		f.AllProjects = all
		delete(query.Values, "all_tenants")
		if s, ok := query.pop("project_id"); ok {
			f.ProjectID = s
		}
		if s, ok := query.pop("host"); ok {
			f.Host = s
		}
	}
	if s, ok := query.pop("name"); ok {
		f.Name = s
	}
	if q.at(34) {
		if s, ok := query.pop("name~"); ok {
			f.NameLike = s
		}
	}
	if s, ok := query.pop("status"); ok {
		f.Status = storage.VolumeStatus(pyLiteralString(s))
	}
	if s, ok := query.pop("availability_zone"); ok {
		f.AvailabilityZone = pyLiteralString(s)
	}
	if s, ok := query.pop("bootable"); ok {
		b, valid := pyjson.Bool(s)
		if q.at(2) && !valid {
			return f, false, badRequest("Invalid input received: 'bootable = %s'", s)
		}
		if !q.at(2) {
			b = s != "False" && s != "false" && s != "FALSE"
		}
		f.Bootable = &b
	}
	if s, ok := query.pop("metadata"); ok {
		md, err := pyLiteralDict(s)
		f.Metadata, none = md, err != nil
	}
	if !q.at(4) {
		delete(query.Values, "glance_metadata")
	}
	// What no volume has yet: a group, image metadata.
	for _, k := range []string{"group_id", "glance_metadata"} {
		if _, ok := query.pop(k); ok {
			none = true
		}
	}
	if s, ok := query.pop("migration_status"); ok {
		if s == "None" {
			s = ""
		}
		f.MigrationStatus = &s
	}
	none2, err := leftFilters(query, volumeColumns, "volume")
	return f, none || none2, err
}

// volumeColumns are the attributes of Cinder's Volume model, which its
// database layer filters on (an admin's filters).
var volumeColumns = []string{"_name_id", "attach_status", "availability_zone", "bootable", "cluster_name", "consistencygroup_id",
	"created_at", "deleted", "deleted_at", "display_description", "display_name", "ec2_id", "encryption_key_id", "group_id", "host",
	"id", "launched_at", "migration_status", "multiattach", "name_id", "previous_status", "project_id", "provider_auth",
	"provider_geometry", "provider_id", "provider_location", "replication_driver_data", "replication_extended_status",
	"replication_status", "scheduled_at", "service_uuid", "shared_targets", "size", "snapshot_id", "source_volid", "status",
	"terminated_at", "updated_at", "use_quota", "user_id", "volume_type_id"}

// leftFilters judges the filters left once those served are read, as
// Cinder's database layer does: a key that is no attribute of the
// model gives an empty list (none); an attribute the Store cannot filter
// on yet is refused with a 400 that names it.
func leftFilters(query listQuery, columns []string, what string) (none bool, err error) {
	var left []string
	for k := range query.Values {
		if !slices.Contains(columns, strings.TrimSuffix(k, "~")) {
			return true, nil
		}
		left = append(left, k)
	}
	if len(left) > 0 {
		slices.Sort(left)
		return false, badRequest("The %s filters %s are not supported yet.", what, strings.Join(left, ", "))
	}
	return false, nil
}

// volumeSummaryTotals is GET /volumes/summary (3.12): the count and
// total size of the volumes the list's filters select (a user's unknown
// filters dropped, as Cinder's summary does), and from 3.36 their
// metadata's values by key.
func (a *API) volumeSummaryTotals(w http.ResponseWriter, r *http.Request, q *request) error {
	f, none, err := a.volumeFilter(q, newListQuery(r.URL.Query()), false)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "volume:get_all", nil); err != nil {
		return err
	}
	var vols []storage.Volume
	if !none {
		if vols, _, err = a.Store.Volumes(r.Context(), q.viewer(), f); err != nil {
			return err
		}
	}
	var size int64
	meta := map[string][]string{}
	for _, v := range vols {
		size += v.Size
		for k, val := range v.Metadata {
			if !slices.Contains(meta[k], val) {
				meta[k] = append(meta[k], val)
			}
		}
	}
	sum := map[string]any{"total_count": len(vols), "total_size": size}
	if q.at(36) {
		for _, vs := range meta {
			slices.Sort(vs)
		}
		sum["metadata"] = meta
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"volume-summary": sum})
	return nil
}
