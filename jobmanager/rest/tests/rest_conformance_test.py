"""REST API conformance: every response the server gives is checked against openapi.yaml,
and /metrics is parsed by prometheus-client's text-format parser.

Runs against the dev server (started here over the fake cluster) or, with --url, against
any running job manager that has at least one RUNNING job (then pass --token if it has one).
  python rest_conformance_test.py --server build/release/bin/fake_cluster_server
  python rest_conformance_test.py --url http://127.0.0.1:8086 [--token T]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request
import uuid

from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from prometheus_client.parser import text_string_to_metric_families

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC_PATH = os.path.join(HERE, "..", "openapi.yaml")
SPEC_SERVER = "http://localhost:8086"  # the servers entry of openapi.yaml
ARGS = None
BASE = None
TOKEN = None
EXERCISED = set()  # (method, templated path) pairs validated so far


def http(method, path, body=None, headers=None):
    req = urllib.request.Request(BASE + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


class RestConformanceTest(unittest.TestCase):
    openapi = None

    @classmethod
    def setUpClass(cls):
        # Loading validates the document itself against the OpenAPI 3 meta-schema.
        cls.openapi = OpenAPI.from_file_path(SPEC_PATH)
        status, _, body = http("GET", "/api/v1/jobs")
        assert status == 200, body
        running = [j for j in json.loads(body)["jobs"] if j["state"] == "RUNNING"]
        assert running, "the server needs a RUNNING job for this test"
        cls.job = running[0]["id"]

    def call(self, method, path, template, expect, body=None, headers=None):
        status, ctype, data = http(method, path, body, headers)
        self.assertEqual(status, expect, f"{method} {path}: {data[:300]!r}")
        req = MockRequest(SPEC_SERVER, method.lower(), path.split("?")[0])
        resp = MockResponse(data=data, status_code=status, content_type=ctype.split(";")[0])
        # Raises with the failing schema path when the response does not match the spec.
        self.openapi.validate_response(req, resp)
        EXERCISED.add((method.lower(), template))
        return json.loads(data) if ctype.startswith("application/json") else data

    def test_cluster_reads(self):
        self.call("GET", "/healthz", "/healthz", 200)
        self.call("GET", "/api/v1/config", "/api/v1/config", 200)
        o = self.call("GET", "/api/v1/overview", "/api/v1/overview", 200)
        self.assertGreaterEqual(o["slots_total"], o["slots_available"])
        t = self.call("GET", "/api/v1/taskmanagers", "/api/v1/taskmanagers", 200)
        self.assertEqual(len(t["taskmanagers"]), o["taskmanagers"])
        self.call("GET", "/api/v1/jobs", "/api/v1/jobs", 200)
        self.call("GET", "/api/v1/pipeline", "/api/v1/pipeline", 200)
        spec = self.call("GET", "/api/v1/openapi.yaml", "/api/v1/openapi.yaml", 200)
        with open(SPEC_PATH, "rb") as f:
            self.assertEqual(spec, f.read(), "served OpenAPI document differs from the repo's")

    def test_job_reads(self):
        j = f"/api/v1/jobs/{self.job}"
        detail = self.call("GET", j, "/api/v1/jobs/{job_id}", 200)
        ids = {v["id"] for v in detail["vertices"]}
        for e in detail["edges"]:
            self.assertIn(e["source"], ids)
            self.assertIn(e["target"], ids)
        v = detail["vertices"][0]["id"]
        vd = self.call("GET", f"{j}/vertices/{v}", "/api/v1/jobs/{job_id}/vertices/{vertex_id}", 200)
        self.assertEqual(len(vd["subtasks"]), vd["parallelism"])
        self.call("GET", f"{j}/lag", "/api/v1/jobs/{job_id}/lag", 200)
        self.call("GET", f"{j}/watermarks", "/api/v1/jobs/{job_id}/watermarks", 200)
        self.call("GET", f"{j}/checkpoints", "/api/v1/jobs/{job_id}/checkpoints", 200)
        self.call("GET", f"{j}/exceptions", "/api/v1/jobs/{job_id}/exceptions", 200)

    def test_errors_match_spec(self):
        self.call("GET", "/api/v1/jobs/no-such-job", "/api/v1/jobs/{job_id}", 404)
        self.call("GET", f"/api/v1/jobs/{self.job}/vertices/no-such-vertex",
                  "/api/v1/jobs/{job_id}/vertices/{vertex_id}", 404)
        self.call("GET", "/api/v1/jobs/no-such-job/checkpoints",
                  "/api/v1/jobs/{job_id}/checkpoints", 404)

    def test_actions(self):
        auth = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
        if TOKEN:
            self.call("POST", f"/api/v1/jobs/{self.job}/savepoints",
                      "/api/v1/jobs/{job_id}/savepoints", 401, b"{}",
                      {"Content-Type": "application/json"})
        # A cluster without checkpoint coordination answers 501 (documented).
        status = http("POST", f"/api/v1/jobs/{self.job}/savepoints", b"{}",
                      dict(auth, **{"Content-Type": "application/json"}))[0]
        # 409: the job does not checkpoint (no checkpoint directory / target).
        self.assertIn(status, (202, 409, 501) if ARGS.url else (202,))
        sp = self.call("POST", f"/api/v1/jobs/{self.job}/savepoints",
                       "/api/v1/jobs/{job_id}/savepoints", status, b"{}",
                       dict(auth, **{"Content-Type": "application/json"}))
        if status == 202:
            self.assertGreater(sp["checkpoint_id"], 0)
        self.call("POST", f"/api/v1/jobs/{self.job}/savepoints",
                  "/api/v1/jobs/{job_id}/savepoints", 400, b"[1,2",
                  dict(auth, **{"Content-Type": "application/json"}))
        if ARGS.url:
            return  # never submit or cancel on a real cluster from here
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"plugin\"; "
                f"filename=\"conformance.so\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                ).encode() + b"\x7fELF-not-really" + (
                f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"parallelism\"\r\n\r\n2"
                f"\r\n--{boundary}--\r\n").encode()
        mp = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if TOKEN:
            self.call("POST", "/api/v1/jobs", "/api/v1/jobs", 401, body, mp)
        new = self.call("POST", "/api/v1/jobs", "/api/v1/jobs", 202, body, dict(auth, **mp))
        self.call("POST", "/api/v1/jobs", "/api/v1/jobs", 400, b"{}",
                  dict(auth, **{"Content-Type": "application/json"}))
        path = f"/api/v1/jobs/{new['job_id']}/cancel"
        if TOKEN:
            self.call("POST", path, "/api/v1/jobs/{job_id}/cancel", 401, b"")
        self.call("POST", path, "/api/v1/jobs/{job_id}/cancel", 202, b"", auth)
        deadline = time.time() + 10
        while time.time() < deadline:
            if json.loads(http("GET", f"/api/v1/jobs/{new['job_id']}")[2])["state"] == "CANCELED":
                break
            time.sleep(0.2)
        self.call("POST", path, "/api/v1/jobs/{job_id}/cancel", 409, b"", auth)
        self.call("POST", "/api/v1/jobs/no-such-job/cancel", "/api/v1/jobs/{job_id}/cancel", 404,
                  b"", auth)

    def test_metrics_parse_as_prometheus_text(self):
        status, ctype, data = http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("version=0.0.4", ctype)
        EXERCISED.add(("get", "/metrics"))
        families = {f.name: f for f in text_string_to_metric_families(data.decode())}
        for name in families:
            self.assertTrue(name.startswith("cdcflow_"), name)
        self.assertEqual(families["cdcflow_jobmanager_taskmanagers"].type, "gauge")
        if ARGS.run:  # a local job: its tasks' metrics are in this process
            rout = families["cdcflow_task_records_out"]
            self.assertTrue(any(s.value > 0 and s.labels["job"] == "local" for s in rout.samples))
            return
        if ARGS.url:
            return  # task metrics live on the task managers
        # prometheus-client strips _total from counter family names.
        rin = families["cdcflow_task_records_in"]
        self.assertEqual(rin.type, "counter")
        sample = rin.samples[0]
        self.assertEqual(sample.name, "cdcflow_task_records_in_total")
        self.assertEqual(set(sample.labels), {"job", "vertex", "subtask"})
        self.assertTrue(any(s.value > 0 for s in rin.samples))
        lag = families["cdcflow_kafka_source_lag_records"]
        self.assertEqual(set(lag.samples[0].labels),
                         {"job", "vertex", "subtask", "topic", "partition"})
        hist = families["cdcflow_task_batch_process_seconds"]
        self.assertEqual(hist.type, "histogram")
        buckets = [s for s in hist.samples if s.name.endswith("_bucket")]
        self.assertTrue(any(s.labels["le"] == "+Inf" for s in buckets))
        self.assertIn("cdcflow_http_requests", families)

    def test_zz_every_documented_operation_was_exercised(self):
        spec_ops = set()
        import yaml  # installed with the test requirements
        with open(SPEC_PATH) as f:
            doc = yaml.safe_load(f)
        for path, item in doc["paths"].items():
            for method in ("get", "post", "put", "patch", "delete"):
                if method in item:
                    spec_ops.add((method, path))
        missing = spec_ops - EXERCISED
        if ARGS.url:  # submit/cancel are skipped against a real cluster
            missing -= {("post", "/api/v1/jobs"), ("post", "/api/v1/jobs/{job_id}/cancel")}
        self.assertEqual(missing, set(), "operations in openapi.yaml that no test called")


def main():
    global ARGS, BASE, TOKEN
    p = argparse.ArgumentParser()
    p.add_argument("--server", help="fake_cluster_server binary to start")
    p.add_argument("--url", help="a running job manager instead")
    p.add_argument("--token", help="REST token of the job manager at --url")
    p.add_argument("--run", help="a command that serves a real local job ('cdcflow run job.so "
                   "--rest-port 0 ...'); its dashboard address is read from its stderr")
    ARGS, rest = p.parse_known_args()
    proc = None
    if ARGS.run:
        proc = subprocess.Popen(["bash", "-c", "exec " + ARGS.run], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            line = proc.stderr.readline()
            m = re.search(r"dashboard on (http://\S+?)/?\s", line)
            if m:
                BASE = m.group(1)
                break
            if not line and proc.poll() is not None:
                sys.exit(f"job exited with {proc.returncode} before serving")
        if not BASE:
            proc.kill()
            sys.exit("job did not print its dashboard address in 60 s")
        ARGS.url, TOKEN = BASE, ARGS.token  # a real cluster from here on
    elif ARGS.url:
        BASE, TOKEN = ARGS.url.rstrip("/"), ARGS.token
    else:
        TOKEN = "conformance-token"
        proc = subprocess.Popen([ARGS.server, "--port", "0", "--fake-connect", "--tick-ms", "200",
                                 "--token", TOKEN], stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        if not m:
            proc.kill()
            sys.exit(f"dev server did not start: {line!r}")
        BASE = m.group(1)
    try:
        prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False, verbosity=2)
        ok = prog.result.wasSuccessful()
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
