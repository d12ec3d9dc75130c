"""Offline tests of deploy/compose/docker-compose.yml (no Docker engine runs here).

`docker compose config` (the compose CLI plugin from deploy/install-tools.sh, via DOCKER_CONFIG)
validates the file against the compose schema and resolves it; the resolved model is then
checked: the seed's services are all there, long-running services have health checks, every
dependency waits on health (or, for one-shot services, on successful completion), start-up
follows the seed's getting-started order, the UIs sit on their ports, bind-mounted files and
build files exist, and SQL Server's init script creates the table the producer writes.
"""

import copy
import json
import os
import re
import subprocess
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
COMPOSE_DIR = os.path.join(ROOT, "deploy", "compose")
COMPOSE_FILE = os.path.join(COMPOSE_DIR, "docker-compose.yml")

ONE_SHOT = {"mssql-init", "connect-register", "load-products", "submit-job"}
NO_HEALTH_NEEDED = {"debezium-ui"}  # nothing waits on it; its image has no HTTP client
EXPECTED = {"mssql", "mssql-init", "postgres", "kafka", "schema-registry", "connect",
            "connect-register", "debezium-ui", "control-center", "load-products", "load-orders",
            "elasticsearch", "jobmanager", "taskmanager-1", "taskmanager-2", "submit-job"}
# The seed's getting-started order: each pair (a, b) means b starts only after a
# (directly or through other dependencies).
ORDER = [
    ("mssql", "mssql-init"), ("mssql-init", "connect-register"),
    ("postgres", "connect-register"), ("kafka", "schema-registry"),
    ("schema-registry", "connect"), ("connect", "connect-register"),
    ("connect", "debezium-ui"), ("connect", "control-center"),
    ("connect-register", "load-products"), ("load-products", "load-orders"),
    ("elasticsearch", "jobmanager"), ("kafka", "jobmanager"),
    ("jobmanager", "taskmanager-1"), ("jobmanager", "taskmanager-2"),
    ("taskmanager-1", "submit-job"), ("taskmanager-2", "submit-job"),
    ("load-orders", "submit-job"), ("connect-register", "submit-job"),
]
HOST_PORTS = {8086: "jobmanager", 8081: "debezium-ui", 9021: "control-center",
              9200: "elasticsearch"}


def compose_config(path, *extra):
    """Runs `docker compose config` on a file; returns the CompletedProcess."""
    return subprocess.run(["docker", "compose", "-f", path, *extra, "config", "--format", "json"],
                          capture_output=True, text=True, cwd=os.path.dirname(path))


def load_model(path=COMPOSE_FILE):
    proc = compose_config(path)
    if proc.returncode != 0:
        raise AssertionError(f"docker compose config failed on {path}:\n{proc.stderr}")
    return json.loads(proc.stdout)


def problems(model):
    """Everything wrong with a resolved compose model, as messages (empty when fine)."""
    out = []
    services = model["services"]
    missing = EXPECTED - set(services)
    if missing:
        out.append(f"services missing: {sorted(missing)}")
    for name, svc in services.items():
        hc = svc.get("healthcheck")
        if name not in ONE_SHOT and name not in NO_HEALTH_NEEDED and (not hc or hc.get("disable")):
            out.append(f"{name}: long-running service without a health check")
        if name in ONE_SHOT and svc.get("restart", "no") != "no":
            out.append(f"{name}: one-shot service must not restart")
        for dep, spec in (svc.get("depends_on") or {}).items():
            if dep not in services:
                out.append(f"{name}: depends on unknown service {dep}")
                continue
            cond = spec.get("condition")
            if dep in ONE_SHOT:
                if cond != "service_completed_successfully":
                    out.append(f"{name} -> {dep}: a one-shot dependency needs "
                               f"service_completed_successfully, not {cond}")
            elif cond != "service_healthy":
                out.append(f"{name} -> {dep}: needs condition service_healthy, not {cond}")
            elif cond == "service_healthy" and not services[dep].get("healthcheck"):
                out.append(f"{name} -> {dep}: waits for health of a service without a check")
    # Transitive start-up order.
    def after(b):
        seen, stack = set(), [b]
        while stack:
            for d in (services.get(stack.pop(), {}).get("depends_on") or {}):
                if d not in seen:
                    seen.add(d)
                    stack.append(d)
        return seen
    for a, b in ORDER:
        if a in services and b in services and a not in after(b):
            out.append(f"order: {b} must start after {a}")
    for name in services:
        if name in after(name):
            out.append(f"{name}: dependency cycle")
    # Host ports: the UIs where the seed's users look, and only on loopback.
    published = {}
    for name, svc in services.items():
        for p in svc.get("ports") or []:
            published[int(p["published"])] = name
            if p.get("host_ip") != "127.0.0.1":
                out.append(f"{name}: port {p['published']} published beyond 127.0.0.1")
    for port, name in HOST_PORTS.items():
        if published.get(port) != name:
            out.append(f"host port {port} should be {name}, is {published.get(port)}")
    return out


class ComposeConfigTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = load_model()

    def test_seed_pipeline_is_valid_and_complete(self):
        self.assertEqual(problems(self.model), [])
        self.assertEqual(set(self.model["services"]), EXPECTED)

    def test_compose_rejects_an_invalid_file(self):
        # Proves `docker compose config` validates: an unknown key and a bad condition fail.
        with open(COMPOSE_FILE) as f:
            doc = yaml.safe_load(f)
        for mutate, needle in (
                (lambda d: d["services"]["kafka"].update(helthcheck={}), "helthcheck"),
                (lambda d: d["services"]["jobmanager"]["depends_on"]["kafka"].update(
                    condition="service_happy"), "depends_on.kafka.condition")):
            bad = copy.deepcopy(doc)
            mutate(bad)
            with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=COMPOSE_DIR,
                                             delete=False) as f:
                yaml.safe_dump(bad, f)
            try:
                proc = compose_config(f.name)
            finally:
                os.remove(f.name)
            self.assertNotEqual(proc.returncode, 0, needle)
            self.assertIn(needle, proc.stderr)

    def test_checker_catches_broken_ordering_and_health(self):
        broken = copy.deepcopy(self.model)
        del broken["services"]["kafka"]["healthcheck"]
        broken["services"]["submit-job"]["depends_on"]["connect-register"]["condition"] = \
            "service_started"
        del broken["services"]["load-orders"]["depends_on"]["load-products"]
        broken["services"]["control-center"]["ports"][0]["host_ip"] = "0.0.0.0"
        found = "\n".join(problems(broken))
        self.assertIn("kafka: long-running service without a health check", found)
        self.assertIn("submit-job -> connect-register", found)
        self.assertIn("order: load-orders must start after load-products", found)
        self.assertIn("control-center: port 9021 published beyond 127.0.0.1", found)

    def test_cdcflow_services(self):
        s = self.model["services"]
        self.assertEqual(s["jobmanager"]["command"], ["jobmanager"])
        self.assertEqual(s["jobmanager"]["build"]["dockerfile"], "deploy/docker/Dockerfile")
        for tm in ("taskmanager-1", "taskmanager-2"):
            self.assertEqual(s[tm]["command"], ["taskmanager"])
            env = s[tm]["environment"]
            self.assertEqual(env["CDCFLOW_JOBMANAGER"], "jobmanager:6123")
            self.assertGreaterEqual(int(env["CDCFLOW_TM_SLOTS"]), 1)
            # Peers reach a task manager by its service name.
            self.assertEqual(env["CDCFLOW_TM_ADVERTISED_HOST"], tm)
            targets = {v["target"]: v["source"] for v in s[tm]["volumes"]}
            self.assertEqual(targets["/var/lib/cdcflow/checkpoints"], "checkpoints")
        states = {next(v["source"] for v in s[tm]["volumes"]
                       if v["target"] == "/var/lib/cdcflow/state")
                  for tm in ("taskmanager-1", "taskmanager-2")}
        self.assertEqual(len(states), 2, "each task manager needs its own state volume")
        cmd = s["submit-job"]["command"]
        self.assertEqual(cmd[:2], ["run", "order_enrichment"])
        slots = sum(int(s[tm]["environment"]["CDCFLOW_TM_SLOTS"])
                    for tm in ("taskmanager-1", "taskmanager-2"))
        self.assertLessEqual(int(cmd[cmd.index("--parallelism") + 1]), slots)

    def test_postgres_is_set_up_for_debezium(self):
        pg = self.model["services"]["postgres"]
        self.assertIn("wal_level=logical", pg["command"])
        mounts = {v["target"]: v["source"] for v in pg["volumes"] if v["type"] == "bind"}
        self.assertEqual(mounts["/docker-entrypoint-initdb.d/10-schema.sql"],
                         os.path.join(ROOT, "deploy", "sql", "schema.sql"))

    def test_bind_mounts_and_build_files_exist(self):
        for name, svc in self.model["services"].items():
            for v in svc.get("volumes") or []:
                if v["type"] == "bind":
                    with self.subTest(service=name, source=v["source"]):
                        self.assertTrue(os.path.exists(v["source"]), v["source"])
            if "build" in svc:
                path = os.path.join(svc["build"]["context"], svc["build"]["dockerfile"])
                self.assertTrue(os.path.isfile(path), f"{name}: {path}")

    def test_producers_and_registration_paths_exist_in_the_image(self):
        # The producers image copies deploy/{producers,connect,sql} and the register script to
        # /app; every /app path a compose command names must come from an existing file.
        image_map = {"/app/producers/": "deploy/producers/", "/app/connect/": "deploy/connect/",
                     "/app/sql/": "deploy/sql/",
                     "/app/register_connectors.py": "deploy/compose/register_connectors.py"}
        for name, svc in self.model["services"].items():
            for arg in svc.get("command") or []:
                if not arg.startswith("/app/"):
                    continue
                prefix = next(p for p in image_map if arg.startswith(p))
                local = os.path.join(ROOT, image_map[prefix] + arg[len(prefix):])
                with self.subTest(service=name, path=arg):
                    self.assertTrue(os.path.exists(local), f"{arg} -> {local}")

    def test_mssql_init_creates_the_table_load_products_writes(self):
        def columns(ddl):
            body = ddl[ddl.index("(") + 1:ddl.rindex(")")]
            cols = re.split(r",\s*(?![^()]*\))", body)
            return [re.sub(r"\s+", " ", c.strip().upper()) for c in cols if c.strip()]
        with open(os.path.join(COMPOSE_DIR, "mssql", "init.sql")) as f:
            init = f.read()
        m = re.search(r"CREATE TABLE dbo\.products \((.*?)\);", init, re.S)
        self.assertIsNotNone(m, "init.sql creates no dbo.products")
        with open(os.path.join(ROOT, "deploy", "producers", "load_products.py")) as f:
            producer = f.read()
        p = re.search(r'MSSQL_DDL = """(.*?)"""', producer, re.S)
        self.assertIsNotNone(p, "load_products.py has no MSSQL_DDL")
        self.assertEqual(columns("(" + m.group(1) + ")"),
                         columns(p.group(1)[p.group(1).index("CREATE TABLE"):]))
        self.assertIn("sp_cdc_enable_db", init)
        self.assertRegex(init, r"sp_cdc_enable_table @source_schema = N'dbo', "
                               r"@source_name = N'products'")
        self.assertEqual(self.model["services"]["mssql"]["environment"]["MSSQL_AGENT_ENABLED"],
                         "true")


if __name__ == "__main__":
    unittest.main(verbosity=1)
