package metadata

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strconv"

	"github.com/gostack/gostack/compute"
	"github.com/gostack/gostack/compute/metadata"
	"github.com/gostack/gostack/kit/fault"
)

// API is Nova's metadata API over Store, for proxies that hold Secret.
type API struct {
	Store *compute.Store
	// Secret is the key proxies sign instance ids with; it must not be
	// empty (an empty key would let anyone who can reach the API read
	// every instance's user data).
	Secret string
	Log    *slog.Logger
}

// Sign is the signature a proxy sends in X-Instance-ID-Signature for
// instance id: the hex HMAC-SHA256 of id under secret.
func Sign(secret, id string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

// Handler serves the API.
func (a *API) Handler() http.Handler { return http.HandlerFunc(a.serve) }

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plainError(w, http.StatusMethodNotAllowed, "The server could not comply with the request since it is either malformed or otherwise incorrect.")
		return
	}
	if path.Clean("/"+r.URL.Path) == "/" {
		var in metadata.Instance
		d, _ := in.Lookup("/")
		write(w, d)
		return
	}
	in, status, msg := a.instance(r)
	if status != 0 {
		plainError(w, status, msg)
		return
	}
	d, err := in.Lookup(r.URL.Path)
	if errors.Is(err, metadata.ErrNotFound) {
		plainError(w, http.StatusNotFound, "")
		return
	} else if err != nil {
		a.log().Error("metadata: a document", "path", r.URL.Path, "err", err)
		plainError(w, http.StatusInternalServerError, "An unknown error has occurred. Please try your request again.")
		return
	}
	write(w, d)
}

// instance checks the proxy's headers and reads the instance they name,
// or says which status to answer.
func (a *API) instance(r *http.Request) (metadata.Instance, int, string) {
	h := r.Header
	id, tenant, sig := h.Values("X-Instance-ID"), h.Values("X-Tenant-ID"), h.Get("X-Instance-ID-Signature")
	switch {
	case len(id) == 0:
		return metadata.Instance{}, http.StatusBadRequest, "X-Instance-ID header is missing from request."
	case sig == "":
		return metadata.Instance{}, http.StatusBadRequest, "X-Instance-ID-Signature header is missing from request."
	case len(tenant) == 0:
		return metadata.Instance{}, http.StatusBadRequest, "X-Tenant-ID header is missing from request."
	case len(id) > 1:
		return metadata.Instance{}, http.StatusBadRequest, "Multiple X-Instance-ID headers found within request."
	case len(tenant) > 1:
		return metadata.Instance{}, http.StatusBadRequest, "Multiple X-Tenant-ID headers found within request."
	}
	from := h.Get("X-Forwarded-For")
	if a.Secret == "" || !hmac.Equal([]byte(Sign(a.Secret, id[0])), []byte(sig)) {
		// Neither the signature sent nor the one expected is logged.
		a.log().Warn("metadata: a request's signature does not match its instance id", "instance", id[0], "from", from)
		return metadata.Instance{}, http.StatusForbidden, "Invalid proxy request signature."
	}
	i, err := a.Store.Instance(r.Context(), compute.Viewer{Admin: true}, id[0])
	if fault.KindOf(err) == fault.NotFound {
		a.log().Error("metadata: no such instance", "instance", id[0], "from", from)
		return metadata.Instance{}, http.StatusNotFound, ""
	} else if err != nil {
		a.log().Error("metadata: read an instance", "instance", id[0], "err", err)
		return metadata.Instance{}, http.StatusInternalServerError, "An unknown error has occurred. Please try your request again."
	}
	if i.ProjectID != tenant[0] {
		a.log().Warn("metadata: the proxy's tenant is not the instance's", "instance", id[0], "tenant", tenant[0])
		return metadata.Instance{}, http.StatusNotFound, ""
	}
	in, err := i.GuestMetadata()
	if err != nil {
		a.log().Error("metadata: an instance's metadata", "instance", id[0], "err", err)
		return metadata.Instance{}, http.StatusInternalServerError, "An unknown error has occurred. Please try your request again."
	}
	if len(in.FixedIPs) == 0 && from != "" {
		in.FixedIPs = []string{from} // Nova's local-ipv4 falls back to the request's address
	}
	return in, 0, ""
}

func write(w http.ResponseWriter, d metadata.Doc) {
	w.Header().Set("Content-Type", d.ContentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(d.Body)))
	w.Write(d.Body)
}

// plainError writes webob's text/plain error page: the status line, the
// explanation (the status's own when msg is empty), and webob's
// trailing blanks.
func plainError(w http.ResponseWriter, status int, msg string) {
	if msg == "" {
		msg = defaultExplanation[status]
	}
	w.Header().Set("Content-Type", metadata.TextPlain)
	w.WriteHeader(status)
	fmt.Fprintf(w, "%d %s\n\n%s\n\n   ", status, http.StatusText(status), msg)
}

var defaultExplanation = map[int]string{
	http.StatusNotFound: "The resource could not be found.",
}

func (a *API) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}
