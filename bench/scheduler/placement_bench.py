"""Time real OpenStack Placement's GET /allocation_candidates, for bench/scheduler.

Reads {"providers": N, "limit": L, "runs": R, "microversions": [...]} on
stdin (every key optional) and prints JSON: per microversion the median,
min and max milliseconds of R whole requests (after one warm-up request),
the median milliseconds of AllocationCandidates.get_by_requests within
them (the query without HTTP and JSON), and the numbers of candidates
returned, plus the seconds the load took.

Placement runs in-process as its own WSGI app (placement.deploy.loadapp,
noauth2, token "admin") on a SQLite file in a temporary directory, as
`placement-manage db sync` would leave it (the schema from placement's
models, then its traits and standard resource classes synced by the app
at load). The N providers are written straight into placement's tables
(one root provider each, VCPU 64 with ratio 4, MEMORY_MB 262144,
DISK_GB 4000; min_unit 1, max_unit = total, step 1, reserved 0), the
same hosts as gostack's BenchmarkAllocationCandidates: going through the
API would take minutes and time nothing we compare.

Needs Debian's python3-placement (Placement 8.0.0) under /usr/bin/python3.
"""
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
import warnings


def configure(dbfile):
    from oslo_config import cfg
    from oslo_policy import opts as policy_opts
    from placement import conf

    c = cfg.ConfigOpts()
    conf.register_opts(c)
    policy_opts.set_defaults(c)
    c.set_override("connection", "sqlite:///" + dbfile, group="placement_database")
    c.set_override("sync_on_startup", False, group="placement_database")
    c.set_override("auth_strategy", "noauth2", group="api")
    c([], project="placement", default_config_files=[])
    return c


def load(engine, n):
    """Writes n root providers with their three inventories."""
    import sqlalchemy as sa

    meta = sa.MetaData()
    meta.reflect(bind=engine, only=["resource_classes", "resource_providers", "inventories"])
    rcs, rps, invs = (meta.tables[t] for t in ("resource_classes", "resource_providers", "inventories"))
    with engine.begin() as conn:
        ids = dict(conn.execute(sa.select(rcs.c.name, rcs.c.id)).all())
        classes = [(ids["VCPU"], 64, 4.0), (ids["MEMORY_MB"], 262144, 1.0), (ids["DISK_GB"], 4000, 1.0)]
        provs, inv = [], []
        for i in range(1, n + 1):
            provs.append({"id": i, "uuid": str(uuid.uuid4()), "name": "bench-%05d" % i,
                          "generation": 1, "root_provider_id": i, "parent_provider_id": None})
            for rc, total, ratio in classes:
                inv.append({"resource_provider_id": i, "resource_class_id": rc, "total": total,
                            "reserved": 0, "min_unit": 1, "max_unit": total, "step_size": 1,
                            "allocation_ratio": ratio})
        conn.execute(rps.insert(), provs)
        conn.execute(invs.insert(), inv)


def get(app, url, mv):
    import webob

    r = webob.Request.blank(url, method="GET")
    r.headers["x-auth-token"] = "admin"
    r.headers["OpenStack-API-Version"] = "placement " + mv
    r.headers["Accept"] = "application/json"
    resp = r.get_response(app)
    return resp.status_int, resp.body, resp.headers.get("OpenStack-API-Version", "")


def timed_queries():
    """Times AllocationCandidates.get_by_requests inside each request: the
    query and its assembly into candidates, without the HTTP handling and
    the JSON of the answer (what gostack's store call does)."""
    from placement.handlers import allocation_candidate as h

    cls = h.ac_obj.AllocationCandidates
    orig, times = cls.get_by_requests, []

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return orig(*args, **kwargs)
        finally:
            times.append((time.perf_counter() - t) * 1000)

    cls.get_by_requests = timed
    return times


def main():
    req = json.load(sys.stdin) if not sys.stdin.isatty() else {}
    n = int(req.get("providers", 6000))
    limit = int(req.get("limit", 1000))
    runs = int(req.get("runs", 3))
    mvs = req.get("microversions", ["1.29", "latest"])

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    from placement import db_api
    from placement import deploy
    from placement.db.sqlalchemy import migration

    tmp = tempfile.mkdtemp(prefix="bench-placement-")
    try:
        dbfile = os.path.join(tmp, "placement.db")
        c = configure(dbfile)
        db_api.configure(c)
        engine = db_api.get_placement_engine()
        migration.create_schema(engine)
        app = deploy.loadapp(c)  # syncs traits and standard resource classes
        t0 = time.perf_counter()
        load(engine, n)
        out = {"providers": n, "limit": limit, "load_seconds": time.perf_counter() - t0, "results": {}}

        url = "/allocation_candidates?resources=VCPU:1,MEMORY_MB:512,DISK_GB:10&limit=%d" % limit
        inner = timed_queries()
        get(app, url, mvs[0])  # warm-up: first query, caches
        for mv in mvs:
            times, counts, version = [], set(), None
            del inner[:]
            for _ in range(runs):
                t = time.perf_counter()
                status, body, version = get(app, url, mv)
                times.append((time.perf_counter() - t) * 1000)
                if status != 200:
                    raise SystemExit("placement answered %s at %s: %s" % (status, mv, body[:300]))
                counts.add(len(json.loads(body)["allocation_requests"]))
            out["results"][mv] = {"median_ms": statistics.median(times), "min_ms": min(times),
                                  "max_ms": max(times), "runs": runs, "candidates": sorted(counts),
                                  "query_median_ms": statistics.median(inner),
                                  "version": version.replace("placement ", "")}
        json.dump(out, sys.stdout)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
