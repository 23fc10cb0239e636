package cinder

import (
	"context"
	"net/url"

	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// links are a resource's self and bookmark links, as Cinder's
// ViewBuilder gives them: under /v3 (and the project id when the
// request's path had it), the bookmark without the version.
func (q *request) links(collection, id string) []httpapi.Link {
	id = url.PathEscape(id)
	return []httpapi.Link{
		{Rel: "self", Href: q.base() + "/" + collection + "/" + id},
		{Rel: "bookmark", Href: q.root + q.inPath + "/" + collection + "/" + id},
	}
}

// orNull is a string that Cinder shows as null when empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// apiStatus is the status Cinder shows for a volume's: the managing
// statuses as creating, error and deleting (views/volumes.py).
func apiStatus(s storage.VolumeStatus) string {
	switch s {
	case storage.VolumeManaging:
		return "creating"
	case storage.VolumeErrorManaging:
		return "error"
	case storage.VolumeErrorManagingDeleting:
		return "deleting"
	}
	return string(s)
}

// volumeSummary is Cinder's summary view (GET /volumes).
func (q *request) volumeSummary(v storage.Volume) map[string]any {
	return map[string]any{"id": v.ID, "name": v.Name, "links": q.links("volumes", v.ID)}
}

// volumeView is Cinder's detail view of a volume at the request's
// microversion (v3/views/volumes.py), typeName the name of its type
// ("" when it has none).
func (q *request) volumeView(v storage.Volume, typeName string) map[string]any {
	md := v.Metadata
	if md == nil {
		md = map[string]string{}
	}
	out := map[string]any{
		"id": v.ID, "status": apiStatus(v.Status), "size": v.Size, "availability_zone": v.AvailabilityZone,
		"created_at": isoTime(v.CreatedAt), "updated_at": isoTime(v.UpdatedAt),
		"name": v.Name, "description": v.Description,
		"snapshot_id": orNull(v.SnapshotID), "source_volid": orNull(v.SourceVolID),
		"metadata": md, "links": q.links("volumes", v.ID), "user_id": v.UserID,
		"bootable": map[bool]string{true: "true", false: "false"}[v.Bootable], "encrypted": v.Encrypted,
		"replication_status": "disabled", "consistencygroup_id": nil, "multiattach": v.Multiattach,
		"attachments": q.volumeAttachments(v),
	}
	// The volume type: its name; before 3.63 its id when it has no name.
	switch {
	case typeName != "":
		out["volume_type"] = typeName
	case q.at(63):
		out["volume_type"] = nil
	default:
		out["volume_type"] = orNull(v.VolumeTypeID)
	}
	if q.admin {
		out["migration_status"] = orNull(v.MigrationStatus)
	}
	if q.at(13) {
		out["group_id"] = nil
	}
	if q.admin && q.at(21) {
		out["provider_id"] = nil
	}
	if q.at(48) {
		out["shared_targets"] = false // a target per volume
		out["service_uuid"] = nil
	}
	if q.admin && q.at(61) {
		out["cluster_name"] = nil
	}
	if q.at(63) {
		out["volume_type_id"] = orNull(v.VolumeTypeID)
	}
	if q.at(65) {
		out["consumes_quota"] = true
	}
	return out
}

// volumeAttachments are a volume's attached attachments as Cinder's
// volume view lists them (_get_attachments): the host only for admins.
func (q *request) volumeAttachments(v storage.Volume) []map[string]any {
	out := []map[string]any{}
	for _, at := range v.Attachments {
		if at.AttachStatus != storage.AttachAttached {
			continue
		}
		var host, attached any
		if q.admin {
			host = orNull(at.AttachedHost)
		}
		if at.AttachTime != nil {
			attached = isoTime(*at.AttachTime)
		}
		out = append(out, map[string]any{"id": v.ID, "attachment_id": at.ID, "volume_id": v.ID,
			"server_id": orNull(at.InstanceUUID), "host_name": host, "device": orNull(at.Mountpoint), "attached_at": attached})
	}
	return out
}

// volumeExtensions are the attributes Cinder's volume extensions add to
// show and detail, each by its policy (checked with the caller's own
// target, once per request): the host for admins, the project for those
// who may see it, the migration status for admins, the image metadata of
// a volume made from an image for those who may read it.
type volumeExtensions struct{ host, tenant, migration, image bool }

func (a *API) volumeExtensions(ctx context.Context, q *request) volumeExtensions {
	return volumeExtensions{
		host:      a.allowed(ctx, q, "volume_extension:volume_host_attribute", nil),
		tenant:    a.allowed(ctx, q, "volume_extension:volume_tenant_attribute", nil),
		migration: a.allowed(ctx, q, "volume_extension:volume_mig_status_attribute", nil),
		image:     a.allowed(ctx, q, "volume_extension:volume_image_metadata:show", nil),
	}
}

// add puts the attributes of v into its view.
func (x volumeExtensions) add(v storage.Volume, view map[string]any) {
	if x.host {
		view["os-vol-host-attr:host"] = orNull(v.Host)
	}
	if x.tenant {
		view["os-vol-tenant-attr:tenant_id"] = v.ProjectID
	}
	if x.migration {
		view["os-vol-mig-status-attr:migstat"] = orNull(v.MigrationStatus)
		view["os-vol-mig-status-attr:name_id"] = nil
	}
	if x.image && len(v.ImageMetadata) > 0 {
		view["volume_image_metadata"] = v.ImageMetadata
	}
}
