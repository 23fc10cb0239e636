"""Drive Keystone's own password_hashing for the interop test.

stdin: {"ops": [{"op": "hash", "algorithm": A, "rounds": N, "password": P},
                {"op": "check", "algorithm": A, "password": P, "hashed": H}]}
stdout: a JSON list of results (the hash, or true/false, or {"error": ...}).
"""
import json
import sys

import keystone.conf
from keystone.common import password_hashing

CONF = keystone.conf.CONF


def run(op):
    CONF.set_override("password_hash_algorithm", op["algorithm"], group="identity")
    CONF.set_override("password_hash_rounds", op.get("rounds"), group="identity")
    try:
        if op["op"] == "hash":
            return password_hashing.hash_password(op["password"])
        return bool(password_hashing.check_password(op["password"], op["hashed"]))
    except Exception as e:  # noqa: BLE001
        return {"error": type(e).__name__}


def main():
    keystone.conf.configure(CONF)
    CONF([], project="keystone", default_config_files=[])
    json.dump([run(op) for op in json.load(sys.stdin)["ops"]], sys.stdout)


if __name__ == "__main__":
    main()
