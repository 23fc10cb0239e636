"""Drive Keystone's own ReceiptFormatter for the receipt interop test.

Reads {"repo": DIR, "ops": [...]} as JSON on stdin and writes a JSON list
with one result per op. The repository is used for both [fernet_tokens]
and [fernet_receipts], as Keystone's defaults share it. Ops:
  {"op": "setup"}                                   keystone-manage fernet_setup
  {"op": "issue", "user_id": U, "methods": [...], "expires_at": ISO}
                                                    ReceiptFormatter.create_receipt
  {"op": "validate", "receipt": R}                  ReceiptFormatter.validate_receipt
  {"op": "plaintext", "receipt": R}                 the decrypted msgpack bytes, hex
Run with Debian's /usr/bin/python3 (python3-keystone).
"""
import json
import sys

import keystone.conf
from keystone.common import fernet_utils
from keystone.receipt import receipt_formatters as rf

CONF = keystone.conf.CONF


def run(op, fmt, utils):
    kind = op["op"]
    if kind == "setup":
        utils.initialize_key_repository()
        return None
    if kind == "issue":
        return fmt.create_receipt(op["user_id"], op["methods"], op["expires_at"])
    if kind == "validate":
        try:
            user_id, methods, issued_at, expires_at = fmt.validate_receipt(op["receipt"])
        except Exception as e:  # noqa: BLE001 - report, do not crash the batch
            return {"error": type(e).__name__}
        return {"user_id": user_id, "methods": methods, "issued_at": issued_at, "expires_at": expires_at}
    if kind == "plaintext":
        return fmt.unpack(op["receipt"]).hex()
    raise ValueError("unknown op %r" % kind)


def main():
    req = json.load(sys.stdin)
    keystone.conf.configure(CONF)
    CONF([], project="keystone", default_config_files=[])
    for group in ("fernet_tokens", "fernet_receipts"):
        CONF.set_override("key_repository", req["repo"], group=group)
        CONF.set_override("max_active_keys", 3, group=group)
    fmt = rf.ReceiptFormatter()
    utils = fernet_utils.FernetUtils(req["repo"], 3, "fernet_receipts")
    json.dump([run(op, fmt, utils) for op in req["ops"]], sys.stdout)


if __name__ == "__main__":
    main()
