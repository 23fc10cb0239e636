"""Cinder's RBD driver's own arithmetic, for the cases on stdin.

Each case is {"mon_dump", "df", "quota", "pool"}: the text of "ceph mon
dump --format=json" (as the CLI prints it, maybe after a "dumped monmap
epoch" line), and the JSON answers of the "df" and "osd pool get-quota"
mon commands for the pool. For each it prints what RBDDriver's
_get_mon_addrs and _get_pool_stats (report_dynamic_total_capacity True,
Cinder's default) return: {"hosts", "ports", "free", "total"}, or
{"error": "<exception class>"}.
"""
import json
import logging
import sys
import types

logging.disable(logging.CRITICAL)

from cinder.volume.drivers import rbd  # noqa: E402


def main():
    out = []
    for case in json.load(sys.stdin):
        answers = {'df': json.dumps(case['df']).encode(), 'osd pool get-quota': json.dumps(case['quota']).encode()}

        def mon_command(cmd, inbuf):
            return 0, answers[json.loads(cmd)['prefix']], ''

        cluster = types.SimpleNamespace(mon_command=mon_command)
        drv = types.SimpleNamespace(
            configuration=types.SimpleNamespace(rbd_pool=case['pool'], safe_get=lambda k: True),
            _ceph_args=lambda: [],
            _execute=lambda *a: (case['mon_dump'], ''),
            _connect_to_rados=lambda pool=None: (cluster, None),
            _disconnect_from_rados=lambda c, i: None)
        try:
            hosts, ports = rbd.RBDDriver._get_mon_addrs(drv)
            free, total = rbd.RBDDriver._get_pool_stats(drv)
            out.append({'hosts': hosts, 'ports': ports, 'free': free, 'total': total})
        except Exception as e:  # noqa: B902
            out.append({'error': type(e).__name__})
    print(json.dumps(out))


main()
