package allinone_test

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gostack/gostack/kit/compose"
	cinderapi "github.com/gostack/gostack/storage/api/cinder"
	storagearea "github.com/gostack/gostack/storage/area"
)

// volumeRoutes are the Block Storage API's routes, at its latest
// microversion (areaHeaders). As for Compute, a sample body that could
// still be valid once mutated names what exists already (the type's
// name, spec and project, the volume's metadata key), so a mutation
// that passes the schema is refused as a duplicate or changes nothing;
// a new volume is refused by its project's quota (the admin's project
// may have none), whatever a mutation leaves of the body.
func volumeRoutes() []hostileRoute {
	return []hostileRoute{
		{area: "volume", pattern: "GET /{$}", flags: public},
		{area: "volume", pattern: "GET /v3/{$}", flags: public},
		{area: "volume", pattern: "POST /v3/volumes", body: `{"volume":{"size":1,"name":"hostile-v2","description":"d","metadata":{"k":"v"}}}`},
		{area: "volume", pattern: "GET /v3/volumes"},
		{area: "volume", pattern: "GET /v3/volumes/detail"},
		{area: "volume", pattern: "GET /v3/volumes/summary"},
		{area: "volume", pattern: "GET /v3/volumes/{id}"},
		{area: "volume", pattern: "PUT /v3/volumes/{id}", body: `{"volume":{"name":"hostile-renamed","description":"d"}}`},
		{area: "volume", pattern: "DELETE /v3/volumes/{id}"},
		// The fixture volume is attaching: a size Cinder takes ("12345")
		// is refused by its status (and project A's quota of 100 GiB).
		{area: "volume", pattern: "POST /v3/volumes/{id}/action", body: `{"os-extend":{"new_size":12345}}`},
		{area: "volume", pattern: "GET /v3/volumes/{id}/metadata"},
		{area: "volume", pattern: "POST /v3/volumes/{id}/metadata", body: `{"metadata":{"{{metadata}}":"v"}}`},
		{area: "volume", pattern: "PUT /v3/volumes/{id}/metadata", body: `{"metadata":{"{{metadata}}":"v"}}`},
		{area: "volume", pattern: "GET /v3/volumes/{id}/metadata/{key}"},
		{area: "volume", pattern: "PUT /v3/volumes/{id}/metadata/{key}", body: `{"meta":{"{{metadata}}":"v"}}`},
		{area: "volume", pattern: "DELETE /v3/volumes/{id}/metadata/{key}"},
		// The fixture volume is attaching: a snapshot of it is refused by
		// its status, forced or not.
		{area: "volume", pattern: "POST /v3/snapshots",
			body: `{"snapshot":{"volume_id":"{{volumes}}","name":"hostile-s2","description":"d","force":true,"metadata":{"k":"v"}}}`},
		{area: "volume", pattern: "GET /v3/snapshots"},
		{area: "volume", pattern: "GET /v3/snapshots/detail"},
		{area: "volume", pattern: "GET /v3/snapshots/{id}"},
		{area: "volume", pattern: "PUT /v3/snapshots/{id}", body: `{"snapshot":{"name":"hostile-renamed","description":"d"}}`},
		{area: "volume", pattern: "DELETE /v3/snapshots/{id}"},
		// os-force_delete reads no body: its mutations would still delete.
		{area: "volume", pattern: "POST /v3/snapshots/{id}/action", body: `{"os-reset_status":{"status":"available"}}`},
		{area: "volume", pattern: "GET /v3/snapshots/{id}/metadata"},
		{area: "volume", pattern: "POST /v3/snapshots/{id}/metadata", body: `{"metadata":{"{{metadata}}":"v"}}`},
		{area: "volume", pattern: "PUT /v3/snapshots/{id}/metadata", body: `{"metadata":{"{{metadata}}":"v"}}`},
		{area: "volume", pattern: "GET /v3/snapshots/{id}/metadata/{key}"},
		{area: "volume", pattern: "PUT /v3/snapshots/{id}/metadata/{key}", body: `{"meta":{"{{metadata}}":"v"}}`},
		{area: "volume", pattern: "DELETE /v3/snapshots/{id}/metadata/{key}"},
		// The connector takes any JSON: a create is refused as the volume
		// is attaching (for another instance), an update as one of its two
		// attachments is connected already (Cinder's duplicate connectors).
		{area: "volume", pattern: "POST /v3/attachments", body: `{"attachment":{"volume_uuid":"{{volumes}}","instance_uuid":"{{instance_new}}",` +
			`"connector":` + connector + `,"mode":"rw"}}`},
		{area: "volume", pattern: "GET /v3/attachments"},
		{area: "volume", pattern: "GET /v3/attachments/detail"},
		{area: "volume", pattern: "GET /v3/attachments/{id}"},
		{area: "volume", pattern: "PUT /v3/attachments/{id}", body: `{"attachment":{"connector":` + connector + `}}`},
		{area: "volume", pattern: "DELETE /v3/attachments/{id}"},
		// os-complete's value is not read: null has no mutation.
		{area: "volume", pattern: "POST /v3/attachments/{id}/action", body: `{"os-complete":null}`},
		// Transfers: a create names the fixture volume, which is
		// attaching; an accept's key is never the fixture transfer's.
		{area: "volume", pattern: "POST /v3/volume-transfers", body: `{"transfer":{"volume_id":"{{volumes}}","name":"hostile-t2","no_snapshots":true}}`},
		{area: "volume", pattern: "GET /v3/volume-transfers"},
		{area: "volume", pattern: "GET /v3/volume-transfers/detail"},
		{area: "volume", pattern: "GET /v3/volume-transfers/{id}"},
		{area: "volume", pattern: "DELETE /v3/volume-transfers/{id}"},
		{area: "volume", pattern: "POST /v3/volume-transfers/{id}/accept", body: `{"accept":{"auth_key":"hostile-key"}}`},
		{area: "volume", pattern: "POST /v3/os-volume-transfer", body: `{"transfer":{"volume_id":"{{volumes}}","name":"hostile-t2"}}`},
		{area: "volume", pattern: "GET /v3/os-volume-transfer"},
		{area: "volume", pattern: "GET /v3/os-volume-transfer/detail"},
		{area: "volume", pattern: "GET /v3/os-volume-transfer/{id}"},
		{area: "volume", pattern: "DELETE /v3/os-volume-transfer/{id}"},
		{area: "volume", pattern: "POST /v3/os-volume-transfer/{id}/accept", body: `{"accept":{"auth_key":"hostile-key"}}`},
		// Backups: a create names the fixture volume, which is attaching
		// (force or not); a restore names it too; a restore to a new
		// volume (a null restore) is refused by the admin's volumes quota.
		{area: "volume", pattern: "POST /v3/backups",
			body: `{"backup":{"volume_id":"{{volumes}}","name":"hostile-b2","description":"d","incremental":true,"force":true}}`},
		{area: "volume", pattern: "GET /v3/backups"},
		{area: "volume", pattern: "GET /v3/backups/detail"},
		{area: "volume", pattern: "GET /v3/backups/{id}"},
		{area: "volume", pattern: "PUT /v3/backups/{id}", body: `{"backup":{"name":"hostile-renamed","description":"d"}}`},
		{area: "volume", pattern: "DELETE /v3/backups/{id}"},
		{area: "volume", pattern: "POST /v3/backups/{id}/restore", body: `{"restore":{"volume_id":"{{volumes}}","name":"hostile-r"}}`},
		{area: "volume", pattern: "GET /v3/backups/{id}/export_record"},
		// An import of a record without an id ("{}") is refused.
		{area: "volume", pattern: "POST /v3/backups/import_record",
			body: `{"backup-record":{"backup_service":"gostack.storage.chunked","backup_url":"e30="}}`},
		// os-force_delete reads no body: its mutations would still delete.
		{area: "volume", pattern: "POST /v3/backups/{id}/action", body: `{"os-reset_status":{"status":"available"}}`},
		// QoS specs (admins'): a create names the fixture's name, a set
		// its key and value, an unset a key it lacks; associate and
		// disassociate without vol_type_id are refused, and the fixture
		// has no association for disassociate_all to remove.
		{area: "volume", pattern: "GET /v3/qos-specs"},
		{area: "volume", pattern: "POST /v3/qos-specs", body: `{"qos_specs":{"name":"hostile-q","consumer":"front-end","hostile:k":"v"}}`},
		{area: "volume", pattern: "GET /v3/qos-specs/{id}"},
		{area: "volume", pattern: "PUT /v3/qos-specs/{id}", body: `{"qos_specs":{"hostile:k":"v"}}`},
		{area: "volume", pattern: "DELETE /v3/qos-specs/{id}"},
		{area: "volume", pattern: "PUT /v3/qos-specs/{id}/delete_keys", body: `{"keys":["hostile:none"]}`},
		{area: "volume", pattern: "GET /v3/qos-specs/{id}/associations"},
		{area: "volume", pattern: "GET /v3/qos-specs/{id}/associate"},
		{area: "volume", pattern: "GET /v3/qos-specs/{id}/disassociate"},
		{area: "volume", pattern: "GET /v3/qos-specs/{id}/disassociate_all"},
		{area: "volume", pattern: "GET /v3/types"},
		{area: "volume", pattern: "POST /v3/types",
			body: `{"volume_type":{"name":"hostile-vt","description":"d","os-volume-type-access:is_public":false,"extra_specs":{"hostile:spec":"v"}}}`},
		{area: "volume", pattern: "GET /v3/types/{id}"},
		// No is_public: Cinder takes "yes" for a boolean.
		{area: "volume", pattern: "PUT /v3/types/{id}", body: `{"volume_type":{"description":"hostile"}}`},
		{area: "volume", pattern: "DELETE /v3/types/{id}"},
		{area: "volume", pattern: "POST /v3/types/{id}/action", body: `{"addProjectAccess":{"project":"{{project}}"}}`},
		{area: "volume", pattern: "GET /v3/types/{id}/os-volume-type-access"},
		{area: "volume", pattern: "GET /v3/types/{id}/extra_specs"},
		{area: "volume", pattern: "POST /v3/types/{id}/extra_specs", body: `{"extra_specs":{"{{extra_specs}}":"v"}}`},
		{area: "volume", pattern: "GET /v3/types/{id}/extra_specs/{key}"},
		{area: "volume", pattern: "PUT /v3/types/{id}/extra_specs/{key}", body: `{"{{extra_specs}}":"v"}`},
		{area: "volume", pattern: "DELETE /v3/types/{id}/extra_specs/{key}"},
		{area: "volume", pattern: "GET /v3/os-quota-sets/{project}"},
		{area: "volume", pattern: "GET /v3/os-quota-sets/{project}/defaults"},
		// Any limit is valid, a number or a string of digits: the sample
		// carries a key Cinder refuses, so no mutation of it is a write.
		{area: "volume", pattern: "PUT /v3/os-quota-sets/{project}", body: `{"quota_set":{"volumes":10,"hostile":1}}`},
		{area: "volume", pattern: "DELETE /v3/os-quota-sets/{project}"},
		{area: "volume", pattern: "GET /v3/limits"},
		{area: "volume", pattern: "GET /v3/os-availability-zone"},
		{area: "volume", pattern: "GET /v3/scheduler-stats/get_pools"},
		{area: "volume", pattern: "GET /v3/os-services"},
		{area: "volume", pattern: "PUT /v3/os-services/{action}", body: `{"host":"{{hosts}}","binary":"cinder-volume"}`},
		// User messages: the fixture's is a create no pool took.
		{area: "volume", pattern: "GET /v3/messages"},
		{area: "volume", pattern: "GET /v3/messages/{id}"},
		{area: "volume", pattern: "DELETE /v3/messages/{id}"},
		{area: "volume", pattern: "GET /v3/capabilities/{host}"},
		{area: "volume", pattern: "GET /v3/resource_filters"},
		// Admins' default types: the sample names a type that does not
		// exist, so no mutation of it is a write.
		{area: "volume", pattern: "PUT /v3/default-types/{project}", body: `{"default_type":{"volume_type":"hostile-none"}}`},
		{area: "volume", pattern: "GET /v3/default-types/{project}"},
		{area: "volume", pattern: "GET /v3/default-types"},
		{area: "volume", pattern: "DELETE /v3/default-types/{project}"},
		// The volume agents' API (service role); {host} is the backend the
		// fixtures reported.
		{area: "volume", pattern: "GET /internal/volume/hosts/{host}"},
		{area: "volume", pattern: "PUT /internal/volume/hosts/{host}/backend", body: backendReport},
		{area: "volume", pattern: "PUT /internal/volume/hosts/{host}/volumes/{id}", body: `{"status":"creating","provider_location":"hostile-loc"}`},
		// The suite's backend does not export per initiator: any report
		// of an export's initiators is refused.
		{area: "volume", pattern: "PUT /internal/volume/hosts/{host}/volumes/{id}/export", body: `{"initiators":["iqn.2005-03.org.gostack:hostile"]}`},
		// The agents' image routes: no volume of the suite's is being made
		// from or uploaded to an image, so each is refused as another
		// host's image would be.
		{area: "volume", pattern: "GET /internal/volume/hosts/{host}/images/{id}"},
		{area: "volume", pattern: "PUT /internal/volume/hosts/{host}/images/{id}/file", body: `{"data":"hostile"}`},
		// The fixture snapshot is available: a report on its create is a 409.
		{area: "volume", pattern: "PUT /internal/volume/hosts/{host}/snapshots/{id}", body: `{"status":"creating","error":"hostile"}`},
		// The fixture backup is available: a report on its create is a 409.
		{area: "volume", pattern: "PUT /internal/volume/hosts/{host}/backups/{id}", body: `{"status":"creating","error":"hostile","object_count":1}`},
	}
}

// backendReport is a backend pool's report, as its agent sends it; no
// capabilities, which take any JSON value.
const backendReport = `{"availability_zone":"nova","volume_backend_name":"hostile","storage_protocol":"iSCSI","total_capacity_gb":10,` +
	`"free_capacity_gb":10,"thin_provisioning_support":true,"max_over_subscription_ratio":20,"reserved_percentage":0}`

// connector is a host's iSCSI connector (os-brick's).
const connector = `{"initiator":"iqn.1993-08.org.debian:01:hostile","ip":"192.0.2.9","host":"hostile-node","multipath":false,` +
	`"platform":"x86_64","os_type":"linux"}`

// volumeServed are the routes the Block Storage API serves, as
// hostileRoutes lists them: Cinder's version documents answer every
// method (their patterns have none), and the suite sends them GET.
func volumeServed() []string {
	var out []string
	for _, p := range (&cinderapi.API{}).Routes() {
		if !strings.Contains(p, " ") {
			p = "GET " + p
		}
		out = append(out, p)
	}
	return out
}

// withVolume adds the block-storage area to the suite's areas when the
// test configuration has none, without its in-process backend: that
// starts tgtd, which outlives the daemon, and its heartbeats would
// change the state the suite compares.
func withVolume(areas []compose.Area) []compose.Area {
	if slices.ContainsFunc(areas, func(a compose.Area) bool { return a.Name() == "volume" }) {
		return areas
	}
	v := storagearea.New()
	v.Config.Agent.Enabled = false
	return append(areas, v)
}

// volumeFixtures make, through the Block Storage API: a backend pool
// reported through the agents' API on the suite's host (the admin
// routes' service and pool); project A's volume with a metadata key,
// made available by the backend's report (or by the in-process agent,
// when one runs and its pool took it), and its snapshot, with the same
// metadata key, made available likewise; the volume then with two
// reserved attachments for one instance, the first connected; a private volume type shared
// with project A with an extra spec; project A's quotas, and none for
// the admin's project, whose volume creates are then refused.
func (h *hostile) volumeFixtures() {
	adm, f := h.admin, h.fix
	host := "/internal/volume/hosts/" + escapePath(f["hosts"])
	h.must(200, "PUT", "volume", host+"/backend", adm, backendReport)
	f["os-services/action"] = "enable"

	f["volumes"] = field(h.must(202, "POST", "volume", "/v3/volumes", h.owner,
		`{"volume":{"size":1,"name":"hostile-v","metadata":{"hostile-key":"v"}}}`), "volume", "id")
	f["metadata"] = "hostile-key"
	vol := h.must(200, "GET", "volume", "/v3/volumes/"+f["volumes"], adm, "")["volume"].(map[string]any)
	if vol["os-vol-host-attr:host"] == f["hosts"] && vol["status"] == "creating" {
		h.must(200, "PUT", "volume", host+"/volumes/"+f["volumes"], adm, fmt.Sprintf(
			`{"status":"creating","provider_location":"192.0.2.1:3260,1 iqn.2010-10.org.openstack:volume-%s 1","provider_auth":"CHAP hostile s3cret"}`,
			f["volumes"]))
	}
	eventually(h.t, "the fixture volume available", func() bool {
		return field(h.must(200, "GET", "volume", "/v3/volumes/"+f["volumes"], h.owner, ""), "volume", "status") == "available"
	})
	f["snapshots"] = field(h.must(202, "POST", "volume", "/v3/snapshots", h.owner,
		fmt.Sprintf(`{"snapshot":{"volume_id":%q,"name":"hostile-s","metadata":{"hostile-key":"v"}}}`, f["volumes"])), "snapshot", "id")
	snap := h.must(200, "GET", "volume", "/v3/snapshots/"+f["snapshots"], adm, "")["snapshot"].(map[string]any)
	if vol["os-vol-host-attr:host"] == f["hosts"] && snap["status"] == "creating" { // a snapshot is on its volume's pool
		h.must(200, "PUT", "volume", host+"/snapshots/"+f["snapshots"], adm, `{"status":"creating"}`)
	}
	eventually(h.t, "the fixture snapshot available", func() bool {
		return field(h.must(200, "GET", "volume", "/v3/snapshots/"+f["snapshots"], h.owner, ""), "snapshot", "status") == "available"
	})
	f["backups"] = field(h.must(202, "POST", "volume", "/v3/backups", h.owner,
		fmt.Sprintf(`{"backup":{"volume_id":%q,"name":"hostile-b"}}`, f["volumes"])), "backup", "id")
	if vol["os-vol-host-attr:host"] == f["hosts"] && field(h.must(200, "GET", "volume", "/v3/backups/"+f["backups"], adm, ""), "backup", "status") == "creating" {
		h.must(200, "PUT", "volume", host+"/backups/"+f["backups"], adm, `{"status":"creating","object_count":1}`)
	}
	eventually(h.t, "the fixture backup available", func() bool {
		return field(h.must(200, "GET", "volume", "/v3/backups/"+f["backups"], h.owner, ""), "backup", "status") == "available"
	})
	// A second volume, offered for transfer.
	tv := field(h.must(202, "POST", "volume", "/v3/volumes", h.owner, `{"volume":{"size":1,"name":"hostile-tv"}}`), "volume", "id")
	if field(h.must(200, "GET", "volume", "/v3/volumes/"+tv, adm, ""), "volume", "status") == "creating" &&
		vol["os-vol-host-attr:host"] == f["hosts"] {
		h.must(200, "PUT", "volume", host+"/volumes/"+tv, adm, fmt.Sprintf(
			`{"status":"creating","provider_location":"192.0.2.1:3260,1 iqn.2010-10.org.openstack:volume-%s 1","provider_auth":"CHAP hostile s3cret"}`, tv))
	}
	eventually(h.t, "the transfer's volume available", func() bool {
		return field(h.must(200, "GET", "volume", "/v3/volumes/"+tv, h.owner, ""), "volume", "status") == "available"
	})
	f["volume-transfers"] = field(h.must(202, "POST", "volume", "/v3/volume-transfers", h.owner,
		fmt.Sprintf(`{"transfer":{"volume_id":%q,"name":"hostile-t"}}`, tv)), "transfer", "id")
	f["os-volume-transfer"] = f["volume-transfers"]
	instance := uuid.NewString()
	f["instance_new"] = uuid.NewString()
	attach := fmt.Sprintf(`{"attachment":{"volume_uuid":%q,"instance_uuid":%q}}`, f["volumes"], instance)
	f["attachments"] = field(h.must(200, "POST", "volume", "/v3/attachments", h.owner, attach), "attachment", "id")
	h.must(200, "POST", "volume", "/v3/attachments", h.owner, attach)
	h.must(200, "PUT", "volume", "/v3/attachments/"+f["attachments"], h.owner, `{"attachment":{"connector":`+connector+`}}`)

	f["types"] = field(h.must(200, "POST", "volume", "/v3/types", adm,
		`{"volume_type":{"name":"hostile-vt","os-volume-type-access:is_public":false,"extra_specs":{"hostile:spec":"v"}}}`), "volume_type", "id")
	f["extra_specs"] = "hostile:spec"
	f["qos-specs"] = field(h.must(200, "POST", "volume", "/v3/qos-specs", adm,
		`{"qos_specs":{"name":"hostile-q","consumer":"front-end","hostile:k":"v"}}`), "qos_specs", "id")
	h.must(202, "POST", "volume", "/v3/types/"+f["types"]+"/action", adm, fmt.Sprintf(`{"addProjectAccess":{"project":%q}}`, f["project"]))

	f["os-quota-sets"] = f["project"]
	f["default-types"] = f["project"]
	f["capabilities"] = f["hosts"]
	// A create no pool takes leaves the owner's project a message.
	h.must(200, "POST", "volume", "/v3/types", adm, `{"volume_type":{"name":"hostile-nowhere","extra_specs":{"volume_backend_name":"hostile-none"}}}`)
	lost := field(h.must(202, "POST", "volume", "/v3/volumes", h.owner, `{"volume":{"size":1,"name":"hostile-lost","volume_type":"hostile-nowhere"}}`), "volume", "id")
	msgs := h.must(200, "GET", "volume", "/v3/messages?resource_uuid="+lost, h.owner, "")["messages"].([]any)
	if len(msgs) != 1 {
		h.t.Fatalf("the fixture message: %v", msgs)
	}
	f["messages"] = msgs[0].(map[string]any)["id"].(string)
	h.must(200, "PUT", "volume", "/v3/os-quota-sets/"+f["project"], adm, `{"quota_set":{"volumes":10,"gigabytes":100}}`)
	projects := h.must(200, "GET", "identity", "/v3/projects?name=admin", adm, "")["projects"].([]any)
	h.must(200, "PUT", "volume", "/v3/os-quota-sets/"+projects[0].(map[string]any)["id"].(string), adm, `{"quota_set":{"volumes":0}}`)
}
