#!/usr/bin/env python3
"""Registers Debezium connectors with a Kafka Connect worker and waits until they run.

Each FILE is a connector configuration as in deploy/connect/ ({"name": ..., "config": {...}}).
--set NAME:KEY=VALUE overrides one key of connector NAME's config (NAME `*` means every
connector), so that the files keep the local pipeline's addresses and compose or a test
supplies its own. Registration is a PUT of the config (create or update, idempotent). Then it
waits until the connector and all its tasks are RUNNING; a FAILED state or the timeout ends it
with exit status 1 and the worker's trace. Standard library only (runs in the producers image).

  register_connectors.py --connect http://connect:8083 \
      deploy/connect/cdcflow-orders.json --set cdcflow-orders:database.hostname=postgres
"""

import argparse
import json
import sys
import time
import urllib.error
import urllib.request


def parse_sets(items):
    """['name:key=value', ...] -> {name: {key: value}}; raises ValueError naming a bad item."""
    out = {}
    for item in items:
        name, sep, rest = item.partition(":")
        key, eq, value = rest.partition("=")
        if not sep or not eq or not name or not key:
            raise ValueError(f"--set {item!r}: expected NAME:KEY=VALUE")
        out.setdefault(name, {})[key] = value
    return out


def load_connector(path, sets):
    """Reads one connector file and applies the overrides; returns (name, config)."""
    with open(path) as f:
        try:
            doc = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not JSON: {e}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or \
            not isinstance(doc.get("config"), dict):
        raise ValueError(f"{path}: expected {{\"name\": ..., \"config\": {{...}}}}")
    config = {k: str(v) for k, v in doc["config"].items()}
    config.update(sets.get("*", {}))
    config.update(sets.get(doc["name"], {}))
    config["name"] = doc["name"]
    return doc["name"], config


def request(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json",
                                          "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def wait_for_worker(connect, deadline):
    while True:
        try:
            request("GET", f"{connect}/connectors", timeout=5)
            return
        except (urllib.error.URLError, OSError) as e:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kafka Connect at {connect} is not answering: {e}") from e
            time.sleep(1)


def register(connect, name, config, deadline):
    try:
        request("PUT", f"{connect}/connectors/{name}/config", config)
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"registering {name} failed: HTTP {e.code}: "
                           f"{e.read().decode(errors='replace')}") from e
    state = ""
    while True:
        try:
            _, status = request("GET", f"{connect}/connectors/{name}/status", timeout=5)
            states = [status["connector"]["state"]] + [t["state"] for t in status.get("tasks", [])]
            state = ",".join(states)
            if len(states) > 1 and all(s == "RUNNING" for s in states):
                return
            if "FAILED" in states:
                traces = [t.get("trace", "") for t in [status["connector"], *status["tasks"]]]
                raise RuntimeError(f"connector {name} failed ({state}):\n" + "\n".join(traces))
        except urllib.error.HTTPError as e:
            if e.code != 404:
                raise
        if time.monotonic() > deadline:
            raise RuntimeError(f"connector {name} not running after the timeout (state {state!r})")
        time.sleep(1)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--connect", default="http://127.0.0.1:8083", help="Kafka Connect REST URL")
    p.add_argument("--timeout", type=float, default=180, help="seconds for everything")
    p.add_argument("--set", action="append", default=[], metavar="NAME:KEY=VALUE")
    p.add_argument("files", nargs="+")
    args = p.parse_args(argv)
    try:
        sets = parse_sets(args.set)
        connectors = [load_connector(f, sets) for f in args.files]
    except (ValueError, OSError) as e:
        print(f"register_connectors: {e}", file=sys.stderr)
        return 2
    unknown = set(sets) - {"*"} - {name for name, _ in connectors}
    if unknown:
        print(f"register_connectors: --set names unknown connectors: {sorted(unknown)}",
              file=sys.stderr)
        return 2
    connect = args.connect.rstrip("/")
    deadline = time.monotonic() + args.timeout
    try:
        wait_for_worker(connect, deadline)
        for name, config in connectors:
            register(connect, name, config, deadline)
            print(f"register_connectors: {name} running", flush=True)
    except RuntimeError as e:
        print(f"register_connectors: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
