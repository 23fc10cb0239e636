package allinone_test

import (
	"fmt"

	"github.com/google/uuid"
)

// sshKey is a public key the suite imports.
const sshKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMndHqje7Lv4uWQiXTVyY4Cp2RutcOpUJCJTiZCCNxw+ hostile@example"

// computeRoutes are the Compute API's routes, at its latest
// microversion (areaHeaders). Sample bodies that could still be valid
// once mutated name what exists already (a flavor's, an aggregate's
// name), so a mutation that passes the schema is refused as a
// duplicate, never made.
func computeRoutes() []hostileRoute {
	node := `{"node":{"uuid":"` + uuid.NewString() + `","host":"{{hosts}}","hypervisor_hostname":"{{hosts}}","hypervisor_type":"QEMU"},"inventories":{},"ratios":{}}`
	return []hostileRoute{
		{area: "compute", pattern: "GET /{$}", flags: public},
		{area: "compute", pattern: "GET /v2.1", flags: public},
		{area: "compute", pattern: "GET /v2.1/{$}", flags: public},
		{area: "compute", pattern: "GET /v2.1/flavors"},
		{area: "compute", pattern: "GET /v2.1/flavors/detail"},
		{area: "compute", pattern: "POST /v2.1/flavors", body: `{"flavor":{"name":"hostile-f","ram":64,"vcpus":1,"disk":1}}`},
		{area: "compute", pattern: "GET /v2.1/flavors/{id}"},
		{area: "compute", pattern: "PUT /v2.1/flavors/{id}", body: `{"flavor":{"description":"hostile"}}`},
		{area: "compute", pattern: "DELETE /v2.1/flavors/{id}"},
		{area: "compute", pattern: "POST /v2.1/flavors/{id}/action", body: `{"addTenantAccess":{"tenant":"{{project_b}}"}}`},
		{area: "compute", pattern: "GET /v2.1/flavors/{id}/os-flavor-access"},
		{area: "compute", pattern: "GET /v2.1/flavors/{id}/os-extra_specs"},
		{area: "compute", pattern: "POST /v2.1/flavors/{id}/os-extra_specs", body: `{"extra_specs":{"hw:cpu_policy":"shared"}}`},
		{area: "compute", pattern: "GET /v2.1/flavors/{id}/os-extra_specs/{key}"},
		{area: "compute", pattern: "PUT /v2.1/flavors/{id}/os-extra_specs/{key}", body: `{"{{os-extra_specs}}":"shared"}`},
		{area: "compute", pattern: "DELETE /v2.1/flavors/{id}/os-extra_specs/{key}"},
		{area: "compute", pattern: "GET /v2.1/os-keypairs"},
		{area: "compute", pattern: "POST /v2.1/os-keypairs", body: `{"keypair":{"name":"hostile-kp","public_key":"` + sshKey + `"}}`},
		{area: "compute", pattern: "GET /v2.1/os-keypairs/{name}"},
		{area: "compute", pattern: "DELETE /v2.1/os-keypairs/{name}"},
		{area: "compute", pattern: "GET /v2.1/os-aggregates"},
		{area: "compute", pattern: "POST /v2.1/os-aggregates", body: `{"aggregate":{"name":"hostile-agg","availability_zone":"hostile-az"}}`},
		{area: "compute", pattern: "GET /v2.1/os-aggregates/{id}"},
		{area: "compute", pattern: "PUT /v2.1/os-aggregates/{id}", body: `{"aggregate":{"name":"hostile-agg"}}`},
		{area: "compute", pattern: "DELETE /v2.1/os-aggregates/{id}"},
		{area: "compute", pattern: "POST /v2.1/os-aggregates/{id}/action", body: `{"add_host":{"host":"{{hosts}}"}}`},
		{area: "compute", pattern: "GET /v2.1/os-availability-zone"},
		{area: "compute", pattern: "GET /v2.1/os-availability-zone/detail"},
		{area: "compute", pattern: "GET /v2.1/os-services"},
		{area: "compute", pattern: "PUT /v2.1/os-services/{id}", body: `{"status":"disabled"}`},
		{area: "compute", pattern: "DELETE /v2.1/os-services/{id}"},
		{area: "compute", pattern: "GET /v2.1/os-hypervisors"},
		{area: "compute", pattern: "GET /v2.1/os-hypervisors/detail"},
		{area: "compute", pattern: "GET /v2.1/os-hypervisors/statistics"},
		{area: "compute", pattern: "GET /v2.1/os-hypervisors/{id}"},
		{area: "compute", pattern: "GET /v2.1/os-hypervisors/{id}/uptime"},
		{area: "compute", pattern: "GET /v2.1/os-hypervisors/{id}/search"},
		{area: "compute", pattern: "GET /v2.1/os-hypervisors/{id}/servers"},
		{area: "compute", pattern: "GET /v2.1/os-server-groups"},
		{area: "compute", pattern: "POST /v2.1/os-server-groups", body: `{"server_group":{"name":"hostile-g2","policy":"affinity"}}`},
		{area: "compute", pattern: "GET /v2.1/os-server-groups/{id}"},
		{area: "compute", pattern: "DELETE /v2.1/os-server-groups/{id}"},
		{area: "compute", pattern: "GET /v2.1/servers"},
		{area: "compute", pattern: "GET /v2.1/servers/detail"},
		{area: "compute", pattern: "POST /v2.1/servers", body: `{"server":{"name":"hostile-s2","imageRef":"{{images}}","flavorRef":"1","networks":"none"}}`},
		{area: "compute", pattern: "GET /v2.1/servers/{id}"},
		{area: "compute", pattern: "PUT /v2.1/servers/{id}", body: `{"server":{"name":"hostile-renamed"}}`},
		{area: "compute", pattern: "DELETE /v2.1/servers/{id}"},
		{area: "compute", pattern: "POST /v2.1/servers/{id}/action", body: `{"os-stop":null}`},
		{area: "compute", pattern: "GET /v2.1/servers/{id}/os-instance-actions"},
		{area: "compute", pattern: "GET /v2.1/servers/{id}/os-instance-actions/{request_id}"},
		{area: "compute", pattern: "GET /v2.1/servers/{id}/os-interface"},
		{area: "compute", pattern: "GET /v2.1/servers/{id}/os-interface/{port}"},
		// The fixture server is in ERROR: a valid attach is refused by its
		// state before any port is made.
		{area: "compute", pattern: "POST /v2.1/servers/{id}/os-interface", body: `{"interfaceAttachment":{"net_id":"{{networks}}"}}`},
		{area: "compute", pattern: "DELETE /v2.1/servers/{id}/os-interface/{port}"},
		{area: "compute", pattern: "GET /v2.1/os-migrations"},
		// An event for a server that does not exist: answered, changes
		// nothing (a network event changes nothing for any server).
		{area: "compute", pattern: "POST /v2.1/os-server-external-events",
			body: `{"events":[{"server_uuid":"00000000-0000-4000-8000-0000000000ee","name":"network-changed","tag":"t"}]}`},
		{area: "compute", pattern: "GET /v2.1/servers/{id}/os-volume_attachments"},
		{area: "compute", pattern: "GET /v2.1/servers/{id}/os-volume_attachments/{volume}"},
		// The fixture server is in ERROR: a valid attach is refused by its
		// state before the volume is reserved.
		{area: "compute", pattern: "POST /v2.1/servers/{id}/os-volume_attachments", body: `{"volumeAttachment":{"volumeId":"{{os-volume_attachments}}"}}`},
		{area: "compute", pattern: "DELETE /v2.1/servers/{id}/os-volume_attachments/{volume}"},
		{area: "compute", pattern: "GET /v2.1/os-quota-sets/{project}"},
		{area: "compute", pattern: "GET /v2.1/os-quota-sets/{project}/detail"},
		{area: "compute", pattern: "GET /v2.1/os-quota-sets/{project}/defaults"},
		// Any limit is valid, a number or a string of digits: the sample
		// carries a key Nova refuses, so no mutation of it is a write.
		{area: "compute", pattern: "PUT /v2.1/os-quota-sets/{project}", body: `{"quota_set":{"instances":10,"hostile":1}}`},
		{area: "compute", pattern: "DELETE /v2.1/os-quota-sets/{project}"},
		{area: "compute", pattern: "GET /v2.1/limits"},
		{area: "compute", pattern: "GET /internal/compute/hosts/{host}"},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/service", body: node},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}", body: `{"task_state":"spawning","vm_state":"active","power_state":1}`},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}/power", body: `{"power_state":4}`},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}/interfaces/{port}", body: `{"op":"attaching","done":true}`},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}/volumes/{volume}/connect", body: `{"connector":{"initiator":"iqn.2010-10.org.gostack:x"}}`},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}/volumes/{volume}", body: `{"op":"attaching","done":true}`},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}/console"},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}/snapshot"},
		{area: "compute", pattern: "PUT /internal/compute/hosts/{host}/instances/{id}/migration"},
		{area: "compute", pattern: "GET /internal/compute/hosts/{host}/instances/{id}/migration"},
		{area: "compute", pattern: "GET /internal/compute/images/{id}"},
	}
}

// computeFixtures make, through the Compute API: project A's key pair,
// server group and server (in ERROR: the one compute node, reported
// through the agents' API, is too small for it); a private flavor
// shared with project A with an extra spec; an aggregate.
func (h *hostile) computeFixtures() {
	adm, f := h.admin, h.fix
	h.must(200, "PUT", "compute", "/internal/compute/hosts/hostile-node/service", adm, fmt.Sprintf(
		`{"node":{"uuid":%q,"host":"hostile-node","hypervisor_hostname":"hostile-node","hypervisor_type":"QEMU","hypervisor_version":7002000,"vcpus":1,"memory_mb":64,"local_gb":1},
		"inventories":{"VCPU":{"total":1,"max_unit":1,"min_unit":1,"step_size":1,"allocation_ratio":1},"MEMORY_MB":{"total":64,"max_unit":64,"min_unit":1,"step_size":1,"allocation_ratio":1}},"ratios":{}}`,
		uuid.NewString()))
	hyp := h.must(200, "GET", "compute", "/v2.1/os-hypervisors", adm, "")["hypervisors"].([]any)
	f["os-hypervisors"] = hyp[0].(map[string]any)["id"].(string)
	svcs := h.must(200, "GET", "compute", "/v2.1/os-services?host=hostile-node", adm, "")["services"].([]any)
	f["os-services"] = svcs[0].(map[string]any)["id"].(string)
	f["os-keypairs"] = field(h.must(201, "POST", "compute", "/v2.1/os-keypairs", h.owner,
		`{"keypair":{"name":"hostile-kp","public_key":"`+sshKey+`"}}`), "keypair", "name")
	f["os-server-groups"] = field(h.must(200, "POST", "compute", "/v2.1/os-server-groups", h.owner,
		`{"server_group":{"name":"hostile-g","policy":"anti-affinity"}}`), "server_group", "id")
	f["flavors"] = field(h.must(200, "POST", "compute", "/v2.1/flavors", adm,
		`{"flavor":{"name":"hostile-f","ram":64,"vcpus":1,"disk":1,"os-flavor-access:is_public":false}}`), "flavor", "id")
	h.must(200, "POST", "compute", "/v2.1/flavors/"+f["flavors"]+"/action", adm, fmt.Sprintf(`{"addTenantAccess":{"tenant":%q}}`, f["project"]))
	h.must(200, "POST", "compute", "/v2.1/flavors/"+f["flavors"]+"/os-extra_specs", adm, `{"extra_specs":{"hw:cpu_policy":"dedicated"}}`)
	f["os-extra_specs"] = "hw:cpu_policy"
	agg := h.must(200, "POST", "compute", "/v2.1/os-aggregates", adm, `{"aggregate":{"name":"hostile-agg","availability_zone":"hostile-az"}}`)
	f["os-aggregates"] = fmt.Sprint(int(agg["aggregate"].(map[string]any)["id"].(float64)))
	f["servers"] = field(h.must(202, "POST", "compute", "/v2.1/servers", h.owner, fmt.Sprintf(
		`{"server":{"name":"hostile-s","imageRef":%q,"flavorRef":"1","networks":[{"uuid":%q}]}}`, f["images"], f["networks"])), "server", "id")
	f["instances"] = f["servers"]
	f["os-interface"], f["interfaces"] = f["ports"], f["ports"]
	// No volume is attached to the fixture server (in ERROR, it cannot
	// have one): a volume id that names none.
	f["os-volume_attachments"], f["volumes/volume"] = uuid.NewString(), uuid.NewString()
	f["os-quota-sets"] = f["project"]
	eventually(h.t, "the fixture server in ERROR", func() bool {
		s := h.must(200, "GET", "compute", "/v2.1/servers/"+f["servers"], h.owner, "")
		return s["server"].(map[string]any)["status"] == "ERROR"
	})
	acts := h.must(200, "GET", "compute", "/v2.1/servers/"+f["servers"]+"/os-instance-actions", h.owner, "")["instanceActions"].([]any)
	f["os-instance-actions"] = acts[0].(map[string]any)["request_id"].(string)
}
