package cinder_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gostack/gostack/internal/testenv"
)

// osc runs the openstack CLI against the test API as the caller of
// token (keystoneauth's admin_token plugin: the token as is, the
// endpoint given, with the project id as a catalog's volumev3 endpoint
// has it), and decodes its -f json output into out when out is set.
func (c *client) osc(t *testing.T, token string, out any, args ...string) {
	t.Helper()
	bin := testenv.LookPath(t, "openstack", "python3-openstackclient")
	project := map[string]string{alice: projA, bob: projB, admin: projAdmin}[token]
	if out != nil {
		args = append(args, "-f", "json")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OS_AUTH_TYPE=admin_token", "OS_TOKEN="+token, "OS_ENDPOINT="+c.URL+"/v3/"+project,
		"OS_VOLUME_API_VERSION=3.60", "OS_CLOUD=")
	b, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("openstack %s: %v\n%s%s", strings.Join(args, " "), err, b, stderr)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("openstack %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
}

// python3-openstackclient's volume commands against the API: create,
// list, show, extend (set --size), set and unset properties and image
// properties, rename,
// types, zones, delete; another project does not see the volume.
func TestOpenStackClient(t *testing.T) {
	c := newAPI(t)
	var vol map[string]any
	c.osc(t, alice, &vol, "volume", "create", "--size", "1", "--property", "k=v", "osc1")
	id, _ := vol["id"].(string)
	if vol["status"] != "creating" || vol["type"] != "__DEFAULT__" || id == "" {
		t.Fatalf("create: %v", vol)
	}
	c.agentDone(t, id)
	var list []map[string]any
	c.osc(t, alice, &list, "volume", "list", "--long")
	if len(list) != 1 || list[0]["Name"] != "osc1" || list[0]["Status"] != "available" {
		t.Fatalf("list: %v", list)
	}
	c.osc(t, alice, nil, "volume", "set", "--size", "2", "osc1")
	c.agentDone(t, id)
	c.osc(t, alice, nil, "volume", "set", "--name", "osc2", "--property", "a=b", "--bootable", "osc1")
	c.osc(t, alice, nil, "volume", "unset", "--property", "k", "osc2")
	c.osc(t, alice, nil, "volume", "set", "--image-property", "hw_disk_bus=scsi", "--image-property", "hw_scsi_model=virtio-scsi", "osc2")
	c.osc(t, alice, nil, "volume", "unset", "--image-property", "hw_scsi_model", "osc2")
	c.osc(t, alice, &vol, "volume", "show", "osc2")
	props, _ := vol["properties"].(map[string]any)
	if vol["size"] != float64(2) || vol["bootable"] != "true" || vol["name"] != "osc2" || len(props) != 1 || props["a"] != "b" {
		t.Fatalf("show: %v", vol)
	}
	if md, _ := vol["volume_image_metadata"].(map[string]any); len(md) != 1 || md["hw_disk_bus"] != "scsi" {
		t.Fatalf("volume_image_metadata: %v", vol["volume_image_metadata"])
	}
	var typ map[string]any
	c.osc(t, admin, &typ, "volume", "type", "create", "--private", "--property", "x=y", "silver")
	if typ["name"] != "silver" || typ["is_public"] != false {
		t.Fatalf("type create: %v", typ)
	}
	// cinderclient finds a type by name with the list's name filter.
	c.osc(t, admin, nil, "volume", "type", "set", "--property", "z=w", "--description", "d", "silver")
	c.osc(t, admin, &typ, "volume", "type", "show", "silver")
	if props, _ := typ["properties"].(map[string]any); typ["description"] != "d" || props["x"] != "y" || props["z"] != "w" {
		t.Fatalf("type show: %v", typ)
	}
	var types []map[string]any
	c.osc(t, alice, &types, "volume", "type", "list")
	if len(types) != 1 || types[0]["Name"] != "__DEFAULT__" {
		t.Fatalf("alice's types: %v", types)
	}
	var zones []map[string]any
	c.osc(t, alice, &zones, "availability", "zone", "list", "--volume")
	if len(zones) != 1 || zones[0]["Zone Name"] != "nova" || zones[0]["Zone Status"] != "available" {
		t.Fatalf("zones: %v", zones)
	}
	c.osc(t, bob, &list, "volume", "list")
	if len(list) != 0 {
		t.Fatalf("bob's list: %v", list)
	}
	c.osc(t, admin, nil, "volume", "type", "delete", "silver")
	c.osc(t, alice, nil, "volume", "delete", "osc2")
	c.osc(t, alice, &vol, "volume", "show", id)
	if vol["status"] != "deleting" {
		t.Fatalf("after delete: %v", vol)
	}
}
