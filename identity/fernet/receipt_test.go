package fernet

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
)

var receiptCases = map[string]Receipt{
	"uuid user, password": {UserID: "5a3c0b6fd2b14d4fa4bd2c3ad5d8f7aa", Methods: []string{"password"},
		ExpiresAt: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)},
	"uuid user, two methods": {UserID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Methods: []string{"password", "token"},
		ExpiresAt: time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)},
	"non-uuid user": {UserID: "admin-user", Methods: []string{"application_credential"},
		ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
}

// TestReceiptRoundTrip: a receipt reads back as issued, and a receipt is
// no token nor a token a receipt.
func TestReceiptRoundTrip(t *testing.T) {
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f := &Formatter{Keys: StaticKeys{k}, Now: func() time.Time { return now }}
	for name, want := range receiptCases {
		t.Run(name, func(t *testing.T) {
			s, err := f.IssueReceipt(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.ParseReceipt(s)
			slices.Sort(got.Methods) // decoded in Keystone's method order
			if err != nil || got.UserID != want.UserID || !slices.Equal(got.Methods, want.Methods) ||
				!got.ExpiresAt.Equal(want.ExpiresAt) || !got.IssuedAt.Equal(now) {
				t.Fatalf("ParseReceipt = %+v, %v; want %+v", got, err, want)
			}
			if _, err := f.Parse(s); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("a receipt parses as a token: %v", err)
			}
		})
	}
	tok, err := f.Issue(Payload{UserID: "5a3c0b6fd2b14d4fa4bd2c3ad5d8f7aa", Methods: []string{"password"}, ExpiresAt: now.Add(time.Hour),
		AuditIDs: []string{"AAAAAAAAAAAAAAAAAAAAAA"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ParseReceipt(tok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a token parses as a receipt: %v", err)
	}
	other, _ := GenerateKey()
	s, _ := f.IssueReceipt(receiptCases["non-uuid user"])
	if _, err := (&Formatter{Keys: StaticKeys{other}}).ParseReceipt(s); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a receipt opens under another key: %v", err)
	}
}

// TestKeystoneReceiptInterop: Keystone's own ReceiptFormatter and ours
// read each other's receipts from one key repository, and Keystone's
// plaintext is ours byte for byte.
func TestKeystoneReceiptInterop(t *testing.T) {
	testenv.RequirePython(t, "keystone.receipt.receipt_formatters", "python3-keystone")
	dir := t.TempDir()
	ks := func(ops ...map[string]any) []json.RawMessage {
		t.Helper()
		return testenv.PythonJSON(t, "testdata/keystone_receipt.py", map[string]any{"repo": dir, "ops": ops})
	}
	ks(map[string]any{"op": "setup"})
	repo, err := OpenRepository(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	f := &Formatter{Keys: repo}
	names := make([]string, 0, len(receiptCases))
	for n := range receiptCases {
		names = append(names, n)
	}
	slices.Sort(names)
	var issue, validateGo []map[string]any
	var ours []string
	for _, n := range names {
		r := receiptCases[n]
		issue = append(issue, map[string]any{"op": "issue", "user_id": r.UserID, "methods": r.Methods,
			"expires_at": r.ExpiresAt.Format("2006-01-02T15:04:05.000000Z")})
		s, err := f.IssueReceipt(r)
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, s)
		validateGo = append(validateGo, map[string]any{"op": "validate", "receipt": s}, map[string]any{"op": "plaintext", "receipt": s})
	}
	// Keystone reads ours.
	res := ks(validateGo...)
	for i, n := range names {
		var got struct {
			UserID, ExpiresAt, Error string
			Methods                  []string
		}
		if err := json.Unmarshal(res[2*i], &struct {
			UserID    *string   `json:"user_id"`
			Methods   *[]string `json:"methods"`
			ExpiresAt *string   `json:"expires_at"`
			Error     *string   `json:"error"`
		}{&got.UserID, &got.Methods, &got.ExpiresAt, &got.Error}); err != nil || got.Error != "" {
			t.Fatalf("%s: Keystone: %s (%v)", n, res[2*i], err)
		}
		want := receiptCases[n]
		slices.Sort(got.Methods)
		if got.UserID != want.UserID || !slices.Equal(got.Methods, want.Methods) ||
			got.ExpiresAt != want.ExpiresAt.Format("2006-01-02T15:04:05.000000Z") {
			t.Errorf("%s: Keystone read %+v, want %+v", n, got, want)
		}
	}
	// We read Keystone's, whose plaintext is ours.
	for i, raw := range ks(issue...) {
		n := names[i]
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: Keystone issued %s", n, raw)
		}
		got, err := f.ParseReceipt(s)
		want := receiptCases[n]
		slices.Sort(got.Methods)
		if err != nil || got.UserID != want.UserID || !slices.Equal(got.Methods, want.Methods) || !got.ExpiresAt.Equal(want.ExpiresAt) {
			t.Errorf("%s: ParseReceipt(Keystone's) = %+v, %v", n, got, err)
		}
		// The same payload, encrypted by each side and decrypted by
		// Keystone: the same msgpack bytes.
		var fromOurs, fromTheirs string
		json.Unmarshal(res[2*i+1], &fromOurs)
		json.Unmarshal(ks(map[string]any{"op": "plaintext", "receipt": s})[0], &fromTheirs)
		if fromOurs == "" || fromOurs != fromTheirs {
			t.Errorf("%s: plaintext of our receipt %s, of Keystone's %s", n, fromOurs, fromTheirs)
		}
	}
}
