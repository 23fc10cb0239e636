package revoke_test

import (
	"fmt"
	"time"

	"github.com/gostack/gostack/identity/revoke"
)

// Revoke one token by its audit id (what DELETE /v3/auth/tokens does) and
// every token of a user (what disabling the user does).
func Example() {
	now := time.Now()
	var idx revoke.Index
	idx.Add(revoke.NewEvent(revoke.Event{AuditID: "x0tQl5zuRb-7fX-RAJ2Qnw"}, now))
	idx.Add(revoke.NewEvent(revoke.Event{UserID: "mallory"}, now))

	issued := now.Add(-time.Minute)
	alice := revoke.Token{UserID: "alice", AuditID: "b2lGbsqVRDe3WhqBRMS3Vg", IssuedAt: issued}
	aliceOld := revoke.Token{UserID: "alice", AuditID: "x0tQl5zuRb-7fX-RAJ2Qnw", IssuedAt: issued}
	mallory := revoke.Token{UserID: "mallory", AuditID: "q1", IssuedAt: issued}
	fmt.Println(idx.Revoked(&alice), idx.Revoked(&aliceOld), idx.Revoked(&mallory))
	// Output: false true true
}
