package iscsi

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// state is Dir/exports.json: what tgtd cannot tell. tgtadm shows a
// target's accounts by user name only, so the file keeps an HMAC of the
// credentials each account was made with (a changed password under the
// same user is seen and set), the size each LUN was made at (tgtd reads
// a backing file's size once, when the LUN is made), and which accounts
// this Exporter made (only those are deleted).
//
// An entry is written before tgtd is changed and completed after, so a
// crash in between leaves an entry that is not trusted (Secret "") and an
// account that is known to be ours.
type state struct {
	// Tgtd is the identity of the tgtd that Targets describes; entries
	// of another tgtd are void (a restarted tgtd has none of them).
	Tgtd string `json:"tgtd"`
	// Key is the HMAC key of the secrets, random per file.
	Key string `json:"key"`
	// Targets is keyed by target name.
	Targets map[string]targetState `json:"targets"`
	// Accounts are the CHAP users this Exporter made, with the target
	// each was made for.
	Accounts map[string]string `json:"accounts"`
}

type targetState struct {
	User   string `json:"user,omitempty"`
	Secret string `json:"secret,omitempty"` // CHAP.digest; "" = not known to be set
	Size   int64  `json:"size,omitempty"`   // LUN 1's size when it was made; 0 = unknown
}

// loadState reads Dir/exports.json for the tgtd now running (identity).
func (e *Exporter) loadState(identity string) (*state, error) {
	st := &state{}
	b, err := os.ReadFile(e.path(stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("iscsi: %w", err)
	default:
		if err := json.Unmarshal(b, st); err != nil {
			return nil, fmt.Errorf("iscsi: %s: %w", e.path(stateFile), err)
		}
	}
	if _, err := hex.DecodeString(st.Key); err != nil || len(st.Key) != 64 {
		st.Key = hex.EncodeToString(randomBytes(32))
		st.Targets = nil // their secrets were made with another key
	}
	if st.Tgtd != identity {
		st.Tgtd, st.Targets = identity, nil
	}
	if st.Targets == nil {
		st.Targets = map[string]targetState{}
	}
	if st.Accounts == nil {
		st.Accounts = map[string]string{}
	}
	return st, nil
}

func (e *Exporter) saveState(st *state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("iscsi: %w", err)
	}
	if err := writeFileAtomic(e.path(stateFile), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("iscsi: save %s: %w", stateFile, err)
	}
	return nil
}

// forgetAll empties exports.json: tgtd is gone, and every account with
// it.
func (e *Exporter) forgetAll() error {
	if err := os.Remove(e.path(stateFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("iscsi: %w", err)
	}
	return nil
}

func (st *state) key() []byte {
	k, _ := hex.DecodeString(st.Key)
	return k
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
