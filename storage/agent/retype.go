package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/kit/crashpoint"
	"github.com/gostack/gostack/storage"
)

// Retyper is a Backend whose volumes change with their type on the same
// pool (Cinder's driver retype): RBD takes an image's multiattach
// features off or puts them back. A Backend without it retypes in place
// with nothing to do (an iSCSI target does not depend on the type).
type Retyper interface {
	// Retype makes volume v ready for its new type: multiattach or not
	// (v.Multiattach is still the old type's).
	Retype(ctx context.Context, v storage.Volume, multiattach bool) error
}

// Claimer is a Backend that makes a migration's destination copy as
// that migration's own (storage.VolumeRetype.Claim, a nonce marked on
// the copy), so that an agent never takes, nor removes, a volume of the
// same name it did not make: two pools on one storage (two RBD pools on
// one Ceph pool, iSCSI pools sharing a directory) see each other's
// volumes, the volume being migrated among them. A backend without it
// is never a migration's destination.
type Claimer interface {
	// CreateClaimed makes v's copy, empty, marked with claim, and
	// exports it. A copy of v's id already there is no error when marked
	// with claim (the same create, interrupted); another is refused for
	// good (a Permanent error) and left as it is.
	CreateClaimed(ctx context.Context, v storage.Volume, claim string) (Export, error)
	// Claimed says whether volume id's copy here is marked with claim
	// (false when there is none).
	Claimed(ctx context.Context, id, claim string) (bool, error)
}

// Filler is a Backend that writes a raw file's content into one of its
// volumes (made already, at least as large): what a migration's
// destination does when it reads the data itself (storage.VolumeRetype
// .Copier says "destination": an RBD pool reading an iSCSI volume).
type Filler interface {
	Fill(ctx context.Context, v storage.Volume, path string) error
}

// retype does this pool's part of v's retype (v.Retype) and says
// whether v is another pool's volume, which the sync then leaves alone
// (export, when not nil, is this pool's copy of it, to keep exported).
//
//   - the volume's pool: in place, the backend's Retype (Retyper);
//     the copy, when the source writes (Backend.Content written into
//     the destination's iSCSI export by qemu-img);
//   - a migration's destination: create its copy (empty, ready for the
//     new type's multiattach, marked with the retype's claim: Claimer;
//     a volume of that name already there and not so marked fails the
//     migration, left alone), the copy when it reads (qemu-img from
//     the source's iSCSI export into a raw file, then Filler), and
//     after a failure the removal of its copy, only if it is marked
//     with the claim (what this migration made);
//   - the old pool once the volume moved: the removal of its copy.
//
// Every step is idempotent (the copy is made again whole), so an agent
// killed at any point converges; crash points volume.agent.retyped,
// volume.agent.migrate-created, volume.agent.migrate-copied,
// volume.agent.migrate-cleaned (the work done, not reported).
func (a *Agent) retype(ctx context.Context, v storage.Volume, stats *SyncStats) (other bool, export *storage.Volume) {
	rt := v.Retype
	mine := v.Host == a.Config.Host
	j := job{volume: &v, retype: rt.Phase}
	report := func(err error, rep storage.VolumeReport) {
		rep.Status, rep.Retype = storage.VolumeRetyping, rt.Phase
		a.done(ctx, j, rep, err, stats)
	}
	// The destination's copy, as this pool's agent keeps it.
	dest := v
	dest.Host, dest.ProviderLocation, dest.ProviderAuth = a.Config.Host, rt.DestLocation, rt.DestAuth
	dest.Multiattach, dest.Attachments, dest.Retype = rt.Multiattach, nil, nil
	switch {
	case mine && rt.Phase == storage.RetypeInPlace:
		var err error
		if r, ok := a.Backend.(Retyper); ok {
			err = r.Retype(ctx, v, rt.Multiattach)
		}
		if err == nil {
			crashpoint.Hit("volume.agent.retyped")
		}
		report(err, storage.VolumeReport{})
		return false, nil
	case mine && rt.Phase == storage.RetypeCopy && rt.Copier(v.ProviderLocation) == "source":
		err := a.push(ctx, v)
		if err == nil {
			crashpoint.Hit("volume.agent.migrate-copied")
		}
		report(err, storage.VolumeReport{})
		return false, nil
	case mine:
		return false, nil
	case rt.Phase == storage.RetypeCreate && rt.DestHost == a.Config.Host:
		exp, err := a.createClaimed(ctx, dest, rt.Claim)
		if err != nil {
			report(err, storage.VolumeReport{})
			return true, nil
		}
		crashpoint.Hit("volume.agent.migrate-created")
		dest.ProviderLocation, dest.ProviderAuth = exp.Location, exp.Auth
		report(nil, storage.VolumeReport{ProviderLocation: exp.Location, ProviderAuth: exp.Auth})
		return true, &dest
	case rt.Phase == storage.RetypeCopy && rt.DestHost == a.Config.Host:
		if rt.Copier(v.ProviderLocation) == "destination" {
			err := a.pull(ctx, v, dest)
			if err == nil {
				crashpoint.Hit("volume.agent.migrate-copied")
			}
			report(err, storage.VolumeReport{})
		}
		return true, &dest
	case rt.Phase == storage.RetypeAbort && rt.DestHost == a.Config.Host:
		err := a.abortCopy(ctx, v.ID, rt.Claim)
		if err == nil {
			crashpoint.Hit("volume.agent.migrate-cleaned")
		}
		report(err, storage.VolumeReport{})
		return true, nil
	case rt.Phase == storage.RetypeCleanup && rt.SourceHost == a.Config.Host:
		err := a.Backend.Delete(ctx, v.ID)
		if err == nil {
			crashpoint.Hit("volume.agent.migrate-cleaned")
		}
		report(err, storage.VolumeReport{})
		return true, nil
	}
	return true, nil
}

// createClaimed makes v's copy as a migration's destination, marked
// with claim (Claimer).
func (a *Agent) createClaimed(ctx context.Context, v storage.Volume, claim string) (Export, error) {
	c, ok := a.Backend.(Claimer)
	if !ok {
		return Export{}, permanentError{errors.New("this backend cannot take a migrating volume: it cannot tell its own copy from another of the same name")}
	}
	if claim == "" {
		return Export{}, permanentError{errors.New("the migration has no claim to mark its copy with")}
	}
	return c.CreateClaimed(ctx, v, claim)
}

// abortCopy removes a failed migration's copy of volume id here, if it
// is marked with the migration's claim: a volume of that name that this
// migration did not make (another pool's on the same storage: perhaps
// the very volume migrating) is left, and logged.
func (a *Agent) abortCopy(ctx context.Context, id, claim string) error {
	c, ok := a.Backend.(Claimer)
	if !ok {
		return nil // it made no copy: createClaimed refused
	}
	mine, err := c.Claimed(ctx, id, claim)
	if err != nil {
		return err
	}
	if !mine {
		a.log().Info("volume agent: a failed migration's destination holds no copy of its own; any volume of that name here is left alone",
			"volume", id, "host", a.Config.Host)
		return nil
	}
	return a.Backend.Delete(ctx, id)
}

// PoolCopier is a Backend that copies a migrating volume into another
// pool of the same storage, where no export is needed between them:
// RBD into another pool of its Ceph cluster (the controller sends such
// a migration only between pools whose location_info names one
// cluster), through librbd with the source's client.
type PoolCopier interface {
	// CopyToPool writes v's data into its migration's destination copy
	// (v.Retype.DestLocation), which must be marked with v.Retype.Claim.
	CopyToPool(ctx context.Context, v storage.Volume) error
}

// push writes volume v's content into its migration's destination: an
// iSCSI export, or another RBD pool of the source's cluster
// (PoolCopier).
func (a *Agent) push(ctx context.Context, v storage.Volume) error {
	if storage.IsRBDLocation(v.Retype.DestLocation) {
		if c, ok := a.Backend.(PoolCopier); ok && storage.IsRBDLocation(v.ProviderLocation) {
			return c.CopyToPool(ctx, v)
		}
		return permanentError{errors.New("a migration into an RBD pool is read by its destination, from an iSCSI export; this pool cannot write into it")}
	}
	dst, err := iscsiNode(v.Retype.DestLocation, v.Retype.DestAuth)
	if err != nil {
		return permanentError{err}
	}
	path, release, err := a.Backend.Content(ctx, v)
	if err != nil {
		return err
	}
	defer release()
	return a.qemuImg(ctx, qemuNode{file: path}, dst)
}

// pull reads volume v's content from its iSCSI export into this pool's
// copy (dest), through a raw file in ImageDir.
func (a *Agent) pull(ctx context.Context, v, dest storage.Volume) error {
	f, ok := a.Backend.(Filler)
	if !ok {
		return permanentError{errors.New("this backend cannot read a migrating volume's data")}
	}
	if a.Config.ImageDir == "" {
		return permanentError{errors.New("this volume agent has no image directory to copy a migrating volume through")}
	}
	src, err := iscsiNode(v.ProviderLocation, v.ProviderAuth)
	if err != nil {
		return permanentError{err}
	}
	if err := os.MkdirAll(a.Config.ImageDir, 0o700); err != nil {
		return err
	}
	// A .raw name: what a kill leaves is removed when the agent starts.
	tmp := filepath.Join(a.Config.ImageDir, v.ID+".migration.raw")
	os.Remove(tmp)
	defer os.Remove(tmp)
	if err := a.qemuImg(ctx, src, qemuNode{file: tmp}); err != nil {
		return err
	}
	return f.Fill(ctx, dest, tmp)
}

// qemuNode is one side of a qemu-img copy: a raw file, or the options
// of an iSCSI LUN's block node (QEMU's iscsi driver) with the CHAP
// password it logs in with through the secret object qemuSecretID.
type qemuNode struct {
	file     string
	opts     string
	password string
}

// qemuSecretID is the id of the secret object holding a copy's CHAP
// password.
const qemuSecretID = "sec0"

// qemuImg copies raw data from src to dst (a file, or an iSCSI LUN of
// the destination's copy: -n, its zeros skipped), as Cinder's
// copy_volume does with dd. A CHAP password is never in qemu-img's
// arguments (anyone on the host reads those in /proc/<pid>/cmdline),
// nor in any file: qemu-img reads it from a pipe it inherits as fd 3,
// named by a secret object (file=/dev/fd/3), written whole before it
// starts (a password is far below a pipe's buffer) and gone with the
// pipe, so a killed agent leaves no password behind; nor is it in the
// error.
func (a *Agent) qemuImg(ctx context.Context, src, dst qemuNode) error {
	bin := a.Config.QemuImg
	if bin == "" {
		bin = "qemu-img"
	}
	secret := src.password + dst.password // one side at most is iSCSI
	var extra []*os.File
	var secretFile string
	if secret != "" {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = w.WriteString(secret)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		extra = []*os.File{r}
		secretFile = "/dev/fd/3" // ExtraFiles[0] is the child's fd 3
	}
	cmd := exec.CommandContext(ctx, bin, qemuImgArgs(src, dst, secretFile)...)
	cmd.ExtraFiles = extra
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "***")
		}
		return fmt.Errorf("qemu-img convert: %w: %s", err, msg)
	}
	return nil
}

// qemuImgArgs is qemu-img convert's arguments from src to dst, the
// password-secret of an iSCSI side read from secretFile.
func qemuImgArgs(src, dst qemuNode, secretFile string) []string {
	args := []string{"convert"}
	if secretFile != "" {
		args = append(args, "--object", "secret,id="+qemuSecretID+",file="+qemuOptValue(secretFile))
	}
	if dst.opts != "" {
		// The destination's copy was made empty, and a copy cut short
		// wrote only the same data: its zeros need not be written.
		args = append(args, "-n", "--target-is-zero", "--target-image-opts")
	} else {
		args = append(args, "-O", "raw")
	}
	if src.opts != "" {
		args = append(args, "--image-opts", src.opts)
	} else {
		args = append(args, "-f", "raw", src.file)
	}
	if dst.opts != "" {
		return append(args, dst.opts)
	}
	return append(args, dst.file)
}

// qemuOptValue is s as a value in QEMU's key=value,... options (a comma
// doubled).
func qemuOptValue(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// iscsiNode is an export's LUN (its first portal) as QEMU's iscsi
// driver's block node options, logging in with its CHAP user and the
// password in the secret object qemuSecretID.
func iscsiNode(location, auth string) (qemuNode, error) {
	x, err := storage.ParseISCSIExport(location, auth)
	if err != nil {
		return qemuNode{}, err
	}
	if len(x.Portals) == 0 || x.IQN == "" {
		return qemuNode{}, fmt.Errorf("export %q is not an iSCSI one", location)
	}
	opts := fmt.Sprintf("driver=iscsi,transport=tcp,portal=%s,target=%s,lun=%d", qemuOptValue(x.Portals[0]), qemuOptValue(x.IQN), x.LUN)
	n := qemuNode{opts: opts}
	if x.AuthMethod != "" {
		n.opts += ",user=" + qemuOptValue(x.AuthUsername) + ",password-secret=" + qemuSecretID
		n.password = x.AuthPassword
	}
	return n, nil
}
