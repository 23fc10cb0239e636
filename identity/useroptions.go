package identity

import (
	"slices"

	"github.com/gostack/gostack/kit/fault"
)

// UserOptions are Keystone's user options (keystone/identity/backends/
// resource_options.py), shown as a user's "options" object. A nil member
// is an option that is not set (Keystone has no row for it); false is
// stored and shown as false.
//
// Their effects, as Keystone's: IgnoreLockoutFailureAttempts exempts the
// user from the lockout; IgnorePasswordExpiry from password expiry (a
// password set while it is on gets no expiry, and none expires while it
// is on); IgnoreChangePasswordUponFirstUse from the immediate expiry of a
// password an administrator sets under change_password_upon_first_use;
// LockPassword refuses the user's own password change (an administrator
// may still reset it); IgnoreUserInactivity exempts the user from being
// disabled for inactivity (Compliance.DisableUserAccountDaysInactive:
// they read as enabled however long ago they last authenticated).
// MultiFactorAuthRules are enforced by Auth unless
// MultiFactorAuthEnabled is false, as Keystone enforces them: a token
// needs the methods of one rule, gathered in one request or across
// requests with the auth receipt a 401 hands out (MFARequired). A rule
// in force may name only the methods served (Store.ServedMethods), where
// Keystone would drop the others and enforce what is left; the store
// checks that, Validate the shape.
type UserOptions struct {
	IgnoreChangePasswordUponFirstUse *bool       `json:"ignore_change_password_upon_first_use,omitempty"`
	IgnorePasswordExpiry             *bool       `json:"ignore_password_expiry,omitempty"`
	IgnoreLockoutFailureAttempts     *bool       `json:"ignore_lockout_failure_attempts,omitempty"`
	LockPassword                     *bool       `json:"lock_password,omitempty"`
	IgnoreUserInactivity             *bool       `json:"ignore_user_inactivity,omitempty"`
	MultiFactorAuthRules             *[][]string `json:"multi_factor_auth_rules,omitempty"`
	MultiFactorAuthEnabled           *bool       `json:"multi_factor_auth_enabled,omitempty"`
}

// UserOptionNames are the options Keystone 22 registers for users, the
// only members an "options" object may have.
var UserOptionNames = []string{"ignore_change_password_upon_first_use", "ignore_password_expiry",
	"ignore_lockout_failure_attempts", "lock_password", "ignore_user_inactivity",
	"multi_factor_auth_rules", "multi_factor_auth_enabled"}

// Bool returns the boolean option named name (one of UserOptionNames but
// multi_factor_auth_rules), for setting or clearing it; nil for any
// other name.
func (o *UserOptions) Bool(name string) **bool {
	switch name {
	case "ignore_change_password_upon_first_use":
		return &o.IgnoreChangePasswordUponFirstUse
	case "ignore_password_expiry":
		return &o.IgnorePasswordExpiry
	case "ignore_lockout_failure_attempts":
		return &o.IgnoreLockoutFailureAttempts
	case "lock_password":
		return &o.LockPassword
	case "ignore_user_inactivity":
		return &o.IgnoreUserInactivity
	case "multi_factor_auth_enabled":
		return &o.MultiFactorAuthEnabled
	}
	return nil
}

// Validate checks the options as Keystone's validators do (rules: a list
// of non-empty lists of method names, no list twice, no name twice in a
// list).
func (o UserOptions) Validate() error {
	if o.MultiFactorAuthRules != nil {
		rules := *o.MultiFactorAuthRules
		for i, rule := range rules {
			if len(rule) == 0 || slices.ContainsFunc(rules[:i], func(r []string) bool { return slices.Equal(r, rule) }) ||
				hasDuplicate(rule) {
				return fault.Invalid("user.options.multi_factor_auth_rules", "Invalid data type, must be a list of lists comprised of strings. "+
					"Sub-lists may not be duplicated. Strings in sub-lists may not be duplicated.")
			}
		}
	}
	return nil
}

func hasDuplicate(s []string) bool {
	for i := range s {
		if slices.Contains(s[:i], s[i]) {
			return true
		}
	}
	return false
}

// on reports whether a boolean option is set to true.
func on(b *bool) bool { return b != nil && *b }

// lockoutExempt users are never locked out: gostack's own users and
// those with ignore_lockout_failure_attempts.
func (u User) lockoutExempt() bool {
	return u.ComplianceExempt || on(u.Options.IgnoreLockoutFailureAttempts)
}

// expiryExempt users' passwords never expire: gostack's own users and
// those with ignore_password_expiry.
func (u User) expiryExempt() bool { return u.ComplianceExempt || on(u.Options.IgnorePasswordExpiry) }

// inactivityExempt users are never disabled for inactivity: gostack's own
// users and those with ignore_user_inactivity.
func (u User) inactivityExempt() bool {
	return u.ComplianceExempt || on(u.Options.IgnoreUserInactivity)
}
