"""Drive Keystone's own TokenFormatter and FernetUtils for the interop test.

Reads {"repo": DIR, "max_active_keys": N, "ops": [...]} as JSON on stdin and
writes a JSON list with one result per op. Ops:
  {"op": "setup"} / {"op": "rotate"}           keystone-manage fernet_setup / fernet_rotate
  {"op": "issue", "payload": {...}}           TokenFormatter.create_token
  {"op": "validate", "token": T}              TokenFormatter.validate_token
  {"op": "plaintext", "token": T}             the decrypted msgpack bytes, hex
Run with Debian's /usr/bin/python3 (python3-keystone).
"""
import json
import sys

import keystone.conf
from keystone.common import fernet_utils
from keystone.token import token_formatters as tf

CONF = keystone.conf.CONF

CLASSES = {c.version: c for c in [
    tf.UnscopedPayload, tf.DomainScopedPayload, tf.ProjectScopedPayload,
    tf.TrustScopedPayload, tf.FederatedUnscopedPayload,
    tf.FederatedProjectScopedPayload, tf.FederatedDomainScopedPayload,
    tf.OauthScopedPayload, tf.SystemScopedPayload,
    tf.ApplicationCredentialScopedPayload]}


def run(op, fmt, utils):
    kind = op["op"]
    if kind == "setup":
        utils.initialize_key_repository()
        return None
    if kind == "rotate":
        utils.rotate_keys()
        return None
    if kind == "issue":
        p = op["payload"]
        groups = p.get("federated_group_ids")
        return fmt.create_token(
            p["user_id"], p["expires_at"], p["audit_ids"], CLASSES[p["version"]],
            methods=p["methods"], system=p.get("system"),
            domain_id=p.get("domain_id"), project_id=p.get("project_id"),
            trust_id=p.get("trust_id"),
            federated_group_ids=[{"id": g} for g in groups] if groups is not None else None,
            identity_provider_id=p.get("identity_provider_id"),
            protocol_id=p.get("protocol_id"),
            access_token_id=p.get("access_token_id"),
            app_cred_id=p.get("app_cred_id"))
    if kind == "validate":
        try:
            (user_id, methods, audit_ids, system, domain_id, project_id,
             trust_id, groups, idp_id, protocol_id, access_token_id,
             app_cred_id, issued_at, expires_at) = fmt.validate_token(op["token"])
        except Exception as e:  # noqa: BLE001 - report, do not crash the batch
            return {"error": type(e).__name__}
        return {
            "user_id": user_id, "methods": methods, "audit_ids": audit_ids,
            "system": system, "domain_id": domain_id, "project_id": project_id,
            "trust_id": trust_id,
            "federated_group_ids": [g["id"] for g in groups] if groups else None,
            "identity_provider_id": idp_id, "protocol_id": protocol_id,
            "access_token_id": access_token_id, "app_cred_id": app_cred_id,
            "issued_at": issued_at, "expires_at": expires_at,
        }
    if kind == "plaintext":
        return fmt.unpack(op["token"]).hex()
    raise ValueError("unknown op %r" % kind)


def main():
    req = json.load(sys.stdin)
    keystone.conf.configure(CONF)
    CONF([], project="keystone", default_config_files=[])
    CONF.set_override("key_repository", req["repo"], group="fernet_tokens")
    CONF.set_override("max_active_keys", req.get("max_active_keys", 3), group="fernet_tokens")
    fmt = tf.TokenFormatter()
    utils = fernet_utils.FernetUtils(req["repo"], req.get("max_active_keys", 3), "fernet_tokens")
    json.dump([run(op, fmt, utils) for op in req["ops"]], sys.stdout)


if __name__ == "__main__":
    main()
