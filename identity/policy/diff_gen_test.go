package policy

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// Seeded generators for the differential test: the same seed gives the
// same cases on every run.

type gen struct{ r *rand.Rand }

func newGen(seed uint64) *gen { return &gen{rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))} }

func (g *gen) pick(xs ...string) string { return xs[g.r.IntN(len(xs))] }
func (g *gen) chance(n int) bool        { return g.r.IntN(n) == 0 }

// ws is a run of Python whitespace, mostly a plain space.
func (g *gen) ws() string {
	if g.chance(4) {
		return g.pick("  ", "\t", "\n", "\u00a0", "\u3000", "\x1f", " \r\n ")
	}
	return " "
}

func (g *gen) keyword(kw string) string {
	switch g.r.IntN(4) {
	case 0:
		return strings.ToUpper(kw)
	case 1:
		return strings.ToUpper(kw[:1]) + kw[1:]
	}
	return kw
}

var (
	genKinds = []string{
		"user_id", "project_id", "domain_id", "system_scope", "system", "roles", "service_roles",
		"is_admin_project", "is_admin", "token.user.id", "token.roles.name", "token.nope", "roles.name",
		"user_id.x", "True", "False", "None", "'member'", `"reader"`, "123", "-1", "1.5", "0x7b",
		"1_000", "1e3", "1abc", "",
	}
	genMatches = []string{
		"u1", "u2", "p1", "d1", "all", "admin", "member", "reader", "True", "False", "None", "123",
		"1.5", "1000.0", "1000", "%(target.x)s", "%(target.y)s", "%(target.nope)s",
		"%(target.x)s%(target.y)s", "50%", "%%admin", "%(target.nope)s%",
	}
	genValues = []any{"u1", "p1", "d1", "admin", "member", "Admin", nil, true, false, 123, 1.5, 2.0, "1000.0"}
)

func (g *gen) atom() string {
	switch g.r.IntN(12) {
	case 0:
		return g.pick("@", "!", "foo", "'quoted'", "http://example.invalid/%(target.x)s")
	case 1, 2, 3:
		return "role:" + g.pick("admin", "Admin", "READER", "member", "service", "%(target.role)s", "%(target.nope)s")
	case 4, 5:
		return "rule:" + g.pick("r_true", "r_false", "r_member", "missing", "default", "case")
	}
	return g.pick(genKinds...) + ":" + g.pick(genMatches...)
}

func (g *gen) expr(depth int) string {
	if depth <= 0 || g.chance(3) {
		return g.atom()
	}
	switch g.r.IntN(5) {
	case 0, 1:
		return g.expr(depth-1) + g.ws() + g.keyword("and") + g.ws() + g.expr(depth-1)
	case 2, 3:
		return g.expr(depth-1) + g.ws() + g.keyword("or") + g.ws() + g.expr(depth-1)
	}
	if g.chance(2) {
		return g.keyword("not") + g.ws() + g.expr(depth-1)
	}
	open, close := "(", ")"
	if g.chance(2) {
		open, close = "( ", " )"
	}
	return open + g.expr(depth-1) + close
}

// rule returns a rule string, now and then broken.
func (g *gen) rule() string {
	s := g.expr(4)
	if g.chance(12) {
		switch g.r.IntN(4) {
		case 0:
			s = strings.Replace(s, ")", "", 1)
		case 1:
			s += g.ws() + "and"
		case 2:
			s = "(" + s
		case 3:
			s = "'x'" + g.ws() + "or" + g.ws() + s
		}
	}
	return s
}

func randomRules(n int, seed uint64) []string {
	g := newGen(seed)
	out := make([]string, n)
	for i := range out {
		out[i] = g.rule()
	}
	return out
}

func (g *gen) target() map[string]any {
	m := map[string]any{}
	for _, k := range []string{"target.x", "target.y", "target.role", "user_id"} {
		if !g.chance(5) {
			m[k] = genValues[g.r.IntN(len(genValues))]
		}
	}
	return m
}

func (g *gen) creds() Creds {
	c := Creds{
		UserID:         g.pick("", "u1", "u2"),
		ProjectID:      g.pick("", "p1"),
		DomainID:       g.pick("", "d1"),
		SystemScope:    g.pick("", "", "all"),
		IsAdmin:        g.chance(4),
		IsAdminProject: g.chance(2),
	}
	for _, r := range []string{"admin", "Admin", "reader", "member", "MEMBER", "service"} {
		if g.chance(3) {
			c.Roles = append(c.Roles, r)
		}
	}
	switch g.r.IntN(4) {
	case 0, 1:
		c.Extra = map[string]any{"token": token}
	case 2:
		c.Extra = map[string]any{"token": map[string]any{"roles": []any{"admin"}}}
	}
	return c
}

func randomCases(n int, seed uint64) []diffCase {
	g := newGen(seed)
	out := make([]diffCase, n)
	for i := range out {
		var rule any = g.rule()
		if g.chance(6) {
			var list [][]string
			for range g.r.IntN(3) + 1 {
				var inner []string
				for range g.r.IntN(3) {
					inner = append(inner, g.atom())
				}
				list = append(list, inner)
			}
			rule = list
		}
		more := []string{}
		if g.chance(3) {
			more = []string{"default", g.pick("@", "!", "role:admin")}
		}
		out[i] = diffCase{name: "random#" + strconv.Itoa(i), rules: rules(rule, more...),
			target: g.target(), creds: g.creds()}
	}
	return out
}

// literalKinds are check kinds around the edges of ast.literal_eval.
func literalKinds() []string {
	return []string{
		"True", "False", "None", "...", "'member'", `"a'b"`, `'a''b'`, `'a' "b"`, `'\x41\n'`, `'\101'`,
		`'\u00e9'`, `'\U0001F600'`, `'\d'`, `r'\n'`, `R"\'"`, `u'x'`, `b'x'`, `B'\x00\xff'`, `rb'\n'`,
		`b'it''s'`, "1", "-1", "+1", "- 1", "-0", "-0.0", "0x1F", "0X_1f", "0o17", "0b101", "1_000", "00",
		"0_0", "1e3", "1E+3", "1e-3", "1.5", ".5", "1.", "1.e2", "1e16", "1e-5", "1e400", "-1e400",
		"123456789012345678901234567890", "0.1", "1_0.0_1e1_0", "user_id", "token.project.domain.id",
		"None.x", "match", "_", " user_id", "user_id ", "01", "1abc", "1e", "1__0", "1_", "0x", "0x1g",
		"", "a..b", "a.None", "class", "a.if", "'abc", `'abc\'`, "'''a'''", "b'\u00e9'", "'a'b'x'",
		"u'a'b'b'", "'a'f'b'", "-'a'", "--1", "+-1", "1 2", `'\x4'`, `'\777'`,
	}
}

// randomKinds generates number and string literals and near-misses.
func randomKinds(n int, seed uint64) []string {
	g := newGen(seed)
	digits := func() string {
		var b strings.Builder
		for range g.r.IntN(4) + 1 {
			b.WriteString(g.pick("0", "1", "7", "9", "00", "_", "5"))
		}
		return b.String()
	}
	out := make([]string, n)
	for i := range out {
		switch g.r.IntN(4) {
		case 0:
			out[i] = g.pick("", "-", "+") + digits() + g.pick("", ".", "."+digits()) + g.pick("", "e"+digits(), "E-"+digits())
		case 1:
			out[i] = g.pick("0x", "0o", "0b", "0X") + g.pick("", "_") + digits() + g.pick("", "f", "F2", "8")
		case 2:
			body := g.pick("a", `\n`, `\\`, `\x41`, `\'`, `"`, "é", `\t`, `\q`, " ")
			q := g.pick("'", `"`)
			out[i] = g.pick("", "r", "b", "u", "br", "Rb") + q + body + g.pick(q, q+q+"x"+q, "")
		default:
			out[i] = g.pick("user", "_x", "t1", "None", "if", "A") + g.pick("", ".", ".id", ".0", "..y", "-z")
		}
	}
	return out
}

// keystoneCases evaluate Keystone's defaults: "case" is rule:<a default>.
func keystoneCases(n int, seed uint64) []diffCase {
	g := newGen(seed)
	defaults := KeystoneDefaults()
	keys := []string{"target.domain_id", "target.domain.id", "target.project.id", "target.project.domain_id",
		"target.user.id", "target.user.domain_id", "target.group.domain_id", "target.role.domain_id",
		"target.token.user_id", "target.credential.user_id", "target.trust.trustor_user_id", "user_id"}
	out := make([]diffCase, n)
	for i := range out {
		r := defaults[g.r.IntN(len(defaults))]
		rs := map[string]any{"case": "rule:" + r.Name}
		for _, d := range defaults {
			rs[d.Name] = d.Check
		}
		target := map[string]any{}
		for _, k := range keys {
			if !g.chance(4) {
				target[k] = []any{"d1", "d2", "p1", "u1", "u2", nil}[g.r.IntN(6)]
			}
		}
		c := Creds{
			UserID:          g.pick("u1", "u2"),
			ProjectID:       g.pick("", "p1"),
			ProjectDomainID: g.pick("", "d1"),
			DomainID:        g.pick("", "", "d1", "d2"),
			SystemScope:     g.pick("", "", "all"),
		}
		for _, role := range []string{"admin", "reader", "member", "service"} {
			if g.chance(3) {
				c.Roles = append(c.Roles, role)
			}
		}
		if g.chance(2) {
			c.Extra = map[string]any{"token": map[string]any{
				"domain":  map[string]any{"id": g.pick("d1", "d2")},
				"project": map[string]any{"domain": map[string]any{"id": g.pick("d1", "d2")}}}}
		}
		out[i] = diffCase{name: "keystone#" + strconv.Itoa(i) + " " + r.Name, rules: rs, target: target, creds: c}
	}
	return out
}
