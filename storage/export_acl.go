package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
)

// CapInitiatorACL is the capability (BackendReport.Capabilities) of a
// backend whose exports let in only the initiators of their volumes'
// connected attachments, as Cinder's LIO target with its per-initiator
// ACLs: a connect then waits for the backend's agent to let its host in
// (ReportExport) before it answers the connection info.
const CapInitiatorACL = "initiator_acl"

// DefaultExportWait bounds a connect's wait for its initiator to be let
// in (Store.ExportWait).
const DefaultExportWait = 30 * time.Second

// maxInitiator is the longest initiator name taken (RFC 3720's 223
// bytes).
const maxInitiator = 223

// ExportReport is what a volume agent says of an export it applied:
// the initiators it lets in.
type ExportReport struct {
	Initiators []string `json:"initiators"`
}

// ReportExport records, for host's agent, the initiators volume id's
// export lets in now that the agent applied them (a volume of host's
// backend, which reports CapInitiatorACL; sent again after a restart,
// it changes nothing).
func (s *Store) ReportExport(ctx context.Context, host, id string, initiators []string) error {
	if err := checkHost(host); err != nil {
		return err
	}
	if err := checkText("id", id, maxText); err != nil {
		return err
	}
	for _, n := range initiators {
		if n == "" || len(n) > maxInitiator || containsNUL(n) {
			return fault.Invalid("initiators", "Invalid input received: initiator %q is not an iSCSI name.", n)
		}
	}
	list := append([]string{}, slices.Sorted(slices.Values(initiators))...)
	js, err := json.Marshal(slices.Compact(list))
	if err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		vol, err := volumeByID(ctx, tx, id)
		if err != nil {
			return err
		}
		if vol == nil || vol.Host == "" || !hostMatches(vol.Host, host) {
			return volumeNotFound(id)
		}
		b, err := backendIn(ctx, tx, vol.Host)
		if err != nil {
			return err
		}
		if b == nil || b.Report.Capabilities[CapInitiatorACL] != true {
			return fault.Invalid("initiators", "Invalid input received: backend %s does not export per initiator (it reports no %s).", vol.Host, CapInitiatorACL)
		}
		if _, err := tx.Exec(ctx, "DELETE FROM storage_volume_exports WHERE volume_id = ?", id); err != nil {
			return fmt.Errorf("storage: export of volume %s: %w", id, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO storage_volume_exports (volume_id, initiators, updated_at) VALUES (?, ?, ?)",
			id, string(js), s.now().UnixMicro()); err != nil {
			return fmt.Errorf("storage: export of volume %s: %w", id, err)
		}
		return nil
	})
}

// ExportedTo is the initiators volume id's export lets in, as its agent
// last reported them (nil for none reported, empty for nobody).
func (s *Store) ExportedTo(ctx context.Context, id string) ([]string, error) {
	var js string
	err := s.db.Get(ctx, "SELECT initiators FROM storage_volume_exports WHERE volume_id = ?", []any{id}, &js)
	if errors.Is(err, sqlstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		return nil, fmt.Errorf("storage: export of volume %s: %w", id, err)
	}
	return out, nil
}

// awaitExport waits, for a volume on a backend that exports per
// initiator, until its export lets initiator in; at once otherwise. It
// gives up after ExportWait with Cinder's VolumeBackendAPIException.
func (s *Store) awaitExport(ctx context.Context, vol Volume, initiator string) error {
	b, err := backendIn(ctx, s.db, vol.Host)
	if err != nil || b == nil {
		return err
	}
	if on, _ := b.Report.Capabilities[CapInitiatorACL].(bool); !on {
		return nil
	}
	wait := s.ExportWait
	if wait <= 0 {
		wait = DefaultExportWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		in, err := s.ExportedTo(ctx, vol.ID)
		if err != nil {
			return err
		}
		if slices.Contains(in, initiator) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			return cinderError(fault.Unavailable, "VolumeBackendAPIException",
				"Bad or unexpected response from the storage volume backend API: the export of volume %s did not let initiator %s in within %s.",
				vol.ID, initiator, wait)
		case <-tick.C:
		}
	}
}
