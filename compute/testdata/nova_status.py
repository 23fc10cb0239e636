# Nova's own status_from_state for every (vm_state, task_state) pair on
# stdin: the reference of TestStatusAgainstNova.
import json
import sys

from nova.api.openstack import common

pairs = json.load(sys.stdin)
out = []
for vm, task in pairs:
    out.append(common.status_from_state(vm, task or None))
json.dump(out, sys.stdout)
