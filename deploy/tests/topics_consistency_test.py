"""The pipeline's topic and index names agree everywhere they are written.

deploy/topics.env is the one list. Checked against it:
- the topics the Debezium connector configurations produce (deploy/connect/*.json for the local
  pipeline, deploy/connect/sqlserver/*.json for SQL Server), derived from topic.prefix,
  database.names and table.include.list as Debezium names them;
- the compose file (resolved by `docker compose config`): the connectors its registration
  service registers, with its overrides applied, and the job arguments of its submission
  service, whose servers must be compose services;
- the Helm chart's default job arguments;
- the order-enrichment job's default topic names (string literals in jobs/order_enrichment/).
"""

import copy
import glob
import json
import os
import re
import sys
import unittest
import urllib.parse

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "deploy", "compose"))

import compose_test  # noqa: E402  (resolves the compose file)
import register_connectors  # noqa: E402

JOB_DIR = os.path.join(ROOT, "jobs", "order_enrichment")
ARG_TO_KEY = {"orders_topic": "ORDERS_TOPIC", "shipments_topic": "SHIPMENTS_TOPIC",
              "products_topic": "PRODUCTS_TOPIC", "output_topic": "OUTPUT_TOPIC",
              "es_index": "ES_INDEX"}


def read_env(path=os.path.join(ROOT, "deploy", "topics.env")):
    out = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            m = re.fullmatch(r"([A-Z_][A-Z0-9_]*)=(\S+)", line)
            if not m:
                raise ValueError(f"{path}:{n}: expected KEY=VALUE, got {line!r}")
            out[m.group(1)] = m.group(2)
    return out


def connector_topics(config):
    """The topics a Debezium PostgreSQL or SQL Server connector writes its tables to."""
    cls = config["connector.class"]
    if any(k.startswith("transforms") for k in config):
        raise ValueError(f"{config.get('name')}: topic-renaming transforms are not derived here")
    prefix = config["topic.prefix"]
    tables = [t.strip() for t in config["table.include.list"].split(",") if t.strip()]
    if cls.endswith("PostgresConnector"):
        return {f"{prefix}.{t}" for t in tables}
    if cls.endswith("SqlServerConnector"):
        dbs = [d.strip() for d in config["database.names"].split(",") if d.strip()]
        return {f"{prefix}.{d}.{t}" for d in dbs for t in tables}
    raise ValueError(f"unknown connector class {cls}")


def files_topics(paths, sets=None):
    sets = sets or {}
    out = {}
    for p in paths:
        name, config = register_connectors.load_connector(p, sets)
        out[name] = connector_topics(config)
    return out


def compose_registered_topics(model):
    """Topics of the connectors the compose registration service registers."""
    cmd = model["services"]["connect-register"]["command"]
    args = cmd[1:]
    files, sets, i = [], [], 0
    while i < len(args):
        if args[i] == "--set":
            sets.append(args[i + 1])
            i += 2
        elif args[i] in ("--connect", "--timeout"):
            i += 2
        else:
            files.append(args[i])
            i += 1
    local = [os.path.join(ROOT, "deploy", "connect", f[len("/app/connect/"):]) for f in files]
    topics = files_topics(local, register_connectors.parse_sets(sets))
    return set().union(*topics.values())


def job_args(cmd):
    return dict(a.split("=", 1) for a in cmd[cmd.index("--") + 1:])


def compose_problems(model, env):
    out = []
    registered = compose_registered_topics(model)
    args = job_args(model["services"]["submit-job"]["command"])
    for arg, key in ARG_TO_KEY.items():
        if args.get(arg) != env[key]:
            out.append(f"compose job argument {arg}={args.get(arg)} but topics.env {key}={env[key]}")
    for arg in ("orders_topic", "shipments_topic", "products_topic"):
        if args.get(arg) not in registered:
            out.append(f"compose job reads {args.get(arg)}, which no registered connector "
                       f"writes (registered: {sorted(registered)})")
    services = model["services"]
    host, _, port = args.get("bootstrap_servers", "").partition(":")
    advertised = services.get(host, {}).get("environment", {}).get("KAFKA_ADVERTISED_LISTENERS", "")
    if f"://{host}:{port}" not in advertised:
        out.append(f"bootstrap_servers {host}:{port} is not a listener of a compose Kafka")
    es = urllib.parse.urlsplit(args.get("es_url", ""))
    if es.hostname not in services or "elasticsearch" not in services[es.hostname]["image"]:
        out.append(f"es_url {args.get('es_url')} is not the compose Elasticsearch")
    return out


class TopicsConsistencyTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = read_env()
        cls.model = compose_test.load_model()

    def test_env_has_every_name(self):
        self.assertEqual(set(self.env), set(ARG_TO_KEY.values()) | {"LOCAL_PRODUCTS_TOPIC"})

    def test_local_connectors(self):
        topics = files_topics(sorted(glob.glob(os.path.join(ROOT, "deploy", "connect", "*.json"))))
        all_topics = set().union(*topics.values())
        for key in ("ORDERS_TOPIC", "SHIPMENTS_TOPIC", "LOCAL_PRODUCTS_TOPIC"):
            self.assertIn(self.env[key], all_topics, key)

    def test_sqlserver_connector(self):
        topics = files_topics(sorted(glob.glob(
            os.path.join(ROOT, "deploy", "connect", "sqlserver", "*.json"))))
        self.assertEqual(set().union(*topics.values()), {self.env["PRODUCTS_TOPIC"]})

    def test_compose(self):
        self.assertEqual(compose_problems(self.model, self.env), [])
        self.assertEqual(compose_registered_topics(self.model),
                         {self.env[k] for k in ("ORDERS_TOPIC", "SHIPMENTS_TOPIC",
                                                "PRODUCTS_TOPIC")})

    def test_checker_sees_a_mismatch(self):
        bad = copy.deepcopy(self.model)
        cmd = bad["services"]["connect-register"]["command"]
        cmd += ["--set", "cdcflow-products-mssql:topic.prefix=sqlserver"]
        bad["services"]["submit-job"]["command"] = [
            a.replace("kafka:9092", "broker:9092") for a in bad["services"]["submit-job"]["command"]]
        found = "\n".join(compose_problems(bad, self.env))
        self.assertIn("mssql.inventory.dbo.products, which no registered connector", found)
        self.assertIn("bootstrap_servers broker:9092", found)
        env = dict(self.env, ES_INDEX="orders_v2")
        self.assertIn("es_index=enriched_orders but topics.env ES_INDEX=orders_v2",
                      "\n".join(compose_problems(self.model, env)))

    def test_helm_default_job_args(self):
        with open(os.path.join(ROOT, "deploy", "helm", "cdcflow", "values.yaml")) as f:
            args = yaml.safe_load(f)["job"]["args"]
        for arg, key in ARG_TO_KEY.items():
            self.assertEqual(args[arg], self.env[key], arg)

    def test_job_defaults(self):
        sources = [p for ext in ("cc", "h", "cpp") for p in
                   glob.glob(os.path.join(JOB_DIR, "**", f"*.{ext}"), recursive=True)]
        if not sources:
            # The job is being written (issue 7); until it lands topics.env is the reference.
            print(f"note: no sources in {JOB_DIR} yet; job defaults not checked", file=sys.stderr)
            return
        literals = set()
        for p in sources:
            with open(p) as f:
                literals |= set(re.findall(r'"([^"\\]*)"', f.read()))
        for key in ("ORDERS_TOPIC", "SHIPMENTS_TOPIC", "OUTPUT_TOPIC", "ES_INDEX"):
            self.assertIn(self.env[key], literals, f"job default for {key}")
        self.assertTrue({self.env["PRODUCTS_TOPIC"], self.env["LOCAL_PRODUCTS_TOPIC"]} & literals,
                        "the job's default products topic is neither topics.env name")


if __name__ == "__main__":
    unittest.main(verbosity=1)
