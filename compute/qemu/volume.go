package qemu

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gostack/gostack/compute/virt"
)

// AttachVolume adds volume v (a network disk: Protocol "iscsi" or
// "rbd") to guest id (Nova's os-volume_attachments): into guest.json,
// so that every start of the guest connects to it, and, while QEMU runs
// (running or paused), into the machine now: QMP object-add makes a
// secret object that reads the volume's secret file (the CHAP password;
// the cephx key Config.RBDSecrets has for the connection's secret
// uuid), blockdev-add connects with QEMU's own initiator (libiscsi:
// driver iscsi, transport tcp; librbd: driver rbd, the monitors as its
// servers, Config.RBDConf as its ceph.conf), and device_add puts a
// virtio-blk disk with the volume id as its serial in the volume's PCI
// slot (ACPI hot-plug). A volume the guest has already is nothing, but
// for a QEMU that lacks its disk: an earlier attach stopped half-way,
// finished now. A suspended guest refuses, and so does the volume of
// the guest's root disk.
//
// The order is what makes a crash safe, as for AttachInterface: the
// secret file, then guest.json, then QEMU. An attach the target refuses
// (a wrong CHAP password, an unknown target or LUN; a cephx key the
// cluster refuses, an unknown image, monitors that do not answer within
// the ceph.conf's client mount timeout) fails at blockdev-add with
// QEMU's message, and is undone: its secret object, its secret file and
// its entry in guest.json go, and the guest is as it was. An rbd volume
// whose key the host lacks is refused before anything is written
// (virt.ErrNoKey).
func (d *Driver) AttachVolume(ctx context.Context, id string, v virt.Disk) error {
	volumeID := v.VolumeID()
	if err := checkVolume(v); err != nil {
		return fmt.Errorf("compute/qemu: attach volume %s to %s: %w", volumeID, id, err)
	}
	f, g, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	running, err := runs(f, id)
	if err != nil {
		return err
	}
	if i := volumeIndex(g, volumeID); i >= 0 {
		if !running {
			return nil
		}
		return d.finishVolumeAttach(ctx, f, g, g.Volumes[i], g.VolumeSlots[volumeID])
	}
	if g.Disk.Protocol != "" && g.Disk.VolumeID() == volumeID {
		return fmt.Errorf("compute/qemu: attach volume %s to %s: it is the guest's root disk: %w", volumeID, id, virt.ErrNotSupported)
	}
	if !running && exists(f.state) {
		return fmt.Errorf("compute/qemu: attach volume %s to %s: %w", volumeID, id, ErrSuspended)
	}
	v.Serial = volumeID
	g.Volumes = append(g.Volumes, v)
	if err := g.fillSlots(); err != nil {
		return err
	}
	slot := g.VolumeSlots[volumeID]
	stored, err := d.keepSecret(f, volumeNode(slot), v)
	if err != nil {
		return err
	}
	g.Volumes[len(g.Volumes)-1] = stored
	if err := saveGuest(f, g); err != nil {
		return err
	}
	start := time.Now()
	if running {
		err = d.plugVolume(ctx, f, g.ID, stored, slot)
	}
	if err != nil {
		d.undoVolumeAttach(ctx, f, g, volumeID, slot, running)
		return fmt.Errorf("compute/qemu: attach volume %s to %s: %w", volumeID, id, err)
	}
	d.log.Info("compute/qemu: volume attached", "guest", id, "volume", volumeID, "slot", slot, "live", running, "took", time.Since(start))
	return nil
}

// finishVolumeAttach gives a running QEMU the disk of a volume its
// definition has, if it lacks it.
func (d *Driver) finishVolumeAttach(ctx context.Context, f files, g *definition, v virt.Disk, slot int) error {
	var live bool
	err := withMonitor(ctx, f.qmp, func(m *monitor) error {
		devs, err := m.pciDevices(ctx)
		live = liveVolume(devs, v.VolumeID()) != ""
		return err
	})
	if err != nil || live {
		return err
	}
	if err := d.plugVolume(ctx, f, g.ID, v, slot); err != nil {
		return fmt.Errorf("compute/qemu: attach volume %s to %s: %w", v.VolumeID(), g.ID, err)
	}
	d.log.Info("compute/qemu: finished a volume attach that stopped half-way", "guest", g.ID, "volume", v.VolumeID(), "slot", slot)
	return nil
}

// plugVolume hot-plugs stored volume v (its secret in its secret file)
// into slot.
func (d *Driver) plugVolume(ctx context.Context, f files, id string, v virt.Disk, slot int) error {
	node := volumeNode(slot)
	nd, err := storedDisk(v, node, d.reach(id))
	if err != nil {
		return err
	}
	return withMonitor(ctx, f.qmp, func(m *monitor) error {
		if err := m.addNetworkDisk(ctx, f, node, nd, volumeDevice(v, slot)); err != nil {
			return err
		}
		return m.throttle(ctx, volumeDeviceID(v.VolumeID()), v.QoS)
	})
}

// throttle sets a disk's I/O limits (a volume's front-end QoS: Nova's
// total/read/write bytes and IOPS per second) with QMP
// block_set_io_throttle on its device, as libvirt's <iotune> does; none
// is nothing. QEMU refuses a total with a read or write limit of the
// same kind, as libvirt does.
func (m *monitor) throttle(ctx context.Context, device string, q map[string]int64) error {
	if len(q) == 0 {
		return nil
	}
	// The block backend is the virtio-blk-pci proxy's child device.
	args := map[string]any{"id": "/machine/peripheral/" + device + "/virtio-backend", "bps": q["total_bytes_sec"], "bps_rd": q["read_bytes_sec"], "bps_wr": q["write_bytes_sec"],
		"iops": q["total_iops_sec"], "iops_rd": q["read_iops_sec"], "iops_wr": q["write_iops_sec"]}
	if err := m.run(ctx, "block_set_io_throttle", args, nil); err != nil {
		return fmt.Errorf("the I/O limits of %s: %w", device, err)
	}
	return nil
}

// throttleAll sets the I/O limits of a started guest's volumes (its
// root volume and those attached), which the command line cannot set.
// A limit QEMU refuses is logged: the guest runs, unthrottled.
func (d *Driver) throttleAll(ctx context.Context, g *definition, f files) {
	disks := map[string]map[string]int64{}
	if g.Disk.Protocol != "" && len(g.Disk.QoS) > 0 {
		disks["root"] = g.Disk.QoS
	}
	for _, v := range g.Volumes {
		if len(v.QoS) > 0 {
			disks[volumeDeviceID(v.VolumeID())] = v.QoS
		}
	}
	if len(disks) == 0 {
		return
	}
	err := withMonitor(ctx, f.qmp, func(m *monitor) error {
		var errs []error
		for dev, q := range disks {
			errs = append(errs, m.throttle(ctx, dev, q))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		d.log.Warn("compute/qemu: a volume's I/O limits were not set", "guest", g.ID, "err", err)
	}
}

// undoVolumeAttach takes a failed attach's volume away again: out of
// QEMU (a disk QEMU has after all keeps the volume attached, as does a
// QEMU that does not answer), then out of guest.json, then its secret
// file. It has forceBudget of its own, whatever is left of ctx.
func (d *Driver) undoVolumeAttach(ctx context.Context, f files, g *definition, volumeID string, slot int, running bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forceBudget)
	defer cancel()
	if running {
		var live bool
		err := withMonitor(ctx, f.qmp, func(m *monitor) error {
			devs, err := m.pciDevices(ctx)
			if err != nil {
				return err
			}
			if live = liveVolume(devs, volumeID) != ""; live {
				return nil
			}
			return m.delNetworkDisk(ctx, volumeNode(slot))
		})
		if err != nil || live {
			d.log.Warn("compute/qemu: a failed attach's disk may be in QEMU: the volume stays attached", "guest", g.ID, "volume", volumeID, "live", live, "err", err)
			return
		}
	}
	d.forgetVolume(f, g, volumeID, slot)
}

// forgetVolume takes a volume out of guest.json, then removes its
// secret file (a file left behind is overwritten by the next volume in
// the slot, and goes with the guest's directory).
func (d *Driver) forgetVolume(f files, g *definition, volumeID string, slot int) error {
	g.Volumes = slices.DeleteFunc(g.Volumes, func(v virt.Disk) bool { return v.VolumeID() == volumeID })
	delete(g.VolumeSlots, volumeID)
	if err := saveGuest(f, g); err != nil {
		d.log.Warn("compute/qemu: forget a volume", "guest", g.ID, "volume", volumeID, "err", err)
		return err
	}
	if err := os.Remove(f.secret(volumeNode(slot))); err != nil && !os.IsNotExist(err) {
		d.log.Warn("compute/qemu: remove a volume's secret file", "guest", g.ID, "volume", volumeID, "err", err)
	}
	return nil
}

// DetachVolume takes volume volumeID away from guest id. While QEMU
// runs, device_del asks the guest to let the disk go (ACPI), and the
// detach waits for it until ctx's deadline (Config.ShutdownTimeout if
// it has none), asking again every 5 s; a guest that does not, or a
// paused one, which cannot, is an error that leaves the volume as it
// was. Then blockdev-del logs out of the target (closes the rbd image),
// object-del drops the secret, and the volume goes out of guest.json,
// its secret file last.
// A volume the guest does not have is nothing; a suspended guest
// refuses, and so does the root disk's volume.
func (d *Driver) DetachVolume(ctx context.Context, id, volumeID string) error {
	f, g, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	i := volumeIndex(g, volumeID)
	if i < 0 {
		if g.Disk.Protocol != "" && g.Disk.VolumeID() == volumeID {
			return fmt.Errorf("compute/qemu: detach volume %s from %s: it is the guest's root disk: %w", volumeID, id, virt.ErrNotSupported)
		}
		return nil
	}
	slot := g.VolumeSlots[volumeID]
	running, err := runs(f, id)
	if err != nil {
		return err
	}
	if !running && exists(f.state) {
		return fmt.Errorf("compute/qemu: detach volume %s from %s: %w", volumeID, id, ErrSuspended)
	}
	start := time.Now()
	if running {
		if err := d.removeVolume(ctx, f, id, volumeID, slot); err != nil {
			return fmt.Errorf("compute/qemu: detach volume %s from %s: %w", volumeID, id, err)
		}
	}
	if err := d.forgetVolume(f, g, volumeID, slot); err != nil {
		return err
	}
	d.log.Info("compute/qemu: volume detached", "guest", id, "volume", volumeID, "live", running, "took", time.Since(start))
	return nil
}

// removeVolume asks the guest to let the volume's disk go, waits until
// QEMU no longer has it (unplug), and deletes its block node (the iSCSI
// session ends, the rbd image is closed) and its secret object.
func (d *Driver) removeVolume(ctx context.Context, f files, id, volumeID string, slot int) error {
	_, qemuGone, err := d.unplug(ctx, f, id, "disk", func(devs []pciDevice) string { return liveVolume(devs, volumeID) })
	if err != nil || qemuGone {
		return err
	}
	return withMonitor(ctx, f.qmp, func(m *monitor) error { return m.delNetworkDisk(ctx, volumeNode(slot)) })
}

func volumeIndex(g *definition, volumeID string) int {
	return slices.IndexFunc(g.Volumes, func(v virt.Disk) bool { return v.VolumeID() == volumeID })
}

// volumeNode is the block node of the volume in slot: short (QEMU's
// node names have at most 31 bytes; a volume id has 36) and the
// volume's for as long as it keeps its slot.
func volumeNode(slot int) string { return fmt.Sprintf("vol%d", slot) }

// secretID is the QEMU id of the secret object of node's disk.
func secretID(node string) string { return node + "-secret" }

// volumeDeviceID is the QEMU id of a volume's disk: the volume's own,
// as a NIC's is its port's.
func volumeDeviceID(volumeID string) string { return "volume-" + volumeID }

// volumeDevice is a volume's disk in slot, for -device and device_add
// alike: virtio-blk with the volume id as its serial (the guest keeps
// 20 bytes of it), no boot index; shared (shareRW) when it is a
// multiattach volume's.
func volumeDevice(v virt.Disk, slot int) map[string]any {
	return shareRW(v, map[string]any{"driver": "virtio-blk-pci", "id": volumeDeviceID(v.VolumeID()), "drive": volumeNode(slot),
		"serial": v.VolumeID(), "addr": pciAddr(slot)})
}

// shareRW gives the device of a shareable disk (a multiattach volume's)
// share-rw=on, as libvirt does for a <shareable/> disk: QEMU then lets
// other writers (another guest's QEMU) use the image at the same time.
func shareRW(v virt.Disk, dev map[string]any) map[string]any {
	if v.Shareable {
		dev["share-rw"] = true
	}
	return dev
}

// liveVolume is the QEMU id of the volume's disk among devs, "" if QEMU
// has none.
func liveVolume(devs []pciDevice, volumeID string) string {
	for _, dev := range devs {
		if dev.QdevID == volumeDeviceID(volumeID) {
			return dev.QdevID
		}
	}
	return ""
}

// defaultInitiator is the iSCSI initiator name QEMU itself gives a
// guest with -uuid: iqn.2008-11.org.linux-kvm:<uuid>.
func defaultInitiator(id string) string { return "iqn.2008-11.org.linux-kvm:" + id }

// reach is how guest id's network disks are reached: the initiator name
// they log in with, and the ceph.conf of rbd volumes.
func (d *Driver) reach(id string) reach {
	r := reach{initiator: d.cfg.InitiatorName, cephConf: d.cfg.RBDConf}
	if r.initiator == "" {
		r.initiator = defaultInitiator(id)
	}
	return r
}

// reach is how a guest's QEMU reaches its network disks.
type reach struct {
	initiator string // iSCSI initiator name
	cephConf  string // the ceph.conf librbd reads; "" for librbd's default
}

// checkVolume refuses a volume this driver cannot attach
// (checkNetworkDisk), or, for iscsi, whose connection lacks its
// password: it is about to be stored.
func checkVolume(v virt.Disk) error {
	if err := checkNetworkDisk(v); err != nil {
		return err
	}
	if v.Protocol == virt.ProtocolISCSI {
		_, err := v.ISCSI()
		return err
	}
	return nil
}

// checkNetworkDisk refuses a network disk the command line cannot
// express: a protocol other than iscsi and rbd, a connection that does
// not read (an iscsi password may be in the guest's secret file
// instead), a format other than raw, a path beside it, no volume id or
// one that cannot name a QEMU device (letters, digits, '-', '.', '_').
func checkNetworkDisk(v virt.Disk) error {
	if v.Protocol == "" {
		return errors.New("not a network disk: a volume has a Protocol (iscsi, rbd)")
	}
	if v.Protocol != virt.ProtocolISCSI && v.Protocol != virt.ProtocolRBD {
		return fmt.Errorf("%s disk: %w", v.Protocol, virt.ErrNotSupported)
	}
	if v.Path != "" {
		return fmt.Errorf("an %s disk with a path (%s) too", v.Protocol, v.Path)
	}
	if v.Format != "" && v.Format != "raw" {
		return fmt.Errorf("an %s disk of format %q: want raw", v.Protocol, v.Format)
	}
	if _, err := storedDisk(v, "check", reach{}); err != nil {
		return err
	}
	id := v.VolumeID()
	if id == "" || strings.IndexFunc(id, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-' || r == '.' || r == '_')
	}) >= 0 {
		return fmt.Errorf("volume id %q: want letters, digits, '-', '.' or '_'", id)
	}
	return nil
}

// storedTarget reads a network disk's target as guest.json keeps it:
// with CHAP, the password is in the disk's secret file, not in
// Connection, and only whether there is one matters here (QEMU reads
// it). The result has no password.
func storedTarget(v virt.Disk) (virt.ISCSI, error) {
	if v.Connection["auth_method"] == "CHAP" && v.Connection["auth_password"] == "" {
		c := maps.Clone(v.Connection)
		c["auth_password"] = "kept-in-the-secret-file"
		v.Connection = c
	}
	t, err := v.ISCSI()
	t.Password = ""
	return t, err
}

// rbdSecrets are Config.RBDSecrets and the keyrings learnt since
// (Config.RBDKeyrings) for the uuids it does not name.
func (d *Driver) rbdSecrets() virt.RBDSecrets { return d.cfg.RBDKeyrings.With(d.cfg.RBDSecrets) }

// keepSecret writes v's secret, if it has one, to node's secret file
// and returns v as guest.json keeps it: without the password. An iscsi
// volume's secret is its CHAP password, which leaves the connection; an
// rbd volume's with cephx is the key of its user that
// Config.RBDSecrets names by its secret uuid (base64, as Ceph writes
// it), never in the connection.
func (d *Driver) keepSecret(f files, node string, v virt.Disk) (virt.Disk, error) {
	if v.Protocol == virt.ProtocolRBD {
		// A Disk made in Go may carry Cinder's optional keyring: it is
		// never kept.
		if _, ok := v.Connection["keyring"]; ok {
			v.Connection = maps.Clone(v.Connection)
			delete(v.Connection, "keyring")
		}
		r, err := v.RBD()
		if err != nil || r.User == "" {
			return v, err
		}
		key, err := d.rbdSecrets().Key(r.SecretUUID, r.User)
		if err != nil {
			return v, err
		}
		return v, writeFileAtomic(f.secret(node), []byte(key))
	}
	pw, ok := v.Connection["auth_password"]
	if !ok {
		return v, nil
	}
	if err := writeFileAtomic(f.secret(node), []byte(pw)); err != nil {
		return v, err
	}
	v.Connection = maps.Clone(v.Connection)
	delete(v.Connection, "auth_password")
	return v, nil
}

// netDisk is a stored network disk as QEMU reaches it: its block node,
// and the format of the secret it reads from its secret file ("" for
// none). It holds no secret.
type netDisk struct {
	blockdev     map[string]any
	secretFormat string // "raw" (a CHAP password), "base64" (a cephx key)
	target       fmt.Stringer
}

// storedDisk is stored network disk v as block node node: for iscsi,
// QEMU's iscsi driver (storedTarget); for rbd, its rbd driver.
func storedDisk(v virt.Disk, node string, r reach) (netDisk, error) {
	switch v.Protocol {
	case virt.ProtocolISCSI:
		t, err := storedTarget(v)
		if err != nil {
			return netDisk{}, err
		}
		nd := netDisk{blockdev: iscsiBlockdev(node, t, r.initiator), target: t}
		if t.Username != "" {
			nd.secretFormat = "raw"
		}
		return nd, nil
	case virt.ProtocolRBD:
		c, err := v.RBD()
		if err != nil {
			return netDisk{}, err
		}
		nd := netDisk{blockdev: rbdBlockdev(node, c, r.cephConf, v.Connection["discard"] == "true"), target: c}
		if c.User != "" {
			nd.secretFormat = "base64"
		}
		return nd, nil
	}
	return netDisk{}, fmt.Errorf("%s disk: %w", v.Protocol, virt.ErrNotSupported)
}

// refreshKeys writes again, before QEMU starts, the secret file of each
// rbd volume of g with cephx (its root disk, those attached) whose
// secret uuid Config.RBDSecrets has, when the keyring's key is not the
// one kept: a key rotated in the keyring reaches every guest at its next
// start, not only those attached since. A keyring that does not read
// leaves the kept key (logged).
func (d *Driver) refreshKeys(g *definition, f files) {
	disks := map[string]virt.Disk{}
	if g.Disk.Protocol == virt.ProtocolRBD {
		disks["root"] = g.Disk
	}
	for _, v := range g.Volumes {
		if v.Protocol == virt.ProtocolRBD {
			disks[volumeNode(g.VolumeSlots[v.VolumeID()])] = v
		}
	}
	for node, v := range disks {
		r, err := v.RBD()
		if err != nil || r.User == "" || !d.rbdSecrets().Has(r.SecretUUID) {
			continue
		}
		key, err := d.rbdSecrets().Key(r.SecretUUID, r.User)
		if err != nil {
			d.log.Warn("compute/qemu: a volume's keyring: the key kept is used", "guest", g.ID, "volume", v.VolumeID(), "err", err)
			continue
		}
		if kept, err := os.ReadFile(f.secret(node)); err == nil && string(kept) == key {
			continue
		}
		if err := writeFileAtomic(f.secret(node), []byte(key)); err != nil {
			d.log.Warn("compute/qemu: write a volume's key", "guest", g.ID, "volume", v.VolumeID(), "err", err)
			continue
		}
		d.log.Info("compute/qemu: a volume's key changed in its keyring: the guest starts with the new one", "guest", g.ID, "volume", v.VolumeID())
	}
}

// networkDisk is a network disk's arguments, for the command line: its
// secret object reading node's secret file (with CHAP or cephx), and
// its block node.
func networkDisk(f files, node string, nd netDisk) []string {
	var args []string
	if nd.secretFormat != "" {
		args = append(args, "-object", jsonArg(secretObject(f, node, nd.secretFormat)))
	}
	return append(args, "-blockdev", jsonArg(nd.blockdev))
}

// secretObject is node's secret, for -object and object-add alike: QEMU
// reads the password or key from the file, so it crosses no command
// line and no socket.
func secretObject(f files, node, format string) map[string]any {
	return map[string]any{"qom-type": "secret", "id": secretID(node), "file": f.secret(node), "format": format}
}

// rbdBlockdev is an rbd volume's block node, for -blockdev and
// blockdev-add alike: QEMU's rbd driver (librbd) on the image, the
// connection's monitors as its servers, with cephx the user and the key
// in node's secret object (cephx required: no fall back to none; without
// cephx, librbd's configuration decides), conf
// the ceph.conf librbd reads ("" for its default), cache none (librbd's
// cache off, as Nova's cache='none'), and discard unmap when the
// connection asks.
func rbdBlockdev(node string, c virt.RBD, conf string, discard bool) map[string]any {
	servers := make([]map[string]any, len(c.Monitors))
	for i, m := range c.Monitors {
		servers[i] = map[string]any{"host": m.Host, "port": strconv.Itoa(m.Port)}
	}
	opts := map[string]any{"driver": "rbd", "node-name": node, "pool": c.Pool, "image": c.Image, "server": servers,
		"cache": map[string]any{"direct": true, "no-flush": false}}
	if conf != "" {
		opts["conf"] = conf
	}
	if c.User != "" {
		opts["user"], opts["key-secret"], opts["auth-client-required"] = c.User, secretID(node), []string{"cephx"}
	}
	if discard {
		opts["discard"] = "unmap"
	}
	return opts
}

// iscsiBlockdev is a network disk's block node, for -blockdev and
// blockdev-add alike: QEMU's iscsi driver over TCP, logging in as
// initiator, with CHAP when t has a user.
func iscsiBlockdev(node string, t virt.ISCSI, initiator string) map[string]any {
	opts := map[string]any{"driver": "iscsi", "node-name": node, "transport": "tcp", "portal": t.Portal(),
		"target": t.IQN, "lun": t.LUN, "initiator-name": initiator, "discard": "unmap"}
	if t.Username != "" {
		opts["user"], opts["password-secret"] = t.Username, secretID(node)
	}
	return opts
}

// addNetworkDisk hot-plugs a network disk: its secret object, its block
// node (the login, the cluster's connection: a target or cluster that
// refuses fails here), then the device. What an earlier attach left of
// node is deleted first; a step QEMU refuses takes what the earlier ones
// made with it.
func (m *monitor) addNetworkDisk(ctx context.Context, f files, node string, nd netDisk, dev map[string]any) error {
	if err := m.delNetworkDisk(ctx, node); err != nil {
		return err
	}
	err := func() error {
		if nd.secretFormat != "" {
			if err := m.run(ctx, "object-add", secretObject(f, node, nd.secretFormat), nil); err != nil {
				return err
			}
		}
		if err := m.run(ctx, "blockdev-add", nd.blockdev, nil); err != nil {
			return fmt.Errorf("%s: %w", nd.target, err)
		}
		return m.run(ctx, "device_add", dev, nil)
	}()
	if err != nil && !m.broken {
		if derr := m.delNetworkDisk(ctx, node); derr != nil {
			return errors.Join(err, derr)
		}
	}
	return err
}

// delNetworkDisk deletes node's block node (logging out of its target)
// and its secret object, those QEMU has. The node of a disk just
// unplugged may be held a moment longer: it is asked again for up to a
// second.
func (m *monitor) delNetworkDisk(ctx context.Context, node string) error {
	var nodes []struct {
		NodeName string `json:"node-name"`
	}
	if err := m.run(ctx, "query-named-block-nodes", map[string]any{"flat": true}, &nodes); err != nil {
		return err
	}
	if slices.ContainsFunc(nodes, func(n struct {
		NodeName string `json:"node-name"`
	}) bool {
		return n.NodeName == node
	}) {
		for try := 0; ; try++ {
			err := m.run(ctx, "blockdev-del", map[string]any{"node-name": node}, nil)
			if qe := (*QMPError)(nil); try < 10 && errors.As(err, &qe) && strings.Contains(qe.Desc, "in use") {
				select {
				case <-ctx.Done():
					return err
				case <-time.After(100 * time.Millisecond):
				}
				continue
			}
			if err != nil {
				return err
			}
			break
		}
	}
	var objects []struct {
		Name string `json:"name"`
	}
	if err := m.run(ctx, "qom-list", map[string]any{"path": "/objects"}, &objects); err != nil {
		return err
	}
	for _, o := range objects {
		if o.Name == secretID(node) {
			return m.run(ctx, "object-del", map[string]any{"id": secretID(node)}, nil)
		}
	}
	return nil
}

// ResizeVolume tells guest id that volume volumeID (a volume attached,
// or its root volume) grew to size bytes: while QEMU runs, QMP
// block_resize of the volume's node re-reads the capacity of its iSCSI
// LUN (QEMU's iscsi driver refuses a size the LUN does not have) or
// resizes its rbd image to that size (a no-op once the volume service
// grew it), and virtio-blk tells the guest. A size below the one QEMU
// has is refused: QEMU's rbd driver would shrink the image. A guest not
// running reads the size at its next start.
func (d *Driver) ResizeVolume(ctx context.Context, id, volumeID string, size int64) error {
	f, g, unlock, err := d.open(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	node := ""
	switch {
	case g.Disk.Protocol != "" && g.Disk.VolumeID() == volumeID:
		node = "root"
	case volumeIndex(g, volumeID) >= 0:
		node = volumeNode(g.VolumeSlots[volumeID])
	default:
		return fmt.Errorf("compute/qemu: resize volume %s of %s: the guest has no such volume", volumeID, id)
	}
	running, err := runs(f, id)
	if err != nil || !running {
		return err
	}
	if err := withMonitor(ctx, f.qmp, func(m *monitor) error {
		have, err := m.nodeSize(ctx, node)
		if err != nil {
			return err
		}
		if size < have {
			return fmt.Errorf("%d bytes is less than the %d the volume has: a volume only grows", size, have)
		}
		return m.run(ctx, "block_resize", map[string]any{"node-name": node, "size": size}, nil)
	}); err != nil {
		return fmt.Errorf("compute/qemu: resize volume %s of %s: %w", volumeID, id, err)
	}
	d.log.Info("compute/qemu: volume resized", "guest", id, "volume", volumeID, "size", size)
	return nil
}

// nodeSize is the size QEMU has of block node node's image (its
// virtual-size), 0 when QEMU has no such node.
func (m *monitor) nodeSize(ctx context.Context, node string) (int64, error) {
	var nodes []struct {
		NodeName string `json:"node-name"`
		Image    struct {
			VirtualSize int64 `json:"virtual-size"`
		} `json:"image"`
	}
	if err := m.run(ctx, "query-named-block-nodes", map[string]any{"flat": true}, &nodes); err != nil {
		return 0, err
	}
	for _, n := range nodes {
		if n.NodeName == node {
			return n.Image.VirtualSize, nil
		}
	}
	return 0, nil
}
