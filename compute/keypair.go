package compute

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/sqlstore"
	"github.com/gostack/gostack/kit/watch"
	"golang.org/x/crypto/ssh"
)

// Key pair types, Nova's.
const (
	KeyPairSSH  = "ssh"
	KeyPairX509 = "x509"
)

// DefaultKeyPairQuota is Nova's default limit of key pairs per user.
const DefaultKeyPairQuota = 100

// KeyPair is a user's public key (an SSH key or an X.509 certificate),
// what Nova puts into a guest's metadata.
type KeyPair struct {
	ID          int64     `json:"id"`
	UserID      string    `json:"user_id"`
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Fingerprint string    `json:"fingerprint"`
	PublicKey   string    `json:"public_key"`
	CreatedAt   time.Time `json:"created_at"`
}

// NewKeyPair is a key pair to import.
type NewKeyPair struct {
	UserID    string
	Name      string
	Type      string // "" is ssh
	PublicKey string
	// Quota is the most key pairs the user may have (-1: no limit; 0:
	// DefaultKeyPairQuota).
	Quota int
}

// KeyPairFingerprint is Nova's fingerprint of a public key: the MD5 of
// an SSH key's blob, or the SHA-1 of an X.509 certificate, in
// colon-separated hex. A key that does not parse is Nova's
// InvalidKeypair (400).
func KeyPairFingerprint(typ, publicKey string) (string, error) {
	colons := func(sum []byte) string {
		h := hex.EncodeToString(sum)
		var b strings.Builder
		for i := 0; i < len(h); i += 2 {
			if i > 0 {
				b.WriteByte(':')
			}
			b.WriteString(h[i : i+2])
		}
		return b.String()
	}
	switch typ {
	case KeyPairSSH, "":
		fields := strings.Split(strings.TrimSpace(publicKey), " ")
		if len(fields) >= 2 {
			blob, err := base64.StdEncoding.DecodeString(fields[1])
			if err == nil {
				if k, err := ssh.ParsePublicKey(blob); err == nil && k.Type() == fields[0] {
					sum := md5.Sum(blob)
					return colons(sum[:]), nil
				}
			}
		}
		return "", invalidKeypair("failed to generate fingerprint")
	case KeyPairX509:
		blk, _ := pem.Decode([]byte(publicKey))
		if blk == nil {
			return "", invalidKeypair("failed to generate X509 fingerprint. Error message: Unable to load PEM file.")
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return "", invalidKeypair("failed to generate X509 fingerprint. Error message: %v", err)
		}
		sum := sha1.Sum(cert.Raw)
		return colons(sum[:]), nil
	}
	return "", invalidKeypair("unknown key pair type %s", pyRepr(typ))
}

func invalidKeypair(format string, args ...any) error {
	return novaError(fault.BadRequest, "InvalidKeypair", "Keypair data is invalid: "+format, args...)
}

// GenerateKeyPair makes a key pair as Nova does when none is imported:
// for ssh an RSA 2048 key (the private key in PEM, the public key
// "ssh-rsa ... Generated-by-Nova"); for x509 a self-signed client
// certificate for CN=userID valid ten years, with its PKCS#8 private key.
func GenerateKeyPair(typ, userID string) (privateKey, publicKey string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", err
	}
	switch typ {
	case KeyPairSSH, "":
		pub, err := ssh.NewPublicKey(&key.PublicKey)
		if err != nil {
			return "", "", err
		}
		priv := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		return string(priv), pub.Type() + " " + base64.StdEncoding.EncodeToString(pub.Marshal()) + " Generated-by-Nova", nil
	case KeyPairX509:
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
		if err != nil {
			return "", "", err
		}
		now := time.Now()
		tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: userID},
			NotBefore: now.Add(-time.Minute), NotAfter: now.AddDate(10, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return "", "", err
		}
		p8, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return "", "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
	}
	return "", "", invalidKeypair("unknown key pair type %s", pyRepr(typ))
}

// ImportKeyPair stores a user's key pair; its name is unique for the
// user (Nova's KeyPairExists, 409) and the user may have at most Quota
// (Nova's KeypairLimitExceeded, 403).
func (s *Store) ImportKeyPair(ctx context.Context, k NewKeyPair) (KeyPair, error) {
	if k.Type == "" {
		k.Type = KeyPairSSH
	}
	fp, err := KeyPairFingerprint(k.Type, k.PublicKey)
	if err != nil {
		return KeyPair{}, err
	}
	quota := k.Quota
	if quota == 0 {
		quota = DefaultKeyPairQuota
	}
	kp := KeyPair{UserID: k.UserID, Name: k.Name, Type: k.Type, Fingerprint: fp, PublicKey: k.PublicKey, CreatedAt: s.now()}
	err = s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var err error
		if kp.ID, err = nextID(ctx, tx, "keypair"); err != nil { // also the key pairs' lock
			return err
		}
		var n, same int
		if err := tx.Get(ctx, "SELECT COUNT(*), COALESCE(SUM(CASE WHEN name = ? THEN 1 ELSE 0 END), 0) FROM compute_keypairs WHERE user_id = ?",
			[]any{k.Name, k.UserID}, &n, &same); err != nil {
			return fmt.Errorf("compute: key pairs of %s: %w", k.UserID, err)
		}
		if same > 0 {
			return novaError(fault.Conflict, "KeyPairExists", "Key pair '%s' already exists.", k.Name)
		}
		if quota >= 0 && n >= quota {
			return novaError(fault.Forbidden, "KeypairLimitExceeded", "Quota exceeded, too many key pairs.")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO compute_keypairs (id, user_id, name, type, fingerprint, public_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, kp.ID, kp.UserID, kp.Name, kp.Type, kp.Fingerprint, kp.PublicKey, kp.CreatedAt.UnixMicro()); err != nil {
			return fmt.Errorf("compute: create key pair: %w", err)
		}
		return s.record(ctx, tx, "keypair", fmt.Sprint(kp.ID), "", watch.Create, kp)
	})
	if err != nil {
		return KeyPair{}, err
	}
	return kp, nil
}

const keypairCols = "id, user_id, name, type, fingerprint, public_key, created_at"

func scanKeyPair(sc interface{ Scan(...any) error }) (KeyPair, error) {
	var k KeyPair
	var created int64
	if err := sc.Scan(&k.ID, &k.UserID, &k.Name, &k.Type, &k.Fingerprint, &k.PublicKey, &created); err != nil {
		return KeyPair{}, err
	}
	k.CreatedAt = time.UnixMicro(created).UTC()
	return k, nil
}

func keypairNotFound(userID, name string) error {
	return novaError(fault.NotFound, "KeypairNotFound", "Keypair %s not found for user %s", name, userID)
}

// KeyPair returns the user's key pair called name.
func (s *Store) KeyPair(ctx context.Context, userID, name string) (KeyPair, error) {
	rows, err := s.db.Query(ctx, "SELECT "+keypairCols+" FROM compute_keypairs WHERE user_id = ? AND name = ?", userID, name)
	if err != nil {
		return KeyPair{}, fmt.Errorf("compute: key pair: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return KeyPair{}, fmt.Errorf("compute: key pair: %w", err)
		}
		return KeyPair{}, keypairNotFound(userID, name)
	}
	return scanKeyPair(rows)
}

// KeyPairs lists the user's key pairs in creation order: after the one
// named marker when not "" (Nova's MarkerNotFound, 400, if it does not
// exist), at most limit when limit > 0.
func (s *Store) KeyPairs(ctx context.Context, userID, marker string, limit int) ([]KeyPair, error) {
	q := "SELECT " + keypairCols + " FROM compute_keypairs WHERE user_id = ?"
	args := []any{userID}
	if marker != "" {
		m, err := s.KeyPair(ctx, userID, marker)
		if fault.KindOf(err) == fault.NotFound {
			return nil, novaError(fault.BadRequest, "MarkerNotFound", "Marker %s could not be found.", marker)
		} else if err != nil {
			return nil, err
		}
		q += " AND id > ?"
		args = append(args, m.ID)
	}
	q += " ORDER BY id"
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("compute: key pairs: %w", err)
	}
	defer rows.Close()
	out := []KeyPair{}
	for rows.Next() {
		k, err := scanKeyPair(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteKeyPair removes the user's key pair called name.
func (s *Store) DeleteKeyPair(ctx context.Context, userID, name string) error {
	return s.db.Tx(ctx, func(tx *sqlstore.Tx) error {
		var id int64
		err := tx.Get(ctx, "DELETE FROM compute_keypairs WHERE user_id = ? AND name = ? RETURNING id", []any{userID, name}, &id)
		if errors.Is(err, sql.ErrNoRows) {
			return keypairNotFound(userID, name)
		}
		if err != nil {
			return fmt.Errorf("compute: delete key pair: %w", err)
		}
		return s.record(ctx, tx, "keypair", fmt.Sprint(id), "", watch.Delete, nil)
	})
}
