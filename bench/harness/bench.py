"""The Flink benchmark (issue #10): cdcflow, Apache Flink and the ceiling on the same machine,
the same Kafka and the same backlog. Run through bench/run.sh, which starts the servers, builds
the engines and calls this with the venv's Python. See bench/README.md for what is measured.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request

from confluent_kafka import (OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer,
                             TopicPartition)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

import views

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PRODUCTS = "inventory.public.products"  # the catalogue: 9 rows, shared by every backlog
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")
# Messages per load_orders tick in its 0.3 update / 0.1 delete mix: an insert or an update
# writes 2, a delete 2 plus 2 tombstones.
EVENTS_PER_TICK = 0.6 * 2 + 0.3 * 2 + 0.1 * 4


def log(*args):
    print(f"[{time.strftime('%H:%M:%S')}] bench:", *args, file=sys.stderr, flush=True)


def now_ms():
    return int(time.time() * 1000)


# --- Kafka -----------------------------------------------------------------------------------

class Kafka:
    def __init__(self, bootstrap):
        self.bootstrap = bootstrap
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self._meta = Consumer({"bootstrap.servers": bootstrap, "group.id": "cdcflow-bench-meta",
                               "enable.auto.commit": False})

    def partitions(self, topic):
        md = self._meta.list_topics(topic, timeout=10)
        t = md.topics.get(topic)
        if t is None or t.error is not None:
            return []
        return sorted(t.partitions)

    def count(self, topic):
        total = 0
        for p in self.partitions(topic):
            lo, hi = self._meta.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += hi - lo
        return total

    def create(self, topic, partitions=1, log_append_time=True):
        config = {"message.timestamp.type": "LogAppendTime"} if log_append_time else {}
        fs = self.admin.create_topics([NewTopic(topic, partitions, 1, config=config)])
        for f in fs.values():
            f.result(30)

    def delete(self, topics):
        existing = set(self._meta.list_topics(timeout=10).topics)
        todo = [t for t in topics if t in existing]
        if todo:
            for f in self.admin.delete_topics(todo).values():
                try:
                    f.result(30)
                except KafkaException:
                    pass

    def topics(self):
        return set(self._meta.list_topics(timeout=10).topics)

    def read(self, topic):
        """Every record of `topic` up to its current end, partition by partition in offset
        order, as (key str, value bytes|None, timestamp ms)."""
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "cdcflow-bench-read",
                      "enable.auto.commit": False, "enable.partition.eof": True})
        records = []
        try:
            for p in self.partitions(topic):
                c.assign([TopicPartition(topic, p, OFFSET_BEGINNING)])
                at_end = False
                while not at_end:
                    for m in c.consume(10000, 1):
                        if m.error():
                            if m.error().code() == KafkaError._PARTITION_EOF:
                                at_end = True
                                break
                            raise KafkaException(m.error())
                        records.append((views.key_of(m.key()), m.value(), m.timestamp()[1]))
        finally:
            c.close()
        return records


class Collector(threading.Thread):
    """Reads an output topic from the beginning, keeping (key, value, timestamp ms) in order."""

    def __init__(self, bootstrap, topic):
        super().__init__(daemon=True)
        self.topic = topic
        self.records = []  # (key str, value bytes|None, ts ms)
        self.last_recv = None
        self.stop_flag = False
        self.error = None
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "cdcflow-bench-collect",
                                  "enable.auto.commit": False, "fetch.wait.max.ms": 50,
                                  "topic.metadata.refresh.interval.ms": 1000})

    def run(self):
        try:
            assigned = False
            while not self.stop_flag:
                if not assigned:
                    md = self.consumer.list_topics(self.topic, timeout=5).topics.get(self.topic)
                    if md is None or md.error is not None or not md.partitions:
                        time.sleep(0.2)
                        continue
                    self.consumer.assign([TopicPartition(self.topic, p, 0) for p in md.partitions])
                    assigned = True
                for m in self.consumer.consume(10000, 0.2):
                    if m.error():
                        continue
                    self.records.append((views.key_of(m.key()), m.value(), m.timestamp()[1]))
                    self.last_recv = time.time()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e
        finally:
            self.consumer.close()

    def stop(self):
        self.stop_flag = True
        self.join(10)


# --- processes ---------------------------------------------------------------------------------

class Sampler(threading.Thread):
    """Samples every process of an engine's sessions (each started process and all its
    children): the peak over time of the summed resident set size, the same for the summed
    proportional set size (PSS: pages shared between processes, e.g. one binary's code mapped
    by several, counted once overall), and CPU seconds (user + system, children that exited
    included). One sampler per engine, so that processes that never run at the same time (a
    short-lived client, a worker and its replacement after a kill) do not add up."""

    def __init__(self, sids, period=0.2):
        super().__init__(daemon=True)
        self.sids = set(sids)
        self.period = period
        self.peak_rss = 0
        self.peak_pss = 0
        self.cpu = {}  # pid -> last seen (utime + stime + cutime + cstime) ticks
        self.pids_seen = set()
        self.stop_flag = False

    def sample(self):
        rss = pss = 0
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    stat = f.read()
                fields = stat[stat.rindex(")") + 2:].split()
                if int(fields[3]) not in self.sids:  # field 6: session id
                    continue
                pid = int(name)
                self.cpu[pid] = sum(int(x) for x in fields[11:15])
                with open(f"/proc/{name}/statm") as f:
                    rss += int(f.read().split()[1]) * PAGE
                with open(f"/proc/{name}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1]) * 1024
                            break
                self.pids_seen.add(pid)
            except (OSError, ValueError, IndexError):
                continue
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)
        return rss

    def add(self, sids):
        """Also samples these sessions (a restarted worker's)."""
        self.sids = self.sids | set(sids)

    def run(self):
        while not self.stop_flag:
            self.sample()
            time.sleep(self.period)

    def stop(self):
        self.stop_flag = True
        self.join(5)
        return self.peak_rss, sum(self.cpu.values()) / TICK


class Launched:
    """An engine process started in its own session, logging to a file."""

    def __init__(self, argv, log_path, env=None):
        self.argv = argv
        self.log_path = log_path
        self.log_file = open(log_path, "ab")
        self.log_file.write(("\n$ " + shlex.join(argv) + "\n").encode())
        self.log_file.flush()
        self.proc = subprocess.Popen(argv, stdout=self.log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env)
        self.sid = self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL):
        try:
            os.killpg(self.sid, sig)
        except ProcessLookupError:
            pass

    def stop(self, grace=10):
        if self.alive():
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                pass
        self.kill(signal.SIGKILL)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.log_file.close()


# --- engines -----------------------------------------------------------------------------------

class Engine:
    name = "?"
    writes_output = True

    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.procs = []

    def launch(self, topics, output, run_id):
        raise NotImplementedError

    def sessions(self):
        return [p.sid for p in self.procs]

    def kill_worker(self):
        """kill -9 of one worker process; returns when the engine has been told/restarted."""
        raise NotImplementedError

    def stop(self):
        for p in self.procs:
            p.stop()
        self.procs = []
        for d in getattr(self, "scratch", []):
            if os.path.isdir(d):
                shutil.rmtree(d, ignore_errors=True)
            elif os.path.exists(d):
                os.remove(d)


class Ceiling(Engine):
    name = "ceiling"
    writes_output = False

    def launch(self, topics, output, run_id):
        argv = [self.args.ceiling_bin, f"--bootstrap={self.args.bootstrap}",
                "--topics=" + ",".join(topics), "--threads=2"]
        self.procs = [Launched(argv, os.path.join(self.workdir, f"{run_id}.log"))]

    def result(self):
        self.procs[0].proc.wait()
        with open(self.procs[0].log_path) as f:
            lines = [line for line in f if line.startswith("{")]
        return json.loads(lines[-1])


class Flink(Engine):
    """The Flink SQL job in a local MiniCluster (one JVM). A worker kill is a kill -9 of that JVM;
    it is then relaunched from its last retained checkpoint, as a supervisor would."""
    name = "flink"

    def launch(self, topics, output, run_id, restore=None):
        self.run_id = run_id
        self.topics, self.output = topics, output
        self.ckpt_dir = os.path.join(self.workdir, f"{run_id}-checkpoints")
        os.makedirs(self.ckpt_dir, exist_ok=True)
        self.scratch = [self.ckpt_dir]
        argv = ["java", f"-Xmx{self.args.flink_heap}", "-cp", self.args.flink_classpath,
                "cdcflow.bench.EnrichOrders", "--bootstrap", self.args.bootstrap,
                "--orders", topics[0], "--shipments", topics[1], "--products", topics[2],
                "--output", output, "--group-id", f"bench-{run_id}",
                "--checkpoint-dir", "file://" + self.ckpt_dir]
        if restore:
            argv += ["--restore", restore]
        self.procs.append(Launched(argv, os.path.join(self.workdir, f"{run_id}.log")))

    def latest_checkpoint(self):
        best = None
        for root, dirs, files in os.walk(self.ckpt_dir):
            base = os.path.basename(root)
            if base.startswith("chk-") and "_metadata" in files:
                n = int(base[4:])
                if best is None or n > best[0]:
                    best = (n, root)
        return best[1] if best else None

    def kill_worker(self):
        self.procs[-1].kill(signal.SIGKILL)
        self.procs[-1].proc.wait()
        restore = self.latest_checkpoint()
        log(f"flink: killed; relaunching from {restore or 'nothing (no checkpoint yet)'}")
        self.launch(self.topics, self.output, self.run_id, restore=restore)


class Cdcflow(Engine):
    """cdcflow: a job manager and --cdcflow-task-managers task managers with --cdcflow-slots
    slots each, running jobs/order_enrichment with parallelism 2, submitted with `cdcflow run
    --jobmanager`. 0 task managers (the default): the job manager runs the task manager in its
    own process (`--local-slots`), one process like Flink's MiniCluster. A worker kill is a
    kill -9 of the last task manager, which is then restarted (as a supervisor would) and the
    job manager restarts the job; without task manager processes, a kill -9 of the one process,
    restarted on the same port and checkpoint directory: it recovers the job from its last
    checkpoint (as Flink's MiniCluster is relaunched from its last checkpoint)."""
    name = "cdcflow"

    def __init__(self, args, workdir):
        super().__init__(args, workdir)
        self.port_base = args.cdcflow_port_base

    def _tm(self, i):
        port = self.port_base + 1 + i
        argv = [self.args.cdcflow_bin, "taskmanager", "--jobmanager", f"127.0.0.1:{self.port_base}",
                "--slots", str(self.args.cdcflow_slots), "--port", str(port), "--id", f"bench-tm{i}",
                "--plugin-dir", os.path.join(self.workdir, f"{self.run_id}-tm{i}", "plugins")]
        argv += self._state_dir(os.path.join(self.workdir, f"{self.run_id}-tm{i}", "state"))
        argv += shlex.split(self.args.cdcflow_tm_args)
        return Launched(argv, os.path.join(self.workdir, f"{self.run_id}-tm{i}.log"))

    def _state_dir(self, path):
        """Keyed state in RocksDB under `path`, or (--cdcflow-state memory) in the heap: no
        --state-dir; checkpoints then write each subtask's whole state."""
        return [] if self.args.cdcflow_state == "memory" else ["--state-dir", path]

    def launch(self, topics, output, run_id):
        self.run_id = run_id
        tms = range(self.args.cdcflow_task_managers)
        self.scratch = [os.path.join(self.workdir, f"{run_id}-tm{i}") for i in tms]
        port_file = os.path.join(self.workdir, f"{run_id}-jm.port")
        jm_argv = [self.args.cdcflow_bin, "jobmanager", "--port", str(self.port_base),
                   "--port-file", port_file, "--rest-port", str(self.port_base + 10)]
        help_text = subprocess.run([self.args.cdcflow_bin, "jobmanager", "--help"],
                                   capture_output=True, text=True).stdout
        if "--checkpoint-interval-ms" in help_text:  # as Flink's: every 10 s, to local disk
            ckpt = os.path.join(self.workdir, f"{run_id}-checkpoints")
            self.scratch.append(ckpt)
            jm_argv += ["--checkpoint-dir", ckpt, "--checkpoint-interval-ms", "10000"]
        else:
            log("cdcflow: this build's job manager has no checkpoints (--checkpoint-interval-ms)")
        if not tms:
            local = os.path.join(self.workdir, f"{run_id}-local")
            self.scratch.append(local)
            jm_argv += ["--local-slots", str(self.args.cdcflow_slots),
                        "--plugin-dir", os.path.join(local, "plugins")]
            jm_argv += self._state_dir(os.path.join(local, "state"))
            jm_argv += shlex.split(self.args.cdcflow_tm_args)
        self.jm_argv = jm_argv
        jm = Launched(jm_argv, os.path.join(self.workdir, f"{run_id}-jm.log"))
        self.jm = jm
        self.procs = [jm]
        self.scratch.append(port_file)
        deadline = time.time() + 30
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if not jm.alive() or time.time() > deadline:
                raise RuntimeError(f"cdcflow job manager did not start; see {jm.log_path}")
            time.sleep(0.1)
        self.tms = [self._tm(i) for i in tms]
        self.procs += self.tms
        job_args = [f"bootstrap_servers={self.args.bootstrap}", f"orders_topic={topics[0]}",
                    f"shipments_topic={topics[1]}", f"products_topic={topics[2]}",
                    f"output_topic={output}", "sink=kafka",
                    f"group_id=bench-{run_id}"]
        job_args += shlex.split(self.args.cdcflow_job_args)
        argv = [self.args.cdcflow_bin, "run", self.args.cdcflow_job, "--jobmanager",
                f"127.0.0.1:{self.port_base}", "--parallelism", "2", "--detach", "--"] + job_args
        self.procs.append(Launched(argv, os.path.join(self.workdir, f"{run_id}-run.log")))

    def kill_worker(self):
        if not self.tms:  # the job manager's process runs the tasks
            self.jm.kill(signal.SIGKILL)
            self.jm.proc.wait()
            self.jm = Launched(self.jm_argv, os.path.join(self.workdir, f"{self.run_id}-jm-2.log"))
            self.procs.append(self.jm)
            log("cdcflow: killed the job manager's process (it runs the tasks) and started it again")
            return
        last = len(self.tms) - 1
        tm = self.tms[last]
        tm.kill(signal.SIGKILL)
        tm.proc.wait()
        self.tms[last] = self._tm(last)
        self.procs.append(self.tms[last])
        log(f"cdcflow: killed task manager {last} and started it again")


# --- the backlog ---------------------------------------------------------------------------

class Backlog:
    """A set of Debezium topics with its source database. "default" is the local pipeline's own
    (database cdcflow, connector cdcflow-orders, topics pg.public.*); any other NAME gets its own
    database bench_NAME, connector bench-NAME and topics NAME.public.orders/shipments, so that
    backlogs of several sizes can live side by side. Products are the pipeline's own."""

    def __init__(self, name, args):
        self.name = name
        self.args = args
        if name == "default":
            self.db, self.prefix, self.connector = "cdcflow", "pg", None
        else:
            if not name.replace("_", "").isalnum() or not name[0].isalpha():
                raise SystemExit(f"--backlog {name!r}: letters, digits and _ only")
            self.db, self.prefix, self.connector = f"bench_{name}", name, f"bench-{name}"
        self.orders = f"{self.prefix}.public.orders"
        self.shipments = f"{self.prefix}.public.shipments"
        self.topics = (self.orders, self.shipments, PRODUCTS)

    def dsn(self, db=None):
        return f"host=127.0.0.1 port={self.args.pg_port} user=postgres dbname={db or self.db}"

    def ensure_source(self):
        """Database, schema and connector of a named backlog (the default one is run.sh's)."""
        if self.connector is None:
            return
        import psycopg2
        conn = psycopg2.connect(self.dsn("postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.db,))
            if not cur.fetchone():
                log(f"backlog {self.name}: creating database {self.db}")
                cur.execute(f"CREATE DATABASE {self.db}")
        conn.close()
        subprocess.run(["psql", "-q", "-h", "127.0.0.1", "-p", str(self.args.pg_port), "-U",
                        "postgres", "-d", "postgres", "-v", f"orders_db={self.db}", "-v",
                        "products_db=inventory", "-f",
                        os.path.join(REPO, "deploy", "sql", "schema.sql")],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(REPO, "deploy", "connect", "cdcflow-orders.json")) as f:
            config = json.load(f)["config"]
        config.update({"database.port": str(self.args.pg_port), "database.dbname": self.db,
                       "topic.prefix": self.prefix, "slot.name": f"bench_{self.name}",
                       "publication.name": f"bench_{self.name}"})
        url = f"http://127.0.0.1:{self.args.connect_port}/connectors/{self.connector}"
        req = urllib.request.Request(url + "/config", data=json.dumps(config).encode(),
                                     method="PUT", headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()
        deadline = time.time() + 90
        while True:
            try:
                st = json.load(urllib.request.urlopen(url + "/status", timeout=5))
                states = [st["connector"]["state"]] + [t["state"] for t in st["tasks"]]
            except (OSError, ValueError, KeyError):
                states = []
            if states and all(x == "RUNNING" for x in states) and len(states) > 1:
                return
            if "FAILED" in states or time.time() > deadline:
                raise RuntimeError(f"connector {self.connector} not running: {states}")
            time.sleep(0.5)

    def count(self, kafka):
        return sum(kafka.count(t) for t in self.topics)


def ensure_backlog(kafka, backlog, events):
    have = backlog.count(kafka)
    if have >= events:
        log(f"backlog: {have} events already in {', '.join(backlog.topics)} (>= {events}): reused")
        return have
    backlog.ensure_source()
    env = dict(os.environ, CDCFLOW_PG_PORT=str(backlog.args.pg_port))
    producers = os.path.join(REPO, "deploy", "producers")
    if kafka.count(PRODUCTS) == 0:
        subprocess.run(["/usr/bin/python3", os.path.join(producers, "load_products.py")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    while have < events:
        ticks = math.ceil((events - have) / EVENTS_PER_TICK) + 50
        log(f"backlog: {have} events, generating ~{events - have} more through PostgreSQL -> "
            f"Debezium ({ticks} load_orders ticks, 30 % updates, 10 % deletes)")
        t0 = time.time()
        subprocess.run(["/usr/bin/python3", os.path.join(producers, "load_orders.py"),
                        "--dsn", backlog.dsn(), "--rate", "0", "--count", str(ticks),
                        "--update-ratio", "0.3", "--delete-ratio", "0.1"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        log(f"backlog: load_orders wrote {ticks} ticks in {time.time() - t0:.0f} s; "
            "waiting for Debezium to publish them")
        have = wait_stable(kafka, backlog)
    log(f"backlog: {have} events")
    return have


def wait_stable(kafka, backlog, quiet=10, timeout=1800):
    last, since, t0 = -1, time.time(), time.time()
    while time.time() - t0 < timeout:
        n = backlog.count(kafka)
        if n != last:
            last, since = n, time.time()
        elif time.time() - since >= quiet:
            return n
        time.sleep(1)
    raise RuntimeError("Debezium did not finish publishing the backlog in time")


def expected_view(backlog):
    """The join computed by PostgreSQL over the final tables: what every engine's compacted
    output must equal after catching up on the whole backlog."""
    import psycopg2
    with psycopg2.connect(backlog.dsn("inventory")) as conn, conn.cursor() as cur:
        cur.execute("SELECT id, name, description FROM products")
        products = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    with psycopg2.connect(backlog.dsn()) as conn, conn.cursor() as cur:
        cur.execute("SELECT o.order_id, o.order_date, o.customer_name, o.price, o.product_id,"
                    " o.order_status, o.created_at, o.order_uuid::text, o.details::text,"
                    " s.shipment_id, s.origin, s.destination, s.is_arrived"
                    " FROM orders o LEFT JOIN shipments s ON s.order_id = o.order_id")
        view = {}
        for r in cur.fetchall():
            name, description = products.get(r[4], (None, None))
            doc = {"order_id": r[0], "order_date": r[1].isoformat(), "customer_name": r[2],
                   "price": r[3], "product_id": r[4], "order_status": r[5],
                   "created_at": r[6].isoformat(), "order_uuid": r[7], "details": r[8],
                   "product_name": name, "product_description": description,
                   "shipment_id": r[9], "origin": r[10], "destination": r[11],
                   "is_arrived": r[12]}
            key = str(r[0])
            if key in view:
                raise RuntimeError(f"order {key} has several shipments: the benchmark's "
                                   "comparison assumes one (load_orders writes one)")
            view[key] = views.canonical(doc)
    return view


# --- phases --------------------------------------------------------------------------------

def catch_up(engine, kafka, args, run_id, events, expected, backlog):
    """Runs `engine` from the earliest offset of the backlog until its output equals the
    expected view (or goes quiet). Returns the figures.

    While the engine runs, the harness only watches the output topic's end offset (one
    small request every 0.5 s); it reads the output once the topic has been quiet for
    3 s. Reading it as it grew took a tenth of the 2 cores from the engine under test
    (a Python consumer and the broker serving it). Throughput and first output come from
    the records' append timestamps, so reading late changes no figure."""
    result = {"engine": engine.name, "run": run_id, "events": events}
    output = f"bench.out.{run_id}"
    if engine.writes_output:
        kafka.delete([output])
        kafka.create(output)
    t_launch = time.time()
    engine.launch(list(backlog.topics), output, run_id)
    sampler = Sampler(engine.sessions())
    sampler.start()
    try:
        if not engine.writes_output:
            r = engine.result()
            t_end = time.time()
            result.update(wall_s=t_end - t_launch, engine_s=r["seconds"],
                          events_per_s=r["events"] / r["seconds"], events=r["events"],
                          equal=None)
        else:
            equal, diff, checked_at = None, "", 0
            profiler = None
            recs, end, last_growth = [], 0, None
            while True:
                time.sleep(0.5)
                now_end = kafka.count(output)
                if now_end != end:
                    end, last_growth = now_end, time.time()
                if (args.profile and profiler is None and end > 0
                        and engine.name in args.profile.split(",")):
                    profiler = start_profile(engine, args, run_id)
                dead = [p for p in engine.procs if not p.alive() and p.proc.returncode not in (0,)]
                if dead and end == 0:
                    raise RuntimeError(f"{engine.name} exited early; see {dead[0].log_path}")
                if end == 0:
                    if time.time() - t_launch > args.start_timeout:
                        raise RuntimeError(f"{engine.name}: no output after {args.start_timeout} s;"
                                           f" see {engine.procs[0].log_path}")
                    continue
                quiet = time.time() - last_growth
                if quiet >= 3 and end != checked_at:
                    checked_at = end
                    recs = kafka.read(output)
                    view = views.compact((k, v) for k, v, _ in recs)
                    equal, diff = views.diff_views(view, expected, engine.name, "PostgreSQL")
                    if equal:
                        break
                if quiet >= args.quiet_timeout:
                    break
            if profiler:
                finish_profile(profiler, args, run_id)
            if len(recs) != end:
                recs = kafka.read(output)
            t_first = recs[0][2] / 1000
            t_last = max(r[2] for r in recs) / 1000
            result.update(wall_s=t_last - t_launch, first_output_s=t_first - t_launch,
                          events_per_s=events / max(t_last - t_first, 1e-3),
                          output_records=len(recs), equal=equal, diff=diff)
            log(f"{engine.name}: output vs PostgreSQL: {diff}")
    finally:
        engine.stop()
        peak, cpu = sampler.stop()
        pss = sampler.peak_pss
        if engine.writes_output:
            kafka.delete([output])
    result.update(peak_rss_mb=peak / 2**20, peak_pss_mb=pss / 2**20, cpu_s=cpu)
    log(f"{engine.name} catch-up: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                                                  for k, v in result.items() if k != "diff"}))
    return result


def start_profile(engine, args, run_id):
    """perf record (call graphs) of every process of the engine, for args.profile_seconds."""
    s = Sampler(engine.sessions())
    s.sample()
    pids = sorted(s.pids_seen)
    data = os.path.join(args.workdir, f"perf-{run_id}.data")
    log(f"profiling {engine.name} (pids {pids}) for {args.profile_seconds} s")
    return subprocess.Popen(["perf", "record", "-F", "499", "-o", data, "-p",
                             ",".join(map(str, pids)), "--", "sleep", str(args.profile_seconds)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL), data


def finish_profile(profiler, args, run_id):
    proc, data = profiler
    proc.wait()
    out = os.path.join(args.results, f"profile-{run_id}.txt")
    with open(out, "w") as f:
        subprocess.run(["perf", "report", "-i", data, "--stdio", "--no-children",
                        "--percent-limit", "0.5", "--sort", "dso,symbol"],
                       stdout=f, stderr=subprocess.DEVNULL)
    os.unlink(data)
    log(f"profile written to {out}")


class Replayer:
    """Copies the backlog's orders and shipments events, in their original interleaving, into
    fresh topics at a fixed rate; the input topics use LogAppendTime, and the delivery reports
    give each event's append time: the start of its latency."""

    def __init__(self, bootstrap, topics, backlog):
        self.topics = topics  # live orders, shipments, products
        self.orders, self.shipments = backlog.orders, backlog.shipments
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1,
                                  "enable.idempotence": True})
        self.sent = []  # (order_id, append ms)
        self.sources = {}
        for src in (self.orders, self.shipments):
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cdcflow-bench-replay",
                          "enable.auto.commit": False})
            c.assign([TopicPartition(src, 0, 0)])
            self.sources[src] = [c, [], 0]  # consumer, buffer, index

    def copy_products(self, kafka):
        c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "cdcflow-bench-replay",
                      "enable.auto.commit": False})
        n = kafka.count(PRODUCTS)
        c.assign([TopicPartition(PRODUCTS, 0, 0)])
        done = 0
        while done < n:
            for m in c.consume(1000, 1):
                if m.error():
                    continue
                self.producer.produce(self.topics[2], m.value(), m.key())
                done += 1
        c.close()
        self.producer.flush(30)

    def _peek(self, src):
        c, buf, i = self.sources[src]
        if i >= len(buf):
            buf = [m for m in c.consume(2000, 1) if not m.error()]
            self.sources[src] = [c, buf, 0]
            i = 0
            if not buf:
                return None
        return buf[i]

    def next_event(self):
        a, b = self._peek(self.orders), self._peek(self.shipments)
        if a is None and b is None:
            return None, None
        src = self.orders if b is None or (a is not None and a.timestamp()[1] <= b.timestamp()[1]) \
            else self.shipments
        m = self._peek(src)
        self.sources[src][2] += 1
        return src, m

    def run(self, rate, seconds, on_tick=None, record=True):
        out_topic = {self.orders: self.topics[0], self.shipments: self.topics[1]}
        sent = 0
        t0 = time.time()
        while time.time() - t0 < seconds:
            due = int(rate * (time.time() - t0)) - sent
            for _ in range(max(due, 0)):
                src, m = self.next_event()
                if m is None:
                    return sent
                oid = views.order_id_of(m.value()) if m.value() is not None else None
                if record and oid is not None and not views.is_noop_update(m.value()):
                    def cb(err, msg, oid=oid):
                        if err is None:
                            self.sent.append((oid, msg.timestamp()[1]))
                else:
                    cb = None
                self.producer.produce(out_topic[src], m.value(), m.key(), on_delivery=cb)
                sent += 1
            self.producer.poll(0)
            if on_tick:
                on_tick(time.time() - t0)
            time.sleep(0.005)
        self.producer.flush(30)
        return sent

    def close(self):
        self.producer.flush(30)
        for c, _, _ in self.sources.values():
            c.close()


def expected_from_topics(bootstrap, topics):
    """The enrichment of everything in the live input topics, computed here from the Debezium
    events themselves: what the engine's compacted output must equal."""
    tables = ({}, {}, {})
    pks = ("order_id", "shipment_id", "id")
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "cdcflow-bench-expected",
                  "enable.auto.commit": False})
    for table, pk, topic in zip(tables, pks, topics):
        lo, hi = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        if hi <= lo:
            continue
        c.assign([TopicPartition(topic, 0, lo)])
        done = lo
        while done < hi:
            for m in c.consume(5000, 1):
                if m.error():
                    continue
                views.apply_debezium(table, m.value(), pk)
                done = m.offset() + 1
    c.close()
    return views.enriched_view(*tables)


def live(engine, kafka, args, run_id, rate, backlog):
    """Fixed-rate phase: latency p50/p99 from an event's append to its input topic to the first
    output record for its order after it, and recovery after a kill -9 of a worker."""
    prefix = f"bench.live.{run_id}"
    topics = [f"{prefix}.orders", f"{prefix}.shipments", f"{prefix}.products"]
    output = f"bench.out.{run_id}"
    kafka.delete(topics + [output])
    for t in topics + [output]:
        kafka.create(t)
    replay = Replayer(args.bootstrap, topics, backlog)
    replay.copy_products(kafka)
    collector = Collector(args.bootstrap, output)
    collector.start()
    engine.launch(topics, output, run_id)
    sampler = Sampler(engine.sessions())
    sampler.start()
    result = {"engine": engine.name, "run": run_id, "rate": rate}
    try:
        # Warm-up: a trickle until the first output shows the engine is running.
        t0 = time.time()
        while collector.last_recv is None:
            replay.run(100, 1, record=False)
            if time.time() - t0 > args.start_timeout:
                raise RuntimeError(f"{engine.name}: no output in the live phase")
        # Warm-up at the target rate (JIT, caches, connections), not measured.
        replay.run(rate, args.warmup_seconds, record=False)
        measure_from = now_ms()
        sent = replay.run(rate, args.live_seconds)
        measure_to = now_ms()
        state = {"killed_ms": None}
        if args.recovery:
            # A gap at the rate before the kill, so that the steady window's events have had
            # time to come out before it (their latency is taken from pre-kill output only).
            sent += replay.run(rate, 5)
            state["killed_ms"] = now_ms()
            engine.kill_worker()
            sampler.add(engine.sessions())
            sent += replay.run(rate, args.recovery_seconds)
        # Drain: until the output is quiet, and after a kill until the restarted engine has
        # written again (a JVM restart under load takes a while).
        t_drain = time.time()
        while time.time() - t_drain < args.start_timeout + args.quiet_timeout:
            time.sleep(0.5)
            quiet = time.time() - (collector.last_recv or 0)
            resumed = state["killed_ms"] is None or (
                collector.records and collector.records[-1][2] > state["killed_ms"] + 1)
            if resumed and quiet >= 10:
                break
        outputs = [(k, ts) for k, _, ts in collector.records]
        steady = [(k, ts) for k, ts in replay.sent if measure_from <= ts <= measure_to]
        # After a kill an engine may replay and re-emit everything: an event whose change had
        # been folded into another output (no record of its own) would then be "answered" by
        # the re-emission, so steady latencies count output from before the kill only.
        before_kill = [(k, ts) for k, ts in outputs
                       if state["killed_ms"] is None or ts < state["killed_ms"]]
        lat, unanswered = views.latency_per_event(steady, before_kill)
        result.update(events_sent=sent, measured_events=len(steady), unanswered=unanswered,
                      unanswered_pct=100 * unanswered / max(len(steady), 1),
                      achieved_rate=len(steady) / args.live_seconds,
                      p50_ms=views.percentile(lat, 50), p99_ms=views.percentile(lat, 99),
                      max_ms=lat[-1] if lat else None)
        # Latency over time (send time, latency; thinned to ~2000 points) for the chart: it shows
        # saturation (a ramp), periodic flushes (a saw) and the recovery after the kill.
        timeline = [(k, ts) for k, ts in replay.sent if ts >= measure_from]
        every = views.match_latencies(timeline, outputs)
        step = max(1, len(timeline) // 2000)
        result["series"] = [((ts - measure_from) / 1000, l)
                            for (k, ts), l in list(zip(timeline, every))[::step] if l is not None]
        killed = state["killed_ms"]
        if killed is not None:
            after = sorted((ts, k) for k, ts in replay.sent if ts >= killed)
            resumed = [ts for _, _, ts in collector.records if ts > killed + 1]
            result["first_output_after_kill_s"] = (min(resumed) - killed) / 1000 if resumed else None
            result["killed_at_s"] = (killed - measure_from) / 1000
            result["recovery_s"] = recovery_time(after, outputs, killed, result["p99_ms"])
        view = views.compact((k, v) for k, v, _ in collector.records)
        expected = expected_from_topics(args.bootstrap, topics)
        result["equal"], result["diff"] = views.diff_views(view, expected, engine.name,
                                                           "the replayed input")
        log(f"{engine.name} live output vs the join of its replayed input: {result['diff']}")
    finally:
        engine.stop()
        peak, cpu = sampler.stop()
        pss = sampler.peak_pss
        collector.stop()
        replay.close()
        kafka.delete(topics + [output])
    result.update(peak_rss_mb=peak / 2**20, peak_pss_mb=pss / 2**20, cpu_s=cpu)
    log(f"{engine.name} live: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                                             for k, v in result.items() if k not in ("diff", "series")}))
    return result


def recovery_time(after, outputs, killed_ms, p99_ms):
    """Seconds from the kill until latency is back to normal for good: the output time of the
    first event sent after the kill from which on every event's latency stays under
    max(2 x steady p99, 500 ms)."""
    if not after:
        return None
    threshold = max(2 * (p99_ms or 0), 500)
    ordered = [(k, ts) for ts, k in after]
    lat_sorted_input = list(zip((ts for _, ts in ordered),
                                views.match_latencies(ordered, outputs)))
    good_from = None
    for ts, lat in reversed(lat_sorted_input):
        if lat is None:  # no output followed (e.g. a no-op update): says nothing either way
            continue
        if lat > threshold:
            break
        good_from = (ts, lat)
    if good_from is None:
        return None
    return (good_from[0] + good_from[1] - killed_ms) / 1000


# --- main ----------------------------------------------------------------------------------

def machine_info(args):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])

    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return "?"
    java = out(["java", "-version"]) or subprocess.run(
        ["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 2**20, 1),
        "kernel": platform.release(), "loadavg_start": os.getloadavg(),
        "java": java, "git": out(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]),
        "flink": args.flink_version, "kafka": "4.3.0 (KRaft, 1 broker)",
        "debezium": "3.6.1.Final (PostgreSQL, pgoutput, JSON with schemas)",
    }


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=2_000_000)
    p.add_argument("--engines", default="ceiling,flink,cdcflow")
    p.add_argument("--repeat", type=int, default=1, help="catch-up runs per engine")
    p.add_argument("--rate", default="auto",
                   help="events/s of the live phase; auto = half the slowest engine's catch-up "
                        "throughput, at most 10000")
    p.add_argument("--live-seconds", type=float, default=30, help="measured steady window")
    p.add_argument("--warmup-seconds", type=float, default=20)
    p.add_argument("--recovery-seconds", type=float, default=45,
                   help="at the rate after the kill -9 of a worker")
    p.add_argument("--no-live", dest="live", action="store_false")
    p.add_argument("--no-catch-up", dest="catch_up", action="store_false")
    p.add_argument("--no-recovery", dest="recovery", action="store_false")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--pg-port", type=int, required=True)
    p.add_argument("--connect-port", type=int, default=8081)
    p.add_argument("--backlog", default="default",
                   help="backlog set: default = the pipeline's topics; NAME = its own database "
                        "bench_NAME, connector and topics NAME.public.*")
    p.add_argument("--generate-only", action="store_true", help="make the backlog, then exit")
    p.add_argument("--results", required=True, help="results folder of this run")
    p.add_argument("--workdir", required=True, help="engine logs and checkpoints")
    p.add_argument("--ceiling-bin")
    p.add_argument("--flink-classpath")
    p.add_argument("--flink-version", default="?")
    p.add_argument("--flink-heap", default="1g")
    p.add_argument("--cdcflow-bin")
    p.add_argument("--cdcflow-job")
    p.add_argument("--cdcflow-job-args", default="")
    # cdcflow's memory for this job, as -Xmx1g (--flink-heap) is Flink's: write-back
    # caches of 8 MiB per keyed subtask and 32 MiB of RocksDB (block cache + memtables)
    # per process, half the task manager's defaults; as fast on the 1M-event backlog
    # (45.5 k events/s, 35.8 CPU s) and 269 instead of 339 MB peak RSS.
    p.add_argument("--cdcflow-tm-args", default="--state-cache-mb 8 --state-memory-mb 32",
                   help="task manager flags")
    p.add_argument("--cdcflow-state", choices=["rocksdb", "memory"], default="rocksdb",
                   help="where cdcflow keeps keyed state (Flink's RocksDB / HashMap backends)")
    p.add_argument("--cdcflow-port-base", type=int, default=36123)
    p.add_argument("--cdcflow-task-managers", type=int, default=0,
                   help="task manager processes (default 0: the job manager's process runs the "
                        "tasks, one process like Flink's one-JVM MiniCluster)")
    p.add_argument("--cdcflow-slots", type=int, default=2, help="slots per task manager")
    p.add_argument("--profile", default="", help="engines to profile with perf during catch-up")
    p.add_argument("--profile-seconds", type=int, default=20)
    p.add_argument("--start-timeout", type=float, default=120)
    p.add_argument("--quiet-timeout", type=float, default=60)
    args = p.parse_args(argv)

    os.makedirs(args.results, exist_ok=True)
    workdir = args.workdir
    os.makedirs(workdir, exist_ok=True)
    kafka = Kafka(args.bootstrap)
    stale = [t for t in kafka.topics() if t.startswith(("bench.out.", "bench.live."))]
    if stale:
        log(f"deleting {len(stale)} topics left by an interrupted run")
        kafka.delete(stale)
    info = machine_info(args)
    backlog = Backlog(args.backlog, args)
    events = ensure_backlog(kafka, backlog, args.events)
    if args.generate_only:
        return 0
    log("computing the expected output from PostgreSQL")
    expected = expected_view(backlog)
    log(f"expected: {len(expected)} enriched orders")

    classes = {"ceiling": Ceiling, "flink": Flink, "cdcflow": Cdcflow}
    names = [n.strip() for n in args.engines.split(",") if n.strip()]
    for n in names:
        if n not in classes:
            p.error(f"unknown engine {n!r}")
    stamp = datetime.datetime.now().strftime("%H%M%S")
    catchups, lives = [], []
    for rep in range(args.repeat if args.catch_up else 0):
        order = names if rep % 2 == 0 else list(reversed(names))  # alternate to spread noise
        for n in order:
            engine = classes[n](args, workdir)
            try:
                catchups.append(catch_up(engine, kafka, args, f"{n}-{stamp}-{rep}", events,
                                         expected, backlog))
            except Exception as e:  # noqa: BLE001 - one engine failing must not lose the rest
                log(f"{n}: catch-up FAILED: {e}")
                catchups.append({"engine": n, "run": f"{n}-{stamp}-{rep}", "error": str(e)})
    if args.live:
        rate = args.rate
        if rate == "auto":
            ok = [r["events_per_s"] for r in catchups
                  if r["engine"] != "ceiling" and "events_per_s" in r]
            rate = min(10000, int(min(ok) / 2)) if ok else 1000
        rate = int(rate)
        log(f"live phase at {rate} events/s for {args.live_seconds} s per engine")
        for n in names:
            if n == "ceiling":
                continue
            engine = classes[n](args, workdir)
            try:
                lives.append(live(engine, kafka, args, f"{n}-{stamp}-live", rate, backlog))
            except Exception as e:  # noqa: BLE001
                log(f"{n}: live phase FAILED: {e}")
                lives.append({"engine": n, "error": str(e)})
    info["loadavg_end"] = os.getloadavg()
    out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": info, "events": events, "backlog": backlog.name, "catch_up": catchups, "live": lives,
           "args": {k: v for k, v in vars(args).items()}}
    path = os.path.join(args.results, f"results-{stamp}.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=str)
    log(f"figures written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
