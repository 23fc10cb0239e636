package identity_test

import (
	"encoding/base32"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/identity"
	"github.com/gostack/gostack/internal/testenv"
)

// TestTOTPPasscodes: RFC 6238's SHA-1 vectors (their last six digits:
// Keystone's passcodes are six long), the windows before the current
// step, and secrets Keystone pads (no "=") or cannot decode.
func TestTOTPPasscodes(t *testing.T) {
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	for unix, want := range map[int64]string{59: "287082", 1111111109: "081804", 1111111111: "050471", 1234567890: "005924", 2000000000: "279037"} {
		got, err := identity.TOTPPasscodes(secret, time.Unix(unix, 0), 0)
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("t=%d: %v %v, want %s", unix, got, err, want)
		}
	}
	got, err := identity.TOTPPasscodes(strings.TrimRight(strings.ToLower(secret), "="), time.Unix(1111111111+30, 0), 2)
	if err != nil || len(got) != 3 || got[1] != "050471" {
		t.Errorf("windows: %v %v", got, err)
	}
	if _, err := identity.TOTPPasscodes("not base32!", time.Now(), 1); err == nil {
		t.Error("a secret that is not base32 gave passcodes")
	}
	// Keystone's cryptography refuses keys under 128 bits.
	if _, err := identity.TOTPPasscodes(base32.StdEncoding.EncodeToString([]byte("fifteen bytes!!")), time.Now(), 1); err == nil {
		t.Error("a 15-byte secret gave passcodes")
	}
}

// TestTOTPAgainstKeystone: the passcodes are those Keystone's own
// _generate_totp_passcodes gives (python3-keystone, its clock fixed),
// for random secrets, times and windows.
func TestTOTPAgainstKeystone(t *testing.T) {
	testenv.RequirePython(t, "keystone.auth.plugins.totp", "python3-keystone")
	type tc struct {
		Secret  string `json:"secret"`
		Unix    int64  `json:"unix"`
		Windows int    `json:"windows"`
	}
	var cases []tc
	for i := range 20 {
		key := []byte(fmt.Sprintf("gostack-totp-secret-%d-%x-%s", i, i*7919, strings.Repeat("k", i)))
		cases = append(cases, tc{Secret: strings.TrimRight(base32.StdEncoding.EncodeToString(key), "="), Unix: 1_600_000_000 + int64(i)*4_000_037, Windows: i % 4})
	}
	in, _ := json.Marshal(cases)
	out, err := exec.Command(testenv.SystemPython, "-c", `
import datetime, json, sys
from oslo_utils import timeutils
from keystone.auth.plugins import totp
res = []
for c in json.loads(sys.argv[1]):
    timeutils.set_time_override(datetime.datetime.fromtimestamp(c["unix"], datetime.timezone.utc).replace(tzinfo=None))
    res.append(totp._generate_totp_passcodes(c["secret"], c["windows"]))
print(json.dumps(res))
`, string(in)).CombinedOutput()
	if err != nil {
		t.Fatalf("keystone: %v\n%s", err, out)
	}
	var want [][]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, c := range cases {
		got, err := identity.TOTPPasscodes(c.Secret, time.Unix(c.Unix, 0), c.Windows)
		if err != nil || !slices.Equal(got, want[i]) {
			t.Errorf("%+v: %v %v, Keystone %v", c, got, err, want[i])
		}
	}
}

// TestCheckAuthMethods: Keystone's method names, none twice, one at least.
func TestCheckAuthMethods(t *testing.T) {
	if err := identity.CheckAuthMethods([]string{"external", "password", "token", "oauth1", "mapped", "application_credential", "totp"}); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{nil, {"password", "password"}, {"password", "sms"}} {
		if err := identity.CheckAuthMethods(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}
