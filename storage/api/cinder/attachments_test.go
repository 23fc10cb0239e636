package cinder_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/attachments"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"

	"github.com/gostack/gostack/internal/apitest"
	"github.com/gostack/gostack/storage"
)

// Servers (Nova's) the tests attach to.
const (
	server1 = "11111111-1111-4111-8111-111111111111"
	server2 = "22222222-2222-4222-8222-222222222222"
)

// connector is Cinder's example connector (v3/attachments.py).
func connector() map[string]any {
	return map[string]any{"initiator": "iqn.1993-08.org.debian:01:cad181614cec", "ip": "192.168.1.20", "platform": "x86_64",
		"host": "tempest-1", "os_type": "linux2", "multipath": false, "mountpoint": "/dev/vdb"}
}

// made is the pool's agent reporting volume id created, with its export
// as storage/agent records tgt's; it returns the CHAP password.
func (c *client) made(t *testing.T, id string) string {
	t.Helper()
	rep := storage.VolumeReport{Status: storage.VolumeCreating,
		ProviderLocation: "10.0.0.5:3260,1 iqn.2010-10.org.openstack:volume-" + id + " 1", ProviderAuth: "CHAP user-" + id[:8] + " pw" + id[:6]}
	r := c.Call(t, apitest.Call{Method: "PUT", Path: "/internal/volume/hosts/" + url.PathEscape(pool) + "/volumes/" + id, Token: service, Body: rep})
	if r.Code != 200 {
		t.Fatalf("agent report on %s: %s", id, r)
	}
	return "pw" + id[:6]
}

// asService sends a call as token with Nova's X-Service-Token.
func (c *client) asService(t *testing.T, v, token, method, path string, body any) apitest.Reply {
	t.Helper()
	return c.Call(t, apitest.Call{Method: method, Path: "/v3" + path, Token: token, Body: body,
		Header: map[string]string{"OpenStack-API-Version": "volume " + v, "X-Service-Token": service}})
}

// fakeServers is compute as the API asks it: server/volume -> the
// attachment id the server uses.
type fakeServers map[string]string

func (f fakeServers) ServerVolumeAttachment(_ context.Context, server, volume string) (string, bool, error) {
	id, ok := f[server+"/"+volume]
	return id, ok, nil
}

// The v3 attachments API as Nova drives it, at the microversions it
// needs: create (reserve), update with the connector, os-complete, the
// volume's view of its attachment, the lists, and delete.
func TestAttachmentsAPI(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	password := c.made(t, id)

	wantError(t, c.call(t, "3.26", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": id}}),
		404, "itemNotFound", "The resource could not be found.")
	at := c.must(t, 200, "3.27", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": id, "instance_uuid": server1}})["attachment"].(map[string]any)
	aid := at["id"].(string)
	want := map[string]any{"id": aid, "status": "reserved", "instance": server1, "volume_id": id, "attached_at": "", "detached_at": "",
		"attach_mode": "null", "connection_info": nil}
	if !sameJSON(t, at, want) {
		t.Fatalf("created %v\nwant %v", at, want)
	}
	vol := c.must(t, 200, "3.27", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	if vol["status"] != "reserved" || len(vol["attachments"].([]any)) != 0 {
		t.Fatalf("a reserved volume: %v", vol)
	}

	at = c.must(t, 200, "3.27", alice, "PUT", "/attachments/"+aid, map[string]any{"attachment": map[string]any{"connector": connector()}})["attachment"].(map[string]any)
	info := map[string]any{"driver_volume_type": "iscsi", "attachment_id": aid, "target_discovered": false, "target_portal": "10.0.0.5:3260",
		"target_iqn": "iqn.2010-10.org.openstack:volume-" + id, "target_lun": 1, "volume_id": id, "auth_method": "CHAP",
		"auth_username": "user-" + id[:8], "auth_password": password, "encrypted": false, "qos_specs": nil, "access_mode": "rw", "cacheable": false}
	if at["status"] != "attaching" || at["attach_mode"] != "rw" || at["attached_at"] == "" || !sameJSON(t, at["connection_info"], info) {
		t.Fatalf("updated %v\nconnection info want %v", at, info)
	}
	if v := c.must(t, 200, "3.27", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["status"] != "attaching" {
		t.Fatalf("an attaching volume: %v", v)
	}

	wantError(t, c.call(t, "3.43", alice, "POST", "/attachments/"+aid+"/action", map[string]any{"os-complete": nil}), 404, "itemNotFound")
	if r := c.call(t, "3.44", alice, "POST", "/attachments/"+aid+"/action", map[string]any{"os-complete": nil}); r.Code != 204 || len(r.Body) != 0 {
		t.Fatalf("complete: %s", r)
	}
	shown := c.must(t, 200, "3.44", alice, "GET", "/attachments/"+aid, nil)["attachment"].(map[string]any)
	if shown["status"] != "attached" || !sameJSON(t, shown["connection_info"], info) {
		t.Fatalf("shown %v", shown)
	}

	// The volume lists it, the host for admins only.
	vol = c.must(t, 200, "3.44", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	as := vol["attachments"].([]any)
	if vol["status"] != "in-use" || len(as) != 1 {
		t.Fatalf("an in-use volume: %v", vol)
	}
	va := as[0].(map[string]any)
	if !sameJSON(t, va, map[string]any{"id": id, "attachment_id": aid, "volume_id": id, "server_id": server1, "host_name": nil,
		"device": "/dev/vdb", "attached_at": at["attached_at"]}) {
		t.Fatalf("the volume's attachment %v", va)
	}
	if h := c.must(t, 200, "3.44", admin, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)["attachments"].([]any)[0].(map[string]any)["host_name"]; h != "tempest-1" {
		t.Fatalf("an admin's host_name %v", h)
	}
	if d := c.must(t, 200, "3.44", alice, "GET", "/volumes/detail", nil)["volumes"].([]any)[0].(map[string]any); len(d["attachments"].([]any)) != 1 {
		t.Fatalf("detail list: %v", d)
	}

	list := c.must(t, 200, "3.44", alice, "GET", "/attachments", nil)["attachments"].([]any)
	if len(list) != 1 || !sameJSON(t, list[0], map[string]any{"id": aid, "status": "attached", "instance": server1, "volume_id": id}) {
		t.Fatalf("list %v", list)
	}
	detail := c.must(t, 200, "3.44", alice, "GET", "/attachments/detail", nil)["attachments"].([]any)
	if len(detail) != 1 || !sameJSON(t, detail[0], shown) {
		t.Fatalf("detail %v\nwant %v", detail, shown)
	}
	for _, q := range []string{"?volume_id=" + id, "?instance_id=" + server1, "?attach_status=attached"} {
		if l := c.must(t, 200, "3.44", alice, "GET", "/attachments"+q, nil)["attachments"].([]any); len(l) != 1 {
			t.Errorf("list%s: %v", q, l)
		}
	}
	for _, q := range []string{"?volume_id=" + server1, "?attach_status=reserved", "?status=attached"} { // status is no column: Cinder's empty list
		if l := c.must(t, 200, "3.44", alice, "GET", "/attachments"+q, nil)["attachments"].([]any); len(l) != 0 {
			t.Errorf("list%s: %v", q, l)
		}
	}

	// Another project sees none of it.
	if l := c.must(t, 200, "3.44", bob, "GET", "/attachments", nil)["attachments"].([]any); len(l) != 0 {
		t.Fatalf("bob's list %v", l)
	}
	if l := c.must(t, 200, "3.44", admin, "GET", "/attachments?all_tenants=1", nil)["attachments"].([]any); len(l) != 1 {
		t.Fatalf("an admin's all_tenants list %v", l)
	}
	c.unchanged(t, func() {
		msg := "Volume attachment could not be found with filter: attachment_id = " + aid + "."
		wantError(t, c.call(t, "3.44", bob, "GET", "/attachments/"+aid, nil), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.44", bob, "PUT", "/attachments/"+aid, map[string]any{"attachment": map[string]any{"connector": connector()}}), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.44", bob, "POST", "/attachments/"+aid+"/action", map[string]any{"os-complete": nil}), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.44", bob, "DELETE", "/attachments/"+aid, nil), 404, "itemNotFound", msg)
		wantError(t, c.asService(t, "3.44", bob, "DELETE", "/attachments/"+aid, nil), 404, "itemNotFound", msg)
		wantError(t, c.call(t, "3.44", bob, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": id}}),
			404, "itemNotFound", "Volume "+id+" could not be found.")
		// The user's own delete of an attachment a server uses: Nova's
		// (bug #2004555); no compute to ask is the same answer.
		wantError(t, c.call(t, "3.44", alice, "DELETE", "/attachments/"+aid, nil), 409, "conflictingRequest",
			"Detach volume from instance "+server1+" using the Compute API")
		c.api.Servers = fakeServers{server1 + "/" + id: aid}
		wantError(t, c.call(t, "3.44", alice, "DELETE", "/attachments/"+aid, nil), 409, "conflictingRequest")
	})
	// Compute says the server uses another attachment: the user may.
	c.api.Servers = fakeServers{server1 + "/" + id: "another"}
	left := c.must(t, 200, "3.44", alice, "DELETE", "/attachments/"+aid, nil)
	if !sameJSON(t, left, map[string]any{"attachments": []any{}}) {
		t.Fatalf("delete: %v", left)
	}
	if v := c.must(t, 200, "3.44", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["status"] != "available" || len(v["attachments"].([]any)) != 0 {
		t.Fatalf("after the delete: %v", v)
	}
	wantError(t, c.call(t, "3.44", alice, "GET", "/attachments/"+aid, nil), 404, "itemNotFound")

	// Nova's own delete (its service token) needs no asking; a create
	// with the connector connects at once, in the mode asked (3.54).
	c.api.Servers = nil
	at = c.must(t, 200, "3.54", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": id, "instance_uuid": server2, "connector": connector(), "mode": "ro"}})["attachment"].(map[string]any)
	if at["status"] != "attaching" || at["attach_mode"] != "ro" || at["connection_info"].(map[string]any)["access_mode"] != "ro" {
		t.Fatalf("create with a connector: %v", at)
	}
	if r := c.asService(t, "3.54", alice, "DELETE", "/attachments/"+at["id"].(string), nil); r.Code != 200 {
		t.Fatalf("Nova's delete: %s", r)
	}
	if v := c.must(t, 200, "3.54", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any); v["status"] != "available" {
		t.Fatalf("after Nova's delete: %v", v)
	}
}

// The attachments API's refusals: Cinder's status and message, and the
// store unchanged.
func TestAttachmentsAPIRefusals(t *testing.T) {
	c := newAPI(t)
	free := c.newVolume(t, alice, nil)
	c.made(t, free)
	inUse := c.newVolume(t, alice, nil)
	c.made(t, inUse)
	att := c.must(t, 200, "3.44", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": inUse, "instance_uuid": server1, "connector": connector()}})["attachment"].(map[string]any)["id"].(string)
	c.must(t, 204, "3.44", alice, "POST", "/attachments/"+att+"/action", map[string]any{"os-complete": nil})
	moving := c.must(t, 200, "3.44", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": inUse, "instance_uuid": server1}})["attachment"].(map[string]any)["id"].(string)
	noInitiator := connector()
	delete(noInitiator, "initiator")
	for _, x := range []struct {
		v, token, method, path string
		body                   any
		status                 int
		key, msg               string
	}{
		{"3.27", alice, "POST", "/attachments", nil, 400, "badRequest", "The server could not comply with the request"},
		{"3.27", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{}}, 400, "badRequest",
			"Invalid input for field/attribute attachment. Value: {}. 'volume_uuid' is a required property"},
		{"3.27", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": "x"}}, 400, "badRequest",
			"Invalid input for field/attribute volume_uuid. Value: x. 'x' is not a 'uuid'"},
		{"3.53", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": free, "mode": "ro"}}, 400, "badRequest",
			"Additional properties are not allowed ('mode' was unexpected)"},
		{"3.54", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": free, "mode": "rx"}}, 400, "badRequest",
			"Invalid input for field/attribute mode. Value: rx. 'rx' is not one of ['rw', 'ro']"},
		{"3.27", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": server1}}, 404, "itemNotFound",
			"Volume " + server1 + " could not be found."},
		{"3.27", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": inUse, "instance_uuid": server2}}, 400, "badRequest",
			"Invalid volume: Volume " + inUse + " status must be available or downloading to reserve, but the current status is in-use."},
		{"3.27", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{"volume_uuid": free, "connector": noInitiator}}, 400, "badRequest",
			"Invalid input received: Connector doesn't have required information: initiator"},
		// A number beyond a float64's is no connector's.
		{"3.27", alice, "POST", "/attachments", `{"attachment":{"volume_uuid":"` + free + `","connector":{"initiator":"iqn.x","wwpns":[1e400]}}}`,
			400, "badRequest", "Invalid input received: connector has a number out of range: 1e400"},
		{"3.27", alice, "PUT", "/attachments/" + moving, `{"attachment":{"connector":{"initiator":"iqn.x","x":{"y":-2e308}}}}`, 400, "badRequest",
			"Invalid input received: connector has a number out of range: -2e308"},
		{"3.27", alice, "PUT", "/attachments/" + moving, map[string]any{"attachment": map[string]any{}}, 400, "badRequest",
			"'connector' is a required property"},
		{"3.27", alice, "PUT", "/attachments/" + moving, map[string]any{"attachment": map[string]any{"connector": map[string]any{}}}, 400, "badRequest",
			"Invalid input for field/attribute connector. Value: {}. {} does not have enough properties"},
		{"3.27", alice, "PUT", "/attachments/" + moving, map[string]any{"attachment": map[string]any{"connector": connector()}}, 400, "badRequest",
			"Invalid volume: duplicate connectors detected on volume " + inUse},
		{"3.27", alice, "PUT", "/attachments/" + server1, map[string]any{"attachment": map[string]any{"connector": connector()}}, 404, "itemNotFound",
			"Volume attachment could not be found with filter: attachment_id = " + server1 + "."},
		{"3.44", alice, "POST", "/attachments/" + moving + "/action", map[string]any{"os-bogus": nil}, 400, "badRequest",
			"There is no such action: os-bogus"},
		{"3.31", alice, "GET", "/attachments?bogus=1&all_tenants=1", nil, 400, "badRequest", "Invalid filters bogus are found in query options."},
		{"3.31", admin, "GET", "/attachments?attached_host=h", nil, 400, "badRequest", "The attachment filters attached_host are not supported yet."},
		{"3.44", alice, "GET", "/attachments?marker=" + server1, nil, 404, "itemNotFound", "Volume attachment could not be found"},
		{"3.44", alice, "GET", "/attachments?sort=connector", nil, 400, "badRequest", "Invalid input received: Invalid sort key"},
		{"3.44", alice, "DELETE", "/volumes/" + inUse, nil, 400, "badRequest",
			"Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached"},
		{"3.41", alice, "POST", "/volumes/" + inUse + "/action", map[string]any{"os-extend": map[string]any{"new_size": 2}}, 400, "badRequest",
			"Invalid volume: Volume " + inUse + " status must be '{'status': 'available'}' to extend, currently in-use."},
	} {
		c.unchanged(t, func() {
			r := c.call(t, x.v, x.token, x.method, x.path, x.body)
			wantError(t, r, x.status, x.key, x.msg)
		})
	}
	// Before 3.31 a user's unknown filter is dropped.
	if l := c.must(t, 200, "3.30", alice, "GET", "/attachments?bogus=1", nil)["attachments"].([]any); len(l) != 2 {
		t.Fatalf("3.30 list with an unknown filter: %v", l)
	}
	// Pages: limit, then the marker.
	page := c.must(t, 200, "3.44", alice, "GET", "/attachments?limit=1", nil)["attachments"].([]any)
	if len(page) != 1 || page[0].(map[string]any)["id"] != moving {
		t.Fatalf("first page %v", page)
	}
	page = c.must(t, 200, "3.44", alice, "GET", "/attachments?limit=1&marker="+moving, nil)["attachments"].([]any)
	if len(page) != 1 || page[0].(map[string]any)["id"] != att {
		t.Fatalf("second page %v", page)
	}
	// An in-use volume extends from 3.42, and ends in-use.
	c.must(t, 202, "3.42", alice, "POST", "/volumes/"+inUse+"/action", map[string]any{"os-extend": map[string]any{"new_size": 2}})
	c.agentDone(t, inUse)
	if v := c.must(t, 200, "3.42", alice, "GET", "/volumes/"+inUse, nil)["volume"].(map[string]any); v["status"] != "in-use" || v["size"] != float64(2) {
		t.Fatalf("extended: %v", v)
	}
}

// The legacy attach flow's volume actions, as Cinder answers them.
func TestVolumeAttachActions(t *testing.T) {
	c := newAPI(t)
	id := c.newVolume(t, alice, nil)
	password := c.made(t, id)
	act := func(token string, body any) apitest.Reply {
		return c.call(t, "3.0", token, "POST", "/volumes/"+id+"/action", body)
	}
	status := func() string {
		return c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)["status"].(string)
	}
	if r := act(alice, map[string]any{"os-reserve": nil}); r.Code != 202 || status() != "attaching" {
		t.Fatalf("reserve: %s %s", r, status())
	}
	c.unchanged(t, func() {
		wantError(t, act(alice, map[string]any{"os-reserve": nil}), 400, "badRequest",
			"Invalid volume: Volume status must be available to reserve, but the status is attaching.")
		wantError(t, act(bob, map[string]any{"os-reserve": nil}), 404, "itemNotFound", "Volume "+id+" could not be found.")
		wantError(t, act(alice, map[string]any{"os-initialize_connection": map[string]any{"connector": map[string]any{"ip": "1.2.3.4"}}}),
			400, "badRequest", "Invalid input received: Connector doesn't have required information: initiator")
		wantError(t, act(alice, map[string]any{"os-initialize_connection": map[string]any{}}), 400, "badRequest",
			"'connector' is a required property")
		wantError(t, act(alice, map[string]any{"os-attach": map[string]any{"instance_uuid": server1}}), 400, "badRequest",
			"'mountpoint' is a required property")
		wantError(t, act(alice, map[string]any{"os-begin_detaching": nil}), 400, "badRequest",
			"Invalid volume: Unable to detach volume. Volume status must be 'in-use' and attach_status must be 'attached' to detach.")
	})
	r := act(alice, map[string]any{"os-initialize_connection": map[string]any{"connector": connector()}})
	want := map[string]any{"connection_info": map[string]any{"driver_volume_type": "iscsi", "data": map[string]any{
		"target_discovered": false, "target_portal": "10.0.0.5:3260", "target_iqn": "iqn.2010-10.org.openstack:volume-" + id,
		"target_lun": 1, "volume_id": id, "auth_method": "CHAP", "auth_username": "user-" + id[:8], "auth_password": password,
		"encrypted": false, "qos_specs": nil, "access_mode": "rw", "cacheable": false}}}
	if r.Code != 200 || !sameJSON(t, r.JSON(t), want) {
		t.Fatalf("initialize_connection: %s\nwant %v", r, want)
	}
	if r := act(alice, map[string]any{"os-attach": map[string]any{"instance_uuid": server1, "mountpoint": "/dev/vdb"}}); r.Code != 202 || status() != "in-use" {
		t.Fatalf("attach: %s %s", r, status())
	}
	vol := c.must(t, 200, "3.0", alice, "GET", "/volumes/"+id, nil)["volume"].(map[string]any)
	if as := vol["attachments"].([]any); len(as) != 1 || as[0].(map[string]any)["server_id"] != server1 || as[0].(map[string]any)["device"] != "/dev/vdb" {
		t.Fatalf("attached: %v", vol)
	}
	c.unchanged(t, func() {
		wantError(t, act(alice, map[string]any{"os-attach": map[string]any{"instance_uuid": server2, "mountpoint": "/dev/vdc"}}), 400, "badRequest",
			"Invalid volume: volume is already attached and multiple attachments are not enabled")
		wantError(t, act(alice, map[string]any{"os-detach": map[string]any{"attachment_id": server2}}), 409, "conflictingRequest",
			"Detach volume from instance  using the Compute API")
		wantError(t, act(bob, map[string]any{"os-detach": map[string]any{}}), 404, "itemNotFound")
	})
	if r := act(alice, map[string]any{"os-begin_detaching": nil}); r.Code != 202 || status() != "detaching" {
		t.Fatalf("begin_detaching: %s %s", r, status())
	}
	if r := act(alice, map[string]any{"os-roll_detaching": nil}); r.Code != 202 || status() != "in-use" {
		t.Fatalf("roll_detaching: %s %s", r, status())
	}
	// A legacy attachment has no connection info: its user may end it.
	if r := act(alice, map[string]any{"os-terminate_connection": map[string]any{"connector": connector()}}); r.Code != 202 || status() != "in-use" {
		t.Fatalf("terminate_connection: %s %s", r, status())
	}
	if r := act(alice, map[string]any{"os-detach": map[string]any{}}); r.Code != 202 || status() != "available" {
		t.Fatalf("detach: %s %s", r, status())
	}
	// Reserved, then terminated: available again.
	act(alice, map[string]any{"os-reserve": nil})
	if r := act(alice, map[string]any{"os-unreserve": nil}); r.Code != 202 || status() != "available" {
		t.Fatalf("unreserve: %s %s", r, status())
	}
	// An attachment of the v3 flow, connected: the user's detach is
	// Nova's, Nova's (service token) goes through.
	aid := c.must(t, 200, "3.44", alice, "POST", "/attachments", map[string]any{"attachment": map[string]any{
		"volume_uuid": id, "instance_uuid": server1, "connector": connector()}})["attachment"].(map[string]any)["id"].(string)
	c.must(t, 204, "3.44", alice, "POST", "/attachments/"+aid+"/action", map[string]any{"os-complete": nil})
	c.unchanged(t, func() {
		wantError(t, act(alice, map[string]any{"os-detach": map[string]any{"attachment_id": aid}}), 409, "conflictingRequest",
			"Detach volume from instance "+server1+" using the Compute API")
		wantError(t, act(alice, map[string]any{"os-terminate_connection": map[string]any{"connector": connector()}}), 409, "conflictingRequest")
	})
	if r := c.asService(t, "3.0", alice, "POST", "/volumes/"+id+"/action", map[string]any{"os-detach": map[string]any{"attachment_id": aid}}); r.Code != 202 || status() != "available" {
		t.Fatalf("Nova's detach: %s %s", r, status())
	}
}

// gophercloud v2's attachments and attach actions against the API: the
// v3 flow (create, update, complete, get, list, delete) and the legacy
// one (reserve, initialize_connection, attach, begin_detaching,
// terminate_connection, detach).
func TestAttachmentsGophercloud(t *testing.T) {
	c := newAPI(t)
	ctx := context.Background()
	sc := c.gopher(alice, projA, "3.54")
	id := c.newVolume(t, alice, nil)
	c.made(t, id)

	at, err := attachments.Create(ctx, sc, attachments.CreateOpts{VolumeUUID: id, InstanceUUID: server1}).Extract()
	if err != nil || at.Status != "reserved" || at.Instance != server1 || !at.AttachedAt.IsZero() {
		t.Fatalf("create: %+v %v", at, err)
	}
	if at, err = attachments.Update(ctx, sc, at.ID, attachments.UpdateOpts{Connector: connector()}).Extract(); err != nil ||
		at.Status != "attaching" || at.ConnectionInfo["target_lun"] != float64(1) || at.AttachedAt.IsZero() {
		t.Fatalf("update: %+v %v", at, err)
	}
	if err := attachments.Complete(ctx, sc, at.ID).ExtractErr(); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if got, err := attachments.Get(ctx, sc, at.ID).Extract(); err != nil || got.Status != "attached" {
		t.Fatalf("get: %+v %v", got, err)
	}
	pages, err := attachments.List(sc, attachments.ListOpts{VolumeID: id}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list, err := attachments.ExtractAttachments(pages); err != nil || len(list) != 1 || list[0].ID != at.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
	vol, err := volumes.Get(ctx, sc, id).Extract()
	if err != nil || vol.Status != "in-use" || len(vol.Attachments) != 1 || vol.Attachments[0].ServerID != server1 || vol.Attachments[0].AttachedAt.IsZero() {
		t.Fatalf("volume: %+v %v", vol, err)
	}
	c.api.Servers = fakeServers{} // the server no longer uses it
	if err := attachments.Delete(ctx, sc, at.ID).ExtractErr(); err != nil {
		t.Fatalf("delete: %v", err)
	}

	if err := volumes.Reserve(ctx, sc, id).ExtractErr(); err != nil {
		t.Fatalf("reserve: %v", err)
	}
	info, err := volumes.InitializeConnection(ctx, sc, id, volumes.InitializeConnectionOpts{Initiator: "iqn.1993-08.org.debian:01:cad181614cec",
		Host: "tempest-1", IP: "192.168.1.20"}).Extract()
	if err != nil || info["driver_volume_type"] != "iscsi" || info["data"].(map[string]any)["target_iqn"] != "iqn.2010-10.org.openstack:volume-"+id {
		t.Fatalf("initialize_connection: %v %v", info, err)
	}
	if err := volumes.Attach(ctx, sc, id, volumes.AttachOpts{MountPoint: "/dev/vdb", InstanceUUID: server1, Mode: volumes.ReadWrite}).ExtractErr(); err != nil {
		t.Fatalf("attach: %v", err)
	}
	if err := volumes.BeginDetaching(ctx, sc, id).ExtractErr(); err != nil {
		t.Fatalf("begin_detaching: %v", err)
	}
	if err := volumes.TerminateConnection(ctx, sc, id, volumes.TerminateConnectionOpts{Initiator: "iqn.1993-08.org.debian:01:cad181614cec"}).ExtractErr(); err != nil {
		t.Fatalf("terminate_connection: %v", err)
	}
	if err := volumes.Detach(ctx, sc, id, volumes.DetachOpts{}).ExtractErr(); err != nil {
		t.Fatalf("detach: %v", err)
	}
	if vol, err = volumes.Get(ctx, sc, id).Extract(); err != nil || vol.Status != "available" || len(vol.Attachments) != 0 {
		t.Fatalf("after detach: %+v %v", vol, err)
	}
}
