package identity

import (
	"context"

	"github.com/gostack/gostack/identity/middleware"
)

var _ middleware.Validator = (*Auth)(nil)

// ValidateCaller validates a token for the middleware.
func (s *Auth) ValidateCaller(ctx context.Context, tok string) (middleware.Caller, error) {
	t, err := s.Validate(ctx, tok)
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

// Generation moves whenever a validation's outcome may have changed: on
// every revocation here, and on every identity change another part of the
// process reports with Changed (the all-in-one daemon reports each change
// of the identity watch feed).
func (s *Auth) Generation() int64 { return s.gen.Load() }

// Changed reports that identity state changed (see Generation).
func (s *Auth) Changed() { s.gen.Add(1) }
