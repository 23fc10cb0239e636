package policy

import "strings"

// Check is a parsed policy rule: the tree of checks oslo.policy's parser
// would build. The zero Check denies everything. Checks are immutable and
// safe for concurrent use.
type Check struct {
	root *node
}

// String returns the rule in canonical text, as oslo.policy's str() of the
// check tree: "@" and "!" for the constants, "kind:match" for base checks,
// "not X", and "(A and B)" / "(A or B)". A rule that failed to parse is
// "!".
//
// One deliberate difference keeps String re-parseable: a base check whose
// text starts and ends with the same quote character (which oslo's
// tokenizer would read as a bare string) is wrapped in parentheses, e.g.
// "('a':b')".
func (c Check) String() string {
	if c.root == nil {
		return "!"
	}
	var b strings.Builder
	c.root.write(&b)
	return b.String()
}

type op uint8

const (
	opFalse    op = iota // "!", and any check oslo fails closed at parse time
	opTrue               // "@" and the empty rule
	opAnd                // all kids
	opOr                 // any kid
	opNot                // not kids[0]
	opRule               // rule:name
	opRole               // role:name, case-insensitive
	opGeneric            // kind:match
	opExternal           // http: and https:, unsupported: always false
	opBroken             // a rule oslo parses to a non-check: evaluation fails
)

type node struct {
	op    op
	kids  []*node
	kind  string   // text before the first ':' of a base check
	match string   // text after it
	tmpl  template // match prepared for %-substitution (role, generic)
	kinfo kindInfo // generic: how kind is interpreted
}

var (
	falseNode  = &node{op: opFalse}
	trueNode   = &node{op: opTrue}
	brokenNode = &node{op: opBroken}
)

func (n *node) write(b *strings.Builder) {
	switch n.op {
	case opFalse, opBroken:
		b.WriteByte('!')
	case opTrue:
		b.WriteByte('@')
	case opNot:
		b.WriteString("not ")
		n.kids[0].write(b)
	case opAnd, opOr:
		sep := " and "
		if n.op == opOr {
			sep = " or "
		}
		b.WriteByte('(')
		for i, k := range n.kids {
			if i > 0 {
				b.WriteString(sep)
			}
			k.write(b)
		}
		b.WriteByte(')')
	default:
		text := n.kind + ":" + n.match
		if looksQuoted(text) {
			b.WriteString("(" + text + ")")
			return
		}
		b.WriteString(text)
	}
}

// looksQuoted reports whether oslo's tokenizer would take a token with this
// text (and no trailing parenthesis) for a quoted string.
func looksQuoted(s string) bool {
	return len(s) >= 2 && s[0] == s[len(s)-1] && (s[0] == '\'' || s[0] == '"')
}

// walk calls fn for n and every node below it.
func (n *node) walk(fn func(*node)) {
	fn(n)
	for _, k := range n.kids {
		k.walk(fn)
	}
}
