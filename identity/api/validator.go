package api

import (
	"context"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/identity/middleware"
)

// Validator is identity's token validation as identity/middleware wants
// it, so that any Go service in the same process (the image and DNS APIs
// of the all-in-one) protects its routes with the identity it runs. The
// adapter lives here, not in package identity, which has no net/http.
func Validator(auth *identity.Auth) middleware.Validator { return validator{auth} }

type validator struct{ auth *identity.Auth }

func (v validator) Generation() int64 { return v.auth.Generation() }

// ValidateCaller validates a token for the middleware.
func (v validator) ValidateCaller(ctx context.Context, tok string) (middleware.Caller, error) {
	t, err := v.auth.Validate(ctx, tok)
	if err != nil {
		return middleware.Caller{}, err
	}
	c := middleware.Caller{
		UserID: t.User.ID, UserName: t.User.Name, UserDomainID: t.UserDomain.ID, UserDomainName: t.UserDomain.Name,
		System: t.System, AuditIDs: t.Payload.AuditIDs, ExpiresAt: t.Payload.ExpiresAt, AppCredID: t.Payload.AppCredID,
	}
	if t.Project != nil {
		c.ProjectID, c.ProjectName, c.ProjectDomainID = t.Project.ID, t.Project.Name, t.Project.DomainID
	}
	if t.Domain != nil {
		c.DomainID, c.DomainName = t.Domain.ID, t.Domain.Name
	}
	for _, r := range t.Roles {
		c.Roles = append(c.Roles, r.Name)
	}
	return c, nil
}
