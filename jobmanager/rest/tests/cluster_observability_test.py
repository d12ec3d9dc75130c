"""Observability of a real cluster: one job manager and two task managers (separate
`cdcflow` processes on loopback) run a long, throttled keyed job; then
  1. each task manager's /metrics (found through the REST task-manager list) parses with
     prometheus-client's text-format parser and shows non-zero records for the job's
     vertices, labelled job/vertex/subtask, with subtasks on both task managers;
  2. the job manager's /metrics and REST job view show the heartbeat-reported
     throughput (non-zero records and rates per vertex, edges between chains);
  3. gRPC submit needs the job manager's token (CDCFLOW_AUTH_TOKEN), REST actions too;
  4. every REST response validates against openapi.yaml (rest_conformance_test.py --url);
  5. the dashboard in headless Chromium finds the job, its graph with non-zero
     throughput, the checkpoints tab, and cancels the job from the UI
     (run_browser_test.sh --url; screenshots in --screenshots);
  6. once cancelled, the task managers stop exporting the job's series.

  python cluster_observability_test.py --cdcflow build/release/bin/cdcflow \
      --plugin build/release/jobs/keyed_sum.so --work DIR --screenshots DIR
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

HERE = os.path.dirname(os.path.abspath(__file__))
BROWSER_TEST = os.path.join(HERE, "..", "..", "web", "tests", "run_browser_test.sh")
TOKEN = "observability-token"


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def get_json(url):
    return json.loads(get(url))


def wait_for(what, fn, timeout=30, interval=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            value = fn()
            if value:
                return value
        except (OSError, urllib.error.URLError, ValueError, KeyError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last error: {last})")


def families_of(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


class Cluster:
    def __init__(self, cdcflow, work):
        self.cdcflow = cdcflow
        self.work = work
        self.procs = []

    def start(self, name, args):
        log = open(os.path.join(self.work, name + ".log"), "w")
        env = dict(os.environ)
        env.pop("CDCFLOW_AUTH_TOKEN", None)
        p = subprocess.Popen([self.cdcflow] + args, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.procs.append((name, p))
        return p

    def log(self, name):
        with open(os.path.join(self.work, name + ".log")) as f:
            return f.read()

    def stop(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for name, p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def check(cond, message):
    if not cond:
        raise AssertionError(message)
    print(f"ok   {message}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cdcflow", required=True)
    ap.add_argument("--plugin", required=True, help="keyed_sum.so")
    ap.add_argument("--work", help="directory for logs (temporary when absent)")
    ap.add_argument("--browser-work", required=True, help="run_browser_test.sh's work directory")
    ap.add_argument("--screenshots", required=True)
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="cdcflow_observability_")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cluster = Cluster(args.cdcflow, work)
    ok = False
    try:
        port_file = os.path.join(work, "jm.port")
        cluster.start("jobmanager", [
            "jobmanager", "--port", "0", "--port-file", port_file, "--rest-port", "0",
            "--heartbeat-interval-ms", "200", "--heartbeat-timeout-ms", "3000",
            "--auth-token", TOKEN])
        jm_port = wait_for("the job manager's port file",
                           lambda: open(port_file).read().strip() if os.path.exists(port_file) else None)
        jm = f"127.0.0.1:{jm_port}"
        base = wait_for("the REST address in the job manager's log", lambda: (
            re.search(r"dashboard on (http://\S+)", cluster.log("jobmanager")) or [None, None])[1])
        check("no auth token" not in cluster.log("jobmanager"),
              "a job manager with a token does not warn about a missing one")
        for tm in ("tm-a", "tm-b"):
            cluster.start(tm, ["taskmanager", "--jobmanager", jm, "--slots", "2", "--port", "0",
                               "--id", tm, "--metrics-port", "0",
                               "--plugin-dir", os.path.join(work, "plugins-" + tm)])
        tms = wait_for("two task managers with metrics endpoints", lambda: (
            lambda t: t if len(t) == 2 and all(x["metrics_url"] for x in t) else None)(
                get_json(base + "/api/v1/taskmanagers")["taskmanagers"]))

        # gRPC: without the token the job manager refuses the submission.
        run = [args.cdcflow, "run", args.plugin, "--jobmanager", jm, "--parallelism", "4",
               "--detach", "--", "records=1000000000", "keys=50", "rate=2000",
               "output=" + os.path.join(work, "out")]
        env = dict(os.environ)
        env.pop("CDCFLOW_AUTH_TOKEN", None)
        refused = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
        check(refused.returncode != 0 and "token" in refused.stderr,
              f"gRPC submit without the token is refused ({refused.stderr.strip()[:120]})")
        env["CDCFLOW_AUTH_TOKEN"] = TOKEN
        submitted = subprocess.run(run, env=env, capture_output=True, text=True, timeout=60)
        check(submitted.returncode == 0, f"gRPC submit with the token: {submitted.stderr.strip()[:300]}")
        job = wait_for("a RUNNING job", lambda: next(
            (j["id"] for j in get_json(base + "/api/v1/jobs")["jobs"] if j["state"] == "RUNNING"), None))

        # 1. Task managers' /metrics.
        def task_series():
            out = []
            for tm in tms:
                fams = families_of(get(tm["metrics_url"]))
                for name in ("cdcflow_task_records_in", "cdcflow_task_records_out"):
                    if name not in fams:
                        return None
                    check_type = fams[name].type
                    assert check_type == "counter", (name, check_type)
                    out += [(tm["id"], s) for s in fams[name].samples
                            if s.labels.get("job") == job and s.name.endswith("_total")]
            return out
        def moving():
            series = task_series()
            if not series:
                return None
            out = {(s.name, s.labels["vertex"]): 0 for _, s in series}
            for _, s in series:
                out[(s.name, s.labels["vertex"])] += s.value
            if out.get(("cdcflow_task_records_out_total", "numbers"), 0) > 0 and \
                    out.get(("cdcflow_task_records_in_total", "sum"), 0) > 0 and \
                    len({tm for tm, s in series if s.value > 0}) == 2:
                return series
            return None
        series = wait_for("non-zero records on the task managers' /metrics", moving)
        for _, s in series:
            assert set(s.labels) == {"job", "vertex", "subtask"}, s.labels
        check(True, "task managers' /metrics parse; numbers out > 0 and sum in > 0, labels job/vertex/subtask")
        subtasks = {(s.labels["vertex"], s.labels["subtask"]) for _, s in series}
        check({("numbers", str(i)) for i in range(4)} <= subtasks,
              "every source subtask exports its records")
        check(len({tm for tm, s in series if s.value > 0}) == 2,
              "both task managers export non-zero task records")
        fams = families_of(get(tms[0]["metrics_url"]))
        check(fams["cdcflow_task_busy_seconds"].type == "counter" and
              fams["cdcflow_task_batch_process_seconds"].type == "histogram",
              "busy time counter and batch latency histogram on the task manager")

        # 2. The job manager's view of the same job (from heartbeats).
        def rest_moving():
            d = get_json(f"{base}/api/v1/jobs/{job}")
            src = [v for v in d["vertices"] if v["kind"] == "source"]
            if src and src[0]["metrics"]["records_out"] > 0 and \
                    src[0]["metrics"]["records_out_per_sec"] > 0:
                return d
            return None
        detail = wait_for("non-zero throughput in the REST job view", rest_moving)
        check(len(detail["vertices"]) == 2 and len(detail["edges"]) == 1 and
              detail["edges"][0]["partitioning"] == "HASH",
              "REST job view: two chains joined by a HASH edge")
        sink = [v for v in detail["vertices"] if v["kind"] == "sink"][0]
        check(sink["metrics"]["records_in"] > 0, "REST job view: the keyed chain received records")
        vertex = get_json(f"{base}/api/v1/jobs/{job}/vertices/{sink['id']}")
        check(len(vertex["subtasks"]) == 4 and
              {s["taskmanager_id"] for s in vertex["subtasks"]} == {"tm-a", "tm-b"} and
              all(s["metrics"]["records_in"] > 0 for s in vertex["subtasks"]),
              "the keyed chain's 4 subtasks are spread over both task managers, each with records")
        jm_fams = wait_for("the job's gauges on the job manager's /metrics", lambda: (
            lambda f: f if "cdcflow_job_vertex_records_out" in f else None)(
                families_of(get(base + "/metrics"))))
        outs = [s for s in jm_fams["cdcflow_job_vertex_records_out"].samples
                if s.labels["job"] == job]
        check(any(s.value > 0 for s in outs), "job manager /metrics: vertex records out > 0")
        check(jm_fams["cdcflow_jobmanager_taskmanagers"].samples[0].value == 2,
              "job manager /metrics: two task managers")

        # 4. REST conformance against the same cluster.
        conformance = subprocess.run(
            [sys.executable, os.path.join(HERE, "rest_conformance_test.py"), "--url", base,
             "--token", TOKEN],
            timeout=120)
        check(conformance.returncode == 0, "REST responses of the real cluster match openapi.yaml")

        # 5. The dashboard, cancelling the job from the UI.
        browser = subprocess.run(
            ["bash", BROWSER_TEST, args.browser_work, "--url", base, "--token", TOKEN,
             "--out", args.screenshots],
            timeout=240)
        check(browser.returncode == 0, f"browser test over the real cluster (screenshots in {args.screenshots})")
        state = get_json(f"{base}/api/v1/jobs/{job}")["state"]
        check(state == "CANCELED", f"the job is CANCELED after the UI cancel ({state})")

        # 6. The task managers drop the ended job's series.
        def gone():
            for tm in tms:
                if f'job="{job}"' in get(tm["metrics_url"]):
                    return False
            return True
        wait_for("the job's series to leave the task managers' /metrics", gone, timeout=20)
        check(True, "task managers stop exporting the cancelled job's series")
        ok = True
    finally:
        cluster.stop()
        if not ok:
            for name, _ in cluster.procs:
                print(f"==== {name}.log\n{cluster.log(name)[-4000:]}", flush=True)
    print("all checks passed" if ok else "FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
