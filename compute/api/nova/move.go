package nova

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// resize is the resize action: the server goes to a host the scheduler
// chooses for the new flavor (its own only when the builder allows a
// resize to the same host), as VERIFY_RESIZE until confirmed or
// reverted.
func (a *API) resize(w http.ResponseWriter, r *http.Request, q *request, arg any) error {
	body, ok := arg.(map[string]any)
	if !ok {
		return badRequest("Invalid input for field/attribute resize. Value: %s. %s is not of type 'object'", py(arg), py(arg))
	}
	for k := range body {
		if k != "flavorRef" && k != "OS-DCF:diskConfig" {
			return badRequest("Additional properties are not allowed ('%s' was unexpected)", k)
		}
	}
	ref, ok := body["flavorRef"]
	if !ok {
		return badRequest("'flavorRef' is a required property")
	}
	switch ref.(type) {
	case string, json.Number:
	default:
		return badRequest("Invalid input for field/attribute flavorRef. Value: %s. %s is not valid under any of the given schemas", py(ref), py(ref))
	}
	if dc, ok := body["OS-DCF:diskConfig"]; ok && dc != "AUTO" && dc != "MANUAL" {
		return badRequest("Invalid input for field/attribute OS-DCF:diskConfig. Value: %s. %s is not one of ['AUTO', 'MANUAL']", pyBare(dc), py(dc))
	}
	flavorRef := idFromHref(fmt.Sprint(ref))
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:resize", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	// Nova checks the server's state before the flavor.
	if err := compute.Actions["resize"].Check(i.UUID, i.VMState, i.TaskState, i.LaunchedAt != nil); err != nil {
		return moveConflict(err, "resize", i.UUID)
	}
	// As Nova, the flavor is looked up as an admin would: a private one
	// works.
	fl, err := a.Store.Flavor(r.Context(), compute.Viewer{Admin: true}, flavorRef)
	if fault.KindOf(err) == fault.NotFound || err == nil && fl.Disabled || !plain(flavorRef) {
		return badRequest("Flavor %s could not be found.", strings.ToValidUTF8(flavorRef, "?"))
	} else if err != nil {
		return err
	}
	if fl.FlavorID == i.Flavor.ID {
		return badRequest("When resizing, instances must change flavor!")
	}
	// A server booted from a volume has no local root disk to resize
	// (Nova allows any root_gb then).
	if fl.RootGB == 0 && i.Flavor.RootGB > 0 && i.RootVolume() == nil {
		return badRequest("Server disk was unable to be resized because: Resize to zero disk flavor is not allowed.")
	}
	if fl.RootGB < i.Flavor.RootGB && i.RootVolume() == nil {
		return badRequest("Resize error: Unable to resize disk down.")
	}
	nf := compute.InstanceFlavor{ID: fl.FlavorID, Name: fl.Name, VCPUs: int(fl.VCPUs), MemoryMB: fl.MemoryMB, RootGB: fl.RootGB,
		EphemeralGB: fl.EphemeralGB, SwapMB: fl.Swap, ExtraSpecs: fl.ExtraSpecs}
	if err := a.Store.CheckResizeQuota(r.Context(), i.ProjectID, i.Flavor, nf); err != nil {
		return err
	}
	if _, _, err := a.Store.StartResize(r.Context(), q.viewer(), i.UUID, &nf, ""); err != nil {
		return moveConflict(err, "resize", i.UUID)
	}
	a.pokeBuilder()
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// migrate is the migrate action (cold migration, admins): the server
// goes to another host with its flavor, optionally the one named (2.56).
func (a *API) migrate(w http.ResponseWriter, r *http.Request, q *request, arg any) error {
	host := ""
	if arg != nil {
		body, ok := arg.(map[string]any)
		if !ok {
			return badRequest("Invalid input for field/attribute migrate. Value: %s. %s is not of type 'object', 'null'", py(arg), py(arg))
		}
		for k, v := range body {
			if k != "host" || !q.at(56) {
				return badRequest("Additional properties are not allowed ('%s' was unexpected)", k)
			}
			if v == nil {
				continue
			}
			s, ok := v.(string)
			if !ok || s == "" || len(s) > 255 {
				return badRequest("Invalid input for field/attribute host. Value: %s. %s is not valid under any of the given schemas", py(v), py(v))
			}
			host = s
		}
	}
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:os-migrate-server:migrate", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	if host != "" {
		svcs, err := a.Store.Services(r.Context(), compute.NovaCompute, host)
		if err != nil {
			return err
		}
		if len(svcs) == 0 {
			return badRequest("Compute host %s could not be found.", host)
		}
		if host == i.Host {
			return badRequest("Cannot migrate to the host where the server exists.")
		}
	}
	if _, _, err := a.Store.StartResize(r.Context(), q.viewer(), i.UUID, nil, host); err != nil {
		return moveConflict(err, "migrate", i.UUID)
	}
	a.pokeBuilder()
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// confirmResize ends a resize where it is: the source's guest and
// resources go.
func (a *API) confirmResize(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:confirm_resize", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	_, m, err := a.Store.ConfirmResize(r.Context(), q.viewer(), i.UUID)
	if err != nil {
		return moveConflict(err, "confirmResize", i.UUID)
	}
	// The source's resources go now; the builder settles them if this
	// does not.
	if err := a.Store.ConfirmMove(r.Context(), m.UUID); err != nil && fault.KindOf(err) != fault.NotFound {
		a.pokeBuilder()
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// revertResize takes a resize back: the destination's guest goes, the
// source's starts again with the old flavor.
func (a *API) revertResize(w http.ResponseWriter, r *http.Request, q *request) error {
	i, err := a.server(r, q)
	if err != nil {
		return err
	}
	if err := a.authorize(r.Context(), q, "os_compute_api:servers:revert_resize", map[string]any{"project_id": i.ProjectID}); err != nil {
		return err
	}
	if _, err := a.Store.RevertResize(r.Context(), q.viewer(), i.UUID); err != nil {
		return moveConflict(err, "revertResize", i.UUID)
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// moveConflict words a state refusal as Nova's for the action.
func moveConflict(err error, action, id string) error {
	var fe *fault.Error
	if errors.As(err, &fe) && fe.Type == "InstanceInvalidState" {
		return conflict("Cannot '%s' instance %s while it is in %s", action, id, stateOf(err))
	}
	return err
}

func (a *API) pokeBuilder() {
	if a.Builder != nil {
		a.Builder.Poke()
	}
}

// moveDiskPath is where the controller keeps instance id's moving disk
// between its source and its destination.
func (a *API) moveDiskPath(m compute.Migration) (string, error) {
	if a.StagingDir == "" {
		return "", fault.New(fault.Unavailable, "This compute API keeps no moving disks (no staging directory).")
	}
	return filepath.Join(a.StagingDir, m.UUID+".qcow2"), nil
}

// movingDisk is the staging path of the disk of the move of the request's
// instance, when the request's host is the side (source or
// destination) of a move at task.
func (a *API) movingDisk(r *http.Request, task compute.TaskState, side func(compute.Migration) string) (string, error) {
	host, id := r.PathValue("host"), r.PathValue("id")
	i, err := a.Store.Instance(r.Context(), compute.Viewer{Admin: true}, id)
	if err != nil {
		return "", err
	}
	m, err := a.Store.ActiveMigration(r.Context(), id)
	if err != nil {
		return "", err
	}
	if i.Host != host || i.TaskState != task || side(m) != host {
		return "", notFound("Instance %s is not moving on host %s.", id, host)
	}
	return a.moveDiskPath(m)
}

// moveDiskIn takes the disk of a move from its source (the instance's
// host while it is resize_migrating), written under another name and
// renamed.
func (a *API) moveDiskIn(w http.ResponseWriter, r *http.Request) error {
	path, err := a.movingDisk(r, compute.ResizeMigrating, func(m compute.Migration) string { return m.Source })
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.StagingDir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(a.StagingDir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r.Body); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// moveDiskOut gives the disk of a move to its destination (the
// instance's host while it is resize_finish).
func (a *API) moveDiskOut(w http.ResponseWriter, r *http.Request) error {
	path, err := a.movingDisk(r, compute.ResizeFinish, func(m compute.Migration) string { return m.Dest })
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return notFound("The disk of instance %s's move is not here.", r.PathValue("id"))
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", fi.ModTime(), f)
	return nil
}

// SweepStaging removes what a controller that died left in the staging
// directory: disks half received (no upload is under way when the
// daemon starts, as this directory is its own) and the disks of moves
// that ended without their drop. It returns how many files it removed.
func (a *API) SweepStaging(ctx context.Context) (int, error) {
	if a.StagingDir == "" {
		return 0, nil
	}
	entries, err := os.ReadDir(a.StagingDir)
	if os.IsNotExist(err) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		uuid, isDisk := strings.CutSuffix(name, ".qcow2")
		switch {
		case strings.HasPrefix(name, "."):
		case isDisk:
			ms, err := a.Store.Migrations(ctx, compute.MigrationFilter{UUID: uuid})
			if err != nil {
				return n, err
			}
			if len(ms) == 1 && !ms[0].Ended() {
				continue
			}
		default:
			continue
		}
		if err := os.Remove(filepath.Join(a.StagingDir, name)); err != nil && !os.IsNotExist(err) {
			return n, err
		}
		n++
	}
	return n, nil
}

// dropMoveDisk removes the kept disk of migration m once its
// destination has it (or the move ended).
func (a *API) dropMoveDisk(r *http.Request, m compute.Migration) {
	path, err := a.moveDiskPath(m)
	if err != nil {
		return
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		httpapi.Logger(r.Context()).Warn("compute: a moved disk was not removed", "file", path, "err", err)
	}
}
