package agent

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/gostack/gostack/storage"
)

// Allower is a Backend that exports each volume to some initiators only
// (ISCSI with ACL): the initiators each export lets in after the last
// Reconcile, by volume id. The agent reports them after every sync,
// and a connect waiting for its host's initiator returns.
type Allower interface {
	Allowed() map[string][]string
}

var _ Allower = (*ISCSI)(nil)

// reportAllowed reports the exports whose initiators changed since they
// were last reported (all of them after a start). A report that fails
// is sent again after the next sync.
func (a *Agent) reportAllowed(ctx context.Context) {
	al, ok := a.Backend.(Allower)
	if !ok {
		return
	}
	allowed := al.Allowed()
	if allowed == nil {
		return
	}
	if a.allowed == nil {
		a.allowed = map[string][]string{}
	}
	for id, ins := range allowed {
		if prev, ok := a.allowed[id]; ok && slices.Equal(prev, ins) {
			continue
		}
		rep := storage.ExportReport{Initiators: slices.Clone(ins)}
		if rep.Initiators == nil {
			rep.Initiators = []string{}
		}
		if err := a.Session.Do(ctx, http.MethodPut, a.hostURL("/volumes/"+url.PathEscape(id)+"/export"), rep, nil); err != nil {
			a.log().Warn("volume agent: export report failed; sent again after the next sync", "volume", id, "err", err)
			continue
		}
		a.allowed[id] = rep.Initiators
	}
	for id := range a.allowed {
		if _, ok := allowed[id]; !ok {
			delete(a.allowed, id)
		}
	}
}
