package nova_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
)

// fakeVolumes stands in for the block-storage service: volumes by id
// with their status ("available", "reserved", "in-use"), one project's.
type fakeVolumes struct {
	mu          sync.Mutex
	volumes     map[string]string // id → status
	attachments map[string]string // attachment → volume
	connected   []string
	deleted     []string
	releasedFor []string // instances whose attachments were all released
	snapshots   []string // project A's snapshots
	blank       []string // volumes that are not bootable
	multi       []string // multiattach volumes: reserved again while in-use
	created     []compute.VolumeSpec
}

func (f *fakeVolumes) add() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uuid.NewString()
	f.volumes[id] = "available"
	return id
}

func (f *fakeVolumes) status(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.volumes[id]
}

func (f *fakeVolumes) Reserve(_ context.Context, project, volume, instance string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.volumes[volume]
	if !ok || project != "proj-a" {
		return "", fault.New(fault.NotFound, "Volume %s could not be found.", volume)
	}
	if st != "available" && !(st == "in-use" && slices.Contains(f.multi, volume)) {
		return "", fault.New(fault.BadRequest, "Invalid volume: Volume status must be available or downloading to reserve, but the current status is %s.", st)
	}
	a := uuid.NewString()
	f.volumes[volume], f.attachments[a] = "reserved", volume
	return a, nil
}

func (f *fakeVolumes) Connect(_ context.Context, attachment string, connector map[string]any) (map[string]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected = append(f.connected, attachment)
	if v, ok := f.attachments[attachment]; ok {
		f.volumes[v] = "attaching" // as Cinder's attachment_update leaves it
	}
	return map[string]any{"driver_volume_type": "iscsi", "data": map[string]any{"target_iqn": "iqn.2010-10.org.openstack:volume-" + f.attachments[attachment]}}, nil
}

func (f *fakeVolumes) Complete(_ context.Context, attachment string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.volumes[f.attachments[attachment]] = "in-use"
	return nil
}

func (f *fakeVolumes) Release(_ context.Context, attachment string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.attachments[attachment]; ok {
		f.volumes[v] = "available"
		delete(f.attachments, attachment)
	}
	return nil
}

func (f *fakeVolumes) ReleaseInstance(_ context.Context, instance string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.releasedFor = append(f.releasedFor, instance)
	return nil
}

func (f *fakeVolumes) Volume(_ context.Context, project, id string) (compute.VolumeInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.volumes[id]
	if !ok || project != "" && project != "proj-a" {
		return compute.VolumeInfo{}, fault.New(fault.NotFound, "Volume %s could not be found.", id)
	}
	return compute.VolumeInfo{ID: id, Status: st, Size: 1, AvailabilityZone: "nova", Bootable: !slices.Contains(f.blank, id),
		Multiattach: slices.Contains(f.multi, id)}, nil
}

func (f *fakeVolumes) SnapshotSize(_ context.Context, project, id string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.snapshots, id) || project != "proj-a" {
		return 0, fault.New(fault.NotFound, "Snapshot %s could not be found.", id)
	}
	return 3, nil
}

// Create makes the volume creating; made() makes it available, as the
// volume's agent would.
func (f *fakeVolumes) Create(_ context.Context, project string, s compute.VolumeSpec) (compute.VolumeInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.volumes[s.ID]; ok {
		return compute.VolumeInfo{}, fault.New(fault.Conflict, "Volume %s already exists.", s.ID)
	}
	f.volumes[s.ID] = "creating"
	f.created = append(f.created, s)
	return compute.VolumeInfo{ID: s.ID, Status: "creating", Size: s.Size}, nil
}

func (f *fakeVolumes) made(id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.volumes[id] = status
}

func (f *fakeVolumes) Delete(_ context.Context, volume string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.volumes, volume)
	f.deleted = append(f.deleted, volume)
	return nil
}

// agentVolume plays the host's agent for a volume operation: it waits
// for volume marked op on server id, connects it (an attach) and
// reports rep through the internal API.
func (e *serverEnv) agentVolume(t *testing.T, id, volume, op string, rep compute.VolumeReport) {
	t.Helper()
	i, err := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	base := "/internal/compute/hosts/" + i.Host + "/instances/" + id + "/volumes/" + volume
	if op == compute.PortAttaching {
		r := e.agentCall(t, service, "PUT", base+"/connect", map[string]any{"connector": map[string]any{"initiator": "iqn.x", "host": i.Host}})
		if r.Code != 200 || !strings.Contains(string(r.Body), volume) {
			t.Fatalf("connect: %s", r)
		}
	}
	rep.Op = op
	if r := e.agentCall(t, service, "PUT", base, rep); r.Code != 200 {
		t.Fatalf("volume report: %s", r)
	}
}

// os-volume_attachments through the API, the host's agent played by
// the test and Cinder by a fake: an attach answers at once with the
// device, the volume reserved, in-use once the host reported; a failed
// attach releases it; a detach (202) frees it on the host's report;
// Nova's refusals change nothing; a server's delete detaches its
// volumes and deletes those asked for.
func TestVolumeAttachments(t *testing.T) {
	e := newServerAPI(t)
	i := e.activeServer(t)
	base := "/servers/" + i.UUID + "/os-volume_attachments"
	v1, v2, v3 := e.vols.add(), e.vols.add(), e.vols.add()

	for _, c := range []struct {
		v    string
		body any
		code int
		msg  string
	}{
		{"2.1", map[string]any{"volumeAttachment": map[string]any{}}, 400, "'volumeId' is a required property"},
		{"2.1", map[string]any{"volumeAttachment": map[string]any{"volumeId": "nope"}}, 400, "is not a 'uuid'"},
		{"2.1", map[string]any{"volumeAttachment": map[string]any{"volumeId": v1, "device": "vdb"}}, 400, "does not match"},
		{"2.48", map[string]any{"volumeAttachment": map[string]any{"volumeId": v1, "tag": "db"}}, 400, "'tag' was unexpected"},
		{"2.78", map[string]any{"volumeAttachment": map[string]any{"volumeId": v1, "delete_on_termination": true}}, 400, "'delete_on_termination' was unexpected"},
		{"2.1", map[string]any{"volumeAttachment": map[string]any{"volumeId": uuid.NewString()}}, 404, "could not be found"},
	} {
		r := e.call(t, c.v, alice, "POST", base, c.body)
		if r.Code != c.code || !strings.Contains(string(r.Body), c.msg) {
			t.Fatalf("POST %v at %s = %s, want %d %q", c.body, c.v, r, c.code, c.msg)
		}
	}
	wantError(t, e.call(t, "2.1", bob, "POST", base, map[string]any{"volumeAttachment": map[string]any{"volumeId": v1}}), 404, "itemNotFound")
	if e.vols.status(v1) != "available" {
		t.Fatalf("refusals reserved the volume: %s", e.vols.status(v1))
	}

	att := e.must(t, 200, "2.89", alice, "POST", base, map[string]any{"volumeAttachment": map[string]any{"volumeId": v1, "tag": "data",
		"delete_on_termination": true}})["volumeAttachment"].(map[string]any)
	// Nova's create answer has id at every version, never 2.89's fields.
	if att["device"] != "/dev/vdb" || att["volumeId"] != v1 || att["id"] != v1 || att["serverId"] != i.UUID || att["tag"] != "data" ||
		att["delete_on_termination"] != true || att["attachment_id"] != nil {
		t.Fatalf("attach: %v", att)
	}
	if l := e.must(t, 200, "2.89", alice, "GET", base, nil)["volumeAttachments"].([]any); len(l) != 1 ||
		l[0].(map[string]any)["attachment_id"] == nil || l[0].(map[string]any)["bdm_uuid"] == nil || l[0].(map[string]any)["id"] != nil {
		t.Fatalf("the list at 2.89: %v", l)
	}
	if va := fmt.Sprint(e.show(t, alice, i.UUID)["os-extended-volumes:volumes_attached"]); !strings.Contains(va, v1) || !strings.Contains(va, "delete_on_termination:true") {
		t.Fatalf("the server's volumes_attached: %s", va)
	}
	hi, _ := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, i.UUID)
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+hi.Host+"/instances/"+i.UUID+"/volumes/"+v1,
		compute.VolumeReport{Op: compute.PortAttaching, Done: true, Error: "both"}); r.Code != 400 {
		t.Fatalf("a report both done and failed: %s", r)
	}
	if e.vols.status(v1) != "reserved" {
		t.Fatalf("the volume after the attach's answer: %s", e.vols.status(v1))
	}
	e.agentVolume(t, i.UUID, v1, compute.PortAttaching, compute.VolumeReport{Done: true})
	if e.vols.status(v1) != "in-use" {
		t.Fatalf("the volume after the host's report: %s", e.vols.status(v1))
	}
	show := e.must(t, 200, "2.1", alice, "GET", base+"/"+v1, nil)["volumeAttachment"].(map[string]any)
	if show["id"] != v1 || show["device"] != "/dev/vdb" {
		t.Fatalf("show: %v", show)
	}
	wantError(t, e.call(t, "2.1", alice, "GET", base+"/"+v2, nil), 404, "itemNotFound", "is not attached to volume")

	// A second volume the host could not attach: released.
	e.must(t, 200, "2.1", alice, "POST", base, map[string]any{"volumeAttachment": map[string]any{"volumeId": v2}})
	e.agentVolume(t, i.UUID, v2, compute.PortAttaching, compute.VolumeReport{Error: "login refused"})
	if e.vols.status(v2) != "available" {
		t.Fatalf("a failed attach's volume: %s", e.vols.status(v2))
	}
	if l := e.must(t, 200, "2.1", alice, "GET", base, nil)["volumeAttachments"].([]any); len(l) != 1 {
		t.Fatalf("attachments: %v", l)
	}
	wantError(t, e.call(t, "2.1", alice, "POST", base, map[string]any{"volumeAttachment": map[string]any{"volumeId": v1}}), 400, "badRequest", "already attached")

	// Detach: 202, the volume freed on the host's report.
	wantError(t, e.call(t, "2.1", alice, "DELETE", base+"/"+v3, nil), 404, "itemNotFound")
	if r := e.call(t, "2.1", alice, "DELETE", base+"/"+v1, nil); r.Code != 202 {
		t.Fatalf("detach: %s", r)
	}
	e.agentVolume(t, i.UUID, v1, compute.PortDetaching, compute.VolumeReport{Done: true})
	if e.vols.status(v1) != "available" {
		t.Fatalf("the detached volume: %s", e.vols.status(v1))
	}

	// A server's delete detaches its volumes, deleting those asked for.
	e.must(t, 200, "2.79", alice, "POST", base, map[string]any{"volumeAttachment": map[string]any{"volumeId": v3, "delete_on_termination": true}})
	e.agentVolume(t, i.UUID, v3, compute.PortAttaching, compute.VolumeReport{Done: true})
	if r := e.call(t, "2.1", alice, "DELETE", "/servers/"+i.UUID, nil); r.Code != 204 {
		t.Fatalf("delete: %s", r)
	}
	got, _ := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, i.UUID)
	if r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+got.Host+"/instances/"+i.UUID, compute.InstanceReport{Task: compute.Deleting,
		Deleted: true}); r.Code != 200 {
		t.Fatalf("the delete's report: %s", r)
	}
	if _, ok := e.vols.volumes[v3]; ok || fmt.Sprint(e.vols.deleted) != "["+v3+"]" || fmt.Sprint(e.vols.releasedFor) != "["+i.UUID+"]" {
		t.Fatalf("volumes after the server's delete: %v, deleted %v", e.vols.volumes, e.vols.deleted)
	}
}

// A multiattach volume through os-volume_attachments, as Nova: refused
// below 2.60 (nothing reserved), attached to two servers from 2.60; the
// host's connect answers its connection info with "multiattach": true
// (Nova's block_device stash, which makes the driver's disk shareable),
// and a plain volume's without it.
func TestMultiattachVolumeAttach(t *testing.T) {
	e := newServerAPI(t)
	s1, s2 := e.activeServer(t), e.activeServer(t)
	multi, plain := e.vols.add(), e.vols.add()
	e.vols.mu.Lock()
	e.vols.multi = append(e.vols.multi, multi)
	e.vols.mu.Unlock()
	attachments := func(s compute.Instance) string { return "/servers/" + s.UUID + "/os-volume_attachments" }
	wantError(t, e.call(t, "2.59", alice, "POST", attachments(s1), map[string]any{"volumeAttachment": map[string]any{"volumeId": multi}}),
		400, "badRequest", "Multiattach volumes are only supported starting with compute API version 2.60.")
	if st := e.vols.status(multi); st != "available" {
		t.Fatalf("a refused attach left the volume %s", st)
	}
	connect := func(s compute.Instance, v string) map[string]any {
		t.Helper()
		i, err := e.store.Instance(context.Background(), compute.Viewer{Admin: true}, s.UUID)
		if err != nil {
			t.Fatal(err)
		}
		base := "/internal/compute/hosts/" + i.Host + "/instances/" + s.UUID + "/volumes/" + v
		r := e.agentCall(t, service, "PUT", base+"/connect", map[string]any{"connector": map[string]any{"initiator": "iqn.x", "host": i.Host}})
		if r.Code != 200 {
			t.Fatalf("connect: %s", r)
		}
		info := r.JSON(t)["connection_info"].(map[string]any)
		if r := e.agentCall(t, service, "PUT", base, compute.VolumeReport{Op: compute.PortAttaching, Done: true}); r.Code != 200 {
			t.Fatalf("volume report: %s", r)
		}
		return info
	}
	for _, s := range []compute.Instance{s1, s2} {
		e.must(t, 200, "2.60", alice, "POST", attachments(s), map[string]any{"volumeAttachment": map[string]any{"volumeId": multi}})
		if info := connect(s, multi); info["multiattach"] != true || info["driver_volume_type"] != "iscsi" {
			t.Fatalf("a multiattach volume's connection info: %v", info)
		}
	}
	for _, s := range []compute.Instance{s1, s2} {
		if l := e.must(t, 200, "2.60", alice, "GET", attachments(s), nil)["volumeAttachments"].([]any); len(l) != 1 ||
			l[0].(map[string]any)["volumeId"] != multi {
			t.Fatalf("server %s's volumes: %v", s.UUID, l)
		}
	}
	e.must(t, 200, "2.1", alice, "POST", attachments(s1), map[string]any{"volumeAttachment": map[string]any{"volumeId": plain}})
	if info := connect(s1, plain); info["multiattach"] != nil {
		t.Fatalf("a plain volume's connection info: %v", info)
	}
}

// Boot from a multiattach volume, as Nova: refused below 2.60 with
// MultiattachNotSupportedOldMicroversion (nothing reserved), accepted
// at 2.60; the host's build connects the root volume with "multiattach":
// true in its connection info, so the root disk is shareable too.
func TestBootFromMultiattachVolume(t *testing.T) {
	e := newServerAPI(t)
	vol := e.vols.add()
	e.vols.mu.Lock()
	e.vols.multi = append(e.vols.multi, vol)
	e.vols.mu.Unlock()
	root := map[string]any{"uuid": vol, "source_type": "volume", "destination_type": "volume", "boot_index": "0"}
	wantError(t, e.call(t, "2.59", alice, "POST", "/servers", bfv(root)), 400, "badRequest",
		"Multiattach volumes are only supported starting with compute API version 2.60.")
	if st := e.vols.status(vol); st != "available" {
		t.Fatalf("a refused boot left the volume %s", st)
	}
	id := e.must(t, 202, "2.60", alice, "POST", "/servers", bfv(root))["server"].(map[string]any)["id"].(string)
	e.build(t)
	i := e.instance(t, id)
	r := e.agentCall(t, service, "PUT", "/internal/compute/hosts/"+i.Host+"/instances/"+id+"/volumes/"+vol+"/connect",
		map[string]any{"connector": map[string]any{"initiator": "iqn.x"}})
	if r.Code != 200 {
		t.Fatalf("connect the root volume: %s", r)
	}
	if info := r.JSON(t)["connection_info"].(map[string]any); info["multiattach"] != true {
		t.Fatalf("the root volume's connection info: %v", info)
	}
}
