package revoke

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func token() Token {
	return Token{
		UserID: "u1", ProjectID: "p1", IdentityDomainID: "d-user", AssignmentDomainID: "d-proj",
		AuditID: "a1", AuditChainID: "c1", Roles: []string{"r-member", "r-reader"},
		IssuedAt: t0, ExpiresAt: t0.Add(time.Hour + 500*time.Millisecond),
	}
}

func TestMatches(t *testing.T) {
	after := t0.Add(time.Minute)
	tests := []struct {
		name string
		e    Event
		want bool
	}{
		{"audit id", Event{AuditID: "a1"}, true},
		{"other audit id", Event{AuditID: "a2"}, false},
		{"audit chain", Event{AuditChainID: "c1"}, true},
		{"user", Event{UserID: "u1"}, true},
		{"user and other project", Event{UserID: "u1", ProjectID: "p2"}, false},
		{"project", Event{ProjectID: "p1"}, true},
		{"role", Event{RoleID: "r-reader"}, true},
		{"role and user", Event{RoleID: "r-admin", UserID: "u1"}, false},
		{"user's domain", Event{DomainID: "d-user"}, true},
		{"scope's domain", Event{DomainID: "d-proj"}, true},
		{"domain scope", Event{DomainScopeID: "d-proj"}, true},
		{"domain scope is not the user's domain", Event{DomainScopeID: "d-user"}, false},
		{"expiry to the second", Event{ExpiresAt: t0.Add(time.Hour)}, true},
		{"other expiry", Event{ExpiresAt: t0.Add(2 * time.Hour)}, false},
		{"trust on a non-trust token", Event{TrustID: "t1"}, false},
		{"issued after the event", Event{UserID: "u1", IssuedBefore: t0.Add(-time.Second)}, false},
		{"issued in the same second", Event{UserID: "u1", IssuedBefore: t0}, true},
	}
	tok := token()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewEvent(tt.e, after)
			if got := e.Matches(&tok); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
			var x Index
			x.Add(e)
			if got := x.Revoked(&tok); got != tt.want {
				t.Fatalf("Index.Revoked = %v, want %v", got, tt.want)
			}
		})
	}
	// Trust tokens: trustor and trustee count as the user.
	trust := token()
	trust.UserID, trust.TrustorID, trust.TrusteeID, trust.TrustID = "trustee", "trustor", "trustee", "t1"
	for _, e := range []Event{{UserID: "trustor"}, {UserID: "trustee"}, {TrustID: "t1"}} {
		e = NewEvent(e, after)
		var x Index
		x.Add(e)
		if !x.Revoked(&trust) {
			t.Errorf("trust token not revoked by %+v", e)
		}
	}
	// Keystone: a domain with an expiry is a domain scope.
	if e := NewEvent(Event{DomainID: "d", ExpiresAt: t0}, after); e.DomainID != "" || e.DomainScopeID != "d" {
		t.Errorf("NewEvent kept domain_id with expires_at: %+v", e)
	}
}

// The index finds exactly what a linear scan finds, over random events
// and tokens drawn from small value sets (so that many overlap).
func TestIndexEqualsScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func(vals ...string) string { return vals[r.IntN(len(vals))] }
	randEvent := func() Event {
		e := Event{}
		for range 1 + r.IntN(3) {
			switch r.IntN(10) {
			case 0:
				e.AuditID = pick("a1", "a2", "a3")
			case 1:
				e.AuditChainID = pick("c1", "c2")
			case 2:
				e.UserID = pick("u1", "u2", "u3")
			case 3:
				e.ProjectID = pick("p1", "p2")
			case 4:
				e.RoleID = pick("r1", "r2", "r3")
			case 5:
				e.DomainID = pick("d1", "d2")
			case 6:
				e.TrustID = pick("t1", "t2")
			case 7:
				e.ExpiresAt = t0.Add(time.Duration(r.IntN(3)) * time.Hour)
			case 8:
				e.DomainScopeID = pick("d1", "d2")
			case 9:
				e.ConsumerID = pick("k1", "k2")
			}
		}
		return NewEvent(e, t0.Add(time.Duration(r.IntN(120)-60)*time.Second))
	}
	var x Index
	var all []Event
	for range 400 {
		e := randEvent()
		x.Add(e)
		all = append(all, e)
	}
	for i := range 5000 {
		tok := Token{
			UserID: pick("u1", "u2", "u3", "u4"), TrustorID: pick("", "u2"), ProjectID: pick("", "p1", "p2"),
			IdentityDomainID: pick("d1", "d2"), AssignmentDomainID: pick("", "d1", "d2"),
			TrustID: pick("", "t1"), ConsumerID: pick("", "k1"), AuditID: pick("a1", "a2", "a4"),
			AuditChainID: pick("", "c1"), Roles: []string{pick("r1", "r2"), pick("r3", "r4")},
			IssuedAt:  t0.Add(time.Duration(r.IntN(120)-60) * time.Second),
			ExpiresAt: t0.Add(time.Duration(r.IntN(3)) * time.Hour),
		}
		want := false
		for j := range all {
			if all[j].Matches(&tok) {
				want = true
				break
			}
		}
		if got := x.Revoked(&tok); got != want {
			t.Fatalf("token %d %+v: index says %v, scan says %v", i, tok, got, want)
		}
	}
}

func TestPrune(t *testing.T) {
	var x Index
	for i := range 10 {
		x.Add(NewEvent(Event{UserID: fmt.Sprint("u", i)}, t0.Add(time.Duration(i)*time.Hour)))
	}
	x.Add(NewEvent(Event{ExpiresAt: t0}, t0))
	if n := x.Prune(t0.Add(5 * time.Hour)); n != 6 || x.Len() != 5 {
		t.Fatalf("pruned %d, %d left; want 6 and 5", n, x.Len())
	}
	tok := token()
	tok.UserID, tok.IssuedAt = "u9", t0
	if !x.Revoked(&tok) {
		t.Fatal("a kept event stopped matching")
	}
}

// BenchmarkRevoked: one check against an index of 100k events, none of
// which match (the common case), versus Keystone's linear scan.
func BenchmarkRevoked(b *testing.B) {
	for _, n := range []int{0, 1000, 100000} {
		var x Index
		var all []Event
		for i := range n {
			e := NewEvent(Event{AuditID: fmt.Sprint("audit-", i)}, t0)
			if i%10 == 0 {
				e = NewEvent(Event{UserID: fmt.Sprint("user-", i)}, t0)
			}
			x.Add(e)
			all = append(all, e)
		}
		tok := token()
		b.Run(fmt.Sprint("index/", n), func(b *testing.B) {
			for b.Loop() {
				if x.Revoked(&tok) {
					b.Fatal("revoked")
				}
			}
		})
		b.Run(fmt.Sprint("scan/", n), func(b *testing.B) {
			for b.Loop() {
				for j := range all {
					if all[j].Matches(&tok) {
						b.Fatal("revoked")
					}
				}
			}
		})
	}
}
