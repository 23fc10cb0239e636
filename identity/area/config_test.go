package area_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gostack/gostack/identity/area"
	"github.com/gostack/gostack/kit/config"
)

// TestConfigSecurityCompliance: the [security_compliance] settings are
// checked when the config is, each refusal naming its key; Keystone's
// defaults turn every rule off.
func TestConfigSecurityCompliance(t *testing.T) {
	def := area.New().Config
	if err := def.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	x, err := def.Compliance()
	if err != nil || x.LockoutFailureAttempts != 0 || x.LockoutDuration != 30*time.Minute || x.PasswordExpiresDays != 0 ||
		x.UniqueLastPasswordCount != 0 || x.MinimumPasswordAge != 0 || x.PasswordRegex != "" || x.ChangePasswordUponFirstUse ||
		x.DisableUserAccountDaysInactive != 0 {
		t.Errorf("default compliance = %+v, %v", x, err)
	}
	for _, tt := range []struct {
		name string
		set  func(*area.Config)
		key  string
	}{
		{"a lookbehind left open", func(c *area.Config) { c.PasswordRegex = `(?<=a` }, "password_regex"},
		{"an unclosed group", func(c *area.Config) { c.PasswordRegex = `(ab` }, "password_regex"},
		{"negative attempts", func(c *area.Config) { c.LockoutFailureAttempts = -1 }, "lockout_failure_attempts"},
		{"negative duration", func(c *area.Config) { c.LockoutDuration = -1 }, "lockout_duration"},
		{"negative expiry", func(c *area.Config) { c.PasswordExpiresDays = -1 }, "password_expires_days"},
		{"negative history", func(c *area.Config) { c.UniqueLastPasswordCount = -2 }, "unique_last_password_count"},
		{"negative age", func(c *area.Config) { c.MinimumPasswordAge = -1 }, "minimum_password_age"},
		{"negative inactivity", func(c *area.Config) { c.DisableUserAccountDays = -1 }, "disable_user_account_days_inactive"},
		{"no receipt lifetime", func(c *area.Config) { c.ReceiptTTL = 0 }, "receipt_expiration"},
		{"a receipt for two days", func(c *area.Config) { c.ReceiptTTL = config.Duration(48 * time.Hour) }, "receipt_expiration"},
		{"totp windows", func(c *area.Config) { c.TOTPWindows = 11 }, "totp_included_previous_windows"},
		{"an unknown method", func(c *area.Config) { c.AuthMethods = []string{"password", "sms"} }, "auth_methods"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := area.New().Config
			tt.set(&c)
			var fe *config.FieldError
			if err := c.Validate(); !errors.As(err, &fe) || fe.Key != tt.key {
				t.Errorf("Validate = %v, want a problem with %s", err, tt.key)
			}
		})
	}
	c := area.New().Config
	c.PasswordRegex, c.LockoutFailureAttempts, c.PasswordExpiresDays, c.DisableUserAccountDays = `.{8,}`, 3, 90, 90
	if err := c.Validate(); err != nil {
		t.Errorf("a valid setting: %v", err)
	}
	if x, _ := c.Compliance(); x.DisableUserAccountDaysInactive != 90 {
		t.Errorf("disable_user_account_days_inactive 90 reads %d", x.DisableUserAccountDaysInactive)
	}
	// Keystone's own example (its lookaheads are read as Python reads them).
	c.PasswordRegex = `^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`
	if err := c.Validate(); err != nil {
		t.Errorf("Keystone's example: %v", err)
	}
}
