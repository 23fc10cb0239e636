"""Evaluate policy cases with the real oslo.policy, for the differential test.

Reads one JSON document on stdin:

    {"parse": ["rule text", ...], "literals": ["kind", ...],
     "cases": [{"rules": {"name": rule, ...}, "rule": "name",
                "target": {...}, "creds": {...}}, ...]}

and writes one JSON document on stdout:

    {"parse": [{"str": str(check) or null, "canon": ..., "logged": bool}, ...],
     "literals": [{"class": "literal" | "path" | "error", "str": ...}, ...],
     "cases": [{"decision": "allow" | "deny" | "error", "detail": "..."}, ...]}

"canon" is str() with gostack's one deliberate change (a base check that
looks like a quoted string is wrapped in parentheses so that it re-parses);
"logged" says whether oslo's parser logged a failure to understand the rule
or returned something that is not a check.

http: and https: checks are replaced by stubs that return False without any
network access: gostack does not support them and evaluates them as false.
"""

import ast
import json
import logging
import sys

from oslo_config import cfg
from oslo_policy import _checks
from oslo_policy import _parser
from oslo_policy import policy


class _Recorder(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


class _NoNetwork(_checks.Check):
    def __call__(self, target, creds, enforcer, current_rule=None):
        return False


def canon(c):
    if isinstance(c, _checks.TrueCheck):
        return "@"
    if isinstance(c, _checks.FalseCheck):
        return "!"
    if isinstance(c, _checks.NotCheck):
        return "not " + canon(c.rule)
    if isinstance(c, _checks.AndCheck):
        return "(" + " and ".join(canon(r) for r in c.rules) + ")"
    if isinstance(c, _checks.OrCheck):
        return "(" + " or ".join(canon(r) for r in c.rules) + ")"
    if isinstance(c, _checks.Check):
        t = "%s:%s" % (c.kind, c.match)
        if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
            return "(" + t + ")"
        return t
    return None


def main():
    doc = json.load(sys.stdin)
    _checks.extension_checks = {"http": _NoNetwork, "https": _NoNetwork}
    rec = _Recorder()
    for name in ("oslo_policy._parser", "oslo_policy.policy"):
        lg = logging.getLogger(name)
        lg.addHandler(rec)
        lg.propagate = False
        lg.setLevel(logging.DEBUG)
    sys.setrecursionlimit(1000)

    parsed = []
    for text in doc.get("parse", []):
        before = rec.count
        c = _parser.parse_rule(text)
        is_check = isinstance(c, _checks.BaseCheck)
        parsed.append({
            "str": str(c) if is_check else None,
            "canon": canon(c) if is_check else None,
            "logged": rec.count > before or not is_check,
        })

    literals = []
    for kind in doc.get("literals", []):
        # As GenericCheck: a literal compares str(value); ValueError means
        # a dotted path into the creds; anything else escapes enforce().
        try:
            literals.append({"class": "literal", "str": str(ast.literal_eval(kind))})
        except ValueError:
            literals.append({"class": "path", "str": ""})
        except Exception:
            literals.append({"class": "error", "str": ""})

    conf = cfg.ConfigOpts()
    conf([], project="gostack-policy-test")
    enforcer = policy.Enforcer(conf, use_conf=False)
    results = []
    for case in doc.get("cases", []):
        rules = policy.Rules.from_dict(case["rules"], default_rule="default")
        enforcer.set_rules(rules, overwrite=True, use_conf=False)
        try:
            ok = enforcer.enforce(case["rule"], case["target"], dict(case["creds"]))
            results.append({"decision": "allow" if ok else "deny", "detail": ""})
        except Exception as e:  # oslo does not catch these: no decision
            results.append({"decision": "error", "detail": "%s: %s" % (type(e).__name__, e)})
    json.dump({"parse": parsed, "literals": literals, "cases": results}, sys.stdout)


if __name__ == "__main__":
    main()
