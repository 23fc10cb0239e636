package identity

import (
	"fmt"
	"time"

	"github.com/gostack/gostack/kit/fault"
	"github.com/gostack/gostack/kit/pyregex"
)

// Compliance is Keystone's [security_compliance] (keystone/conf/
// security_compliance.py); the zero value turns every rule off, as
// Keystone's defaults do.
type Compliance struct {
	// LockoutFailureAttempts failed password authentications in a row
	// lock a user out, for LockoutDuration (0: until an administrator
	// updates the user, which unlocks it). 0: no lockout.
	LockoutFailureAttempts int
	LockoutDuration        time.Duration
	// PasswordExpiresDays: a password set from now on expires after that
	// many days (0: never).
	PasswordExpiresDays int
	// UniqueLastPasswordCount: a user's own new password may be none of
	// their last that many, the current one included (0: any).
	UniqueLastPasswordCount int
	// MinimumPasswordAge: days a password a user set themselves must be
	// kept before they change it again (administrators may reset it).
	MinimumPasswordAge int
	// PasswordRegex must match a new password from its start (Python's
	// re.match), with PasswordRegexDescription telling users why one
	// does not. Empty: any password. Read as Python's re reads it
	// (kit/pyregex: lookarounds, backreferences, Unicode classes; the
	// example in Keystone's help, ^(?=.*\d)(?=.*[a-zA-Z]).{7,}$, works); a
	// match that runs over PasswordRegexTimeout counts as no match.
	PasswordRegex            string
	PasswordRegexDescription string
	// ChangePasswordUponFirstUse: a password an administrator sets (on
	// create or reset) is expired at once, so its user must change it.
	ChangePasswordUponFirstUse bool
	// DisableUserAccountDaysInactive: a user whose last activity is that
	// many days back reads as disabled (Keystone's enabled getter: not a
	// stored change, until an update writes it) and cannot authenticate,
	// until an administrator enables them again. Days are whole UTC
	// dates: the last activity is User.LastActiveAt (the last successful
	// password authentication, or an update that left the user enabled
	// while this is on), else the date the user was created; a user with
	// neither is never disabled. gostack's own users and those with
	// ignore_user_inactivity are exempt. 0: off.
	DisableUserAccountDaysInactive int

	regex *pyregex.Regexp
}

// PasswordRegexTimeout bounds one match of PasswordRegex: a pattern that
// backtracks without end (Python would hang on it) refuses the password
// instead.
const PasswordRegexTimeout = 100 * time.Millisecond

// Validate compiles PasswordRegex and checks the numbers, naming the
// setting at fault.
func (c *Compliance) Validate() error {
	switch {
	case c.LockoutFailureAttempts < 0:
		return fmt.Errorf("lockout_failure_attempts must be 0 (off) or more")
	case c.LockoutDuration < 0:
		return fmt.Errorf("lockout_duration must be 0 (until re-enabled) or more")
	case c.PasswordExpiresDays < 0:
		return fmt.Errorf("password_expires_days must be 0 (never) or more")
	case c.UniqueLastPasswordCount < 0:
		return fmt.Errorf("unique_last_password_count must be 0 (off) or more")
	case c.MinimumPasswordAge < 0:
		return fmt.Errorf("minimum_password_age must be 0 (off) or more")
	case c.DisableUserAccountDaysInactive < 0:
		return fmt.Errorf("disable_user_account_days_inactive must be 0 (off) or more")
	}
	re, err := c.compile()
	c.regex = re
	return err
}

// compile compiles PasswordRegex (nil when empty), for matches from the
// start, as Python's re.match reads it.
func (c *Compliance) compile() (*pyregex.Regexp, error) {
	if c.PasswordRegex == "" {
		return nil, nil
	}
	re, err := pyregex.Compile(c.PasswordRegex, PasswordRegexTimeout)
	if err != nil {
		return nil, fmt.Errorf("password_regex is %w", err)
	}
	return re, nil
}

// CheckPassword is Keystone's validate_password: a new password must
// match PasswordRegex (400 "The password does not match the
// requirements: <description>.").
func (c *Compliance) CheckPassword(pw string) error {
	re := c.regex
	if re == nil {
		var err error
		if re, err = c.compile(); err != nil {
			return fault.New(fault.BadRequest, "Password validation error: Unable to validate password due to invalid configuration.")
		}
	}
	if re != nil {
		// An error is the timeout: the pattern backtracks without end.
		if ok, err := re.Match(pw); !ok || err != nil {
			return fault.New(fault.BadRequest, "The password does not match the requirements: %s.", c.PasswordRegexDescription)
		}
	}
	return nil
}

// expiresAt is when u's password set at now expires: Keystone's
// _get_password_expires_at (whole seconds, none for a user with
// ignore_password_expiry), or now itself for one an administrator set
// under ChangePasswordUponFirstUse (Keystone's _change_password_required,
// unless the user has ignore_change_password_upon_first_use).
func (c *Compliance) expiresAt(u User, now time.Time, byAdmin bool) *time.Time {
	switch {
	case byAdmin && c.ChangePasswordUponFirstUse && !on(u.Options.IgnoreChangePasswordUponFirstUse):
		return &now
	case c.PasswordExpiresDays > 0 && !on(u.Options.IgnorePasswordExpiry):
		t := now.AddDate(0, 0, c.PasswordExpiresDays).Truncate(time.Second)
		return &t
	}
	return nil
}

// locked reports whether u is locked out at now (Keystone's
// _is_account_locked); a lockout that has run out is over.
func (c *Compliance) locked(u User, now time.Time) bool {
	if c.LockoutFailureAttempts == 0 || u.lockoutExempt() || u.FailedAuths < c.LockoutFailureAttempts {
		return false
	}
	return c.LockoutDuration == 0 || (u.LastFailedAuth != nil && u.LastFailedAuth.Add(c.LockoutDuration).After(now))
}

// inactive reports whether u, enabled as stored, reads as disabled at
// now for want of activity: Keystone's enabled getter, where the days
// inactive are those between the UTC date of the last activity (else of
// the user's creation) and today's.
func (c *Compliance) inactive(u User, now time.Time) bool {
	if c.DisableUserAccountDaysInactive == 0 || !u.Enabled || u.inactivityExempt() {
		return false
	}
	last := u.LastActiveAt
	if last == nil {
		last = u.CreatedAt
	}
	return last != nil && daysBetween(*last, now) >= c.DisableUserAccountDaysInactive
}

// date is t's UTC date, as the time of its midnight.
func date(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween counts the dates from from's to to's (Python's
// (to.date() - from.date()).days).
func daysBetween(from, to time.Time) int { return int(date(to).Sub(date(from)) / (24 * time.Hour)) }

// activeToday is the last_active_at an enabling update or a password
// authentication at now stamps: today's date, or nil while
// DisableUserAccountDaysInactive is off (Keystone keeps no activity then).
func (c *Compliance) activeToday(now time.Time) *time.Time {
	if c.DisableUserAccountDaysInactive == 0 {
		return nil
	}
	d := date(now)
	return &d
}

// expired reports whether u's password has expired at now.
func expired(u User, now time.Time) bool {
	return u.PasswordExpiresAt != nil && !u.expiryExempt() && !now.Before(*u.PasswordExpiresAt)
}

// checkMinimumAge is Keystone's _validate_minimum_password_age, for a
// password its user set.
func (c *Compliance) checkMinimumAge(u User, now time.Time) error {
	if !u.PasswordSelfService || c.MinimumPasswordAge == 0 || u.PasswordCreatedAt == nil {
		return nil
	}
	minAge := u.PasswordCreatedAt.AddDate(0, 0, c.MinimumPasswordAge)
	if !now.Before(minAge) {
		return nil
	}
	daysLeft := int(minAge.Sub(now) / (24 * time.Hour))
	return fault.New(fault.BadRequest, "You cannot change your password at this time due to the minimum password age. "+
		"Once you change your password, it must be used for %d day(s) before it can be changed. "+
		"Please try again in %d day(s) or contact your administrator to reset your password.", c.MinimumPasswordAge, daysLeft)
}

// historyError is Keystone's PasswordHistoryValidationError.
func (c *Compliance) historyError() error {
	return fault.New(fault.BadRequest, "The new password cannot be identical to a previous password. "+
		"The total number which includes the new password must be unique is %d.", c.UniqueLastPasswordCount)
}

// newPassword stamps u's password as new: set now, by an administrator
// or (selfService) its user, expiring as Compliance says.
func (s *Store) newPassword(u *User, selfService bool) {
	now := s.now()
	u.PasswordCreatedAt, u.PasswordSelfService = &now, selfService
	u.PasswordExpiresAt = nil
	if !u.ComplianceExempt && u.PasswordHash != "" {
		u.PasswordExpiresAt = s.Compliance.expiresAt(*u, now, !selfService)
	}
}
