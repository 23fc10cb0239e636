package nova_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/virt"
)

// bfv is a create body that boots from the mappings given (no image).
func bfv(bdms ...map[string]any) map[string]any {
	list := make([]any, len(bdms))
	for i, b := range bdms {
		list[i] = b
	}
	return serverBody(map[string]any{"imageRef": "", "block_device_mapping_v2": list})
}

func (e *serverEnv) instance(t *testing.T, id string) compute.Instance {
	t.Helper()
	i, err := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func (e *serverEnv) build(t *testing.T) {
	t.Helper()
	if err := e.builder.BuildWaiting(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// Boot from an existing volume: reserved at the API, placed with no
// local disk claimed, connected by the host's build, attached (in-use)
// when the build reports; the server has no image, lists the volume at
// /dev/vda, and the root volume cannot be detached.
func TestBootFromVolume(t *testing.T) {
	e := newServerAPI(t)
	vol := e.vols.add()
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", bfv(map[string]any{"uuid": vol, "source_type": "volume",
		"destination_type": "volume", "boot_index": "0"}))["server"].(map[string]any)["id"].(string)
	i := e.instance(t, id)
	root := i.RootVolume()
	if root == nil || root.VolumeID != vol || root.AttachmentID == "" || root.Device != "/dev/vda" || i.ImageRef != "" || root.DeleteOnTermination {
		t.Fatalf("the instance: %+v %+v", i, root)
	}
	if st := e.vols.status(vol); st != "reserved" {
		t.Fatalf("the volume after the create: %s", st)
	}
	e.build(t)
	i = e.instance(t, id)
	if i.Host == "" {
		t.Fatalf("not placed: %+v", i)
	}
	// Its host connects the root volume while it builds.
	base := "/internal/compute/hosts/" + i.Host + "/instances/" + id
	r := e.agentCall(t, service, "PUT", base+"/volumes/"+vol+"/connect", map[string]any{"connector": map[string]any{"initiator": "iqn.x"}})
	if r.Code != 200 || !strings.Contains(string(r.Body), vol) {
		t.Fatalf("connect the root volume: %s", r)
	}
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/other/instances/"+id+"/volumes/"+vol+"/connect",
		map[string]any{"connector": map[string]any{"initiator": "iqn.y"}}); r.Code != 404 {
		t.Fatalf("another host's connect: %s", r)
	}
	if r := e.agentCall(t, service, "PUT", base, compute.InstanceReport{Task: compute.Spawning, VMState: compute.Active,
		PowerState: virt.PowerRunning}); r.Code != 200 {
		t.Fatalf("the build's report: %s", r)
	}
	if st := e.vols.status(vol); st != "in-use" {
		t.Fatalf("the volume after the build: %s", st)
	}
	s := e.show(t, alice, id)
	if s["image"] != "" || s["status"] != "ACTIVE" {
		t.Errorf("show: image %v status %v", s["image"], s["status"])
	}
	if va, _ := s["os-extended-volumes:volumes_attached"].([]any); len(va) != 1 || va[0].(map[string]any)["id"] != vol {
		t.Errorf("volumes_attached: %v", s["os-extended-volumes:volumes_attached"])
	}
	atts := e.must(t, 200, "2.1", alice, "GET", "/servers/"+id+"/os-volume_attachments", nil)["volumeAttachments"].([]any)
	if len(atts) != 1 || atts[0].(map[string]any)["device"] != "/dev/vda" {
		t.Errorf("os-volume_attachments: %v", atts)
	}
	wantError(t, e.call(t, "2.1", alice, "DELETE", "/servers/"+id+"/os-volume_attachments/"+vol, nil), 400, "badRequest",
		"Cannot detach a root device volume")
	wantError(t, e.call(t, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"createImage": map[string]any{"name": "s"}}),
		400, "badRequest", "Snapshots of volume-backed servers are not supported by this cloud yet")
	// Resized to a flavor with no root disk (a volume-backed server has
	// none to resize), on the same host: the destination's build
	// connects the volume again, its report completes the attachment.
	if _, err := e.store.CreateFlavor(context.Background(), compute.Flavor{FlavorID: "0", Name: "nodisk", VCPUs: 1, MemoryMB: 256, IsPublic: true}); err != nil {
		t.Fatal(err)
	}
	e.builder.AllowResizeToSameHost = true
	e.must(t, 202, "2.1", alice, "POST", "/servers/"+id+"/action", map[string]any{"resize": map[string]any{"flavorRef": "0"}})
	if err := e.builder.MoveWaiting(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.report(t, id, compute.ResizeMigrating, compute.Active, compute.PowerShutdown)
	if err := e.builder.MoveWaiting(context.Background()); err != nil {
		t.Fatal(err)
	}
	i = e.instance(t, id)
	if i.TaskState != compute.ResizeFinish {
		t.Fatalf("the move: task %s", i.TaskState)
	}
	base = "/internal/compute/hosts/" + i.Host + "/instances/" + id
	if r := e.agentCall(t, service, "PUT", base+"/volumes/"+vol+"/connect", map[string]any{"connector": map[string]any{"initiator": "iqn.z"}}); r.Code != 200 {
		t.Fatalf("the destination's connect: %s", r)
	}
	if st := e.vols.status(vol); st != "attaching" {
		t.Fatalf("the volume while the destination builds: %s", st)
	}
	if r := e.agentCall(t, service, "PUT", base, compute.InstanceReport{Task: compute.ResizeFinish, VMState: compute.Resized,
		PowerState: virt.PowerRunning}); r.Code != 200 {
		t.Fatalf("the destination's report: %s", r)
	}
	if st := e.vols.status(vol); st != "in-use" {
		t.Fatalf("the volume after the move: %s, want in-use", st)
	}
	// Its placement claim has no local disk.
	hv := e.must(t, 200, "2.1", admin, "GET", "/os-hypervisors/detail", nil)["hypervisors"].([]any)
	for _, h := range hv {
		if h := h.(map[string]any); h["local_gb_used"] != float64(0) {
			t.Errorf("a volume-backed server took local disk: %v", h)
		}
	}
}

// Boot from a new volume of an image: the builder makes the volume (with
// the id the create chose), waits for it, reserves it and places the
// server; one that fails to be made fails the build with Nova's words;
// a server deleted before it is placed takes its volume with it when
// asked to.
func TestBootFromNewVolume(t *testing.T) {
	e := newServerAPI(t)
	body := bfv(map[string]any{"uuid": tinyImage, "source_type": "image", "destination_type": "volume", "boot_index": 0,
		"volume_size": 2, "delete_on_termination": true})
	id := e.must(t, 202, "2.1", alice, "POST", "/servers", body)["server"].(map[string]any)["id"].(string)
	root := e.instance(t, id).RootVolume()
	if root == nil || root.Source == nil || root.Source.Type != "image" || root.Source.ID != tinyImage || root.Source.Size != 2 ||
		root.AttachmentID != "" || !root.DeleteOnTermination {
		t.Fatalf("the root volume to make: %+v", root)
	}
	e.build(t)
	if e.vols.status(root.VolumeID) != "creating" || e.instance(t, id).Host != "" {
		t.Fatalf("after the first pass: volume %s, host %q", e.vols.status(root.VolumeID), e.instance(t, id).Host)
	}
	if len(e.vols.created) != 1 || e.vols.created[0].ImageID != tinyImage || e.vols.created[0].Size != 2 || e.vols.created[0].ID != root.VolumeID {
		t.Fatalf("the volume asked for: %+v", e.vols.created)
	}
	e.build(t) // still creating: waits, makes nothing more
	if len(e.vols.created) != 1 {
		t.Fatalf("made twice: %+v", e.vols.created)
	}
	e.vols.made(root.VolumeID, "available")
	e.build(t)
	i := e.instance(t, id)
	if i.Host == "" || i.RootVolume().AttachmentID == "" || e.vols.status(root.VolumeID) != "reserved" {
		t.Fatalf("after the volume was made: %+v", i)
	}

	// A volume that fails to be made: the build fails.
	id2 := e.must(t, 202, "2.1", alice, "POST", "/servers", body)["server"].(map[string]any)["id"].(string)
	e.build(t)
	e.vols.made(e.instance(t, id2).RootVolume().VolumeID, "error")
	e.build(t)
	i2 := e.instance(t, id2)
	if i2.VMState != compute.Error || i2.Fault == nil || !strings.Contains(i2.Fault.Message, "did not finish being created. And its status is error.") {
		t.Fatalf("a root volume in error: %+v %+v", i2.VMState, i2.Fault)
	}

	// Deleted while its volume is made: the volume goes too.
	id3 := e.must(t, 202, "2.1", alice, "POST", "/servers", body)["server"].(map[string]any)["id"].(string)
	e.build(t)
	vol3 := e.instance(t, id3).RootVolume().VolumeID
	e.vols.made(vol3, "available")
	e.must(t, 204, "2.1", alice, "DELETE", "/servers/"+id3, nil)
	if e.vols.status(vol3) != "" {
		t.Fatalf("the deleted server's volume: %s", e.vols.status(vol3))
	}

	// From a snapshot: its size when none is given.
	snap := uuid.NewString()
	e.vols.snapshots = append(e.vols.snapshots, snap)
	id4 := e.must(t, 202, "2.1", alice, "POST", "/servers", bfv(map[string]any{"uuid": snap, "source_type": "snapshot",
		"destination_type": "volume", "boot_index": "0"}))["server"].(map[string]any)["id"].(string)
	if r := e.instance(t, id4).RootVolume(); r.Source == nil || r.Source.Type != "snapshot" || r.Source.Size != 3 {
		t.Fatalf("from a snapshot: %+v", r)
	}
	// The image as a mapping: an image boot.
	id5 := e.must(t, 202, "2.1", alice, "POST", "/servers", bfv(map[string]any{"uuid": tinyImage, "source_type": "image",
		"destination_type": "local", "boot_index": 0}))["server"].(map[string]any)["id"].(string)
	if i5 := e.instance(t, id5); i5.ImageRef != tinyImage || len(i5.Volumes) != 0 {
		t.Fatalf("an image mapped to a local disk: %+v", i5)
	}
}

// Mappings Nova refuses, and those this cloud does not serve yet, are
// 400s that make nothing.
func TestBootFromVolumeRefusals(t *testing.T) {
	e := newServerAPI(t)
	vol, used, blank := e.vols.add(), e.vols.add(), e.vols.add()
	e.vols.made(used, "in-use")
	e.vols.blank = append(e.vols.blank, blank)
	root := func(extra map[string]any) map[string]any {
		m := map[string]any{"uuid": vol, "source_type": "volume", "destination_type": "volume", "boot_index": 0}
		for k, v := range extra {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	for _, c := range []struct {
		name string
		v    string
		body map[string]any
		msg  string
	}{
		{"not a list", "2.1", serverBody(map[string]any{"block_device_mapping_v2": "x"}), "is not of type 'array'"},
		{"an unknown key", "2.1", bfv(root(map[string]any{"bogus": 1})), "('bogus' was unexpected)"},
		{"a tag before 2.42", "2.1", bfv(root(map[string]any{"tag": "t"})), "('tag' was unexpected)"},
		{"a bad boot index", "2.1", bfv(root(map[string]any{"boot_index": "first"})), "boot_index"},
		{"a bad source", "2.1", bfv(root(map[string]any{"source_type": "floppy"})), "is not one of ['volume', 'image', 'snapshot', 'blank']"},
		{"a bad size", "2.1", bfv(root(map[string]any{"volume_size": -1})), "volume_size"},
		{"no boot device", "2.1", bfv(), "Boot sequence for the instance and image/block device mapping combination is not valid."},
		{"two boot devices", "2.1", bfv(root(nil), root(nil)), "Boot sequence"},
		{"an extra volume", "2.1", bfv(root(nil), root(map[string]any{"boot_index": -1})), "not supported by this cloud yet"},
		{"a blank root", "2.1", bfv(root(map[string]any{"source_type": "blank", "uuid": nil, "volume_size": 1})), "not supported by this cloud yet"},
		{"an image volume without a size", "2.1", bfv(root(map[string]any{"source_type": "image", "uuid": tinyImage})),
			"Images with destination_type 'volume' need to have a non-zero size specified"},
		{"an unknown volume", "2.1", bfv(root(map[string]any{"uuid": uuid.NewString()})), "Block Device Mapping is Invalid: failed to get volume"},
		{"a volume in use", "2.1", bfv(root(map[string]any{"uuid": used})), "status must be 'available'"},
		{"an unknown snapshot", "2.1", bfv(root(map[string]any{"source_type": "snapshot", "uuid": uuid.NewString()})), "failed to get snapshot"},
		{"an unknown image", "2.1", bfv(root(map[string]any{"source_type": "image", "uuid": uuid.NewString(), "volume_size": 1})), "failed to get image"},
		{"a volume that is not bootable", "2.1", bfv(root(map[string]any{"uuid": blank})), "Block Device " + blank + " is not bootable."},
		{"a zero size", "2.1", bfv(root(map[string]any{"source_type": "image", "uuid": tinyImage, "volume_size": 0})),
			"0 is less than the minimum of 1"},
		{"an image larger than its volume", "2.1", bfv(root(map[string]any{"source_type": "image", "uuid": hugeImage, "volume_size": 1})),
			"Volume is smaller than the minimum size specified in image metadata."},
		{"one volume for two servers", "2.1", func() map[string]any {
			b := bfv(root(nil))
			b["server"].(map[string]any)["max_count"] = 2
			return b
		}(), "Cannot attach one or more volumes to multiple instances"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := e.must(t, 200, "2.1", admin, "GET", "/servers?all_tenants=1", nil)["servers"].([]any)
			wantError(t, e.call(t, c.v, alice, "POST", "/servers", c.body), 400, "badRequest", c.msg)
			after := e.must(t, 200, "2.1", admin, "GET", "/servers?all_tenants=1", nil)["servers"].([]any)
			if len(after) != len(before) || e.vols.status(vol) != "available" || e.vols.status(blank) != "available" || len(e.vols.created) != 0 {
				t.Fatalf("a refused create changed something: %d servers (was %d), volume %s", len(after), len(before), e.vols.status(vol))
			}
		})
	}
	// Bob does not see alice's volume.
	wantError(t, e.call(t, "2.1", bob, "POST", "/servers", bfv(root(nil))), 400, "badRequest", "failed to get volume")
}
