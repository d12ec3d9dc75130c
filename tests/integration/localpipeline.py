"""Helpers for the integration tests that talk to the fixture's real servers (Python stdlib,
psycopg2 and the kcat binary only)."""

import base64
import json
import os
import subprocess
import time

import psycopg2

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PYTHON = "/usr/bin/python3"


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run through with_services_env.sh (ctest does)")
    return value


def pg_dsn(dbname):
    return f"host=127.0.0.1 port={env('CDCFLOW_PG_PORT')} user=postgres dbname={dbname}"


def connect(dbname):
    conn = psycopg2.connect(pg_dsn(dbname))
    conn.autocommit = True
    return conn


def psql(dbname, *args):
    subprocess.run(["psql", "-h", "127.0.0.1", "-p", env("CDCFLOW_PG_PORT"), "-U", "postgres",
                    "-d", dbname, "-q", "-v", "ON_ERROR_STOP=1", *args],
                   check=True, capture_output=True, text=True,
                   env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"})


def fresh_database(name):
    """Drops and recreates NAME with the seed schema (orders, shipments and products all in it)."""
    conn = connect("postgres")
    try:
        cur = conn.cursor()
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    psql("postgres", "-v", f"orders_db={name}", "-v", f"products_db={name}",
         "-f", os.path.join(REPO_ROOT, "deploy", "sql", "schema.sql"))


class Message:
    def __init__(self, raw):
        self.offset = raw["offset"]
        self.key = None if raw.get("key") is None else json.loads(raw["key"])
        self.value = None if raw.get("payload") is None else json.loads(raw["payload"])

    @property
    def is_tombstone(self):
        return self.value is None

    @property
    def op(self):
        return "tombstone" if self.value is None else self.value["payload"]["op"]

    @property
    def payload(self):
        return None if self.value is None else self.value["payload"]

    def __repr__(self):
        return f"Message(offset={self.offset}, key={self.key}, op={self.op})"


def consume(topic, start=0):
    """Every message of partition 0 of TOPIC from offset START to the current end."""
    proc = subprocess.run(
        ["kcat", "-b", env("CDCFLOW_KAFKA_BROKERS"), "-C", "-t", topic, "-p", "0",
         "-o", str(start), "-e", "-q", "-J"],
        capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 and "Unknown topic" not in proc.stderr:
        raise RuntimeError(f"kcat failed on {topic}: {proc.stderr.strip()}")
    return [Message(json.loads(line)) for line in proc.stdout.splitlines() if line.strip()]


def end_offset(topic):
    msgs = consume(topic)
    return msgs[-1].offset + 1 if msgs else 0


def wait_for_messages(topic, predicate, count, start=0, timeout=60):
    """Polls TOPIC until COUNT messages satisfy PREDICATE; returns them (or what came by TIMEOUT)."""
    deadline = time.monotonic() + timeout
    while True:
        got = [m for m in consume(topic, start) if predicate(m)]
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def connect_decimal(unscaled):
    """Kafka Connect's Decimal bytes: BigInteger.toByteArray(), base64 in JSON."""
    length = (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


def run_producer(script, *args, check=True):
    proc = subprocess.run([PYTHON, os.path.join(REPO_ROOT, "deploy", "producers", script), *args],
                          capture_output=True, text=True, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
    return proc
