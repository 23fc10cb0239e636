package pyregex_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gostack/gostack/internal/testenv"
	"github.com/gostack/gostack/kit/pyregex"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// corpus: patterns operators write for Keystone's password_regex and
// Designate's blacklists, Python's own spellings, Unicode classes, and
// patterns Python refuses.
var (
	patterns = []string{
		`^(?=.*\d)(?=.*[a-zA-Z]).{7,}$`, `^(?=.*\W).{8,}$`, `^(?=.*[^\w\s]).{8,}$`, `^\S{8,}$`, `^(?!.{,7}$).*`,
		`a{,2}b`, `(?P<c>.)(?P=c)`, `(?P<word>\w+)-(?P=word)`, `(a)\1`, `^abc\Z`, `^abc$`, `\d+`, `[]a]+`, `[^]a]+`,
		`[\]]x`, `(?i)secret`, `^([A-Za-z0-9_\-]+\.)*example\.com\.$`, `^(?!www\.)[a-z]+\.shop\.example\.$`,
		`(?<=a)b`, `a)|(b`, `(a`, `[`, `a{2,1}`, `\`, `x{,}`, `\{,3}`, `[{,3}]+`, `(?:ab)+c`, `^.{8,64}$`,
	}
	inputs = []string{
		"abc1234", "abcdefg", "1234567", "abcdefgé", "abcdefg!", "abc\u00a0defgh", "short", "Abcdefg1\n", "٣٣٣",
		"aab", "abb", "go-go", "aa", "abc", "abc\n", "b", "xb", "]]a", "bcd", "]x", "SeCrEt", "www.example.com.",
		"a.b.example.com.", "buy.shop.example.", "www.shop.example.", "ab", "aaab", "x{,}", "{,3}", "ababc", "",
	}
)

// TestAgainstPython: for every pattern of the corpus, compiling succeeds
// where Python's re.compile does, and re.match and re.search agree with
// Match and Search on every input (/usr/bin/python3's re).
func TestAgainstPython(t *testing.T) {
	testenv.RequirePython(t, "re", "python3")
	in, _ := json.Marshal(map[string]any{"patterns": patterns, "inputs": inputs})
	out, err := exec.Command(testenv.SystemPython, "-c", `
import json, re, sys
req = json.loads(sys.argv[1])
res = []
for p in req["patterns"]:
    try:
        r = re.compile(p)
    except re.error:
        res.append(None)
        continue
    res.append([[bool(r.match(s)), bool(r.search(s))] for s in req["inputs"]])
print(json.dumps(res))
`, string(in)).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	var want [][][2]bool
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for i, p := range patterns {
		re, err := pyregex.Compile(p, time.Second)
		if want[i] == nil {
			if err == nil {
				t.Errorf("%q: compiled, Python refuses it", p)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v, Python compiles it", p, err)
			continue
		}
		for j, s := range inputs {
			m, err1 := re.Match(s)
			f, err2 := re.Search(s)
			if err1 != nil || err2 != nil || m != want[i][j][0] || f != want[i][j][1] {
				t.Errorf("%q on %q: match %v search %v (%v %v), Python %v", p, s, m, f, err1, err2, want[i][j])
			}
		}
	}
}

// TestTimeout: a pattern that backtracks without end is stopped near its
// bound, with an error that does not quote the input.
func TestTimeout(t *testing.T) {
	re, err := pyregex.Compile(`^(a+)+$`, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.Repeat("a", 64) + "!"
	start := time.Now()
	ok, err := re.Match(secret)
	if ok || err != pyregex.ErrTimeout || strings.Contains(err.Error(), secret) {
		t.Fatalf("match: %v %v", ok, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a 20 ms bound took %v", d)
	}
	t.Logf("a 20 ms bound stopped after %v", time.Since(start))
}
