"""Cinder's extra_specs_ops.match over the [value, requirement] pairs on
stdin (JSON): true, false, or "error: <exception>" when it raises."""
import json
import sys

from cinder.scheduler.filters import extra_specs_ops


def main():
    out = []
    for value, req in json.load(sys.stdin):
        try:
            out.append(bool(extra_specs_ops.match(value, req)))
        except Exception as e:  # noqa: BLE001
            out.append('error: %s' % type(e).__name__)
    json.dump(out, sys.stdout)


main()
