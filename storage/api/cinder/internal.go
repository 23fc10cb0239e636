package cinder

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/httpapi"
	"github.com/gostack/gostack/storage"
)

// The internal API of volume agents (storage/agent's contract), on the
// volume listener under /internal/volume, for the service and admin
// roles only; {host} is a Cinder host (host@backend#pool, path-escaped):
//
//	GET /internal/volume/hosts/{host}                 storage.BackendState: the volumes and snapshots on it, the feed revision
//	PUT /internal/volume/hosts/{host}/backend         storage.BackendReport: the pool's capacity, its heartbeat
//	PUT /internal/volume/hosts/{host}/volumes/{id}    storage.VolumeReport: a create, extend or delete ended
//	PUT /internal/volume/hosts/{host}/volumes/{id}/export  storage.ExportReport: the initiators the volume's export lets in
//	PUT /internal/volume/hosts/{host}/snapshots/{id}  storage.SnapshotReport: a snapshot's create or delete ended
//	PUT /internal/volume/hosts/{host}/backups/{id}    storage.BackupReport: a backup's create, restore or delete ended
//	GET /internal/volume/hosts/{host}/images/{id}     an image's data, for a volume on host being made from it
//	                                                  (HEAD: its headers only, X-Image-Location naming the
//	                                                  rbd:// URLs of its data, which an RBD backend clones)
//	PUT /internal/volume/hosts/{host}/images/{id}/file  the data of the image a volume on host is uploading to
func (a *API) internalRoutes(rt *httpapi.Router) {
	rt.HandleFunc("GET /internal/volume/hosts/{host}", a.agentOp(a.backendState))
	rt.HandleFunc("PUT /internal/volume/hosts/{host}/backend", a.agentOp(a.backendReport))
	rt.HandleFunc("PUT /internal/volume/hosts/{host}/volumes/{id}", a.agentOp(a.volumeReport))
	rt.HandleFunc("PUT /internal/volume/hosts/{host}/volumes/{id}/export", a.agentOp(a.exportReport))
	rt.HandleFunc("PUT /internal/volume/hosts/{host}/snapshots/{id}", a.agentOp(a.snapshotReport))
	rt.HandleFunc("PUT /internal/volume/hosts/{host}/backups/{id}", a.agentOp(a.backupReport))
	rt.HandleFunc("GET /internal/volume/hosts/{host}/images/{id}", a.agentOp(a.imageData))
	rt.HandleFunc("PUT /internal/volume/hosts/{host}/images/{id}/file", a.agentOp(a.imageUpload))
}

// hostImage finds the volume on host that image id is for: one being
// made from it (creating, when upload is false) or uploading to it. An
// agent reads and writes only the images of its own volumes' work.
func (a *API) hostImage(r *http.Request, upload bool) (storage.Volume, error) {
	host, id := r.PathValue("host"), r.PathValue("id")
	st, err := a.Store.BackendState(r.Context(), host)
	if err != nil {
		return storage.Volume{}, err
	}
	for _, v := range st.Volumes {
		if !upload && v.Status == storage.VolumeCreating && v.ImageID == id ||
			upload && v.Status == storage.VolumeUploading && v.Upload != nil && v.Upload.ImageID == id {
			return v, nil
		}
	}
	return storage.Volume{}, notFound("No volume on %s is being made from or uploaded to image %s.", host, id)
}

// imageData streams an image's data to the agent making a volume of it,
// with its disk format, checksum (Content-MD5) and the rbd:// URLs of
// its data (X-Image-Location, one each: an agent of an RBD backend on
// the same cluster clones the image instead, so it asks with HEAD
// first). Only volume agents reach this route: the URLs are never shown
// to a project.
func (a *API) imageData(w http.ResponseWriter, r *http.Request) error {
	if a.Images == nil {
		return notFound("Image %s could not be found.", r.PathValue("id"))
	}
	if _, err := a.hostImage(r, false); err != nil {
		return err
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
	for _, l := range info.Locations {
		if strings.HasPrefix(l, "rbd://") {
			h.Add("X-Image-Location", l)
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.Copy(w, rc); err != nil {
		httpapi.Logger(r.Context()).Warn("image data to a volume host cut", "image", info.ID, "err", err)
	}
	return nil
}

// imageUpload hands the data of a volume's upload to the image service,
// which inspects it as any upload (204).
func (a *API) imageUpload(w http.ResponseWriter, r *http.Request) error {
	if a.Images == nil {
		return notFound("Image %s could not be found.", r.PathValue("id"))
	}
	v, err := a.hostImage(r, true)
	if err != nil {
		return err
	}
	// An upload done before its agent could report (killed, or its
	// report lost) is done: the image is not written again.
	if img, err := a.Images.Image(r.Context(), v.ProjectID, r.PathValue("id")); err == nil && img.Status == "active" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if r.ContentLength < 0 {
		return badRequest("An upload needs its length (Content-Length).")
	}
	if err := a.Images.Upload(r.Context(), r.PathValue("id"), r.Body, r.ContentLength); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// agentOp is a route for volume agents: the caller must hold the
// service or admin role, and a service user acts only for the machines
// it was the first to act for (the host before '@': Store.BindHostAgent).
func (a *API) agentOp(h func(w http.ResponseWriter, r *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, ok := middleware.CallerFrom(r.Context())
		if !ok {
			fail(w, r, fault.New(fault.Unauthorized, "The request you have made requires authentication."))
			return
		}
		if !plainPath(r) {
			fail(w, r, notFound("The resource could not be found."))
			return
		}
		if !c.HasRole("service") && !c.HasRole("admin") {
			fail(w, r, fault.New(fault.Forbidden, "Policy doesn't allow volume agents' calls to be performed."))
			return
		}
		if !c.HasRole("admin") {
			machine, _, _ := strings.Cut(r.PathValue("host"), "@")
			if err := a.Store.BindHostAgent(r.Context(), machine, c.UserID); err != nil {
				fail(w, r, err)
				return
			}
		}
		if err := h(w, r); err != nil {
			fail(w, r, err)
		}
	}
}

func (a *API) backendState(w http.ResponseWriter, r *http.Request) error {
	st, err := a.Store.BackendState(r.Context(), r.PathValue("host"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

func (a *API) backendReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := decodeReport[storage.BackendReport](w, r)
	if err != nil {
		return err
	}
	b, err := a.Store.ReportBackend(r.Context(), r.PathValue("host"), *rep)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

func (a *API) volumeReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := decodeReport[storage.VolumeReport](w, r)
	if err != nil {
		return err
	}
	var upload *storage.VolumeUpload
	var project string
	if rep.Status == storage.VolumeUploading && rep.Error != "" {
		if v, err := a.Store.Volume(r.Context(), storage.Viewer{Admin: true}, r.PathValue("id")); err == nil {
			upload, project = v.Upload, v.ProjectID
		}
	}
	v, err := a.Store.ReportVolume(r.Context(), r.PathValue("host"), r.PathValue("id"), *rep)
	if err != nil {
		return err
	}
	// A failed upload's image goes, as Cinder's _delete_image deletes it:
	// only while it is queued or saving (never one that became active).
	if upload != nil && upload.ImageID == rep.ImageID && a.Images != nil {
		img, err := a.Images.Image(r.Context(), project, upload.ImageID)
		if err != nil || img.Status != "queued" && img.Status != "saving" {
			upload = nil
		}
	}
	if upload != nil && upload.ImageID == rep.ImageID && a.Images != nil {
		if err := a.Images.Delete(r.Context(), upload.ImageID); err != nil {
			httpapi.Logger(r.Context()).Warn("the image of a failed upload is left", "image", upload.ImageID, "err", err)
		}
	}
	// The agent made the export's secret; it is not sent back, nor the
	// connection info that holds it.
	v.ProviderAuth = ""
	for i := range v.Attachments {
		v.Attachments[i].ConnectionInfo = nil
	}
	httpapi.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) exportReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := decodeReport[storage.ExportReport](w, r)
	if err != nil {
		return err
	}
	if err := a.Store.ReportExport(r.Context(), r.PathValue("host"), r.PathValue("id"), rep.Initiators); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) snapshotReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := decodeReport[storage.SnapshotReport](w, r)
	if err != nil {
		return err
	}
	n, err := a.Store.ReportSnapshot(r.Context(), r.PathValue("host"), r.PathValue("id"), *rep)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, n)
	return nil
}

func (a *API) backupReport(w http.ResponseWriter, r *http.Request) error {
	rep, err := decodeReport[storage.BackupReport](w, r)
	if err != nil {
		return err
	}
	b, err := a.Store.ReportBackup(r.Context(), r.PathValue("host"), r.PathValue("id"), *rep)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, b)
	return nil
}

// decodeReport reads an agent's report, a JSON object with no unknown
// keys. A null body is refused: encoding/json leaves the report empty
// for it, which the Store would take as a report of nothing (a backend's
// figures and names wiped).
func decodeReport[T any](w http.ResponseWriter, r *http.Request) (*T, error) {
	var rep *T
	if err := httpapi.DecodeJSON(w, r, &rep, httpapi.Strict()); err != nil {
		return nil, err
	}
	if rep == nil {
		return nil, badRequest("The report must be a JSON object, not null.")
	}
	return rep, nil
}
