package policy

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, rule, want string
		wantErr          bool
	}{
		{"empty is true", "", "@", false},
		{"true", "@", "@", false},
		{"false", "!", "!", false},
		{"whitespace only does not parse", " \t ", "!", true},
		{"role", "role:admin", "role:admin", false},
		{"rule", "rule:admin_required", "rule:admin_required", false},
		{"generic", "project_id:%(target.project.id)s", "project_id:%(target.project.id)s", false},
		{"match keeps colons", "role:compute:admin", "role:compute:admin", false},
		{"and", "role:a and role:b", "(role:a and role:b)", false},
		{"and chain", "a:1 and b:2 and c:3", "(a:1 and b:2 and c:3)", false},
		{"or chain", "a:1 or b:2 or c:3", "(a:1 or b:2 or c:3)", false},
		{"and binds tighter", "a:1 or b:2 and c:3", "(a:1 or (b:2 and c:3))", false},
		{"and binds tighter twice", "a:1 and b:2 or c:3 and d:4", "((a:1 and b:2) or (c:3 and d:4))", false},
		{"mixed run", "a:1 or b:2 and c:3 and d:4 or e:5", "(a:1 or (b:2 and c:3 and d:4) or e:5)", false},
		{"parens", "(a:1 or b:2) and c:3", "((a:1 or b:2) and c:3)", false},
		{"parens glued", "((a:1))", "a:1", false},
		{"parenthesised and is extended", "x:1 or (a:1 and b:2) and c:3", "(x:1 or (a:1 and b:2 and c:3))", false},
		{"nested and", "(a:1 and b:2) and c:3", "((a:1 and b:2) and c:3)", false},
		{"not", "not role:a", "not role:a", false},
		{"not binds tightest", "not a:1 and b:2", "(not a:1 and b:2)", false},
		{"not not", "not not a:1", "not not a:1", false},
		{"not parens", "not (a:1 or b:2)", "not (a:1 or b:2)", false},
		{"keywords any case", "a:1 AND b:2 Or NOT c:3", "((a:1 and b:2) or not c:3)", false},
		{"parens inside a token stay", "(a:1)and(b:2)", "a:1)and(b:2", false},
		{"python whitespace", "a:1\u00a0or\u3000b:2\x1fand\tc:3", "(a:1 or (b:2 and c:3))", false},
		{"no colon is false in place", "foo or @", "(! or @)", true},
		{"quoted token does not reduce", "'admin'", "!", true},
		{"quoted token with paren is a check", "('a:b')", "('a:b')", false},
		{"dangling and", "a:1 and", "!", true},
		{"dangling or", "or a:1", "!", true},
		{"unbalanced open", "(a:1", "!", true},
		{"unbalanced close", "a:1)", "!", true},
		{"lone keyword", "not", "!", true},
		{"two checks", "a:1 b:2", "!", true},
		{"http parses", "http://example.com/%(x)s", "http://example.com/%(x)s", false},
		{"literal kinds", "True:%(user.enabled)s and 'member':%(role.name)s", "(True:%(user.enabled)s and 'member':%(role.name)s)", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.rule)
			if got := c.String(); got != tt.want {
				t.Errorf("Parse(%q) = %s, want %s", tt.rule, got, tt.want)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("Parse(%q) error = %v, want error %v", tt.rule, err, tt.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "policy: parse") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name    string
		rule    [][]string
		want    string
		wantErr bool
	}{
		{"empty is true", nil, "@", false},
		{"all inner empty is false", [][]string{{}, {}}, "!", false},
		{"one check", [][]string{{"role:admin"}}, "role:admin", false},
		{"inner and", [][]string{{"role:a", "project_id:%(project_id)s"}}, "(role:a and project_id:%(project_id)s)", false},
		{"outer or", [][]string{{"role:a"}, {"role:b", "role:c"}}, "(role:a or (role:b and role:c))", false},
		{"not tokenized", [][]string{{"role:a or b"}}, "role:a or b", false},
		{"no colon", [][]string{{"foo"}, {"@"}}, "(! or @)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseList(tt.rule)
			if got := c.String(); got != tt.want {
				t.Errorf("ParseList(%q) = %s, want %s", tt.rule, got, tt.want)
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("ParseList(%q) error = %v, want error %v", tt.rule, err, tt.wantErr)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		kind  string
		class kindClass
		lit   string
	}{
		{"True", kindLiteral, "True"},
		{"None", kindLiteral, "None"},
		{"...", kindLiteral, "Ellipsis"},
		{"'member'", kindLiteral, "member"},
		{`"a'b"`, kindLiteral, "a'b"},
		{`'a''b'`, kindLiteral, "ab"},
		{`'\x41\n'`, kindLiteral, "A\n"},
		{`r'\n'`, kindLiteral, `\n`},
		{`b'x'`, kindLiteral, "b'x'"},
		{"1", kindLiteral, "1"},
		{"-1", kindLiteral, "-1"},
		{"-0", kindLiteral, "0"},
		{"-0.0", kindLiteral, "-0.0"},
		{"0x1F", kindLiteral, "31"},
		{"0o17", kindLiteral, "15"},
		{"0b101", kindLiteral, "5"},
		{"1_000", kindLiteral, "1000"},
		{"00", kindLiteral, "0"},
		{"1e3", kindLiteral, "1000.0"},
		{"1.5", kindLiteral, "1.5"},
		{".5", kindLiteral, "0.5"},
		{"1.", kindLiteral, "1.0"},
		{"1e16", kindLiteral, "1e+16"},
		{"1e-5", kindLiteral, "1e-05"},
		{"1e400", kindLiteral, "inf"},
		{"user_id", kindPath, ""},
		{"token.project.domain.id", kindPath, ""},
		{"None.x", kindPath, ""},
		{"01", kindUnsupported, ""},
		{"1abc", kindUnsupported, ""},
		{"1e", kindUnsupported, ""},
		{"1__0", kindUnsupported, ""},
		{"", kindUnsupported, ""},
		{"a..b", kindUnsupported, ""},
		{"a.None", kindUnsupported, ""},
		{"class", kindUnsupported, ""},
		{"a-b", kindUnsupported, ""},
		{"[1]", kindUnsupported, ""},
		{"1j", kindUnsupported, ""},
		{"'abc", kindUnsupported, ""},
		{"b'\u00e9'", kindUnsupported, ""},
		{"'a'b'x'", kindUnsupported, ""},
		{"f'x'", kindUnsupported, ""},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			got := kindOf(tt.kind)
			if got.class != tt.class || got.lit != tt.lit {
				t.Fatalf("kindOf(%q) = %+v, want class %d lit %q", tt.kind, got, tt.class, tt.lit)
			}
		})
	}
}

func TestPyValues(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "None"},
		{true, "True"},
		{3, "3"},
		{int64(-7), "-7"},
		{2.0, "2.0"},
		{0.1, "0.1"},
		{1e22, "1e+22"},
		{123456789.0, "123456789.0"},
		{[]any{"a", 1.0, nil, map[string]any{"k": "v"}}, "['a', 1.0, None, {'k': 'v'}]"},
		{[]string{"it's", `q"`, "t\tab"}, `["it's", 'q"', 't\tab']`},
	}
	for _, tt := range tests {
		got, ok := pyStr(tt.v)
		if !ok || got != tt.want {
			t.Errorf("pyStr(%#v) = %q, %v; want %q", tt.v, got, ok, tt.want)
		}
	}
	if _, ok := pyStr(struct{}{}); ok {
		t.Error("pyStr(struct{}{}) succeeded; want failure for types with no Python equivalent")
	}
	lower := []struct {
		a, b string
		want bool
	}{
		{"Admin", "aDMIN", true},
		{"admin", "admins", false},
		{"ΑΣ", "ας", true},   // final sigma
		{"ΑΣΑ", "ασα", true}, // medial sigma
		{"İ", "i̇", true},
		{"İ", "i", false},
	}
	for _, tt := range lower {
		if got := equalLower(tt.a, tt.b); got != tt.want {
			t.Errorf("equalLower(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
