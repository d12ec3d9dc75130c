#!/usr/bin/python3
"""deploy/local/services.sh: a service that cannot start names itself, its port and its log file,
and the start leaves nothing half-started. Uses its own directory and free ports, not the fixture."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVICES = os.path.join(REPO_ROOT, "deploy", "local", "services.sh")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


class ServicesFailureTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("CDCFLOW_TEST_SCRATCH_DIR", tempfile.gettempdir())
        os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="services-failure-", dir=base)
        os.chmod(self.dir, 0o755)  # postgres runs as its own user
        self.env = {**os.environ, "CDCFLOW_LOCAL_DIR": self.dir,
                    "CDCFLOW_PG_PORT": str(free_port()), "CDCFLOW_KAFKA_PORT": str(free_port()),
                    "CDCFLOW_KAFKA_CONTROLLER_PORT": str(free_port()),
                    "CDCFLOW_START_TIMEOUT": "60"}
        self.env.setdefault("CDCFLOW_LIB_DIR", os.path.join(REPO_ROOT, ".local", "lib"))
        self.blocker = None

    def tearDown(self):
        subprocess.run(["bash", SERVICES, "clean"], env=self.env, capture_output=True, timeout=120)
        if self.blocker:
            self.blocker.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def occupy(self, port):
        self.blocker = socket.socket()
        self.blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.blocker.bind(("127.0.0.1", port))
        self.blocker.listen()

    def start(self, *services, **extra_env):
        return subprocess.run(["bash", SERVICES, "start", *services], env={**self.env, **extra_env},
                              capture_output=True, text=True, timeout=600)

    def assert_names(self, proc, service, port):
        self.assertEqual(proc.returncode, 1, proc.stderr)
        log = os.path.join(self.dir, "logs", f"{service}.log")
        self.assertIn(f"FAILED to start {service} (port {port})", proc.stderr)
        self.assertIn(f"log: {log}", proc.stderr)

    def assert_nothing_running(self):
        status = subprocess.run(["bash", SERVICES, "status"], env=self.env, capture_output=True,
                                text=True, timeout=60)
        for line in status.stdout.splitlines():
            self.assertIn(" stopped ", line)
        self.assertFalse(listening(int(self.env["CDCFLOW_PG_PORT"])))

    def test_taken_port_names_service_port_and_log(self):
        port = int(self.env["CDCFLOW_PG_PORT"])
        self.occupy(port)
        proc = self.start("postgres")
        self.assert_names(proc, "postgres", port)
        self.assertIn("already in use", proc.stderr)
        self.assertNotIn("starting postgres", proc.stderr)

    def test_later_failure_stops_what_this_start_started(self):
        port = int(self.env["CDCFLOW_KAFKA_PORT"])
        self.occupy(port)
        proc = self.start("postgres", "kafka")
        self.assert_names(proc, "kafka", port)
        self.assertIn("stopping postgres (started by this run)", proc.stderr)
        self.assert_nothing_running()

    def test_process_that_dies_is_reported(self):
        # A heap the JVM refuses: kafka launches, then exits at once.
        proc = self.start("postgres", "kafka", CDCFLOW_KAFKA_HEAP="1k")
        self.assert_names(proc, "kafka", self.env["CDCFLOW_KAFKA_PORT"])
        self.assertIn("the process exited", proc.stderr)
        self.assert_nothing_running()

    def test_start_is_idempotent(self):
        first = self.start("postgres")
        self.assertEqual(first.returncode, 0, first.stderr)
        again = self.start("postgres")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertNotIn("starting postgres", again.stderr)
        status = subprocess.run(["bash", SERVICES, "status", "postgres"], env=self.env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(status.returncode, 0)
        self.assertRegex(status.stdout, r"^postgres\s+healthy\s")


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)
