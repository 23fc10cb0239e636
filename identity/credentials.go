package identity

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
)

// CredentialEC2 is the type of EC2 credentials: their blob is a JSON
// object with the access key and the secret, and their id the SHA-256 of
// the access key.
const CredentialEC2 = "ec2"

// Credential is a Keystone credential: a blob kept for a user (an EC2
// access and secret, a TOTP seed, any text), of a type, for a project or
// none. Extra holds the other members of the create body, as Keystone's
// extra column.
type Credential struct {
	ID        string
	UserID    string
	ProjectID string
	Type      string
	Blob      string
	Extra     map[string]json.RawMessage
}

// EC2Blob is an ec2 credential's blob.
type EC2Blob struct {
	Access string
	Secret string
}

// credentialAttributes are the members of a credential's JSON that are
// not extra.
var credentialAttributes = []string{"id", "user_id", "project_id", "type", "blob", "links"}

// IsCredentialAttribute reports whether a member of a credential's JSON
// is one of its attributes rather than an extra property.
func IsCredentialAttribute(name string) bool { return slices.Contains(credentialAttributes, name) }

// isEC2 is Keystone's test for deriving the id from the access key,
// which lowercases the type (its schema and its decryption do not).
func isEC2(typ string) bool { return strings.ToLower(typ) == CredentialEC2 }

// delegationKeys are the blob members through which Keystone's ec2tokens
// issues a trust, application credential or OAuth1 token. gostack
// creates none, and refuses a blob that names one.
var delegationKeys = []string{"trust_id", "app_cred_id", "access_token_id"}

// ParseEC2Blob reads an ec2 blob as Keystone's _validate_blob_json does:
// a JSON object with an access key (a string here).
func ParseEC2Blob(blob string) (EC2Blob, map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(blob), &m); err != nil {
		return EC2Blob{}, nil, fault.Invalid("credential.blob", "Invalid blob in credential")
	}
	if len(m) == 0 {
		return EC2Blob{}, nil, fault.Invalid("credential.blob", "must be a JSON object with an access key")
	}
	var b EC2Blob
	access, ok := m["access"]
	if !ok || string(access) == "null" {
		return EC2Blob{}, nil, fault.Invalid("credential.blob.access", "is required in an ec2 blob")
	}
	if json.Unmarshal(access, &b.Access) != nil {
		return EC2Blob{}, nil, fault.Invalid("credential.blob.access", "must be a string")
	}
	if secret, ok := m["secret"]; ok && string(secret) != "null" && json.Unmarshal(secret, &b.Secret) != nil {
		return EC2Blob{}, nil, fault.Invalid("credential.blob.secret", "must be a string")
	}
	return b, m, nil
}

// EC2CredentialID is the id of the ec2 credential of an access key:
// Keystone's hash_access_key.
func EC2CredentialID(access string) string {
	h := sha256.Sum256([]byte(access))
	return hex.EncodeToString(h[:])
}

// Validate checks c against Keystone's credential schema and gostack's
// limits (Keystone's columns: ids of at most 64 characters, a type of at
// most 255).
func (c Credential) Validate() error {
	if err := first(
		required("credential.user_id", c.UserID), text("credential.user_id", c.UserID, maxID),
		text("credential.project_id", c.ProjectID, maxID),
		required("credential.type", c.Type), text("credential.type", c.Type, 255),
		text("credential.blob", c.Blob, 0),
	); err != nil {
		return err
	}
	if c.Type == CredentialEC2 && c.ProjectID == "" {
		return fault.Invalid("credential.project_id", "is required for an ec2 credential")
	}
	for _, k := range slices.Sorted(maps.Keys(c.Extra)) {
		v := c.Extra[k]
		switch {
		case IsCredentialAttribute(k):
			return fault.Invalid("credential."+k, "is an attribute of credentials, not an extra property")
		case !utf8.ValidString(k) || strings.IndexByte(k, 0) >= 0:
			return fault.Invalid("credential", "has a property name that is not valid UTF-8 or holds NUL")
		case !utf8.Valid(v) || !json.Valid(v):
			return fault.Invalid("credential."+k, "is not one valid JSON value")
		}
	}
	if !isEC2(c.Type) {
		return nil
	}
	_, m, err := ParseEC2Blob(c.Blob)
	if err != nil {
		return err
	}
	for _, k := range delegationKeys {
		if v, ok := m[k]; ok && string(v) != "null" {
			return fault.Invalid("credential.blob."+k, "is not supported: gostack has no delegated ec2 credentials")
		}
	}
	return nil
}

// Credentials keeps credentials in a Store with their blobs encrypted
// as Keystone's credential provider encrypts them: Fernet with the
// primary key of Keys, Keystone's credential key repository (a key set
// of its own, never the token keys), and any of its keys to decrypt.
type Credentials struct {
	Store *Store
	Keys  fernet.KeySource
	Now   func() time.Time
}

// Credential errors.
var (
	// ErrCredentialKeys is a blob no key of the repository decrypts: its
	// key was purged before the credential was migrated to a newer one.
	ErrCredentialKeys = errors.New("identity: credential could not be decrypted: no credential key matches")
	// ErrCredentialsNotMigrated refuses a rotation that would leave a
	// credential encrypted with a key that is no longer primary.
	ErrCredentialsNotMigrated = errors.New("identity: credentials are encrypted with a key that is not the primary key; migrate them before rotating")
)

func (c *Credentials) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// KeyHash is Keystone's primary_key_hash: the SHA-1 of the key's text.
func KeyHash(k fernet.Key) string {
	h := sha1.Sum([]byte(k.String()))
	return hex.EncodeToString(h[:])
}

// plaintext is what Keystone encrypts: an ec2 blob as a JSON string, any
// other as it is.
func plaintext(typ, blob string) []byte {
	if typ == CredentialEC2 {
		b, _ := json.Marshal(blob)
		return b
	}
	return []byte(blob)
}

func (c *Credentials) encrypt(typ, blob string) (enc, keyHash string, err error) {
	keys := c.Keys.Keys()
	if len(keys) == 0 {
		return "", "", ErrCredentialKeys
	}
	raw, err := fernet.Seal(&keys[0], plaintext(typ, blob), c.now())
	if err != nil {
		return "", "", fmt.Errorf("identity: encrypt credential: %w", err)
	}
	return base64.URLEncoding.EncodeToString(raw), KeyHash(keys[0]), nil
}

func (c *Credentials) decrypt(typ, enc string) (string, error) {
	raw, err := base64.URLEncoding.DecodeString(enc)
	if err != nil {
		return "", ErrCredentialKeys
	}
	pt, _, err := fernet.Open(raw, c.Keys.Keys())
	if err != nil {
		return "", ErrCredentialKeys
	}
	if typ != CredentialEC2 {
		return string(pt), nil
	}
	var s string
	if err := json.Unmarshal(pt, &s); err != nil {
		return "", fmt.Errorf("identity: ec2 credential blob: %w", err)
	}
	return s, nil
}

// credentialFeed is what the watch feed records of a credential: never
// its blob.
func credentialFeed(x Credential) map[string]string {
	return map[string]string{"id": x.ID, "user_id": x.UserID, "project_id": x.ProjectID, "type": x.Type}
}

// Create stores a credential: its id is the SHA-256 of the access key
// for an ec2 credential, else x.ID or a new one. The user and the project
// must exist.
func (c *Credentials) Create(ctx context.Context, x Credential) (Credential, error) {
	if err := x.Validate(); err != nil {
		return x, err
	}
	if isEC2(x.Type) {
		b, _, _ := ParseEC2Blob(x.Blob)
		x.ID = EC2CredentialID(b.Access)
	} else if x.ID == "" {
		x.ID = NewID()
	}
	if _, err := c.Store.GetUser(ctx, x.UserID); err != nil {
		return x, err
	}
	if x.ProjectID != "" {
		if _, err := c.Store.GetProject(ctx, x.ProjectID); err != nil {
			return x, err
		}
	}
	enc, hash, err := c.encrypt(x.Type, x.Blob)
	if err != nil {
		return x, err
	}
	err = c.Store.write(ctx, "credential", x.ID, watch.Create, credentialFeed(x), func(tx *sqlstore.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO identity_credentials (id, user_id, project_id, type, encrypted_blob, key_hash, extra) VALUES (?, ?, ?, ?, ?, ?, ?)",
			x.ID, x.UserID, x.ProjectID, x.Type, enc, hash, extraText(x.Extra))
		if errors.Is(err, sqlstore.ErrConflict) {
			return conflict("credential", "Duplicate ID, "+x.ID)
		}
		return err
	})
	return x, err
}

const credentialCols = "id, user_id, project_id, type, encrypted_blob, extra"

func (c *Credentials) scan(r interface{ Scan(...any) error }) (Credential, error) {
	var x Credential
	var enc, extra string
	if err := r.Scan(&x.ID, &x.UserID, &x.ProjectID, &x.Type, &enc, &extra); err != nil {
		return x, err
	}
	if err := json.Unmarshal([]byte(extra), &x.Extra); err != nil {
		return x, fmt.Errorf("identity: credential %s: extra: %w", x.ID, err)
	}
	blob, err := c.decrypt(x.Type, enc)
	if err != nil {
		return x, fmt.Errorf("identity: credential %s: %w", x.ID, err)
	}
	x.Blob = blob
	return x, nil
}

// Get returns a credential, decrypted.
func (c *Credentials) Get(ctx context.Context, id string) (Credential, error) {
	xs, err := list(ctx, c.Store.db, "SELECT "+credentialCols+" FROM identity_credentials WHERE id = ?", []any{id}, c.scan)
	if err != nil {
		return Credential{}, err
	}
	if len(xs) == 0 {
		return Credential{}, notFound("credential", id)
	}
	return xs[0], nil
}

// CredentialFilter selects credentials; empty fields do not filter.
type CredentialFilter struct {
	UserID, Type, ProjectID string
}

// List returns the credentials matching f, decrypted, by id.
func (c *Credentials) List(ctx context.Context, f CredentialFilter) ([]Credential, error) {
	q, args := "SELECT "+credentialCols+" FROM identity_credentials WHERE 1=1", []any{}
	for _, x := range []struct{ col, v string }{{"user_id", f.UserID}, {"type", f.Type}, {"project_id", f.ProjectID}} {
		if x.v != "" {
			q, args = q+" AND "+x.col+" = ?", append(args, x.v)
		}
	}
	return list(ctx, c.Store.db, q+" ORDER BY id", args, c.scan)
}

// UpdateBlob replaces a credential's blob, the one thing Keystone 22
// lets a PATCH change. An ec2 credential's new blob must be an ec2 blob
// with the same access key (its id is the key's hash).
func (c *Credentials) UpdateBlob(ctx context.Context, id, blob string) (Credential, error) {
	x, err := c.Get(ctx, id)
	if err != nil {
		return x, err
	}
	if isEC2(x.Type) {
		b, m, err := ParseEC2Blob(blob)
		if err != nil {
			return x, err
		}
		if EC2CredentialID(b.Access) != x.ID {
			return x, fault.Invalid("credential.blob.access", "access can not be updated for credential")
		}
		for _, k := range delegationKeys {
			if v, ok := m[k]; ok && string(v) != "null" {
				return x, fault.Invalid("credential.blob."+k, "%s can not be updated for credential", k)
			}
		}
	}
	x.Blob = blob
	if err := x.Validate(); err != nil {
		return x, err
	}
	enc, hash, err := c.encrypt(x.Type, x.Blob)
	if err != nil {
		return x, err
	}
	err = c.Store.write(ctx, "credential", x.ID, watch.Update, credentialFeed(x), func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "UPDATE identity_credentials SET encrypted_blob = ?, key_hash = ? WHERE id = ?", enc, hash, x.ID)
		if err != nil {
			return err
		}
		return affected(res, "credential", x.ID)
	})
	return x, err
}

// Delete deletes a credential.
func (c *Credentials) Delete(ctx context.Context, id string) error {
	return c.Store.write(ctx, "credential", id, watch.Delete, nil, func(tx *sqlstore.Tx) error {
		res, err := tx.Exec(ctx, "DELETE FROM identity_credentials WHERE id = ?", id)
		if err != nil {
			return err
		}
		return affected(res, "credential", id)
	})
}

// Unmigrated counts the credentials not encrypted with the primary key.
func (c *Credentials) Unmigrated(ctx context.Context) (int, error) {
	keys := c.Keys.Keys()
	if len(keys) == 0 {
		return 0, ErrCredentialKeys
	}
	var n int
	err := c.Store.db.Get(ctx, "SELECT COUNT(*) FROM identity_credentials WHERE key_hash <> ?", []any{KeyHash(keys[0])}, &n)
	return n, err
}

// Migrate re-encrypts with the primary key every credential encrypted
// with another, as keystone-manage credential_migrate, and returns how
// many it re-encrypted. Each credential is one transaction that checks
// the row is still the one read, so a concurrent update is never undone.
func (c *Credentials) Migrate(ctx context.Context) (int, error) {
	keys := c.Keys.Keys()
	if len(keys) == 0 {
		return 0, ErrCredentialKeys
	}
	primary := KeyHash(keys[0])
	type row struct{ id, typ, enc string }
	rows, err := list(ctx, c.Store.db, "SELECT id, type, encrypted_blob FROM identity_credentials WHERE key_hash <> ? ORDER BY id", []any{primary},
		func(r interface{ Scan(...any) error }) (row, error) {
			var x row
			return x, r.Scan(&x.id, &x.typ, &x.enc)
		})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, x := range rows {
		blob, err := c.decrypt(x.typ, x.enc)
		if err != nil {
			return n, fmt.Errorf("identity: credential %s: %w", x.id, err)
		}
		enc, hash, err := c.encrypt(x.typ, blob)
		if err != nil {
			return n, err
		}
		err = c.Store.db.Tx(ctx, func(tx *sqlstore.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE identity_credentials SET encrypted_blob = ?, key_hash = ? WHERE id = ? AND encrypted_blob = ?", enc, hash, x.id, x.enc)
			return err
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
