package rbd

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Errors of the package's operations; test them with errors.Is.
var (
	// ErrUnavailable: the package was built without cgo or without a
	// Ceph release tag (see the package documentation); New returns it,
	// and so does every method.
	ErrUnavailable = errors.New("rbd: this build has no Ceph support (it needs cgo and a Ceph release tag: go build -tags pacific)")
	// ErrNotFound: the volume or snapshot does not exist.
	ErrNotFound = errors.New("rbd: not found")
	// ErrExists: an image of the name exists that is not what the
	// operation would have made (another size, another parent): doing
	// the work again cannot mend it.
	ErrExists = errors.New("rbd: exists")
	// ErrInvalid: a request no cluster could do (a volume shrunk, a bad
	// id, a bad configuration).
	ErrInvalid = errors.New("rbd: invalid request")
	// ErrBusy: what holds the image is a BusyError.
	ErrBusy = errors.New("rbd: busy")
	// ErrLeftover: what earlier work cut short or failed left (a
	// volume-<id>.partial, a .clone_snap snapshot, a volume-<id>.deleted)
	// could not be removed now — most often because a killed client's
	// watch holds it until the OSDs time it out (30 s). It is never the
	// volume's own fault: the volume's work waits (a create) or is done
	// (a delete), and Sweep removes the leftover later. errors.Is(err,
	// ErrBusy) does not hold for it.
	ErrLeftover = errors.New("rbd: a leftover could not be removed yet")
)

// leftover is err (removing a leftover) as an ErrLeftover; nil stays nil.
func leftover(err error, what string) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %s: %v", ErrLeftover, what, err)
}

// BusyError is why an image or a snapshot cannot be removed: the
// snapshots of a volume, the clones of a snapshot, the clients that have
// the image open. errors.Is(err, ErrBusy) holds for it.
type BusyError struct {
	// Image is "volume-<id>" or "volume-<id>@snapshot-<id>".
	Image string
	// Snapshots are a volume's snapshots (Cinder's, snapshot-<id>).
	Snapshots []string
	// Children are the clones ("pool/image") of a snapshot.
	Children []string
	// Watchers is how many clients have the image open.
	Watchers int
}

func (e *BusyError) Error() string {
	var why []string
	if len(e.Snapshots) > 0 {
		why = append(why, "it has snapshots "+strings.Join(e.Snapshots, ", "))
	}
	if len(e.Children) > 0 {
		why = append(why, "it has clones "+strings.Join(e.Children, ", "))
	}
	if e.Watchers > 0 {
		why = append(why, fmt.Sprintf("%d clients have it open", e.Watchers))
	}
	if len(why) == 0 {
		why = append(why, "it is in use")
	}
	return "rbd: " + e.Image + " cannot be removed: " + strings.Join(why, "; ")
}

// Is makes errors.Is(err, ErrBusy) hold.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// Config is a cluster connection and how volumes are made on it, with
// the defaults of Cinder's RBD driver options.
type Config struct {
	// ConfFile is the ceph.conf to read (Cinder's rbd_ceph_conf); ""
	// for librados's search (CEPH_CONF, /etc/ceph/ceph.conf...).
	ConfFile string
	// ClusterName is Cinder's rbd_cluster_name, default "ceph".
	ClusterName string
	// User is the cephx client id, without "client." (Cinder's
	// rbd_user); "" for librados's default (admin), and the connection
	// info then says auth_enabled false, as Cinder's does.
	User string
	// Keyring is the user's keyring file; "" for the configuration's.
	Keyring string
	// Pool is the pool of the volumes (Cinder's rbd_pool), default "rbd".
	Pool string
	// SecretUUID is the libvirt secret of the user's key on the compute
	// hosts (Cinder's rbd_secret_uuid); "" for the cluster's fsid, as
	// Cinder defaults it.
	SecretUUID string
	// MaxCloneDepth is Cinder's rbd_max_clone_depth: a clone of a volume
	// whose clone chain is that long is flattened. 0 is Cinder's
	// default, 5; negative makes every volume from a volume a full copy
	// (Cinder's 0).
	MaxCloneDepth int
	// FlattenFromSnapshot is Cinder's rbd_flatten_volume_from_snapshot:
	// a volume from a snapshot is flattened, so it does not hold the
	// snapshot.
	FlattenFromSnapshot bool
	// ChunkSizeMB is Cinder's rbd_store_chunk_size, the images' object
	// size: default 4 (order 22).
	ChunkSizeMB int
	// ConnectTimeout bounds the connection to the cluster (Cinder's
	// rados_connect_timeout; librados waits 300 s by default); default
	// 30 s.
	ConnectTimeout time.Duration
}

func (c *Config) defaults() error {
	if c.ClusterName == "" {
		c.ClusterName = "ceph"
	}
	if c.Pool == "" {
		c.Pool = "rbd"
	}
	if c.MaxCloneDepth == 0 {
		c.MaxCloneDepth = 5
	}
	if c.ChunkSizeMB == 0 {
		c.ChunkSizeMB = 4
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 30 * time.Second
	}
	if n := c.ChunkSizeMB; n < 0 || n&(n-1) != 0 || n > 32 {
		return fmt.Errorf("%w: chunk size %d MB is not a power of two up to 32", ErrInvalid, n)
	}
	if !validName(c.Pool) {
		return fmt.Errorf("%w: pool %q", ErrInvalid, c.Pool)
	}
	if c.User != "" && !validName(c.User) {
		return fmt.Errorf("%w: user %q", ErrInvalid, c.User)
	}
	return nil
}

// order is log2 of the object size.
func (c *Config) order() int { return 20 + int(math.Log2(float64(c.ChunkSizeMB))) }

// validName: what a pool or user name may hold here (Cinder's usual
// names; nothing a location or a libvirt source name would misread).
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validID: a volume or snapshot id (a UUID in practice) — no dot, so no
// id can end as another name's suffix.
func validID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w: id %q", ErrInvalid, id)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("%w: id %q", ErrInvalid, id)
		}
	}
	return nil
}

// Image and snapshot names, as Cinder's.
const (
	volumePrefix   = "volume-"
	snapshotPrefix = "snapshot-"
	// cloneSnapSuffix names the snapshot a volume's clone is made from
	// (Cinder's "<dest>.clone_snap" on the source).
	cloneSnapSuffix = ".clone_snap"
	// deletedSuffix names a deleted volume its clones still hold
	// (Cinder's silent volume), removed with the last of them.
	deletedSuffix = ".deleted"
	// backupSnapPrefix and backupSnapSuffix name a backup's temporary
	// snapshot of an in-use volume, "backup-<backup id>.backup_snap",
	// removed when the backup has read it, by Sweep after a kill.
	backupSnapPrefix = "backup-"
	backupSnapSuffix = ".backup_snap"
	// partialSuffix names an image being filled (a copy, an image's
	// content): renamed to the volume once whole, removed by Sweep.
	partialSuffix = ".partial"
)

// VolumeName is volume id's image: "volume-<id>".
func VolumeName(id string) string { return volumePrefix + id }

// SnapshotName is snapshot id's RBD snapshot: "snapshot-<id>".
func SnapshotName(id string) string { return snapshotPrefix + id }

// BackupSnapshotName is backup id's temporary snapshot of an in-use
// volume: "backup-<id>.backup_snap".
func BackupSnapshotName(id string) string { return backupSnapPrefix + id + backupSnapSuffix }

// Extent is a part of a volume: Length bytes from Offset.
type Extent struct{ Offset, Length int64 }

// ImageKind says what an image of the pool is.
type ImageKind string

const (
	// KindVolume is a volume's image, volume-<id>.
	KindVolume ImageKind = "volume"
	// KindDeleted is a deleted volume its clones hold, volume-<id>.deleted.
	KindDeleted ImageKind = "deleted"
	// KindPartial is a volume's image being filled, volume-<id>.partial.
	KindPartial ImageKind = "partial"
	// KindOther is anything else (not the backend's).
	KindOther ImageKind = "other"
)

// Image is an image of the pool as List sees it.
type Image struct {
	Name string
	Kind ImageKind
	// VolumeID is the volume's id (for every kind but KindOther).
	VolumeID string
}

// ParseImage tells what the image called name is.
func ParseImage(name string) Image {
	im := Image{Name: name, Kind: KindOther}
	rest, ok := strings.CutPrefix(name, volumePrefix)
	if !ok {
		return im
	}
	kind := KindVolume
	for suffix, k := range map[string]ImageKind{deletedSuffix: KindDeleted, partialSuffix: KindPartial} {
		if r, ok := strings.CutSuffix(rest, suffix); ok {
			rest, kind = r, k
		}
	}
	if validID(rest) != nil {
		return im
	}
	im.Kind, im.VolumeID = kind, rest
	return im
}

// Info is what a volume's image is.
type Info struct {
	Name string
	Size int64
	// Parent is the image's parent "pool/image@snapshot" ("" for none).
	Parent string
	// Snapshots are the image's snapshots' names (Cinder's and the
	// .clone_snap ones).
	Snapshots []string
	// Features are the image's features by name ("layering",
	// "exclusive-lock", ...), sorted.
	Features []string
}

// Capacity is a pool's space as Cinder's RBD driver reports it
// (_get_pool_stats): GiB, rounded to two digits.
type Capacity struct {
	TotalGB, FreeGB float64
	// UsedBytes is what the pool stores.
	UsedBytes int64
}

// capacity is Cinder's arithmetic: with a quota on the pool, the total
// is the quota and free what of it is unused (at most what the cluster
// has); without, the total is the cluster's size and free the pool's
// max_avail; then (report_dynamic_total_capacity, Cinder's default) the
// total is free + used.
func capacity(stored, maxAvail, clusterTotal, quota int64) Capacity {
	total, free := clusterTotal, maxAvail
	if quota > 0 {
		total = quota
		free = max(min(total-stored, maxAvail), 0)
	}
	total = free + stored
	gb := func(b int64) float64 { return math.Round(float64(b)/(1<<30)*100) / 100 }
	return Capacity{TotalGB: gb(total), FreeGB: gb(free), UsedBytes: stored}
}

// Connection is a volume's connection info as Cinder's RBD driver's
// initialize_connection answers it.
type Connection struct {
	// Pool and Image make Cinder's name, "<pool>/volume-<id>".
	Pool, Image string
	// Hosts and Ports are the monitors' (legacy protocol) addresses from
	// "mon dump", as Cinder lists them: strings both.
	Hosts, Ports []string
	ClusterName  string
	// User is the cephx user ("" without one: auth_enabled false).
	User string
	// SecretUUID is the libvirt secret of the user's key.
	SecretUUID string
	VolumeID   string
}

// Data is Cinder's connection data: name, hosts, ports, cluster_name,
// auth_enabled, auth_username (null without a user), secret_type
// "ceph", secret_uuid, volume_id and discard (true).
func (c Connection) Data() map[string]any {
	var user any
	if c.User != "" {
		user = c.User
	}
	return map[string]any{"name": c.Pool + "/" + c.Image, "hosts": c.Hosts, "ports": c.Ports, "cluster_name": c.ClusterName,
		"auth_enabled": c.User != "", "auth_username": user, "secret_type": "ceph", "secret_uuid": c.SecretUUID,
		"volume_id": c.VolumeID, "discard": true}
}

// monAddrs reads "mon dump" JSON as Cinder's _get_mon_addrs: each
// monitor's addr "host:port/nonce", the host without its brackets.
func monAddrs(dump []byte) (hosts, ports []string, err error) {
	var m struct {
		Mons []struct {
			Addr string `json:"addr"`
		} `json:"mons"`
	}
	if err := json.Unmarshal(dump, &m); err != nil {
		return nil, nil, fmt.Errorf("rbd: mon dump: %w", err)
	}
	for _, mon := range m.Mons {
		a := mon.Addr
		if i := strings.LastIndex(a, "/"); i >= 0 {
			a = a[:i]
		}
		i := strings.LastIndex(a, ":")
		if i < 0 {
			return nil, nil, fmt.Errorf("rbd: mon dump: monitor address %q", mon.Addr)
		}
		hosts = append(hosts, strings.Trim(a[:i], "[]"))
		ports = append(ports, a[i+1:])
	}
	if len(hosts) == 0 {
		return nil, nil, errors.New("rbd: mon dump: no monitors")
	}
	return hosts, ports, nil
}
