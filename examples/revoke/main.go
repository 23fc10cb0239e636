// Command revoke checks tokens against Keystone-style revocation events
// with an index whose checks take the same time however many events it
// holds: one token revoked by its audit id, every token of a user, a role
// removed from a project, and tokens issued after an event left alone.
//
//	cd examples && go run ./revoke
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gostack/gostack/identity/revoke"
)

func main() {
	if err := run(os.Stdout, time.Now()); err != nil {
		fmt.Fprintln(os.Stderr, "revoke:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, now time.Time) error {
	var idx revoke.Index // the zero value is ready
	// NewEvent fills the event's times as Keystone does: revoked now,
	// matching tokens issued up to now.
	idx.Add(revoke.NewEvent(revoke.Event{AuditID: "x0tQl5zuRb-7fX-RAJ2Qnw"}, now)) // DELETE /v3/auth/tokens
	idx.Add(revoke.NewEvent(revoke.Event{UserID: "mallory"}, now))                 // a user disabled
	idx.Add(revoke.NewEvent(revoke.Event{ProjectID: "p1", RoleID: "admin"}, now))  // admin unassigned on p1
	fmt.Fprintf(out, "%d events\n", idx.Len())

	before, after := now.Add(-time.Minute), now.Add(time.Minute)
	tokens := []struct {
		what  string
		token revoke.Token
	}{
		{"alice's token", revoke.Token{UserID: "alice", ProjectID: "p1", Roles: []string{"member"}, AuditID: "b2lGbsqVRDe3WhqBRMS3Vg", IssuedAt: before}},
		{"alice's revoked token", revoke.Token{UserID: "alice", ProjectID: "p1", Roles: []string{"member"}, AuditID: "x0tQl5zuRb-7fX-RAJ2Qnw", IssuedAt: before}},
		{"mallory's token", revoke.Token{UserID: "mallory", ProjectID: "p2", AuditID: "q1", IssuedAt: before}},
		{"mallory's token, issued after", revoke.Token{UserID: "mallory", ProjectID: "p2", AuditID: "q2", IssuedAt: after}},
		{"bob's admin token on p1", revoke.Token{UserID: "bob", ProjectID: "p1", Roles: []string{"admin", "member"}, AuditID: "r1", IssuedAt: before}},
		{"bob's admin token on p2", revoke.Token{UserID: "bob", ProjectID: "p2", Roles: []string{"admin", "member"}, AuditID: "r2", IssuedAt: before}},
	}
	for _, t := range tokens {
		fmt.Fprintf(out, "  %-30s revoked: %v\n", t.what, idx.Revoked(&t.token))
	}

	// An event older than the longest token lifetime (Keystone's default
	// is an hour) can match no valid token any more.
	later, lifetime := now.Add(24*time.Hour), time.Hour
	dropped := idx.Prune(later.Add(-lifetime))
	fmt.Fprintf(out, "a day later, pruned %d events, %d left\n", dropped, idx.Len())
	return nil
}
