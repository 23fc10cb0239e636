package identity

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gostack/gostack/identity/fernet"
	"github.com/gostack/gostack/kit/fault"
)

// DefaultReceiptTTL is how long an auth receipt lasts: Keystone's
// [receipt] expiration (300 seconds).
const DefaultReceiptTTL = 5 * time.Minute

// MFARequired is Keystone's InsufficientAuthMethods: the user's
// credentials were good but satisfy none of their multi-factor rules
// yet. The API answers it with a 401 carrying Receipt in the
// Openstack-Auth-Receipt header; sent back with the missing methods, the
// receipt counts for the methods it records.
type MFARequired struct {
	Receipt    string // the auth receipt, a secret like a token
	User       User
	UserDomain Domain
	// Methods are the methods that succeeded, the earlier receipt's
	// included.
	Methods             []string
	IssuedAt, ExpiresAt time.Time
	// Required are the user's rules (served methods only) that name one
	// of Methods: Keystone's required_auth_methods.
	Required [][]string
}

func (e *MFARequired) Error() string {
	return fmt.Sprintf("Insufficient auth methods received for %s. Auth Methods Provided: [%s].", e.User.ID, strings.Join(e.Methods, ","))
}

// mfaRules are u's multi-factor rules when they are in force (rules set
// and multi_factor_auth_enabled not false, as Keystone reads them), each
// cut to the methods served (as Keystone drops the methods it has not
// loaded); nil when none are.
func mfaRules(u User, served []string) [][]string {
	o := u.Options
	if o.MultiFactorAuthRules == nil || (o.MultiFactorAuthEnabled != nil && !*o.MultiFactorAuthEnabled) {
		return nil
	}
	var rules [][]string
	for _, r := range *o.MultiFactorAuthRules {
		rules = append(rules, slices.DeleteFunc(slices.Clone(r), func(m string) bool { return !slices.Contains(served, m) }))
	}
	return rules
}

// mfaSatisfied is Keystone's check_auth_methods_against_rules: no rules
// in force, or one rule whose served methods all succeeded.
func mfaSatisfied(rules [][]string, methods []string) bool {
	if len(rules) == 0 {
		return true
	}
	for _, r := range rules {
		if !slices.ContainsFunc(r, func(m string) bool { return !slices.Contains(methods, m) }) {
			return true
		}
	}
	return false
}

// receiptMethods is Keystone's extract_receipt: the methods a receipt
// records, for the user who authenticated now. A receipt that is not
// one, has expired or is another user's is Keystone's 401 "Could not
// find auth receipt".
func (s *Auth) receiptMethods(receipt, userID string) ([]string, error) {
	r, err := s.Tokens.ParseReceipt(receipt)
	if err != nil || !s.now().Before(r.ExpiresAt) || r.UserID != userID {
		shown := receipt
		if len(shown) > 8 {
			shown = shown[:8] + "..."
		}
		return nil, unauthorized("Could not find auth receipt: %s.", shown)
	}
	return r.Methods, nil
}

// checkMFA refuses, with an auth receipt, methods that satisfy none of
// u's rules in force.
func (s *Auth) checkMFA(ctx context.Context, u User, methods []string) error {
	rules := mfaRules(u, s.Store.ServedMethods())
	if mfaSatisfied(rules, methods) {
		return nil
	}
	ttl := s.ReceiptTTL
	if ttl <= 0 {
		ttl = DefaultReceiptTTL
	}
	e := &MFARequired{User: u, Methods: methods, IssuedAt: s.now().UTC().Truncate(time.Second)}
	e.ExpiresAt = e.IssuedAt.Add(ttl)
	var err error
	if e.Receipt, err = s.Tokens.IssueReceipt(fernet.Receipt{UserID: u.ID, Methods: methods, ExpiresAt: e.ExpiresAt}); err != nil {
		return err
	}
	if e.UserDomain, err = s.Store.GetDomain(ctx, u.DomainID); err != nil {
		return err
	}
	for _, r := range rules {
		if slices.ContainsFunc(r, func(m string) bool { return slices.Contains(methods, m) }) {
			e.Required = append(e.Required, r)
		}
	}
	return e
}

// mfaInForce reports whether o would have Keystone enforce multi-factor
// rules; Validate then holds each rule's methods to those Auth serves.
func (o UserOptions) mfaInForce() bool {
	return o.MultiFactorAuthRules != nil && len(*o.MultiFactorAuthRules) > 0 &&
		(o.MultiFactorAuthEnabled == nil || *o.MultiFactorAuthEnabled)
}

// checkMFAMethods refuses rules in force that name a method not served:
// Keystone would drop it from the rule (an unloaded method), leaving a
// rule that asks for less than it says.
func (o UserOptions) checkMFAMethods(served []string) error {
	if !o.mfaInForce() {
		return nil
	}
	for _, r := range *o.MultiFactorAuthRules {
		for _, m := range r {
			if !slices.Contains(served, m) {
				return fault.Invalid("user.options.multi_factor_auth_rules", "%q is not an authentication method gostack serves (%s): "+
					"a rule naming it would be enforced without it", m, strings.Join(served, ", "))
			}
		}
	}
	return nil
}
