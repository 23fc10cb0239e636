package nova

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/placement"
	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
)

// The internal API of compute host agents (kit/agent's contract), on the
// compute listener under /internal/compute, for the service and admin
// roles only:
//
//	GET  /internal/compute/hosts/{host}                        compute.HostState
//	PUT  /internal/compute/hosts/{host}/service                HostReport: heartbeat, node, inventory
//	PUT  /internal/compute/hosts/{host}/instances/{id}         compute.InstanceReport: a task ended
//	PUT  /internal/compute/hosts/{host}/instances/{id}/power   {"power_state": n}: the periodic sync
//	PUT  /internal/compute/hosts/{host}/instances/{id}/console the console log's tail (text/plain)
//	PUT  /internal/compute/hosts/{host}/instances/{id}/snapshot the data of the instance's snapshot under way
//	PUT  /internal/compute/hosts/{host}/instances/{id}/migration the disk of a move, from its source
//	GET  /internal/compute/hosts/{host}/instances/{id}/migration the disk of a move, to its destination
//	GET  /internal/compute/images/{id}                         an image's data, for a host building an instance of it (HEAD: its headers, with X-Image-Location)
func (a *API) internalRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /internal/compute/hosts/{host}", a.agentOp(a.hostState))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/service", a.agentOp(a.hostReport))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}", a.agentOp(a.instanceReport))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}/power", a.agentOp(a.powerReport))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}/interfaces/{port}", a.agentOp(a.interfaceReport))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}/volumes/{volume}/connect", a.agentOp(a.volumeConnect))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}/volumes/{volume}", a.agentOp(a.volumeReport))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}/console", a.agentOp(a.consoleReport))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}/snapshot", a.agentOp(a.snapshotData))
	rt.HandleFunc("PUT /internal/compute/hosts/{host}/instances/{id}/migration", a.agentOp(a.moveDiskIn))
	rt.HandleFunc("GET /internal/compute/hosts/{host}/instances/{id}/migration", a.agentOp(a.moveDiskOut))
	rt.HandleFunc("GET /internal/compute/images/{id}", a.agentOp(a.imageData))
}

// agentOp is a route for host agents: the caller must hold the service
// or admin role.
func (a *API) agentOp(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.CallerFrom(r.Context())
		if !ok {
			fail(w, r, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
			return
		}
		if !plainPath(r) {
			fail(w, r, fault.New(fault.NotFound, "The resource could not be found."))
			return
		}
		if !c.HasRole("service") && !c.HasRole("admin") {
			fail(w, r, fault.New(fault.Forbidden, "Policy doesn't allow compute host agents' calls to be performed."))
			return
		}
		// A host is one service user's: the first to act as its agent.
		if host := r.PathValue("host"); host != "" && !c.HasRole("admin") {
			if err := a.Store.BindHostAgent(r.Context(), host, c.UserID); err != nil {
				fail(w, r, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	}
}

func (a *API) hostState(w http.ResponseWriter, r *http.Request) error {
	st, err := a.Store.HostState(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	var ids []string
	for _, i := range st.Instances {
		for _, p := range i.Ports {
			ids = append(ids, p.ID)
		}
	}
	if len(ids) > 0 && a.Networks != nil {
		if st.PortStatus, err = a.Networks.PortStatus(r.Context(), ids); err != nil {
			return err
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

// HostReport is a compute agent's periodic report: its service's
// heartbeat, its node, the inventory it offers and the allocation
// ratios of its configuration (initial and override, applied as Nova
// applies them).
type HostReport struct {
	Node        compute.ComputeNode            `json:"node"`
	Inventories map[string]placement.Inventory `json:"inventories"`
	Ratios      compute.Ratios                 `json:"ratios"`
}

func (a *API) hostReport(w http.ResponseWriter, r *http.Request) error {
	host := r.PathValue("host")
	var rep HostReport
	if err := httpapi.DecodeJSON(w, r, &rep); err != nil {
		return err
	}
	if rep.Node.Host != host {
		return badRequest("the node's host %q is not the host reporting, %q", rep.Node.Host, host)
	}
	svc, err := a.Store.ReportService(r.Context(), compute.NovaCompute, host, 66)
	if err != nil {
		return err
	}
	node, err := a.Store.ReportNode(r.Context(), rep.Node, rep.Inventories, rep.Ratios)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"service": svc, "node": node})
	return nil
}

func (a *API) instanceReport(w http.ResponseWriter, r *http.Request) error {
	host, id := r.PathValue("host"), r.PathValue("id")
	var rep compute.InstanceReport
	if err := httpapi.DecodeJSON(w, r, &rep); err != nil {
		return err
	}
	if rep.Deleted {
		// What the instance held goes before the row says deleted, so a
		// report lost half-way is sent again and finishes it.
		i, err := a.Store.Instance(r.Context(), compute.Viewer{Admin: true}, id)
		if err != nil {
			return err
		}
		if i.Host != host {
			return notFound("Instance %s could not be found.", id)
		}
		// Only the end of a delete gives back what the instance holds: a
		// stale report must not free a live instance's ports and claim.
		if i.TaskState != compute.Deleting || rep.Task != compute.Deleting {
			_, err := a.Store.ReportInstance(r.Context(), host, id, rep) // the 409 it is
			return err
		}
		if err := a.release(r, i); err != nil {
			return err
		}
	}
	// A snapshot that failed, or that the instance's delete ended, leaves
	// its queued image: it goes once the report is taken.
	var dropImage string
	if rep.Deleted || rep.Task == compute.ImageSnapshotPending && (rep.Error != "" || rep.Fault != nil) {
		img, err := a.Store.SnapshotOf(r.Context(), id)
		if err != nil {
			return err
		}
		dropImage = img
	}
	// The moved disk goes once the destination built the guest (or
	// failed), or the instance goes.
	var moved *compute.Migration
	if rep.Deleted || rep.Task == compute.ResizeFinish {
		if m, err := a.Store.ActiveMigration(r.Context(), id); err == nil {
			moved = &m
		}
	}
	// A guest built with the instance's volumes — a build (its root
	// volume), a move's destination, a revert's source — has them
	// attached: their attachments, connected by that build, are
	// completed (the volumes in-use) before the report is taken, so a
	// report lost after that is sent again and finds Cinder done (Nova's
	// _complete_volume_attachments).
	built := rep.Error == "" && rep.Fault == nil && (rep.Task == compute.Spawning && rep.VMState == compute.Active ||
		rep.Task == compute.ResizeFinish || rep.Task == compute.ResizeReverting && rep.VMState != compute.Resized)
	if built && a.Volumes != nil {
		if now, err := a.Store.Instance(r.Context(), compute.Viewer{Admin: true}, id); err == nil && now.Host == host && now.TaskState == rep.Task {
			for _, x := range now.Volumes {
				if x.AttachmentID == "" || x.Pending != "" {
					continue
				}
				if err := a.Volumes.Complete(r.Context(), x.AttachmentID); err != nil {
					return err
				}
			}
		}
	}
	i, err := a.Store.ReportInstance(r.Context(), host, id, rep)
	if err != nil {
		return err
	}
	if moved != nil {
		a.dropMoveDisk(r, *moved)
	}
	if iw, ok := a.Images.(compute.ImageWriter); ok && dropImage != "" {
		if err := iw.Delete(r.Context(), dropImage); err != nil {
			httpapi.Logger(r.Context()).Warn("compute: the image of a failed snapshot was not deleted", "image", dropImage, "err", err)
		}
	}
	if a.Builder != nil && (i.TaskState == compute.Scheduling || rep.Task == compute.ResizeMigrating || rep.Task == compute.ResizeReverting) {
		a.Builder.Poke() // a build sent back for another host, a move's next step
	}
	httpapi.WriteJSON(w, http.StatusOK, i)
	return nil
}

// interfaceReport takes an agent's report of an interface operation. A
// port that leaves the instance (detached, or its attach failed) is
// released first: a report lost after that is sent again and finds it
// released already.
func (a *API) interfaceReport(w http.ResponseWriter, r *http.Request) error {
	host, id, port := r.PathValue("host"), r.PathValue("id"), r.PathValue("port")
	var rep compute.InterfaceReport
	if err := httpapi.DecodeJSON(w, r, &rep); err != nil {
		return err
	}
	if rep.Done == (rep.Error != "") {
		return badRequest("an interface report is done or has an error, not both")
	}
	leaving, err := a.Store.CheckInterfaceReport(r.Context(), host, id, port, rep)
	if err != nil {
		return err
	}
	if leaving != nil && a.Networks != nil {
		if err := a.Networks.Release(r.Context(), id, []compute.InstancePort{*leaving}); err != nil {
			return err
		}
	}
	i, err := a.Store.ReportInterface(r.Context(), host, id, port, rep)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, i)
	return nil
}

// volumeConnect gives the host's connector to the attachment of a
// volume being attached to an instance on the host, and answers the
// connection info (secrets included: to the host's agent only), with
// "multiattach": true beside driver_volume_type and data for a
// multiattach volume, as Nova stashes it in the connection info.
func (a *API) volumeConnect(w http.ResponseWriter, r *http.Request) error {
	host, id, volume := r.PathValue("host"), r.PathValue("id"), r.PathValue("volume")
	var body struct {
		Connector map[string]any `json:"connector"`
	}
	if err := httpapi.DecodeJSON(w, r, &body); err != nil {
		return err
	}
	if len(body.Connector) == 0 {
		return badRequest("a connect needs the host's connector")
	}
	x, err := a.Store.CheckVolumeReport(r.Context(), host, id, volume, compute.VolumeReport{Op: compute.PortAttaching})
	if err != nil {
		// The volumes of an instance the host builds (the root volume of
		// a boot from volume, every volume of a move) are connected by
		// the build.
		rx, rerr := a.Store.CheckHostConnect(r.Context(), host, id, volume)
		if rerr != nil {
			return err
		}
		x = rx
	}
	if a.Volumes == nil {
		return fault.New(fault.Unavailable, "No block-storage service is configured.")
	}
	vol, err := a.Volumes.Volume(r.Context(), "", volume)
	if err != nil {
		return err
	}
	info, err := a.Volumes.Connect(r.Context(), x.AttachmentID, body.Connector)
	if err != nil {
		return err
	}
	if vol.Multiattach && info != nil {
		// Nova's DriverVolumeBlockDevice._volume_attach: the driver
		// makes a multiattach volume's disk shareable.
		info["multiattach"] = true
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"connection_info": info})
	return nil
}

// volumeReport takes an agent's report of a volume operation. Cinder
// hears first: an attach done completes the attachment, an attach
// failed or a detach done deletes it (the volume available again), so a
// report lost after that is sent again and finds Cinder done.
func (a *API) volumeReport(w http.ResponseWriter, r *http.Request) error {
	host, id, volume := r.PathValue("host"), r.PathValue("id"), r.PathValue("volume")
	var rep compute.VolumeReport
	if err := httpapi.DecodeJSON(w, r, &rep); err != nil {
		return err
	}
	if rep.Done == (rep.Error != "") {
		return badRequest("a volume report is done or has an error, not both")
	}
	x, err := a.Store.CheckVolumeReport(r.Context(), host, id, volume, rep)
	if err != nil {
		return err
	}
	if a.Volumes != nil {
		switch {
		case x.Pending == compute.PortAttaching && rep.Done:
			err = a.Volumes.Complete(r.Context(), x.AttachmentID)
		case x.Pending == compute.PortAttaching || x.Pending == compute.PortDetaching && rep.Done:
			err = a.Volumes.Release(r.Context(), x.AttachmentID)
		}
		if err != nil {
			return err
		}
	}
	i, err := a.Store.ReportVolume(r.Context(), host, id, volume, rep)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, i)
	return nil
}

// snapshotData takes the data of an instance's snapshot under way on
// the host (the body, its length when known) into the snapshot's image.
func (a *API) snapshotData(w http.ResponseWriter, r *http.Request) error {
	host, id := r.PathValue("host"), r.PathValue("id")
	img, err := a.Store.SnapshotImage(r.Context(), host, id)
	if err != nil {
		return err
	}
	iw, ok := a.Images.(compute.ImageWriter)
	if !ok {
		return fault.New(fault.Unavailable, "No image service takes snapshots.")
	}
	// Sent again after a lost answer: the image has its data already.
	if i, err := a.Store.Instance(r.Context(), compute.Viewer{Admin: true}, id); err == nil {
		if info, err := a.Images.Image(r.Context(), i.ProjectID, img); err == nil && info.Status == "active" {
			io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
	}
	if err := iw.Upload(r.Context(), img, r.Body, r.ContentLength); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) powerReport(w http.ResponseWriter, r *http.Request) error {
	var rep struct {
		PowerState compute.PowerState `json:"power_state"`
	}
	if err := httpapi.DecodeJSON(w, r, &rep); err != nil {
		return err
	}
	i, err := a.Store.SyncPowerState(r.Context(), r.PathValue("host"), r.PathValue("id"), rep.PowerState)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, i)
	return nil
}

// maxConsole is how much of a console log's tail is kept per instance.
const maxConsole = 64 << 10

func (a *API) consoleReport(w http.ResponseWriter, r *http.Request) error {
	host, id := r.PathValue("host"), r.PathValue("id")
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxConsole))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return fault.New(fault.TooLarge, "a console tail is at most %d bytes", maxConsole)
		}
		return err
	}
	if err := a.Store.SetConsole(r.Context(), host, id, b); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) imageData(w http.ResponseWriter, r *http.Request) error {
	if a.Images == nil {
		return notFound("Image %s could not be found.", r.PathValue("id"))
	}
	rc, info, err := a.Images.Open(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(info.Size, 10))
	h.Set("X-Image-Disk-Format", info.DiskFormat)
	if info.Checksum != "" {
		h.Set("Content-MD5", info.Checksum)
	}
	// The rbd:// URLs of the image's data, one header each: an agent
	// that keeps root disks on the same cluster clones the image (it
	// asks with HEAD first). Only compute agents reach this route.
	for _, l := range info.Locations {
		if strings.HasPrefix(l, "rbd://") {
			h.Add("X-Image-Location", l)
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = io.Copy(w, rc)
	if err != nil {
		httpapi.Logger(r.Context()).Warn("image data to a compute host cut", "image", info.ID, "err", err)
	}
	return nil
}
