package policy

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that a rule that does not parse
// fails closed, and that String re-parses to the same check.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "@", "!", "role:admin", "rule:a or rule:b and not c:%(d)s", "(a:1 or b:2) and c:3",
		"x:1 or (a:1 and b:2) and c:3", "not not ((a:b))", "'q'", "('a:b')", "a:1 and", "((",
		"True:%(t)s AND 'm':x Or NOT 1e3:1000.0", "http://x/%(y)s", "a:1\u00a0or\x1cb:2", "foo",
		"(a:1)and(b:2)", "%(x)s:%%", "\"a:b\" or c:d", ")(", "not", "'x' or a:b",
	} {
		f.Add(s)
	}
	creds := []Creds{
		{},
		{UserID: "u", ProjectID: "p", Roles: []string{"admin", "member"}, SystemScope: "all"},
		{UserID: "x", Roles: []string{"reader"}, Extra: map[string]any{"a": map[string]any{"b": "1"}}},
	}
	targets := []map[string]any{nil, {"d": "u", "x": "admin", "t": true, "y": nil}}
	rules := map[string]*node{"a": trueNode, "b": falseNode}
	f.Fuzz(func(t *testing.T, rule string) {
		c, err := Parse(rule)
		if c.root == nil {
			t.Fatalf("Parse(%q) returned the zero Check", rule)
		}
		if err != nil && strings.Contains(err.Error(), "does not reduce") && c.root != falseNode {
			t.Fatalf("Parse(%q) failed (%v) but did not fail closed: %s", rule, err, c)
		}
		if err != nil && strings.Contains(err.Error(), "not a check") && c.root != brokenNode {
			t.Fatalf("Parse(%q) failed (%v) but did not fail closed: %s", rule, err, c)
		}
		s := c.String()
		c2, _ := Parse(s)
		if s2 := c2.String(); s2 != s {
			t.Fatalf("Parse(%q).String() = %q, which re-parses to %q", rule, s, s2)
		}
		for _, cr := range creds {
			for _, tg := range targets {
				e1 := evaluator{rules: rules, target: tg, creds: &cr}
				e2 := evaluator{rules: rules, target: tg, creds: &cr}
				r1, r2 := e1.eval(c.root), e2.eval(c2.root)
				if err != nil && c.root == falseNode && (r1 || e1.fail != "") {
					t.Fatalf("Parse(%q) failed but evaluates to %v (%q)", rule, r1, e1.fail)
				}
				// A broken rule prints as "!": both deny, one by failing.
				sameFail := (e1.fail == "") == (e2.fail == "") || c.root == brokenNode
				if r1 != r2 || !sameFail {
					t.Fatalf("%q and its String %q decide differently: %v/%q vs %v/%q", rule, s, r1, e1.fail, r2, e2.fail)
				}
			}
		}
	})
}
