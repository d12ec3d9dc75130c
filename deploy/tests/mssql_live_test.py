"""Live test of the SQL Server leg of the seed pipeline, against a SQL Server you give it.

SQL Server cannot run on the project's machines, so this test needs one elsewhere:
  CDCFLOW_MSSQL_URL       mssql://HOST[:PORT] or HOST[:PORT] (port 1433 by default)
  CDCFLOW_MSSQL_USER      a login that may create databases and enable CDC (sysadmin)
  CDCFLOW_MSSQL_PASSWORD
Unset, it prints "skipped: no SQL Server given" and exits 77 (ctest reports it skipped).

Given a server, it:
1. creates a fresh database cdcflow_live_<time> with CDC enabled;
2. runs deploy/producers/load_products.py against it (pymssql), then enables CDC on dbo.products;
3. starts the local Kafka + Kafka Connect (deploy/local/services.sh, unless already running)
   and registers deploy/connect/sqlserver/cdcflow-products-mssql.json against the server with
   deploy/compose/register_connectors.py (a fresh topic prefix);
4. reads the topic back and decodes every Debezium event: the snapshot must equal
   load_products' catalogue exactly (ids, names, descriptions, DECIMAL(10,3) weights), and,
   when SQL Server Agent runs (CDC's capture job needs it), an UPDATE must arrive as an `u`
   event with its before and after images;
5. deletes the connector and drops the database; stops the services it started.
Reading uses kcat and decodes the JSON here; `cdcflow decode --topic` replaces it once it lands.
`--self-test` runs the offline parts (URL parsing, event decoding) without a server.
"""

import base64
import decimal
import json
import os
import subprocess
import sys
import time
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
SKIP = 77
SERVICES = os.path.join(ROOT, "deploy", "local", "services.sh")
CONNECTOR_FILE = os.path.join(ROOT, "deploy", "connect", "sqlserver", "cdcflow-products-mssql.json")
REGISTER = os.path.join(ROOT, "deploy", "compose", "register_connectors.py")
LOAD_PRODUCTS = os.path.join(ROOT, "deploy", "producers", "load_products.py")


def parse_server(url):
    """'mssql://host:port', 'sqlserver://host', 'host,port' or 'host:port' -> (host, port)."""
    if "://" in url:
        u = urllib.parse.urlsplit(url)
        if u.scheme.lower() not in ("mssql", "sqlserver") or not u.hostname:
            raise ValueError(f"CDCFLOW_MSSQL_URL={url!r}: expected mssql://HOST[:PORT]")
        return u.hostname, u.port or 1433
    host, sep, port = url.replace(",", ":").rpartition(":")
    if not sep:
        host, port = url, "1433"
    if not host or not port.isdigit():
        raise ValueError(f"CDCFLOW_MSSQL_URL={url!r}: expected HOST[:PORT]")
    return host, int(port)


def decode_decimal(value, scale):
    """Kafka Connect Decimal (base64 of the big-endian two's-complement unscaled value)."""
    if value is None:
        return None
    unscaled = int.from_bytes(base64.b64decode(value), "big", signed=True)
    return decimal.Decimal(unscaled).scaleb(-scale)


def decode_row(image, schema):
    """A Debezium before/after image with its struct schema -> {column: Python value}."""
    if image is None:
        return None
    fields = {f["field"]: f for f in schema["fields"]}
    row = {}
    for name, value in image.items():
        f = fields[name]
        if f.get("name") == "org.apache.kafka.connect.data.Decimal":
            value = decode_decimal(value, int(f["parameters"]["scale"]))
        row[name] = value
    return row


def decode_event(value_json):
    """One Debezium message value (schemas enabled) -> (op, before, after); None for tombstones."""
    if not value_json:
        return None
    msg = json.loads(value_json)
    schema, payload = msg["schema"], msg["payload"]
    parts = {f["field"]: f for f in schema["fields"]}
    return (payload["op"], decode_row(payload.get("before"), parts["before"]),
            decode_row(payload.get("after"), parts["after"]))


def expected_catalogue():
    sys.path.insert(0, os.path.dirname(LOAD_PRODUCTS))
    import load_products  # noqa: E402
    return {pid: {"id": pid, "name": name, "description": desc,
                  "weight": decimal.Decimal(w).quantize(decimal.Decimal("0.001"))}
            for pid, name, desc, w in load_products.PRODUCTS}


class SelfTest(unittest.TestCase):
    def test_parse_server(self):
        self.assertEqual(parse_server("mssql://db.example:1444"), ("db.example", 1444))
        self.assertEqual(parse_server("sqlserver://db"), ("db", 1433))
        self.assertEqual(parse_server("db,1500"), ("db", 1500))
        self.assertEqual(parse_server("db"), ("db", 1433))
        for bad in ("http://db", "db:port", "mssql://"):
            with self.assertRaises(ValueError):
                parse_server(bad)

    def test_decode_event(self):
        dec = {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
               "parameters": {"scale": "3"}, "field": "weight"}
        row_schema = {"type": "struct", "fields": [{"type": "int32", "field": "id"}, dec]}
        value = {"schema": {"type": "struct", "fields": [dict(row_schema, field="before"),
                                                         dict(row_schema, field="after")]},
                 "payload": {"op": "u", "before": {"id": 7, "weight": "EDE="},  # 4145
                             "after": {"id": 7, "weight": "/w=="}}}  # -1
        op, before, after = decode_event(json.dumps(value))
        self.assertEqual(op, "u")
        self.assertEqual(before, {"id": 7, "weight": decimal.Decimal("4.145")})
        self.assertEqual(after, {"id": 7, "weight": decimal.Decimal("-0.001")})
        self.assertIsNone(decode_event(""))

    def test_catalogue_is_readable(self):
        cat = expected_catalogue()
        self.assertGreaterEqual(len(cat), 5)
        self.assertEqual(cat[101]["weight"], decimal.Decimal("3.140"))


# ---------------------------------------------------------------------------------------------
def log(msg):
    print(f"mssql_live: {msg}", flush=True)


def local_env():
    out = subprocess.run(["bash", SERVICES, "env"], capture_output=True, text=True, check=True)
    return dict(line.split("=", 1) for line in out.stdout.split() if "=" in line)


def http_json(method, url, timeout=10):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        body = resp.read()
        return json.loads(body) if body else None


def read_topic(bootstrap, topic, want, timeout):
    """Reads (key, value) messages from the beginning until want(events) is true or timeout."""
    deadline = time.monotonic() + timeout
    events = []
    while time.monotonic() < deadline:
        proc = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning",
                               "-e", "-q", "-f", "%s\\n"], capture_output=True, text=True,
                              timeout=60)
        if proc.returncode == 0:
            events = [e for e in (decode_event(line) for line in proc.stdout.splitlines()) if e]
            if want(events):
                return events
        time.sleep(2)
    raise AssertionError(f"topic {topic}: condition not met within {timeout}s; "
                         f"{len(events)} events: {events[-5:]}")


def live(url, user, password):
    import pymssql

    host, port = parse_server(url)
    stamp = time.strftime("%Y%m%d%H%M%S")
    db, prefix = f"cdcflow_live_{stamp}", f"cdcflowlive{stamp}"
    name = "cdcflow-products-mssql"
    env = local_env()
    connect = f"http://127.0.0.1:{env['CDCFLOW_CONNECT_PORT']}"
    bootstrap = f"127.0.0.1:{env['CDCFLOW_KAFKA_PORT']}"
    started = subprocess.run(["bash", SERVICES, "status", "kafka", "connect"],
                             capture_output=True).returncode != 0
    admin = pymssql.connect(server=host, port=str(port), user=user, password=password,
                            database="master", autocommit=True)
    try:
        cur = admin.cursor()
        log(f"creating database {db} on {host}:{port}")
        cur.execute(f"CREATE DATABASE [{db}]")
        cur.execute(f"USE [{db}]; EXEC sys.sp_cdc_enable_db")
        target = (f"mssql://{urllib.parse.quote(user)}:{urllib.parse.quote(password)}"
                  f"@{host}:{port}/{db}")
        out = subprocess.run([sys.executable, LOAD_PRODUCTS, "--target", target],
                             capture_output=True, text=True)
        assert out.returncode == 0, f"load_products failed: {out.stderr}"
        summary = json.loads(out.stdout)
        catalogue = expected_catalogue()
        assert summary["target"] == "sqlserver" and summary["rows_in_table"] == len(catalogue), \
            summary
        cur.execute(f"USE [{db}]; EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', "
                    "@source_name = N'products', @role_name = NULL")
        cur.execute("SELECT status_desc FROM sys.dm_server_services "
                    "WHERE servicename LIKE 'SQL Server Agent%'")
        agent = (cur.fetchone() or ["unknown"])[0]
        log(f"SQL Server Agent: {agent}")

        if started:
            log("starting the local Kafka and Kafka Connect")
            subprocess.run(["bash", SERVICES, "start", "kafka", "connect"], check=True)
        plugins = http_json("GET", f"{connect}/connector-plugins")
        assert any(p["class"].endswith("SqlServerConnector") for p in plugins), (
            "the local Kafka Connect has no Debezium SQL Server connector plugin "
            "(deploy/local/maven/debezium.xml must list debezium-connector-sqlserver)")
        sets = {"database.hostname": host, "database.port": str(port), "database.user": user,
                "database.password": password, "database.names": db, "topic.prefix": prefix,
                "schema.history.internal.kafka.bootstrap.servers": bootstrap,
                "schema.history.internal.kafka.topic": f"{prefix}.history",
                "database.trustServerCertificate": "true"}
        args = [sys.executable, REGISTER, "--connect", connect, "--timeout", "120", CONNECTOR_FILE]
        for k, v in sets.items():
            args += ["--set", f"{name}:{k}={v}"]
        subprocess.run(args, check=True)
        topic = f"{prefix}.{db}.dbo.products"

        events = read_topic(bootstrap, topic, lambda ev: len(ev) >= len(catalogue), 120)
        snapshot = {after["id"]: after for op, _, after in events if op == "r"}
        assert snapshot == catalogue, f"snapshot differs:\n{snapshot}\n!=\n{catalogue}"
        log(f"snapshot: {len(snapshot)} rows equal load_products' catalogue")

        if agent == "Running":
            cur.execute(f"USE [{db}]; UPDATE dbo.products SET name = N'scooter (live)', "
                        "weight = 3.5 WHERE id = 101")
            events = read_topic(bootstrap, topic, lambda ev: any(e[0] == "u" for e in ev), 120)
            (op, before, after), = [e for e in events if e[0] == "u"]
            assert before == catalogue[101], before
            assert after == dict(catalogue[101], name="scooter (live)",
                                 weight=decimal.Decimal("3.500")), after
            log("update streamed with before and after images")
        else:
            log("SQL Server Agent is not running: CDC streams nothing, only the snapshot "
                "was checked")
    finally:
        try:
            http_json("DELETE", f"{connect}/connectors/{name}")
        except Exception:  # noqa: BLE001 - the connector may never have been created
            pass
        try:
            cur = admin.cursor()
            cur.execute(f"IF DB_ID('{db}') IS NOT NULL BEGIN "
                        f"ALTER DATABASE [{db}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; "
                        f"DROP DATABASE [{db}]; END")
        finally:
            admin.close()
        if started:
            subprocess.run(["bash", SERVICES, "stop", "connect", "kafka"])


def main(argv):
    if argv[:1] == ["--self-test"]:
        return 0 if unittest.main(argv=[sys.argv[0]] + argv[1:], exit=False).result \
            .wasSuccessful() else 1
    url = os.environ.get("CDCFLOW_MSSQL_URL", "")
    if not url:
        print("skipped: no SQL Server given")
        return SKIP
    user = os.environ.get("CDCFLOW_MSSQL_USER", "sa")
    password = os.environ.get("CDCFLOW_MSSQL_PASSWORD", "")
    live(url, user, password)
    print("mssql_live: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
