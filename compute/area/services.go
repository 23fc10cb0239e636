package area

import (
	"context"
	"io"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/compose"
)

// The keys the network and image areas provide their services under
// (network/area and image/area name them too; only standard types
// cross, so no area imports another).
const (
	portsAllocateKey  = "network.ports.allocate"
	portsReleaseKey   = "network.ports.release"
	portsStatusKey    = "network.ports.status"
	portsOfKey        = "network.ports.of"
	portsDetailKey    = "network.ports.detail"
	secGroupsCheckKey = "network.secgroups.check"
	networksUsableKey = "network.networks.usable"
	imageGetKey       = "image.get"
	imageOpenKey      = "image.open"
	imageSnapshotKey  = "image.snapshot"
	imageUploadKey    = "image.upload"
	imageDeleteKey    = "image.delete"
	ovsKey            = "network.ovs"
	volReserveKey     = "volume.attachments.reserve"
	volConnectKey     = "volume.attachments.connect"
	volCompleteKey    = "volume.attachments.complete"
	volReleaseKey     = "volume.attachments.release"
	volDeleteKey      = "volume.volumes.delete"
	volReleaseAllKey  = "volume.attachments.release_instance"
)

// RBDSecretKey is where the in-process compute agent takes the keyring
// of an RBD volume backend running in the same process, with standard
// types only: func(secretUUID, keyring string) (added bool, err error),
// the keyring file of the backend's user for the secret uuid of its
// connections (Cinder's rbd_secret_uuid, else the cluster's fsid). A
// uuid compute.agent.rbd_secrets names already keeps the operator's
// keyring (false).
const RBDSecretKey = "compute.agent.rbd_secret"

// RBDClusterKey is where the in-process compute agent, when it keeps
// root disks on RBD with no ceph.conf of its own
// (compute.agent.images_type rbd, images_rbd_ceph_conf empty), takes
// the cluster of an RBD volume backend running in the same process,
// with standard types only: func(conf, cluster, user, keyring,
// secretUUID string), the backend's ceph.conf, cluster name, cephx
// user, its keyring file and the secret uuid of its connections (""
// for the cluster's fsid). The backend lends its keyring for that uuid
// through RBDSecretKey too, so guests attach their disks with it.
const RBDClusterKey = "compute.agent.rbd_cluster"

// VolumeExtendedKey is where the compute area takes Cinder's
// volume-extended event from the block-storage area, with standard types
// only: func(ctx, instance, volume string, size int64) error, size in
// bytes (compute.Store.VolumeExtended).
const VolumeExtendedKey = "compute.volumes.extended"

const (
	volGetKey         = "volume.volumes.get"
	volCreateKey      = "volume.volumes.create"
	volSnapshotGetKey = "volume.snapshots.get"
)

// lookup finds what key provides, as a T, at call time (the providing
// area may be built after this one).

// envNetworks is compute.Networks over the network area's ports.
type envNetworks struct{ env *compose.Env }

func (n envNetworks) Allocate(ctx context.Context, project, instance, host string, reqs []compute.NetworkRequest) ([]compute.InstancePort, error) {
	f, err := compose.Provided[func(context.Context, string, string, string, []map[string]string) ([]map[string]any, error)](n.env, portsAllocateKey)
	if err != nil {
		return nil, err
	}
	in := make([]map[string]string, len(reqs))
	for i, r := range reqs {
		in[i] = map[string]string{"network": r.NetworkID, "port": r.PortID, "fixed_ip": r.FixedIP,
			"security_groups": strings.Join(r.SecurityGroups, "\n")}
		if r.Attach {
			in[i]["attach"] = "1"
		}
	}
	out, err := f(ctx, project, instance, host, in)
	if err != nil {
		return nil, err
	}
	ports := make([]compute.InstancePort, len(out))
	for i, p := range out {
		ports[i] = compute.InstancePort{ID: str(p["id"]), NetworkID: str(p["network_id"]), Network: str(p["network_name"]), MAC: str(p["mac"])}
		ports[i].IPs, _ = p["ips"].([]string)
		ports[i].MTU, _ = p["mtu"].(int)
		ports[i].Created, _ = p["created"].(bool)
	}
	return ports, nil
}

func str(v any) string { s, _ := v.(string); return s }

func (n envNetworks) Release(ctx context.Context, instance string, ports []compute.InstancePort) error {
	f, err := compose.Provided[func(context.Context, string, []map[string]any) error](n.env, portsReleaseKey)
	if err != nil {
		return err
	}
	in := make([]map[string]any, len(ports))
	for i, p := range ports {
		in[i] = map[string]any{"id": p.ID, "created": p.Created}
	}
	return f(ctx, instance, in)
}

func (n envNetworks) PortStatus(ctx context.Context, ids []string) (map[string]string, error) {
	f, err := compose.Provided[func(context.Context, []string) (map[string]string, error)](n.env, portsStatusKey)
	if err != nil {
		return nil, err
	}
	return f(ctx, ids)
}

func (n envNetworks) Interfaces(ctx context.Context, instance string) ([]compute.Interface, error) {
	f, err := compose.Provided[func(context.Context, string) ([]map[string]any, error)](n.env, portsDetailKey)
	if err != nil {
		return nil, err
	}
	ports, err := f(ctx, instance)
	if err != nil {
		return nil, err
	}
	out := make([]compute.Interface, len(ports))
	for k, p := range ports {
		out[k] = compute.Interface{PortID: str(p["id"]), NetID: str(p["network_id"]), MAC: str(p["mac"]), State: str(p["status"]),
			FixedIPs: []compute.InterfaceIP{}}
		ips, _ := p["fixed_ips"].([]map[string]string)
		for _, ip := range ips {
			out[k].FixedIPs = append(out[k].FixedIPs, compute.InterfaceIP{SubnetID: ip["subnet_id"], IPAddress: ip["ip_address"]})
		}
	}
	return out, nil
}

func (n envNetworks) Usable(ctx context.Context, project string) ([]string, error) {
	f, err := compose.Provided[func(context.Context, string) ([]string, error)](n.env, networksUsableKey)
	if err != nil {
		return nil, err
	}
	return f(ctx, project)
}

// envImages is compute.Images over the image area's images.
type envImages struct{ env *compose.Env }

func imageInfo(m map[string]any) compute.ImageInfo {
	i := compute.ImageInfo{ID: str(m["id"]), Name: str(m["name"]), Status: str(m["status"]), DiskFormat: str(m["disk_format"]),
		ContainerFormat: str(m["container_format"]), Checksum: str(m["checksum"])}
	i.Size, _ = m["size"].(int64)
	i.VirtualSize, _ = m["virtual_size"].(int64)
	i.MinDisk, _ = m["min_disk"].(int64)
	i.MinRAM, _ = m["min_ram"].(int64)
	i.Properties, _ = m["properties"].(map[string]string)
	i.Locations, _ = m["locations"].([]string)
	return i
}

func (im envImages) Image(ctx context.Context, project, id string) (compute.ImageInfo, error) {
	f, err := compose.Provided[func(context.Context, string, string) (map[string]any, error)](im.env, imageGetKey)
	if err != nil {
		return compute.ImageInfo{}, err
	}
	m, err := f(ctx, project, id)
	if err != nil {
		return compute.ImageInfo{}, err
	}
	return imageInfo(m), nil
}

func (im envImages) Open(ctx context.Context, id string) (io.ReadCloser, compute.ImageInfo, error) {
	f, err := compose.Provided[func(context.Context, string) (io.ReadCloser, map[string]any, error)](im.env, imageOpenKey)
	if err != nil {
		return nil, compute.ImageInfo{}, err
	}
	rc, m, err := f(ctx, id)
	if err != nil {
		return nil, compute.ImageInfo{}, err
	}
	return rc, imageInfo(m), nil
}

var _ compute.ImageWriter = envImages{}

func (im envImages) CreateSnapshot(ctx context.Context, project, name, diskFormat string, minDisk, minRAM int64, props map[string]string) (compute.ImageInfo, error) {
	f, err := compose.Provided[func(context.Context, string, string, string, int64, int64, map[string]string) (map[string]any, error)](im.env, imageSnapshotKey)
	if err != nil {
		return compute.ImageInfo{}, err
	}
	m, err := f(ctx, project, name, diskFormat, minDisk, minRAM, props)
	if err != nil {
		return compute.ImageInfo{}, err
	}
	return imageInfo(m), nil
}

func (im envImages) Upload(ctx context.Context, id string, r io.Reader, size int64) error {
	f, err := compose.Provided[func(context.Context, string, io.Reader, int64) error](im.env, imageUploadKey)
	if err != nil {
		return err
	}
	return f(ctx, id, r, size)
}

func (im envImages) Delete(ctx context.Context, id string) error {
	f, err := compose.Provided[func(context.Context, string) error](im.env, imageDeleteKey)
	if err != nil {
		return err
	}
	return f(ctx, id)
}

var _ compute.PortLister = envNetworks{}
var _ compute.InterfaceLister = envNetworks{}

func (n envNetworks) PortsOf(ctx context.Context, instance string) ([]string, error) {
	f, err := compose.Provided[func(context.Context, string) ([]string, error)](n.env, portsOfKey)
	if err != nil {
		return nil, err
	}
	return f(ctx, instance)
}

var _ compute.SecurityGroupChecker = envNetworks{}

func (n envNetworks) CheckSecurityGroups(ctx context.Context, project string, names []string) error {
	f, err := compose.Provided[func(context.Context, string, []string) error](n.env, secGroupsCheckKey)
	if err != nil {
		return err
	}
	return f(ctx, project, names)
}

// envVolumes is compute.Volumes over the block-storage area's
// attachments.
type envVolumes struct{ env *compose.Env }

var _ compute.Volumes = envVolumes{}

func (v envVolumes) Reserve(ctx context.Context, project, volume, instance string) (string, error) {
	f, err := compose.Provided[func(context.Context, string, string, string) (string, error)](v.env, volReserveKey)
	if err != nil {
		return "", err
	}
	return f(ctx, project, volume, instance)
}

func (v envVolumes) Connect(ctx context.Context, attachment string, connector map[string]any) (map[string]any, error) {
	f, err := compose.Provided[func(context.Context, string, map[string]any) (map[string]any, error)](v.env, volConnectKey)
	if err != nil {
		return nil, err
	}
	return f(ctx, attachment, connector)
}

func (v envVolumes) Complete(ctx context.Context, attachment string) error {
	f, err := compose.Provided[func(context.Context, string) error](v.env, volCompleteKey)
	if err != nil {
		return err
	}
	return f(ctx, attachment)
}

// Release and ReleaseInstance are nothing without a block-storage area
// (there are no attachments then): a server's delete goes on.
func (v envVolumes) Release(ctx context.Context, attachment string) error {
	if _, ok := v.env.Lookup(volReleaseKey); !ok {
		return nil
	}
	f, err := compose.Provided[func(context.Context, string) error](v.env, volReleaseKey)
	if err != nil {
		return err
	}
	return f(ctx, attachment)
}

func (v envVolumes) Delete(ctx context.Context, volume string) error {
	f, err := compose.Provided[func(context.Context, string) error](v.env, volDeleteKey)
	if err != nil {
		return err
	}
	return f(ctx, volume)
}

func (v envVolumes) ReleaseInstance(ctx context.Context, instance string) error {
	if _, ok := v.env.Lookup(volReleaseAllKey); !ok {
		return nil
	}
	f, err := compose.Provided[func(context.Context, string) error](v.env, volReleaseAllKey)
	if err != nil {
		return err
	}
	return f(ctx, instance)
}

func volumeInfo(m map[string]any) compute.VolumeInfo {
	v := compute.VolumeInfo{ID: str(m["id"]), Status: str(m["status"]), AvailabilityZone: str(m["availability_zone"])}
	v.Size, _ = m["size"].(int64)
	v.Bootable, _ = m["bootable"].(bool)
	v.Multiattach, _ = m["multiattach"].(bool)
	return v
}

func (v envVolumes) Volume(ctx context.Context, project, id string) (compute.VolumeInfo, error) {
	f, err := compose.Provided[func(context.Context, string, string) (map[string]any, error)](v.env, volGetKey)
	if err != nil {
		return compute.VolumeInfo{}, err
	}
	m, err := f(ctx, project, id)
	if err != nil {
		return compute.VolumeInfo{}, err
	}
	return volumeInfo(m), nil
}

func (v envVolumes) SnapshotSize(ctx context.Context, project, id string) (int64, error) {
	f, err := compose.Provided[func(context.Context, string, string) (map[string]any, error)](v.env, volSnapshotGetKey)
	if err != nil {
		return 0, err
	}
	m, err := f(ctx, project, id)
	if err != nil {
		return 0, err
	}
	size, _ := m["size"].(int64)
	return size, nil
}

func (v envVolumes) Create(ctx context.Context, project string, s compute.VolumeSpec) (compute.VolumeInfo, error) {
	f, err := compose.Provided[func(context.Context, string, map[string]any) (map[string]any, error)](v.env, volCreateKey)
	if err != nil {
		return compute.VolumeInfo{}, err
	}
	m, err := f(ctx, project, map[string]any{"id": s.ID, "size": s.Size, "image_id": s.ImageID, "snapshot_id": s.SnapshotID,
		"volume_type": s.VolumeType, "availability_zone": s.AvailabilityZone})
	if err != nil {
		return compute.VolumeInfo{}, err
	}
	return volumeInfo(m), nil
}
