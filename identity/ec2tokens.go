package identity

import (
	"context"
	"regexp"
	"strconv"
	"time"

	"github.com/gostack/gostack/identity/ec2"
	"github.com/gostack/gostack/kit/fault"
)

// EC2AuthTTL is Keystone's [credential] auth_ttl: how long after the
// time a request says it was signed its signature is accepted.
const EC2AuthTTL = 15 * time.Minute

// AuthenticateEC2 is Keystone's POST /v3/ec2tokens: it finds the ec2
// credential of the request's access key, checks the request's
// signature with its secret (ec2.Verify), that the credential's user and
// project are enabled, that the time the request was signed is at most
// EC2AuthTTL ago, and that the user holds a role on the project, and
// issues a token scoped to the project with the method "ec2credential".
// Every refusal is a 401.
func (s *Auth) AuthenticateEC2(ctx context.Context, creds *Credentials, req ec2.Request) (Token, error) {
	if req.Access == "" {
		return Token{}, unauthorized("EC2 Signature not supplied")
	}
	cred, err := creds.Get(ctx, EC2CredentialID(req.Access))
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Token{}, unauthorized("EC2 access key not found.")
		}
		return Token{}, err
	}
	if cred.Type != CredentialEC2 {
		return Token{}, unauthorized("EC2 access key not found.")
	}
	blob, _, err := ParseEC2Blob(cred.Blob)
	if err != nil {
		return Token{}, unauthorized("EC2 access key not found.")
	}
	switch ec2.Verify(blob.Secret, req) {
	case nil:
	case ec2.ErrNoSignature:
		return Token{}, unauthorized("EC2 signature not supplied.")
	default:
		return Token{}, unauthorized("Invalid EC2 signature.")
	}
	u, err := s.Store.GetUser(ctx, cred.UserID)
	if err != nil {
		return Token{}, errUnauthorized
	}
	if _, err := s.usable(ctx, u); err != nil {
		return Token{}, err
	}
	p, err := s.Store.GetProject(ctx, cred.ProjectID)
	if err != nil || !p.Enabled {
		return Token{}, errUnauthorized
	}
	if err := s.checkEC2Time(req); err != nil {
		return Token{}, err
	}
	roles, err := s.Store.EffectiveRoleIDs(ctx, u.ID, TargetProject, p.ID)
	if err != nil {
		return Token{}, err
	}
	if len(roles) == 0 {
		return Token{}, unauthorized("User not valid for project.")
	}
	return s.issue(ctx, u, AuthRequest{Methods: []string{"ec2credential"}, Scope: Scope{ProjectID: p.ID}}, nil, nil)
}

// checkEC2Time is Keystone's _check_timestamp: no timestamp is accepted
// (the signer left it out), one that does not parse or is older than
// EC2AuthTTL is refused; one in the future is accepted.
func (s *Auth) checkEC2Time(req ec2.Request) error {
	ts, ok := req.Timestamp()
	if ts == "" && ok {
		return nil
	}
	t, err := parseISOTime(ts)
	if !ok || err != nil {
		return unauthorized("Credential timestamp is invalid.")
	}
	if s.now().After(t.Add(EC2AuthTTL)) {
		return unauthorized("Credential is expired")
	}
	return nil
}

// isoTime is the iso8601 package's pattern (oslo's parse_isotime):
// extended or basic format, the time optional, a fraction after "." or
// ",", a zone of Z or ±hh[:mm]; UTC when there is none.
var isoTime = regexp.MustCompile(`^([0-9]{4})-?([0-9]{1,2})-?([0-9]{1,2})` +
	`(?:[ T]([0-9]{2})(?::?([0-9]{2}))?(?::?([0-9]{1,2})(?:[.,]([0-9]+))?)?` +
	`(Z|([-+])([0-9]{2})(?::?([0-9]{2}))?)?)?$`)

func parseISOTime(s string) (time.Time, error) {
	m := isoTime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fault.Invalid("timestamp", "is not an ISO 8601 time")
	}
	n := func(i int) int {
		v, _ := strconv.Atoi(m[i])
		return v
	}
	nsec := 0
	if f := m[7]; f != "" {
		f = (f + "000000000")[:9]
		nsec, _ = strconv.Atoi(f)
	}
	loc := time.UTC
	if m[9] != "" {
		off := n(10)*3600 + n(11)*60
		if m[9] == "-" {
			off = -off
		}
		loc = time.FixedZone("", off)
	}
	mon, day, hour, minute, sec := n(2), n(3), n(4), n(5), n(6)
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, fault.Invalid("timestamp", "is not a valid time")
	}
	t := time.Date(n(1), time.Month(mon), day, hour, minute, sec, nsec, loc)
	if t.Day() != day {
		return time.Time{}, fault.Invalid("timestamp", "is not a valid time")
	}
	return t, nil
}
