package fernet

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
)

func requireKeystone(t *testing.T) {
	t.Helper()
	testenv.RequirePython(t, "keystone.token.token_formatters", "python3-keystone")
}

// keystone runs ops through Keystone's own code on the repository at dir.
func keystone(t *testing.T, dir string, ops ...map[string]any) []json.RawMessage {
	t.Helper()
	return testenv.PythonJSON(t, "testdata/keystone_formatter.py", map[string]any{"repo": dir, "max_active_keys": 3, "ops": ops})
}

// interopCases are payloadCases that Keystone 22 can issue (version 10,
// OAuth2, came later).
func interopCases() map[string]Payload {
	cases := payloadCases()
	delete(cases, "oauth2")
	return cases
}

func isotime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z") }

// issueOp is Keystone's create_token call for p.
func issueOp(p Payload) map[string]any {
	m := map[string]any{
		"version": PayloadVersion(p), "user_id": p.UserID, "methods": p.Methods,
		"expires_at": isotime(p.ExpiresAt), "audit_ids": p.AuditIDs,
	}
	if p.ExpiresAt.Nanosecond() != 0 {
		m["expires_at"] = p.ExpiresAt.UTC().Format("2006-01-02T15:04:05.999999Z")
	}
	opt := map[string]string{"system": p.System, "domain_id": p.DomainID, "project_id": p.ProjectID,
		"trust_id": p.TrustID, "identity_provider_id": p.IdentityProviderID, "protocol_id": p.ProtocolID,
		"access_token_id": p.AccessTokenID, "app_cred_id": p.AppCredID}
	for k, v := range opt {
		if v != "" {
			m[k] = v
		}
	}
	if p.FederatedGroupIDs != nil {
		m["federated_group_ids"] = p.FederatedGroupIDs
	}
	return map[string]any{"op": "issue", "payload": m}
}

// view renders a parsed payload the way Keystone's validate_token returns
// it (times as isotime with microseconds zeroed, absent fields null).
func view(p Payload) map[string]any {
	str := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	var groups any
	if len(p.FederatedGroupIDs) > 0 {
		groups = p.FederatedGroupIDs
	}
	m := map[string]any{
		"user_id": p.UserID, "methods": p.Methods, "audit_ids": p.AuditIDs,
		"system": str(p.System), "domain_id": str(p.DomainID), "project_id": str(p.ProjectID),
		"trust_id": str(p.TrustID), "federated_group_ids": groups,
		"identity_provider_id": str(p.IdentityProviderID), "protocol_id": str(p.ProtocolID),
		"access_token_id": str(p.AccessTokenID), "app_cred_id": str(p.AppCredID),
		"issued_at": isotime(p.IssuedAt), "expires_at": isotime(p.ExpiresAt.Truncate(time.Second)),
	}
	b, _ := json.Marshal(m) // normalize to what JSON from Python decodes to
	var out map[string]any
	json.Unmarshal(b, &out)
	return out
}

func decodeView(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("keystone result %s: %v", raw, err)
	}
	if e, ok := m["error"]; ok {
		t.Fatalf("keystone rejected the token: %v", e)
	}
	return m
}

type interopToken struct {
	name, token string
}

func TestKeystoneInterop(t *testing.T) {
	requireKeystone(t)
	dir := t.TempDir()
	keystone(t, dir, map[string]any{"op": "setup"}) // keystone-manage fernet_setup
	repo, err := OpenRepository(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	f := &Formatter{Keys: repo}
	names := sortedNames(interopCases())

	// (a) Go issues, Keystone validates; (b) Keystone issues, Go validates.
	goTokens := issueAll(t, f, names)
	ksTokens := keystoneIssue(t, dir, names)
	checkKeystoneReads(t, dir, f, goTokens)
	checkGoReads(t, dir, f, ksTokens, true)

	// Keystone rotates: Go picks up the new keys; every token so far still
	// validates on both sides, and Keystone's new tokens validate in Go.
	keystone(t, dir, map[string]any{"op": "rotate"})
	if changed, err := repo.Reload(); err != nil || !changed {
		t.Fatalf("reload after Keystone's rotation: changed=%v err=%v", changed, err)
	}
	first := append(append([]interopToken{}, goTokens...), ksTokens...)
	checkKeystoneReads(t, dir, f, first)
	ksAfter := keystoneIssue(t, dir, names)
	checkGoReads(t, dir, f, ksAfter, false)

	// Go rotates: Keystone reads Go's new tokens and Keystone's tokens of
	// the previous key. With max_active_keys 3 the key of the first batch
	// is purged now: both sides must reject those tokens.
	if err := repo.Rotate(); err != nil {
		t.Fatal(err)
	}
	checkKeystoneReads(t, dir, f, append(ksAfter, issueAll(t, f, names)...))
	var ops []map[string]any
	for _, tk := range first {
		if _, err := f.Parse(tk.token); err == nil {
			t.Errorf("%s: Go accepts a token whose key was purged", tk.name)
		}
		ops = append(ops, map[string]any{"op": "validate", "token": tk.token})
	}
	for i, r := range keystone(t, dir, ops...) {
		if !bytes.Contains(r, []byte("ValidationError")) {
			t.Errorf("%s: Keystone accepts a token whose key was purged: %s", first[i].name, r)
		}
	}
}

func sortedNames(m map[string]Payload) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func issueAll(t *testing.T, f *Formatter, names []string) []interopToken {
	var out []interopToken
	for _, n := range names {
		tok, err := f.Issue(interopCases()[n])
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, interopToken{n, tok})
	}
	return out
}

func keystoneIssue(t *testing.T, dir string, names []string) []interopToken {
	var ops []map[string]any
	for _, n := range names {
		ops = append(ops, issueOp(interopCases()[n]))
	}
	var out []interopToken
	for i, r := range keystone(t, dir, ops...) {
		var tok string
		if err := json.Unmarshal(r, &tok); err != nil {
			t.Fatalf("%s: keystone issued %s", names[i], r)
		}
		out = append(out, interopToken{names[i], tok})
	}
	return out
}

// checkKeystoneReads: Keystone's validate_token says what Go's Parse says.
func checkKeystoneReads(t *testing.T, dir string, f *Formatter, toks []interopToken) {
	t.Helper()
	var ops []map[string]any
	for _, tk := range toks {
		ops = append(ops, map[string]any{"op": "validate", "token": tk.token})
	}
	for i, r := range keystone(t, dir, ops...) {
		got := decodeView(t, r)
		p, err := f.Parse(toks[i].token)
		if err != nil {
			t.Fatalf("%s: Go cannot parse its own token: %v", toks[i].name, err)
		}
		if want := view(p); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Keystone reads\n %v\nGo reads\n %v", toks[i].name, got, want)
		}
	}
}

// checkGoReads: Go reads Keystone's tokens as Keystone does, and (when
// bytes is set) Go's encoding of the payload is byte-for-byte Keystone's.
func checkGoReads(t *testing.T, dir string, f *Formatter, toks []interopToken, bytesToo bool) {
	t.Helper()
	var ops []map[string]any
	for _, tk := range toks {
		ops = append(ops, map[string]any{"op": "validate", "token": tk.token}, map[string]any{"op": "plaintext", "token": tk.token})
	}
	res := keystone(t, dir, ops...)
	for i, tk := range toks {
		p, err := f.Parse(tk.token)
		if err != nil {
			t.Fatalf("%s: Go rejects Keystone's token: %v", tk.name, err)
		}
		if got, want := view(p), decodeView(t, res[2*i]); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Go reads\n %v\nKeystone reads\n %v", tk.name, got, want)
		}
		if !bytesToo {
			continue
		}
		var plainHex string
		json.Unmarshal(res[2*i+1], &plainHex)
		plain, _ := hex.DecodeString(plainHex)
		ours, err := f.marshal(p.Version, interopCases()[tk.name])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ours, plain) {
			t.Errorf("%s: msgpack differs\n Keystone % x\n Go       % x", tk.name, plain, ours)
		}
	}
}
