//go:build cgo

package libvirt

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/gostack/gostack/compute/virt"
)

// AttachVolume adds volume v (a network disk: Protocol "iscsi" or
// "rbd") to a guest as Nova's libvirt driver adds a network volume.
// For iscsi, its CHAP password goes into a libvirt secret of the guest's
// (usage iscsi, private, persistent: virSecretDefineXML and SetValue),
// and a <disk type='network'> with <source protocol='iscsi'
// name='<iqn>/<lun>'>, the portal as its <host>, the initiator name,
// <auth> naming the secret by usage; for rbd, the host's ceph secret of
// the connection's secret uuid is made sure of (cephSecret), and the
// disk has <source protocol='rbd' name='pool/image'>, a <host> per
// monitor, the ceph.conf (Config.RBDConf) and <auth> naming the
// secret by uuid. The disk, with a virtio target (the first free vdX)
// and the volume id as <serial>, goes into the guest's definition and,
// when it runs or is paused, into the running guest in the same
// AttachDeviceFlags call (QEMU connects with its own initiator or
// librbd; libvirt hands it the secret encrypted, never in clear on its
// command line). A running guest's attach the target or cluster
// refuses (a wrong password or key, an unknown image) fails with
// QEMU's message, and libvirt then keeps the definition as it was; an
// iscsi secret is undefined again (a ceph secret is the host's, and
// stays).
//
// A volume whose disk the definition has is left as it is (a running
// guest that lacks it gets it). A suspended guest refuses with
// ErrPowerState, and the volume the guest boots from with
// virt.ErrNotSupported.
func (d *Driver) AttachVolume(ctx context.Context, id string, v virt.Disk) error {
	volumeID := v.VolumeID()
	n, err := checkVolume(v)
	if err != nil {
		return fmt.Errorf("compute/libvirt: attach volume %s to %s: %w", volumeID, id, err)
	}
	return d.withConn(ctx, id, func(c *libvirt.Connect, dom *libvirt.Domain, id string) error {
		g, err := readNICs(dom, id)
		if err != nil {
			return err
		}
		if g.meta.RootVolume == volumeID {
			return fmt.Errorf("compute/libvirt: attach volume %s to %s: it is the guest's root disk: %w", volumeID, id, virt.ErrNotSupported)
		}
		inConfig := volumeDisk(g.config, volumeID)
		var flags libvirt.DomainDeviceModifyFlags
		if inConfig == nil {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_CONFIG
		}
		if g.live != nil && volumeDisk(g.live, volumeID) == nil {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_LIVE
		}
		if flags == 0 {
			return nil
		}
		if err := g.refuseSuspended("attach volume %s to %s", volumeID, id); err != nil {
			return err
		}
		disk := n.xml(id, d.reach(), freeTarget(g.config, g.live), "virtio")
		if inConfig != nil {
			disk = *inConfig // an attach that stopped half-way: the disk as defined
		}
		doc, err := disk.Marshal()
		if err != nil {
			return fmt.Errorf("compute/libvirt: guest %s: volume %s: %w", id, volumeID, err)
		}
		// A new iscsi volume's secret gets the password given; one the
		// definition has keeps its own, unless it is missing. An rbd
		// volume's is the host's.
		switch {
		case n.iscsi.Username != "":
			if err := defineSecret(c, id, volumeID, n.iscsi.Password, inConfig == nil); err != nil {
				return err
			}
		case n.rbd.User != "":
			if err := d.cephSecret(c, n.rbd); err != nil {
				return fmt.Errorf("compute/libvirt: attach volume %s to %s: %w", volumeID, id, err)
			}
		}
		if err := dom.AttachDeviceFlags(doc, flags); err != nil {
			if inConfig == nil && n.iscsi.Username != "" {
				if uerr := undefineSecret(c, id, volumeID); uerr != nil {
					d.cfg.Log.Warn("compute/libvirt: undefine the secret of a failed attach", "id", id, "volume", volumeID, "err", uerr)
				}
			}
			return wrap(err, "attach volume %s to %s (%s)", volumeID, id, n)
		}
		return nil
	})
}

// DetachVolume removes volume volumeID's disk from a guest, as
// DetachInterface removes a NIC: from a running guest it asks the guest
// to let go and waits until it has (asking again every 5 s, up to ctx's
// deadline, Config.DetachTimeout when ctx has none), and only then
// removes the disk from the definition; a guest that does not let go
// keeps it in both and the call returns ErrStillAttached. libvirt logs
// QEMU out of the target as the disk goes. Last, the volume's secret is
// undefined. A guest without the volume is left as it is (a secret an
// earlier detach left is undefined); a paused guest, which cannot let
// go until it runs, and a suspended one refuse with ErrPowerState, and
// the volume the guest boots from with virt.ErrNotSupported.
func (d *Driver) DetachVolume(ctx context.Context, id, volumeID string) error {
	return d.withConn(ctx, id, func(c *libvirt.Connect, dom *libvirt.Domain, id string) error {
		g, err := readNICs(dom, id)
		if err != nil {
			return err
		}
		if volumeID != "" && g.meta.RootVolume == volumeID {
			return fmt.Errorf("compute/libvirt: detach volume %s from %s: it is the guest's root disk: %w", volumeID, id, virt.ErrNotSupported)
		}
		inConfig, inLive := volumeDisk(g.config, volumeID), volumeDisk(g.live, volumeID)
		if inConfig == nil && inLive == nil {
			return undefineSecret(c, id, volumeID)
		}
		if err := g.refuseSuspended("detach volume %s from %s", volumeID, id); err != nil {
			return err
		}
		if inLive != nil && g.state == libvirt.DOMAIN_PAUSED {
			return fmt.Errorf("%w: detach volume %s from %s, which is paused: it cannot let the disk go until it runs", ErrPowerState, volumeID, id)
		}
		if inLive != nil {
			doc, err := inLive.Marshal()
			if err != nil {
				return fmt.Errorf("compute/libvirt: guest %s: volume %s: %w", id, volumeID, err)
			}
			has := func(live *libvirtxml.Domain) bool { return volumeDisk(live, volumeID) != nil }
			if err := d.detachLive(ctx, dom, id, "volume "+volumeID+"'s disk", doc, has); err != nil {
				return err
			}
		}
		if inConfig != nil {
			doc, err := inConfig.Marshal()
			if err != nil {
				return fmt.Errorf("compute/libvirt: guest %s: volume %s: %w", id, volumeID, err)
			}
			if err := dom.DetachDeviceFlags(doc, libvirt.DOMAIN_DEVICE_MODIFY_CONFIG); err != nil {
				return wrap(err, "detach volume %s from the definition of %s", volumeID, id)
			}
		}
		return undefineSecret(c, id, volumeID)
	})
}

// rootSecret defines the secret of a guest's root disk when it is a
// volume with CHAP: before the domain is defined (replace: a new
// guest's password), or before a guest whose spawn stopped half-way is
// started (only if it is missing). An rbd root disk with cephx has the
// host's ceph secret made sure of (cephSecret).
func (d *Driver) rootSecret(c *libvirt.Connect, g virt.Guest, replace bool) error {
	if g.Disk.Protocol == "" {
		return nil
	}
	n, err := checkVolume(g.Disk)
	if err != nil {
		return fmt.Errorf("compute/libvirt: guest %s: root disk: %w", g.ID, err)
	}
	switch {
	case n.iscsi.Username != "":
		return defineSecret(c, g.ID, g.Disk.VolumeID(), n.iscsi.Password, replace)
	case n.rbd.User != "":
		if err := d.cephSecret(c, n.rbd); err != nil {
			return fmt.Errorf("compute/libvirt: guest %s: root disk: %w", g.ID, err)
		}
	}
	return nil
}

// rbdSecrets are Config.RBDSecrets and the keyrings learnt since
// (Config.RBDKeyrings) for the uuids it does not name.
func (d *Driver) rbdSecrets() virt.RBDSecrets { return d.cfg.RBDKeyrings.With(d.cfg.RBDSecrets) }

// cephSecret makes sure libvirt has the ceph secret of an rbd volume's
// secret uuid, holding its user's key. With a keyring for that uuid
// (Config.RBDSecrets) the secret holds its key: defined (usage ceph,
// private, persistent) if missing, its value set from the keyring
// otherwise, so that a keyring fixed reaches the next attach. Without
// one, the secret is the operators' (as Nova's hosts have it): used as
// it is, and one that is missing is virt.ErrNoKey. The key goes to
// libvirt only (SetValue, its bytes), never into an error. The secret
// is never undefined here: other guests of the host use it.
func (d *Driver) cephSecret(c *libvirt.Connect, r virt.RBD) error {
	s, err := c.LookupSecretByUUIDString(r.SecretUUID)
	switch {
	case err == nil:
		defer s.Free()
	case isCode(err, libvirt.ERR_NO_SECRET):
	default:
		return wrap(err, "look up ceph secret %s", r.SecretUUID)
	}
	if !d.rbdSecrets().Has(r.SecretUUID) {
		if s == nil {
			return fmt.Errorf("%w: libvirt has no secret %s and Config.RBDSecrets no keyring for it", virt.ErrNoKey, r.SecretUUID)
		}
		return nil
	}
	key, err := d.rbdSecrets().Key(r.SecretUUID, r.User)
	if err != nil {
		return err
	}
	value, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return fmt.Errorf("compute/libvirt: ceph secret %s: the key is not base64", r.SecretUUID)
	}
	if s == nil {
		doc, err := cephSecretXML(r)
		if err != nil {
			return err
		}
		if s, err = c.SecretDefineXML(doc, 0); err != nil {
			return wrap(err, "define ceph secret %s", r.SecretUUID)
		}
		defer s.Free()
	}
	if err := s.SetValue(value, 0); err != nil {
		return wrap(err, "set ceph secret %s", r.SecretUUID)
	}
	return nil
}

// defineSecret makes sure guest id's volume has its secret, with the
// password when it is new or replace is set. The password goes to
// libvirt only (SetValue), never into an error.
func defineSecret(c *libvirt.Connect, id, volumeID, password string, replace bool) error {
	s, err := c.LookupSecretByUsage(libvirt.SECRET_USAGE_TYPE_ISCSI, secretUsage(id, volumeID))
	switch {
	case err == nil:
		defer s.Free()
		if !replace {
			return nil
		}
	case isCode(err, libvirt.ERR_NO_SECRET):
		doc, err := secretXML(id, volumeID)
		if err != nil {
			return err
		}
		if s, err = c.SecretDefineXML(doc, 0); err != nil {
			return wrap(err, "define the secret of volume %s of %s", volumeID, id)
		}
		defer s.Free()
	default:
		return wrap(err, "look up the secret of volume %s of %s", volumeID, id)
	}
	if err := s.SetValue([]byte(password), 0); err != nil {
		return wrap(err, "set the secret of volume %s of %s", volumeID, id)
	}
	return nil
}

// undefineSecret removes guest id's secret of a volume; one that is not
// there is no error.
func undefineSecret(c *libvirt.Connect, id, volumeID string) error {
	s, err := c.LookupSecretByUsage(libvirt.SECRET_USAGE_TYPE_ISCSI, secretUsage(id, volumeID))
	if isCode(err, libvirt.ERR_NO_SECRET) || isCode(err, libvirt.ERR_NO_SUPPORT) {
		return nil // none, or a connection without secrets (the test driver)
	}
	if err != nil {
		return wrap(err, "look up the secret of volume %s of %s", volumeID, id)
	}
	defer s.Free()
	if err := s.Undefine(); err != nil && !isCode(err, libvirt.ERR_NO_SECRET) {
		return wrap(err, "undefine the secret of volume %s of %s", volumeID, id)
	}
	return nil
}

// undefineSecrets removes every secret of guest id's volumes (those
// whose usage starts with its prefix). A connection without secrets
// (libvirt's test driver) has none to remove.
func undefineSecrets(c *libvirt.Connect, id string) error {
	secrets, err := c.ListAllSecrets(0)
	if isCode(err, libvirt.ERR_NO_SUPPORT) {
		return nil
	}
	if err != nil {
		return wrap(err, "list secrets")
	}
	var first error
	for i := range secrets {
		s := &secrets[i]
		typ, terr := s.GetUsageType()
		usage, uerr := s.GetUsageID()
		if terr == nil && uerr == nil && typ == libvirt.SECRET_USAGE_TYPE_ISCSI && strings.HasPrefix(usage, secretPrefix(id)) {
			if err := s.Undefine(); err != nil && !isCode(err, libvirt.ERR_NO_SECRET) && first == nil {
				first = wrap(err, "undefine secret %s of %s", usage, id)
			}
		}
		s.Free()
	}
	return first
}

// ResizeVolume tells guest id that volume volumeID (attached, or its
// root volume) grew to size bytes: while the domain runs, libvirt's
// block resize of the volume's disk makes QEMU re-read its LUN's
// capacity or resize its rbd image to that size (a no-op once the
// volume service grew it), and virtio-blk tells the guest. A size below
// the disk's capacity is refused: QEMU's rbd driver would shrink the
// image. A domain not running reads the size at its next start.
func (d *Driver) ResizeVolume(ctx context.Context, id, volumeID string, size int64) error {
	return d.withConn(ctx, id, func(_ *libvirt.Connect, dom *libvirt.Domain, id string) error {
		g, err := readNICs(dom, id)
		if err != nil {
			return err
		}
		live := volumeDisk(g.live, volumeID)
		switch {
		case live == nil && volumeDisk(g.config, volumeID) != nil:
			return nil
		case live == nil || live.Target == nil:
			return fmt.Errorf("compute/libvirt: resize volume %s of %s: the guest has no such volume", volumeID, id)
		}
		info, err := dom.GetBlockInfo(live.Target.Dev, 0)
		if err != nil {
			return wrap(err, "resize volume %s of %s", volumeID, id)
		}
		if size < 0 || uint64(size) < info.Capacity {
			return fmt.Errorf("compute/libvirt: resize volume %s of %s: %d bytes is less than the %d the volume has: a volume only grows", volumeID, id, size, info.Capacity)
		}
		if err := dom.BlockResize(live.Target.Dev, uint64(size), libvirt.DOMAIN_BLOCK_RESIZE_BYTES); err != nil {
			return wrap(err, "resize volume %s of %s", volumeID, id)
		}
		d.cfg.Log.Info("compute/libvirt: volume resized", "guest", id, "volume", volumeID, "size", size)
		return nil
	})
}
