package middlewaretest

import (
	"context"
	"time"

	"github.com/gostack/gostack/identity/middleware"
	"github.com/gostack/gostack/kit/fault"
)

// Tokens maps tokens to callers; it is a middleware.Validator.
type Tokens map[string]middleware.Caller

var _ middleware.Validator = Tokens(nil)

// ValidateCaller returns the token's caller, or 401.
func (v Tokens) ValidateCaller(_ context.Context, tok string) (middleware.Caller, error) {
	c, ok := v[tok]
	if !ok {
		return middleware.Caller{}, fault.New(fault.Unauthorized, "unknown token")
	}
	return c, nil
}

// Generation is always 0: the tokens never change.
func (Tokens) Generation() int64 { return 0 }

// Caller is a user of the Default domain scoped to project (the user and
// project names are their ids), its token valid for an hour.
func Caller(user, project string, roles ...string) middleware.Caller {
	return middleware.Caller{UserID: user, UserName: user, UserDomainID: "default", ProjectID: project,
		ProjectName: project, ProjectDomainID: "default", Roles: roles, ExpiresAt: time.Now().Add(time.Hour)}
}
