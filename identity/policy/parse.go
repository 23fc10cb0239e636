package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The parser is a transcription of oslo_policy/_parser.py: the same
// tokenizer and the same greedy shift-reduce reductions, so that it builds
// the same tree (including how "a or b and c" regroups) and fails in the
// same places.

// Parse parses a rule in the oslo.policy language.
//
// The returned Check is always usable and behaves as oslo.policy's would.
// A rule that cannot be parsed fails closed: it is the always-false check,
// or, when the rule is a lone keyword, parenthesis or quoted string (which
// oslo returns as a bare string that makes enforce raise), a check whose
// evaluation fails and so denies even under "not". A base check without a
// colon is false in place. The error (a *ParseError) reports each of
// these; a nil error means oslo would have logged nothing. The empty rule
// is the always-true check.
func Parse(rule string) (Check, error) {
	if rule == "" {
		return Check{trueNode}, nil
	}
	p := parser{rule: rule}
	tokenize(rule, p.shift)
	switch {
	case len(p.vals) != 1:
		p.problems = append(p.problems, "the rule does not reduce to one expression; it is always false")
		return Check{falseNode}, p.err()
	case !isExpr(p.toks[0]):
		// oslo returns the bare token (a str, not a check) and enforce()
		// then raises: evaluating it fails closed, even under "not".
		p.problems = append(p.problems, "the rule is a lone "+quote(p.rule)+", not a check; it fails closed")
		return Check{brokenNode}, p.err()
	}
	return Check{p.vals[0]}, p.err()
}

// ParseList parses the list-of-lists form found in older JSON policy files:
// the outer list is joined by "or", each inner list by "and", and each
// string is one base check (it is not tokenized: "role:a or b" is one role
// check). Empty inner lists are skipped; an empty outer list is always
// true, and one whose inner lists are all empty is always false.
func ParseList(rule [][]string) (Check, error) {
	if len(rule) == 0 {
		return Check{trueNode}, nil
	}
	p := parser{rule: fmt.Sprintf("%q", rule)}
	var ors []*node
	for _, inner := range rule {
		if len(inner) == 0 {
			continue
		}
		var ands []*node
		for _, text := range inner {
			ands = append(ands, p.parseCheck(text))
		}
		if len(ands) == 1 {
			ors = append(ors, ands[0])
		} else {
			ors = append(ors, &node{op: opAnd, kids: ands})
		}
	}
	switch len(ors) {
	case 0:
		return Check{falseNode}, p.err()
	case 1:
		return Check{ors[0]}, p.err()
	}
	return Check{&node{op: opOr, kids: ors}}, p.err()
}

type tok uint8

const (
	tokLParen tok = iota
	tokRParen
	tokAnd
	tokOr
	tokNot
	tokString  // a quoted token: never reduces, so the parse fails
	tokCheck   // a base check or a parenthesised expression
	tokAndExpr // a run of checks joined by "and"
	tokOrExpr  // a run joined by "or"
)

func isExpr(t tok) bool { return t == tokCheck || t == tokAndExpr || t == tokOrExpr }

type parser struct {
	rule     string
	toks     []tok
	vals     []*node // parallel to toks; nil for punctuation
	problems []string
}

func (p *parser) err() error {
	if len(p.problems) == 0 {
		return nil
	}
	return &ParseError{Rule: p.rule, Reason: strings.Join(p.problems, "; ")}
}

// tokenize is _parse_tokenize: split at Python whitespace, peel '(' off the
// front and ')' off the back of each token, recognise and/or/not in any
// case, and a token wrapped in matching quotes as a string.
func tokenize(rule string, shift func(tok, string)) {
	for _, t := range splitSpace(rule) {
		clean := strings.TrimLeft(t, "(")
		for range len(t) - len(clean) {
			shift(tokLParen, "")
		}
		if clean == "" {
			continue
		}
		t = clean
		clean = strings.TrimRight(t, ")")
		switch {
		case isKeyword(clean, "and"):
			shift(tokAnd, "")
		case isKeyword(clean, "or"):
			shift(tokOr, "")
		case isKeyword(clean, "not"):
			shift(tokNot, "")
		case clean == "":
		case looksQuoted(t): // note: t still has its ')'s, as in oslo
			shift(tokString, t[1:len(t)-1])
		default:
			shift(tokCheck, clean)
		}
		for range len(t) - len(clean) {
			shift(tokRParen, "")
		}
	}
}

// isKeyword reports whether s.lower() == kw in Python (kw is lower-case
// ASCII; no other character lower-cases to one of its letters).
func isKeyword(s, kw string) bool {
	if len(s) != len(kw) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != kw[i] {
			return false
		}
	}
	return true
}

// splitSpace splits s at runs of Python whitespace, dropping empty fields.
func splitSpace(s string) []string {
	var out []string
	start := -1
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if n == 1 && r == utf8.RuneError {
			r = -1 // an invalid byte is never space
		}
		if pyIsSpace(r) {
			if start >= 0 {
				out = append(out, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
		i += n
	}
	if start >= 0 {
		out = append(out, s[start:])
	}
	return out
}

func (p *parser) shift(t tok, text string) {
	var v *node
	if t == tokCheck {
		v = p.parseCheck(text)
	}
	p.toks = append(p.toks, t)
	p.vals = append(p.vals, v)
	p.reduce()
}

// reduce applies ParseState's reductions until none matches. Each pattern
// is identified by the tokens at the top of the stack; no two can match at
// once, so the order oslo tries them in does not matter.
func (p *parser) reduce() {
	for {
		n := len(p.toks)
		if n < 2 {
			return
		}
		top, mid := p.toks[n-1], p.toks[n-2]
		switch {
		case n >= 3 && top == tokRParen && p.toks[n-3] == tokLParen && isExpr(mid):
			p.replace(3, tokCheck, p.vals[n-2]) // ( expr ) -> check
		case n >= 3 && top == tokCheck && mid == tokAnd && isExpr(p.toks[n-3]):
			p.reduceAnd(p.toks[n-3], p.vals[n-3], p.vals[n-1])
		case n >= 3 && top == tokCheck && mid == tokOr && isExpr(p.toks[n-3]):
			left, right := p.vals[n-3], p.vals[n-1]
			if p.toks[n-3] == tokOrExpr {
				left.kids = append(left.kids, right) // _extend_or_expr
				p.replace(3, tokOrExpr, left)
			} else {
				p.replace(3, tokOrExpr, &node{op: opOr, kids: []*node{left, right}})
			}
		case top == tokCheck && mid == tokNot:
			p.replace(2, tokCheck, &node{op: opNot, kids: []*node{p.vals[n-1]}})
		default:
			return
		}
	}
}

// reduceAnd handles "X and check" for the three kinds of X.
func (p *parser) reduceAnd(left tok, lv, check *node) {
	switch left {
	case tokCheck: // _make_and_expr
		p.replace(3, tokAndExpr, &node{op: opAnd, kids: []*node{lv, check}})
	case tokAndExpr: // _extend_and_expr
		lv.kids = append(lv.kids, check)
		p.replace(3, tokAndExpr, lv)
	case tokOrExpr: // _mix_or_and_expr: "a or b and c" is "a or (b and c)"
		last := lv.kids[len(lv.kids)-1]
		if last.op == opAnd {
			last.kids = append(last.kids, check)
		} else {
			lv.kids[len(lv.kids)-1] = &node{op: opAnd, kids: []*node{last, check}}
		}
		p.replace(3, tokOrExpr, lv)
	}
}

func (p *parser) replace(k int, t tok, v *node) {
	n := len(p.toks) - k
	p.toks = append(p.toks[:n], t)
	p.vals = append(p.vals[:n], v)
}

// parseCheck is _parse_check: one base check.
func (p *parser) parseCheck(text string) *node {
	switch text {
	case "!":
		return falseNode
	case "@":
		return trueNode
	}
	kind, match, ok := strings.Cut(text, ":")
	if !ok {
		p.problems = append(p.problems, "check "+quote(text)+" has no ':'; it is always false")
		return falseNode
	}
	n := &node{kind: kind, match: match}
	switch kind {
	case "http", "https":
		n.op = opExternal
	case "rule":
		n.op = opRule
	case "role":
		n.op = opRole
		n.tmpl = newTemplate(match)
	default:
		n.op = opGeneric
		n.tmpl = newTemplate(match)
		n.kinfo = kindOf(kind)
	}
	return n
}
