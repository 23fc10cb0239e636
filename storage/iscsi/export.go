package iscsi

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Export is one volume to export: the target Prefix + "volume-" +
// VolumeID with Path as LUN 1, the CHAP credentials initiators log in
// with, and who may log in.
type Export struct {
	VolumeID string
	// Path is the backing store: a regular file (Files.Path) or a block
	// device, by absolute path. tgtd reads its size when the LUN is made;
	// an Export of a grown volume makes the LUN again, so initiators see
	// the new size.
	Path string
	// CHAP is the credentials; zero = new random ones (NewCHAP). An
	// Export of a volume exported with other credentials replaces them
	// (sessions already logged in stay).
	CHAP CHAP
	// Initiators and Addresses are the ACL: initiator names
	// ("iqn.1994-05.com.redhat:host1") and addresses or prefixes that may
	// log in; one match of either lets an initiator in (tgt's rule). With
	// neither, any initiator may, given the CHAP credentials, as with
	// Cinder's tgt targets.
	Initiators []string
	Addresses  []netip.Prefix
	// Only makes Initiators and Addresses the whole ACL even when both
	// are empty: then no initiator may log in (a volume attached to no
	// host, when exports are per initiator).
	Only bool
}

// Connection is an exported volume as an initiator reaches it: what
// Cinder's initialize_connection returns for an iSCSI volume.
type Connection struct {
	VolumeID string
	IQN      string
	Portal   netip.AddrPort
	LUN      int
	CHAP     CHAP
	// TID is tgtd's target id, for operators: tgtd's own, different
	// after tgtd restarts, and not part of the connection info.
	TID int
}

// Info is the connection info as Nova and os-brick take it:
// {"driver_volume_type": "iscsi", "data": {"target_iqn", "target_portal"
// ("ip:port"), "target_lun", "target_discovered" (false), "volume_id",
// "auth_method" ("CHAP"), "auth_username", "auth_password"}}. It holds
// the password.
func (c Connection) Info() map[string]any {
	return map[string]any{
		"driver_volume_type": "iscsi",
		"data": map[string]any{
			"target_discovered": false,
			"target_iqn":        c.IQN,
			"target_portal":     c.Portal.String(),
			"target_lun":        c.LUN,
			"volume_id":         c.VolumeID,
			"auth_method":       "CHAP",
			"auth_username":     c.CHAP.Username,
			"auth_password":     c.CHAP.Password,
		},
	}
}

// URL is the volume as libiscsi (and so QEMU's iscsi block driver,
// qemu-img and iscsi-inq) names it:
// iscsi://<user>%<password>@<portal>/<iqn>/<lun>. It holds the password.
func (c Connection) URL() string {
	return fmt.Sprintf("iscsi://%s%%%s@%s/%s/%d", c.CHAP.Username, c.CHAP.Password, c.Portal, c.IQN, c.LUN)
}

// String names the volume, target and portal, not the password.
func (c Connection) String() string {
	return fmt.Sprintf("%s %s/%d at %s (%s)", c.VolumeID, c.IQN, c.LUN, c.Portal, c.CHAP)
}

// GoString is String, for %#v.
func (c Connection) GoString() string { return c.String() }

// Export makes tgtd export one volume: the target, LUN 1 backed by Path,
// the CHAP account bound to it, and the ACL, adding or changing only
// what differs from x, so a second Export of the same x changes nothing.
// It starts tgtd first if none runs (Start). Target ids are taken under
// the Exporter's lock, and a target made meanwhile by anyone else (tgt's
// "this target already exists") makes it read tgtd again and take the
// next free id, so Exports at once never collide.
//
// While credentials change, the target's ACL is emptied first, so that
// the target refuses every login until the new account is bound rather
// than let one in without CHAP.
func (e *Exporter) Export(ctx context.Context, x Export) (Connection, error) {
	if err := e.check(); err != nil {
		return Connection{}, err
	}
	if err := e.checkExport(&x); err != nil {
		return Connection{}, err
	}
	unlock, err := e.lock()
	if err != nil {
		return Connection{}, err
	}
	defer unlock()
	p, err := e.begin(ctx, true)
	if err != nil {
		return Connection{}, err
	}
	c, err := p.apply(ctx, x)
	if serr := e.saveState(p.st); err == nil {
		err = serr
	}
	if err != nil {
		return Connection{}, err
	}
	return c, nil
}

// checkExport validates x and gives it credentials if it has none.
func (e *Exporter) checkExport(x *Export) error {
	if err := e.checkVolumeID(x.VolumeID); err != nil {
		return err
	}
	if !filepath.IsAbs(x.Path) || strings.ContainsAny(x.Path, ",\n") {
		return fmt.Errorf("%w: volume %s: path %q: want an absolute path without commas", ErrInvalid, x.VolumeID, x.Path)
	}
	if x.CHAP.IsZero() {
		x.CHAP = NewCHAP()
	} else if err := x.CHAP.validate(); err != nil {
		return fmt.Errorf("%w: volume %s: %v", ErrInvalid, x.VolumeID, err)
	}
	for _, n := range x.Initiators {
		if err := checkInitiator(n); err != nil {
			return fmt.Errorf("%w: volume %s: %v", ErrInvalid, x.VolumeID, err)
		}
	}
	for _, a := range x.Addresses {
		if !a.IsValid() {
			return fmt.Errorf("%w: volume %s: initiator address %q", ErrInvalid, x.VolumeID, a)
		}
	}
	return nil
}

// CheckInitiator says why n is not an initiator name an Export's ACL
// can hold (nil when it is).
func CheckInitiator(n string) error { return checkInitiator(n) }

// checkInitiator accepts an iSCSI name tgtadm can carry.
func checkInitiator(n string) error {
	if !strings.HasPrefix(n, "iqn.") && !strings.HasPrefix(n, "eui.") && !strings.HasPrefix(n, "naa.") {
		return fmt.Errorf("initiator name %q does not start with iqn., eui. or naa.", n)
	}
	if len(n) > maxIQNLen || strings.ContainsAny(n, ", \t\n") {
		return fmt.Errorf("initiator name %q: at most %d bytes, no commas or spaces", n, maxIQNLen)
	}
	return nil
}

// acl is x's ACL as tgtd shows it: "ALL" when x has none (none at all
// with Only).
func (x *Export) acl() []string {
	out := []string{}
	for _, a := range x.Addresses {
		out = append(out, addressEntry(a))
	}
	out = append(out, x.Initiators...)
	if len(out) == 0 && !x.Only {
		return []string{"ALL"}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// addressEntry is how tgt takes (and shows) an address ACL entry.
func addressEntry(a netip.Prefix) string {
	if a.IsSingleIP() {
		return a.Addr().String()
	}
	return a.Masked().String()
}

// isAddressEntry tells an address entry (or "ALL") from an initiator
// name in a shown ACL.
func isAddressEntry(s string) bool {
	if s == "ALL" {
		return true
	}
	if _, err := netip.ParsePrefix(s); err == nil {
		return true
	}
	_, err := netip.ParseAddr(strings.Trim(s, "[]"))
	return err == nil
}

// pass is one locked operation on tgtd: its targets as last read, and
// the state file.
type pass struct {
	e       *Exporter
	st      *state
	targets []*Target
}

// begin starts tgtd if start is set, reads its targets and loads the
// state file.
func (e *Exporter) begin(ctx context.Context, start bool) (*pass, error) {
	if start {
		if err := e.start(ctx); err != nil {
			return nil, err
		}
	}
	p := &pass{e: e}
	if err := p.refresh(ctx); err != nil {
		return nil, err
	}
	st, err := e.loadState(e.identity())
	if err != nil {
		return nil, err
	}
	p.st = st
	return p, nil
}

func (p *pass) refresh(ctx context.Context) error {
	ts, err := p.e.show(ctx)
	if err != nil {
		return err
	}
	p.targets = make([]*Target, len(ts))
	for i := range ts {
		p.targets[i] = &ts[i]
	}
	return nil
}

func (p *pass) find(iqn string) *Target {
	for _, t := range p.targets {
		if t.IQN == iqn {
			return t
		}
	}
	return nil
}

// boundTo returns the targets user is bound to.
func (p *pass) boundTo(user string) []*Target {
	var out []*Target
	for _, t := range p.targets {
		if slices.Contains(t.Accounts, user) || t.Outgoing == user {
			out = append(out, t)
		}
	}
	return out
}

// adm runs tgtadm for step of the operation on volume id; the error
// names the volume and the step (never a password) and carries tgtadm's
// message.
func (p *pass) adm(ctx context.Context, id, step string, args ...string) error {
	if _, err := p.e.tgtadm(ctx, args...); err != nil {
		return fmt.Errorf("iscsi: volume %s: %s: %w", id, step, err)
	}
	p.e.log().Debug("iscsi: "+step, "volume", id)
	return nil
}

// apply makes tgtd export x.
func (p *pass) apply(ctx context.Context, x Export) (Connection, error) {
	iqn := p.e.IQN(x.VolumeID)
	size, err := backingSize(x.Path)
	if err != nil {
		return Connection{}, fmt.Errorf("%w: volume %s: %v", ErrInvalid, x.VolumeID, err)
	}
	t := p.find(iqn)
	if t == nil {
		if t, err = p.newTarget(ctx, x.VolumeID, iqn); err != nil {
			return Connection{}, err
		}
	}
	if err := p.ensureLUN(ctx, x.VolumeID, t, x.Path, size); err != nil {
		return Connection{}, err
	}
	if err := p.ensureAccount(ctx, x.VolumeID, t, x.CHAP); err != nil {
		return Connection{}, err
	}
	if err := p.ensureACL(ctx, x.VolumeID, t, x.acl()); err != nil {
		return Connection{}, err
	}
	return Connection{VolumeID: x.VolumeID, IQN: iqn, Portal: p.e.Portal, LUN: LUN1, CHAP: x.CHAP, TID: t.TID}, nil
}

// maxTIDAttempts bounds how often newTarget tries again when others
// take the id it chose.
const maxTIDAttempts = 10

// newTarget makes target iqn with the next free id (the highest in use
// plus one). If tgtd says the target exists, someone made a target with
// that id or that name since tgtd was read: read it again and use the
// target of that name, or try the next id.
func (p *pass) newTarget(ctx context.Context, id, iqn string) (*Target, error) {
	for range maxTIDAttempts {
		tid := 1
		for _, t := range p.targets {
			tid = max(tid, t.TID+1)
		}
		err := p.adm(ctx, id, "new target "+strconv.Itoa(tid)+" "+iqn,
			"--mode", "target", "--op", "new", "--tid", strconv.Itoa(tid), "--targetname", iqn)
		if err == nil {
			t := &Target{TID: tid, IQN: iqn}
			p.targets = append(p.targets, t)
			p.e.log().Info("iscsi: target made", "volume", id, "tid", tid, "target", iqn)
			return t, p.tune(ctx, id, t)
		}
		if !isAdm(err, msgTargetExists) {
			return nil, err
		}
		if err := p.refresh(ctx); err != nil {
			return nil, err
		}
		if t := p.find(iqn); t != nil {
			return t, nil
		}
	}
	return nil, fmt.Errorf("iscsi: volume %s: new target: others took every target id tried %d times", id, maxTIDAttempts)
}

// maxRecvDataSegment is the largest data segment the target takes in
// one PDU (MaxRecvDataSegmentLength), what QEMU's initiator offers for
// its own. tgt's default, 8 KiB, splits every write into 8 KiB PDUs:
// 256 KiB doubles sequential write throughput (TestThroughput) and
// changes nothing for initiators that offer less (the smaller wins).
const maxRecvDataSegment = 262144

// sessionParams are a new target's session parameters (RFC 7143 §13):
// the data segment above; and unsolicited data, so a write's first
// FirstBurstLength bytes go with its command instead of waiting a round
// trip for the target's R2T (InitialR2T is Yes when either side says
// so; QEMU's initiator says No). On loopback with QEMU's initiator, 1 MiB
// sequential writes, 8 in flight, went from about 270 to 750-900 MiB/s.
var sessionParams = [][2]string{
	{"MaxRecvDataSegmentLength", strconv.Itoa(maxRecvDataSegment)},
	{"InitialR2T", "No"},
	{"FirstBurstLength", strconv.Itoa(maxRecvDataSegment)},
}

// tune sets a new target's session parameters.
func (p *pass) tune(ctx context.Context, id string, t *Target) error {
	tid := strconv.Itoa(t.TID)
	for _, kv := range sessionParams {
		if err := p.adm(ctx, id, "set "+kv[0]+" of target "+tid,
			"--mode", "target", "--op", "update", "--tid", tid, "--name", kv[0], "--value", kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// ensureLUN makes LUN 1 of t the backing store at path of size bytes:
// made if missing, made again if its path differs or its size is not the
// backing store's (a grown volume: tgtd reads the size once).
func (p *pass) ensureLUN(ctx context.Context, id string, t *Target, path string, size int64) error {
	ts := p.st.Targets[t.IQN]
	tid := strconv.Itoa(t.TID)
	if l, ok := t.lun(LUN1); ok {
		sizeOK := ts.Size == size || (ts.Size == 0 && l.SizeMB == tgtdSizeMB(size))
		if l.BackingPath == path && sizeOK {
			return nil
		}
		if err := p.adm(ctx, id, "delete LUN 1 of target "+tid,
			"--mode", "logicalunit", "--op", "delete", "--tid", tid, "--lun", "1"); err != nil {
			return err
		}
		t.LUNs = slices.DeleteFunc(t.LUNs, func(l LUN) bool { return l.Number == LUN1 })
	}
	args := []string{"--mode", "logicalunit", "--op", "new", "--tid", tid, "--lun", "1", "--backing-store", path}
	flags := ""
	if !p.e.Buffered && directOK(path) {
		flags = "direct"
		args = append(args, "--bsoflags", flags)
	}
	if err := p.adm(ctx, id, "new LUN 1 of target "+tid+" on "+path, args...); err != nil {
		return err
	}
	t.LUNs = append(t.LUNs, LUN{Number: LUN1, Type: "disk", BackingPath: path, BackingFlags: flags, SizeMB: tgtdSizeMB(size)})
	ts.Size = size
	p.st.Targets[t.IQN] = ts
	p.e.log().Info("iscsi: LUN made", "volume", id, "tid", t.TID, "path", path, "size", size, "flags", flags)
	return nil
}

// ensureAccount makes c the one incoming account of t. It trusts an
// account of c's user bound to t only if the state file says it was made
// with c's password for this tgtd; otherwise the account is made again.
func (p *pass) ensureAccount(ctx context.Context, id string, t *Target, c CHAP) error {
	ts := p.st.Targets[t.IQN]
	secret := c.digest(p.st.key())
	if len(t.Accounts) == 1 && t.Accounts[0] == c.Username && ts.User == c.Username && ts.Secret == secret {
		return nil
	}
	if err := p.clearAccounts(ctx, id, t); err != nil {
		return err
	}
	tid := strconv.Itoa(t.TID)
	if others := p.boundTo(c.Username); len(others) > 0 {
		return fmt.Errorf("%w: volume %s: CHAP user %s is bound to target %d (%s)", ErrConflict, id, c.Username, others[0].TID, others[0].IQN)
	}
	_, wasMine := p.st.Accounts[c.Username]
	p.st.Accounts[c.Username] = t.IQN
	p.st.Targets[t.IQN] = targetState{User: c.Username, Size: ts.Size}
	if err := p.e.saveState(p.st); err != nil {
		return err
	}
	newAccount := func() error {
		return p.adm(ctx, id, "new account "+c.Username,
			"--mode", "account", "--op", "new", "--user", c.Username, "--password", c.Password)
	}
	err := newAccount()
	if isAdm(err, msgAccountExists) {
		if !wasMine {
			delete(p.st.Accounts, c.Username)
			return fmt.Errorf("%w: volume %s: CHAP user %s: tgtd has an account of that name that this Exporter did not make", ErrConflict, id, c.Username)
		}
		// Left by an Export that stopped half-way.
		if err = p.deleteAccount(ctx, id, c.Username); err == nil {
			err = newAccount()
		}
	}
	if err != nil {
		return err
	}
	if err := p.adm(ctx, id, "bind account "+c.Username+" to target "+tid,
		"--mode", "account", "--op", "bind", "--tid", tid, "--user", c.Username); err != nil {
		return err
	}
	t.Accounts = []string{c.Username}
	p.st.Targets[t.IQN] = targetState{User: c.Username, Secret: secret, Size: ts.Size}
	p.e.log().Info("iscsi: CHAP account bound", "volume", id, "tid", t.TID, "user", c.Username)
	return nil
}

// clearAccounts leaves t with no account and no ACL entry: the ACL goes
// first (no entry, no login), as a target with an ACL and no account
// would let anyone in. The accounts unbound are deleted if they are this
// Exporter's, or were bound to t alone (a takeover of targets made by
// Cinder's tgt-admin).
func (p *pass) clearAccounts(ctx context.Context, id string, t *Target) error {
	for _, a := range t.ACL {
		if err := p.unbindACL(ctx, id, t, a); err != nil {
			return err
		}
	}
	tid := strconv.Itoa(t.TID)
	for _, u := range t.Accounts {
		_, mine := p.st.Accounts[u]
		if bound := p.boundTo(u); len(bound) == 1 && bound[0] == t {
			mine = true
		}
		err := p.adm(ctx, id, "unbind account "+u+" from target "+tid,
			"--mode", "account", "--op", "unbind", "--tid", tid, "--user", u)
		if err != nil && !isAdm(err, msgNoBinding) && !isAdm(err, msgNoAccount) {
			return err
		}
		if mine {
			if err := p.deleteAccount(ctx, id, u); err != nil {
				return err
			}
		}
	}
	t.Accounts = nil
	return nil
}

// deleteAccount deletes one of this Exporter's accounts; a missing one
// is no error.
func (p *pass) deleteAccount(ctx context.Context, id, user string) error {
	err := p.adm(ctx, id, "delete account "+user, "--mode", "account", "--op", "delete", "--user", user)
	if err != nil && !isAdm(err, msgNoAccount) {
		return err
	}
	delete(p.st.Accounts, user)
	return nil
}

// ensureACL makes t's ACL want: new entries first, then the old ones
// removed, so an initiator allowed before and after is never refused.
func (p *pass) ensureACL(ctx context.Context, id string, t *Target, want []string) error {
	tid := strconv.Itoa(t.TID)
	for _, a := range want {
		if slices.Contains(t.ACL, a) {
			continue
		}
		flag := "--initiator-name"
		if isAddressEntry(a) {
			flag = "--initiator-address"
		}
		err := p.adm(ctx, id, "allow "+a+" on target "+tid, "--mode", "target", "--op", "bind", "--tid", tid, flag, a)
		if err != nil && !isAdm(err, msgACLExists) {
			return err
		}
		t.ACL = append(t.ACL, a)
	}
	for _, a := range slices.Clone(t.ACL) {
		if !slices.Contains(want, a) {
			if err := p.unbindACL(ctx, id, t, a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *pass) unbindACL(ctx context.Context, id string, t *Target, a string) error {
	tid := strconv.Itoa(t.TID)
	flag := "--initiator-name"
	if isAddressEntry(a) {
		flag = "--initiator-address"
	}
	err := p.adm(ctx, id, "disallow "+a+" on target "+tid, "--mode", "target", "--op", "unbind", "--tid", tid, flag, a)
	if err != nil && !isAdm(err, msgNoACL) {
		return err
	}
	t.ACL = slices.DeleteFunc(t.ACL, func(s string) bool { return s == a })
	return nil
}

// backingSize is the size of a regular file or block device.
func backingSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("backing store: %v", err)
	}
	switch {
	case fi.Mode().IsRegular():
		return fi.Size(), nil
	case fi.Mode()&os.ModeDevice != 0 && fi.Mode()&os.ModeCharDevice == 0:
		f, err := os.Open(path)
		if err != nil {
			return 0, fmt.Errorf("backing store: %v", err)
		}
		defer f.Close()
		n, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, fmt.Errorf("backing store %s: %v", path, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("backing store %s is neither a regular file nor a block device", path)
}
