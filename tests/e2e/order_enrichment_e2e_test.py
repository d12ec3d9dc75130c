#!/usr/bin/python3
"""End to end on real servers: PostgreSQL -> Debezium -> Kafka -> order_enrichment -> OpenSearch
index + upsert Kafka topic, compared with the same join computed by SQL over the final tables.

Usage (ctest runs it through the local_services fixture, see tests/e2e/CMakeLists.txt):
  order_enrichment_e2e_test.py CASE
CASE:
  p1              a local `cdcflow run job.so` (parallelism 1)
  p2              a job manager + two task-manager processes, `cdcflow run --jobmanager`,
                  parallelism 2
  key-change      p2, plus `UPDATE orders/shipments SET order_id = order_id + 100000` over every
                  row in one transaction in the middle of the run
  connect-restart p2, plus a crash (kill -9) and restart of Kafka Connect while the producer
                  runs: Debezium replays what it had sent but not committed (checked: > 0 events)
Each case gets its own databases (orders and inventory, as in the local pipeline), Debezium
connectors, topics, index and output topic, so cases never see each other's rows.

The producer (deploy/producers/load_orders.py) runs unthrottled with inserts, updates, deletes,
shipments moved to another order, orders whose product changes and product renames. Then the
run quiesces and the index and the folded upsert topic must equal, row for row and field for
field (decimals and timestamps as exact text), the SQL join of the final tables. Wait time is
bounded (CDCFLOW_E2E_TIMEOUT_S, default 150 s); a mismatch prints the first differences.

On demand, not a test: `order_enrichment_e2e_test.py latency [RATE:SECONDS ...]` (default
1:60 1000:20) measures, on the p2 setup, the time from each order's commit in PostgreSQL to its
document in the index (realtime GET by id, polled every ~10 ms) and prints p50/p90/p99.
Run it with the fixture's settings: tests/integration/with_services_env.sh (see README).
"""

import datetime
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import localpipeline as lp  # noqa: E402

REPO = lp.REPO_ROOT
TICKS = int(os.environ.get("CDCFLOW_E2E_TICKS", "6000"))
TIMEOUT_S = float(os.environ.get("CDCFLOW_E2E_TIMEOUT_S", "150"))
FIELDS = ["order_id", "order_date", "customer_name", "price", "product_id", "order_status",
          "created_at", "order_uuid", "details", "product_name", "product_description",
          "shipment_id", "origin", "destination", "is_arrived"]
MIX = ["--update-ratio", "0.2", "--delete-ratio", "0.1", "--move-ratio", "0.06",
       "--product-change-ratio", "0.06", "--rename-ratio", "0.02", "--no-shipment-ratio", "0.15"]


def log(msg):
    print(f"e2e [{time.strftime('%H:%M:%S')}]: {msg}", flush=True)


def binary_dir():
    return os.environ.get("CDCFLOW_BINARY_DIR") or os.path.join(REPO, "build", "release")


def sql(db, statement, params=None, fetch=True):
    """Runs one statement in autocommit mode on its own connection; returns the rows."""
    conn = lp.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall() if fetch and cur.description else cur.rowcount
    finally:
        conn.close()


def http(method, url, body=None, timeout=30):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            text = resp.read().decode()
            return resp.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        try:
            return e.code, json.loads(text)
        except ValueError:
            return e.code, text
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        return 0, f"{url}: {e}"  # a server restarting: callers retry or report it


# ---------------------------------------------------------------------------------------------
# Expected: the join in SQL (orders ⟕ shipments in the orders database), products from the
# inventory database joined in Python; values in the sinks' exact text forms.

def fmt_timestamp(d):
    s = d.strftime("%Y-%m-%dT%H:%M:%S")
    if d.microsecond:
        s += (".%06d" % d.microsecond).rstrip("0")
    return s


def fmt_instant(d):
    return fmt_timestamp(d.astimezone(datetime.timezone.utc).replace(tzinfo=None)) + "Z"


def expected_documents(orders_db, products_db):
    rows = sql(orders_db, """
        SELECT o.order_id, o.order_date, o.customer_name, o.price::text, o.product_id,
               o.order_status, o.created_at, o.order_uuid::text, o.details::text,
               s.shipment_id, s.origin, s.destination, s.is_arrived
        FROM orders o LEFT JOIN shipments s ON s.order_id = o.order_id""")
    products = {r[0]: (r[1], r[2]) for r in sql(products_db,
                                                 "SELECT id, name, description FROM products")}
    docs = {}
    for (oid, odate, cust, price, pid, status, created, ouuid, details,
         sid, origin, dest, arrived) in rows:
        if oid in docs:
            raise AssertionError(f"order {oid} has several shipments: the producer broke its rule")
        name, desc = products.get(pid, (None, None))
        docs[oid] = {"order_id": oid, "order_date": fmt_timestamp(odate), "customer_name": cust,
                     "price": price, "product_id": pid, "order_status": status,
                     "created_at": fmt_instant(created), "order_uuid": ouuid, "details": details,
                     "product_name": name, "product_description": desc, "shipment_id": sid,
                     "origin": origin, "destination": dest, "is_arrived": arrived}
    return docs


# ---------------------------------------------------------------------------------------------
# Actual: the index and the folded upsert topic.

def index_documents(index):
    url = lp.env("CDCFLOW_OPENSEARCH_URL")
    status, _ = http("POST", f"{url}/{index}/_refresh")
    if status == 404:
        return {}
    status, body = http("GET", f"{url}/{index}/_search?size=10000&sort=_doc")
    if status != 200:
        raise AssertionError(f"search {index}: HTTP {status}: {body}")
    docs = {}
    for hit in body["hits"]["hits"]:
        src = hit["_source"]
        if hit["_id"] != str(src.get("order_id")):
            raise AssertionError(f"document _id {hit['_id']} holds order {src.get('order_id')}")
        docs[src["order_id"]] = src
    if body["hits"]["total"]["value"] > len(docs):
        raise AssertionError(f"{index} holds more than {len(docs)} documents")
    return docs


def topic_documents(topic):
    proc = subprocess.run(["kcat", "-b", lp.env("CDCFLOW_KAFKA_BROKERS"), "-C", "-t", topic,
                           "-o", "beginning", "-e", "-q", "-J"],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and "Unknown topic" not in proc.stderr:
        raise AssertionError(f"kcat {topic}: {proc.stderr.strip()}")
    docs = {}
    for line in proc.stdout.splitlines():
        if not line.strip():
            continue
        m = json.loads(line)
        key = json.loads(m["key"])
        if set(key) != {"order_id"}:
            raise AssertionError(f"{topic}: record key {m['key']} is not {{\"order_id\": ...}}")
        if m.get("payload") is None:
            docs.pop(key["order_id"], None)
        else:
            # Decimals are exact JSON numbers: keep their text.
            value = json.loads(m["payload"], parse_float=str)
            if value.get("order_id") != key["order_id"]:
                raise AssertionError(f"{topic}: key {key} carries order {value.get('order_id')}")
            docs[key["order_id"]] = value
    return docs


def replayed_events(topic):
    """Change events of TOPIC that Debezium sent more than once (same key, op and LSN)."""
    proc = subprocess.run(["kcat", "-b", lp.env("CDCFLOW_KAFKA_BROKERS"), "-C", "-t", topic,
                           "-o", "beginning", "-e", "-q", "-J"],
                          capture_output=True, text=True, timeout=120)
    seen, replays = set(), 0
    for line in proc.stdout.splitlines():
        m = json.loads(line)
        if m.get("payload") is None:
            continue
        p = json.loads(m["payload"])["payload"]
        ident = (m["key"], p["op"], p["source"].get("lsn"), p["source"].get("txId"))
        if ident in seen:
            replays += 1
        seen.add(ident)
    return replays


def differences(expected, actual, what):
    out = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        out.append(f"{what}: {len(missing)} orders missing, e.g. {missing[:5]}")
    if extra:
        out.append(f"{what}: {len(extra)} orders that should not be there, e.g. {extra[:5]}: "
                   f"{actual[extra[0]]}")
    wrong = [k for k in sorted(set(expected) & set(actual)) if expected[k] != actual[k]]
    if wrong:
        k = wrong[0]
        fields = {f: (expected[k].get(f), actual[k].get(f)) for f in
                  sorted(set(expected[k]) | set(actual[k]))
                  if expected[k].get(f, "<absent>") != actual[k].get(f, "<absent>")}
        out.append(f"{what}: {len(wrong)} orders differ, e.g. order {k}: (expected, actual) {fields}")
    return out


# ---------------------------------------------------------------------------------------------
# The pipeline of one case: databases, connectors, job.

class Case:
    def __init__(self, name):
        self.name = name
        # Topics outlive a run (Kafka keeps them): every run gets names of its own.
        tag = f"{name.replace('-', '')}{int(time.time()) % 1000000}"
        self.orders_db = f"e2e_{tag}_orders"
        self.products_db = f"e2e_{tag}_inventory"
        self.prefix = f"e2e{tag}"
        self.connectors = {f"e2e-{tag}-orders": self.orders_db,
                           f"e2e-{tag}-products": self.products_db}
        self.orders_topic = f"{self.prefix}.public.orders"
        self.shipments_topic = f"{self.prefix}.public.shipments"
        self.products_topic = f"{self.prefix}inv.public.products"
        self.output_topic = f"e2e_{tag}_enriched_orders"
        self.index = f"e2e_{tag}_enriched_orders"
        self.work = tempfile.mkdtemp(prefix=f"cdcflow_e2e_{tag}_")
        self.procs = []

    # -- servers -----------------------------------------------------------------------------
    def setup(self):
        self.teardown_connectors()
        for db in (self.orders_db, self.products_db):
            lp.fresh_database(db)
        lp.run_producer("load_products.py", "--target", lp.pg_dsn(self.products_db))
        url = lp.env("CDCFLOW_OPENSEARCH_URL")
        http("DELETE", f"{url}/{self.index}")
        # The upsert topic is compacted, as in production (a JVM start: in the background).
        lib = os.environ.get("CDCFLOW_LIB_DIR", os.path.join(REPO, ".local", "lib"))
        topic = subprocess.Popen(
            ["java", "-cp", os.path.join(lib, "kafka", "*"),
             os.path.join(REPO, "deploy", "local", "kafka", "CreateTopic.java"),
             lp.env("CDCFLOW_KAFKA_BROKERS"), self.output_topic, "2", "cleanup.policy=compact",
             "min.cleanable.dirty.ratio=0.01", "segment.ms=10000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.register_connectors()
        out, _ = topic.communicate(timeout=120)
        if topic.returncode != 0:
            raise AssertionError(f"creating the compacted topic {self.output_topic} failed:\n{out}")

    def connector_config(self, name, db):
        base = "cdcflow-orders.json" if db == self.orders_db else "cdcflow-products.json"
        with open(os.path.join(REPO, "deploy", "connect", base)) as f:
            config = json.load(f)["config"]
        slot = name.replace("-", "_")
        config.update({"database.port": lp.env("CDCFLOW_PG_PORT"), "database.dbname": db,
                       "topic.prefix": self.prefix if db == self.orders_db else self.prefix + "inv",
                       "slot.name": slot, "publication.name": slot})
        return config

    def register_connectors(self):
        connect = lp.env("CDCFLOW_CONNECT_URL")
        for name, db in self.connectors.items():
            status, body = http("PUT", f"{connect}/connectors/{name}/config",
                                self.connector_config(name, db))
            if status not in (200, 201):
                raise AssertionError(f"register {name}: HTTP {status}: {body}")
        self.await_connectors()

    def await_connectors(self, timeout=120):
        connect = lp.env("CDCFLOW_CONNECT_URL")
        deadline = time.monotonic() + timeout
        for name in self.connectors:
            while True:
                status, body = http("GET", f"{connect}/connectors/{name}/status")
                states = ([body["connector"]["state"]] + [t["state"] for t in body["tasks"]]
                          if status == 200 else [])
                if len(states) == 2 and all(s == "RUNNING" for s in states):
                    break
                if "FAILED" in states or time.monotonic() > deadline:
                    raise AssertionError(f"connector {name} not running: {body}")
                time.sleep(0.5)

    def teardown_connectors(self):
        connect = lp.env("CDCFLOW_CONNECT_URL")
        for name in self.connectors:
            http("DELETE", f"{connect}/connectors/{name}")
        # The slots keep WAL until dropped; a slot is active for a moment after the delete.
        deadline = time.monotonic() + 30
        slots = [n.replace("-", "_") for n in self.connectors]
        while True:
            rows = sql("postgres", "SELECT slot_name, active FROM pg_replication_slots"
                       " WHERE slot_name = ANY(%s)", (slots,))
            for slot, active in rows:
                if not active:
                    sql("postgres", "SELECT pg_drop_replication_slot(%s)", (slot,))
            if not rows or time.monotonic() > deadline:
                break
            time.sleep(0.5)

    # -- the job -----------------------------------------------------------------------------
    def job_args(self):
        return [f"orders_topic={self.orders_topic}", f"shipments_topic={self.shipments_topic}",
                f"products_topic={self.products_topic}",
                f"bootstrap_servers={lp.env('CDCFLOW_KAFKA_BROKERS')}", "sink=kafka,elasticsearch",
                f"output_topic={self.output_topic}", f"es_url={lp.env('CDCFLOW_OPENSEARCH_URL')}",
                f"es_index={self.index}", f"group_id=e2e-{self.name}"]

    def spawn(self, name, argv):
        logf = open(os.path.join(self.work, f"{name}.log"), "w")
        proc = subprocess.Popen(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs.append((name, proc, logf))
        return proc

    def await_topics(self, timeout=60):
        """The job's sources need their topics: Debezium creates them with the first event."""
        topics = {self.orders_topic, self.shipments_topic, self.products_topic}
        deadline = time.monotonic() + timeout
        while True:
            proc = subprocess.run(["kcat", "-b", lp.env("CDCFLOW_KAFKA_BROKERS"), "-L", "-J"],
                                  capture_output=True, text=True, timeout=30)
            if proc.returncode == 0:
                have = {t["topic"] for t in json.loads(proc.stdout)["topics"]}
                if topics <= have:
                    return
            if time.monotonic() > deadline:
                raise AssertionError(f"topics {sorted(topics - have)} did not appear")
            time.sleep(0.5)

    def start_job(self, parallelism):
        cdcflow = os.path.join(binary_dir(), "bin", "cdcflow")
        so = os.path.join(binary_dir(), "jobs", "order_enrichment.so")
        if parallelism == 1:
            self.spawn("job", [cdcflow, "run", so, "--parallelism", "1", "--progress-interval", "5",
                               "--", *self.job_args()])
            return
        port_file = os.path.join(self.work, "jm.port")
        self.spawn("jobmanager", [cdcflow, "jobmanager", "--port", "0", "--port-file", port_file,
                                  "--rest-port", "-1"])
        deadline = time.monotonic() + 30
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            self.check_alive()
            if time.monotonic() > deadline:
                raise AssertionError("the job manager did not write its port")
            time.sleep(0.1)
        jm = f"127.0.0.1:{open(port_file).read().strip()}"
        for i in (1, 2):
            self.spawn(f"taskmanager{i}", [cdcflow, "taskmanager", "--jobmanager", jm, "--slots", "1",
                                           "--port", "0", "--id", f"tm{i}",
                                           "--plugin-dir", os.path.join(self.work, f"plugins{i}")])
        self.spawn("job", [cdcflow, "run", so, "--jobmanager", jm, "--parallelism", "2",
                           "--", *self.job_args()])

    def check_alive(self):
        for name, proc, _ in self.procs:
            if proc.poll() is not None:
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{self.tail(name)}")

    def tail(self, name, lines=40):
        try:
            with open(os.path.join(self.work, f"{name}.log")) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop_job(self):
        for name, proc, logf in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for name, proc, logf in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            logf.close()
        self.procs = []

    # -- load and compare --------------------------------------------------------------------
    def load(self, ticks, seed, background=False, rate=0):
        """RATE ticks per second; 0: as fast as the database goes."""
        argv = [lp.PYTHON, os.path.join(REPO, "deploy", "producers", "load_orders.py"),
                "--dsn", lp.pg_dsn(self.orders_db), "--products-dsn", lp.pg_dsn(self.products_db),
                "--rate", str(rate), "--count", str(ticks), "--seed", str(seed), *MIX]
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if background:
            return proc
        return self.finish_load(proc)

    def finish_load(self, proc):
        out, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            raise AssertionError(f"load_orders failed ({proc.returncode}): {err}")
        summary = json.loads(out.strip().splitlines()[-1])
        log(f"load_orders: {summary['ticks']} ticks in {summary['elapsed_s']} s; orders "
            f"{summary['orders']}, shipments {summary['shipments']}, moves {summary['moves']}, "
            f"product changes {summary['product_changes']}, renames {summary['renames']}")
        return summary

    def await_equal(self):
        expected = expected_documents(self.orders_db, self.products_db)
        log(f"expected: {len(expected)} enriched orders (SQL join of the final tables)")
        deadline = time.monotonic() + TIMEOUT_S
        started = time.monotonic()
        while True:
            self.check_alive()
            problems = (differences(expected, index_documents(self.index), f"index {self.index}") +
                        differences(expected, topic_documents(self.output_topic),
                                    f"topic {self.output_topic}"))
            if not problems:
                log(f"index and topic equal the SQL join ({len(expected)} orders, every field) "
                    f"{time.monotonic() - started:.1f} s after the producer stopped")
                return
            if time.monotonic() > deadline:
                raise AssertionError("after %.0f s:\n  %s\njob log:\n%s" % (
                    TIMEOUT_S, "\n  ".join(problems), self.tail("job")))
            time.sleep(2)

    def cleanup(self):
        self.stop_job()
        self.teardown_connectors()
        for db in (self.orders_db, self.products_db):
            sql("postgres", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def run(case_name):
    case = Case(case_name)
    log(f"case {case_name}: databases {case.orders_db}, {case.products_db}; work dir {case.work}")
    case.setup()
    ok = False
    try:
        # A few orders first, so that Debezium has created the topics the job reads.
        case.load(5, seed=1)
        case.await_topics()
        case.start_job(1 if case_name == "p1" else 2)
        if case_name == "key-change":
            case.load(TICKS // 2, seed=71)
            conn = lp.connect(case.orders_db)
            conn.autocommit = False
            with conn.cursor() as cur:
                cur.execute("UPDATE orders SET order_id = order_id + 100000")
                n_orders = cur.rowcount
                cur.execute("UPDATE shipments SET order_id = order_id + 100000")
                n_shipments = cur.rowcount
            conn.commit()
            conn.close()
            log(f"moved the keys of {n_orders} orders and {n_shipments} shipments (+100000)")
            case.load(TICKS // 2, seed=72)
        elif case_name == "connect-restart":
            # Paced to last ~8 s: unthrottled, a fast machine wrote everything (and Debezium
            # had sent and committed it) before the kill, leaving nothing to replay.
            producer = case.load(TICKS, seed=81, background=True, rate=TICKS / 8)
            time.sleep(3)
            if producer.poll() is not None:
                raise AssertionError("the producer finished before Kafka Connect was killed: "
                                     "the case would test no replay")
            # A graceful stop commits Debezium's offsets (nothing to replay): the worker dies
            # first, as in a crash, with up to a second of events sent but not committed.
            pid_file = os.path.join(lp.env("CDCFLOW_LOCAL_DIR"), "run", "connect.pid")
            pid = int(open(pid_file).read().split()[0])
            log(f"killing the Kafka Connect worker (pid {pid}) while the producer runs, then "
                "services.sh restart connect")
            os.kill(pid, signal.SIGKILL)
            # Its threads (and the listening socket) go a moment after the signal.
            port = lp.env("CDCFLOW_CONNECT_PORT")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and subprocess.run(
                    ["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout:
                time.sleep(0.2)
            restart = subprocess.run(["bash", os.path.join(REPO, "deploy", "local", "services.sh"),
                                      "restart", "connect"], capture_output=True, text=True,
                                     timeout=300)
            if restart.returncode != 0:
                raise AssertionError(f"services.sh restart connect failed:\n{restart.stderr}")
            case.await_connectors()
            log("Kafka Connect is back; connectors running")
            case.finish_load(producer)
        else:
            case.load(TICKS, seed=61 if case_name == "p1" else 62)
        case.await_equal()
        if case_name == "connect-restart":
            # Counted once the job's output is complete, i.e. Debezium has caught up.
            replays = sum(replayed_events(t) for t in (case.orders_topic, case.shipments_topic))
            log(f"Debezium sent {replays} change events twice across the restart")
            if replays == 0:
                raise AssertionError("Debezium replayed nothing across the restart: the case "
                                     "tested no replay")
        ok = True
    finally:
        if not ok:
            for name, _, _ in case.procs:
                print(f"--- {name} log (last lines):\n{case.tail(name)}", file=sys.stderr)
        case.cleanup()
    return 0


# ---------------------------------------------------------------------------------------------
# On demand (not a test): latency from an order's commit in PostgreSQL to its document in the
# index, at given rates, on the p2 setup.  order_enrichment_e2e_test.py latency [RATE:SECONDS ...]

def insert_orders(conn, n, cur_time):
    """Inserts n orders (each with a shipment) in one transaction; returns their ids."""
    ids = []
    with conn.cursor() as cur:
        for _ in range(n):
            cur.execute(
                "INSERT INTO orders (order_date, customer_name, price, product_id, order_status,"
                " created_at, order_uuid, details) VALUES (%s, 'Latency Probe', 12.34, 101, false,"
                " %s, gen_random_uuid(), '{}') RETURNING order_id",
                (cur_time.replace(tzinfo=None), cur_time))
            oid = cur.fetchone()[0]
            cur.execute("INSERT INTO shipments (order_id, origin, destination, is_arrived)"
                        " VALUES (%s, 'Berlin', 'Paris', false)", (oid,))
            ids.append(oid)
    conn.commit()
    return ids


def measure_latency(case, rate, seconds):
    import psycopg2
    import threading
    conn = psycopg2.connect(lp.pg_dsn(case.orders_db))
    url = lp.env("CDCFLOW_OPENSEARCH_URL")
    pending, latencies, lock, done = {}, [], threading.Lock(), threading.Event()

    def poll():
        while not (done.is_set() and not pending):
            with lock:
                ids = list(pending)
            if ids:
                status, body = http("POST", f"{url}/{case.index}/_mget",
                                    {"ids": [str(i) for i in ids]})
                now = time.time()
                if status == 200:
                    with lock:
                        for d in body["docs"]:
                            if d.get("found"):
                                t = pending.pop(int(d["_id"]), None)
                                if t is not None:
                                    latencies.append(now - t)
            time.sleep(0.01)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    # At most ~200 transactions per second: higher rates put several orders in one transaction.
    probe_start = time.time()
    per_tx = max(1, int(rate // 200))
    interval = per_tx / rate
    start = time.monotonic()
    ticks = 0
    while time.monotonic() - start < seconds:
        due = start + ticks * interval
        if time.monotonic() < due:
            time.sleep(due - time.monotonic())
        ids = insert_orders(conn, per_tx, datetime.datetime.now(datetime.timezone.utc))
        committed = time.time()
        with lock:
            for i in ids:
                pending[i] = committed
        ticks += 1
    achieved = ticks * per_tx / (time.monotonic() - start)
    done.set()
    poller.join(timeout=60)
    conn.close()
    lat = sorted(latencies)
    if not lat:
        raise AssertionError("no document became visible")

    def pct(values, p):
        return values[min(len(values) - 1, int(p / 100 * len(values)))] * 1000
    # The Debezium stage: source.ts_ms (the commit) -> the Kafka record's timestamp.
    proc = subprocess.run(["kcat", "-b", lp.env("CDCFLOW_KAFKA_BROKERS"), "-C", "-t",
                           case.orders_topic, "-o", f"s@{int(probe_start * 1000)}", "-e", "-q", "-J"],
                          capture_output=True, text=True, timeout=120)
    debezium = []
    for line in proc.stdout.splitlines():
        m = json.loads(line)
        if m.get("payload"):
            src = json.loads(m["payload"])["payload"]["source"]
            debezium.append((m["ts"] - src["ts_ms"]) / 1000)
    debezium.sort()
    print(f"latency commit -> document in {case.index} (realtime GET), target {rate}/s, "
          f"achieved {achieved:.1f}/s over {seconds} s, {len(lat)} orders "
          f"({len(pending)} never seen): p50 {pct(lat, 50):.0f} ms, p90 {pct(lat, 90):.0f} ms, "
          f"p99 {pct(lat, 99):.0f} ms, max {lat[-1] * 1000:.0f} ms; of which Debezium "
          f"(source.ts_ms -> Kafka record time): p50 {pct(debezium, 50) if debezium else -1:.0f} ms, "
          f"p99 {pct(debezium, 99) if debezium else -1:.0f} ms", flush=True)


def latency(specs):
    case = Case("latency")
    case.setup()
    try:
        case.load(20, seed=5)
        case.await_topics()
        case.start_job(2)
        # Warm up: the job has read the snapshot and its first documents are in.
        case.await_equal()
        for spec in specs:
            rate, seconds = spec.split(":")
            measure_latency(case, float(rate), float(seconds))
    finally:
        case.cleanup()
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "latency":
        sys.exit(latency(sys.argv[2:] or ["1:60", "1000:20"]))
    if len(sys.argv) != 2 or sys.argv[1] not in ("p1", "p2", "key-change", "connect-restart"):
        sys.exit(__doc__)
    sys.exit(run(sys.argv[1]))
