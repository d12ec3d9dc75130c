"""Tests of the image's entry point deploy/docker/entrypoint.sh, without Docker.

A fake `cdcflow` first on PATH records the argument vector it was exec'd with (and its pid, to
prove the entry point execs rather than forks); each case asserts that command line exactly,
or the exit status 2 and the message of a rejected configuration.
"""

import os
import re
import stat
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ENTRYPOINT = os.path.normpath(os.path.join(HERE, "..", "docker", "entrypoint.sh"))

FAKE = """#!/usr/bin/env bash
printf '%s\\0' "$$" "$(basename "$0")" "$@" > "$FAKE_OUT"
"""


class EntrypointTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        d = self.tmp.name
        self.bin = os.path.join(d, "bin")
        self.jobs = os.path.join(d, "jobs")
        os.makedirs(self.bin)
        os.makedirs(self.jobs)
        fake = os.path.join(self.bin, "cdcflow")
        with open(fake, "w") as f:
            f.write(FAKE)
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
        for job in ("order_enrichment.so", "wordcount.so"):
            open(os.path.join(self.jobs, job), "wb").close()
        self.out = os.path.join(d, "argv")

    def run_entrypoint(self, *args, **env):
        base = {"PATH": self.bin + os.pathsep + os.environ["PATH"], "FAKE_OUT": self.out,
                "CDCFLOW_JOBS_DIR": self.jobs, "HOME": self.tmp.name}
        base.update(env)
        if os.path.exists(self.out):
            os.remove(self.out)
        proc = subprocess.Popen(["bash", ENTRYPOINT, *args], env=base, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        stdout, stderr = proc.communicate(timeout=20)
        return proc, stdout, stderr

    def command(self, *args, **env):
        """Runs the entry point and returns the argv the fake cdcflow received."""
        proc, _, stderr = self.run_entrypoint(*args, **env)
        self.assertEqual(proc.returncode, 0, stderr)
        with open(self.out, "rb") as f:
            fields = f.read().split(b"\0")[:-1]
        pid, argv = int(fields[0]), [x.decode() for x in fields[1:]]
        self.assertEqual(pid, proc.pid, "the entry point must exec cdcflow, not fork it")
        return argv

    def rejected(self, *args, **env):
        proc, _, stderr = self.run_entrypoint(*args, **env)
        self.assertEqual(proc.returncode, 2, stderr)
        self.assertFalse(os.path.exists(self.out), "cdcflow ran despite the error")
        return stderr

    # ---- jobmanager
    def test_jobmanager_defaults(self):
        self.assertEqual(self.command("jobmanager"), ["cdcflow", "jobmanager", "--port", "6123"])

    def test_no_command_is_jobmanager(self):
        self.assertEqual(self.command(), ["cdcflow", "jobmanager", "--port", "6123"])

    def test_jobmanager_from_environment_and_args(self):
        self.assertEqual(
            self.command("jobmanager", "--verbose", CDCFLOW_JM_PORT="7000",
                         CDCFLOW_JM_ARGS="--bind 0.0.0.0  --checkpoint-interval=10s"),
            ["cdcflow", "jobmanager", "--port", "7000", "--bind", "0.0.0.0",
             "--checkpoint-interval=10s", "--verbose"])

    def test_jobmanager_network_settings(self):
        self.assertEqual(
            self.command("jobmanager", "--rest-bind=127.0.0.1", CDCFLOW_BIND="0.0.0.0",
                         CDCFLOW_REST_BIND="0.0.0.0", CDCFLOW_HTTP_PORT="9086",
                         CDCFLOW_CONNECT_URL="http://connect:8083"),
            ["cdcflow", "jobmanager", "--port", "6123", "--bind", "0.0.0.0", "--rest-port", "9086",
             "--connect-url", "http://connect:8083", "--rest-bind=127.0.0.1"])
        self.assertIn("CDCFLOW_HTTP_PORT", self.rejected("jobmanager", CDCFLOW_HTTP_PORT="http"))

    def test_jobmanager_user_port_wins(self):
        self.assertEqual(self.command("jobmanager", "--port=7001", CDCFLOW_JM_PORT="7000"),
                         ["cdcflow", "jobmanager", "--port=7001"])

    def test_jobmanager_bad_port(self):
        for port in ("http", "0", "65536", "-1", ""):
            with self.subTest(port=port):
                if port == "":
                    continue  # empty means unset: the default applies
                self.assertIn("CDCFLOW_JM_PORT", self.rejected("jobmanager", CDCFLOW_JM_PORT=port))

    # ---- taskmanager
    def test_taskmanager(self):
        self.assertEqual(
            self.command("taskmanager", CDCFLOW_JOBMANAGER="jobmanager:6123", CDCFLOW_TM_SLOTS="4"),
            ["cdcflow", "taskmanager", "--jobmanager", "jobmanager:6123", "--slots", "4",
             "--port", "6124"])

    def test_taskmanager_network_metrics_and_extra_args(self):
        self.assertEqual(
            self.command("taskmanager", "--state-dir", "/data", CDCFLOW_JOBMANAGER="jm:1",
                         CDCFLOW_TM_PORT="7124", CDCFLOW_TM_METRICS_PORT="9250",
                         CDCFLOW_BIND="0.0.0.0", CDCFLOW_TM_ADVERTISED_HOST="tm-0.tms",
                         CDCFLOW_TM_ARGS="--memory=2g"),
            ["cdcflow", "taskmanager", "--jobmanager", "jm:1", "--slots", "1", "--port", "7124",
             "--bind", "0.0.0.0", "--advertised-address", "tm-0.tms:7124",
             "--metrics-port", "9250", "--memory=2g", "--state-dir", "/data"])

    def test_taskmanager_bad_network_settings(self):
        self.assertIn("CDCFLOW_TM_ADVERTISED_HOST",
                      self.rejected("taskmanager", CDCFLOW_JOBMANAGER="jm:1",
                                    CDCFLOW_TM_ADVERTISED_HOST="tm:6124"))
        self.assertIn("CDCFLOW_TM_METRICS_PORT",
                      self.rejected("taskmanager", CDCFLOW_JOBMANAGER="jm:1",
                                    CDCFLOW_TM_METRICS_PORT="metrics"))

    def test_taskmanager_user_flags_win(self):
        self.assertEqual(
            self.command("taskmanager", "--jobmanager", "other:9", "--slots=8",
                         CDCFLOW_TM_SLOTS="2"),
            ["cdcflow", "taskmanager", "--port", "6124", "--jobmanager", "other:9", "--slots=8"])

    def test_taskmanager_needs_a_jobmanager(self):
        self.assertIn("CDCFLOW_JOBMANAGER", self.rejected("taskmanager"))
        self.assertIn("HOST:PORT", self.rejected("taskmanager", CDCFLOW_JOBMANAGER="jobmanager"))
        self.assertIn("HOST:PORT", self.rejected("taskmanager", CDCFLOW_JOBMANAGER="jm:x"))

    def test_taskmanager_bad_slots(self):
        for slots in ("0", "two", "1.5", "5000"):
            with self.subTest(slots=slots):
                err = self.rejected("taskmanager", CDCFLOW_JOBMANAGER="jm:1", CDCFLOW_TM_SLOTS=slots)
                self.assertIn("CDCFLOW_TM_SLOTS", err)
                self.assertIn(f"'{slots}'", err)

    # ---- run
    def test_run_job_by_name_with_env_args(self):
        so = os.path.join(self.jobs, "order_enrichment.so")
        self.assertEqual(
            self.command("run", "order_enrichment", CDCFLOW_JOBMANAGER="jobmanager:6123",
                         CDCFLOW_PARALLELISM="2",
                         CDCFLOW_JOB_ARGS="orders_topic=pg.public.orders sink=kafka,elasticsearch"),
            ["cdcflow", "run", so, "--jobmanager", "jobmanager:6123", "--parallelism", "2",
             "--", "orders_topic=pg.public.orders", "sink=kafka,elasticsearch"])

    def test_run_explicit_job_args_replace_env_args(self):
        so = os.path.join(self.jobs, "wordcount.so")
        self.assertEqual(
            self.command("run", "wordcount", "--parallelism", "3", "--", "a=1", "b=x y",
                         CDCFLOW_JOB_ARGS="ignored=1", CDCFLOW_PARALLELISM="2"),
            ["cdcflow", "run", so, "--parallelism", "3", "--", "a=1", "b=x y"])

    def test_run_default_job_and_path(self):
        so = os.path.join(self.jobs, "wordcount.so")
        self.assertEqual(self.command("run", CDCFLOW_JOB="wordcount"), ["cdcflow", "run", so])
        self.assertEqual(self.command("run", so, "--detached"),
                         ["cdcflow", "run", so, "--detached"])
        # A flag first means: no job named on the command line, take CDCFLOW_JOB.
        self.assertEqual(self.command("run", "--parallelism=5", CDCFLOW_JOB=so,
                                      CDCFLOW_PARALLELISM="2"),
                         ["cdcflow", "run", so, "--parallelism=5"])

    def test_run_errors(self):
        self.assertIn("needs a job", self.rejected("run"))
        err = self.rejected("run", "no_such_job")
        self.assertIn("no_such_job.so", err)
        self.assertIn("order_enrichment.so", err)  # lists what is there
        self.assertIn("CDCFLOW_PARALLELISM",
                      self.rejected("run", "wordcount", CDCFLOW_PARALLELISM="many"))

    # ---- other verbs and commands
    def test_cli_verbs_pass_through(self):
        self.assertEqual(self.command("status", "job-1", CDCFLOW_JOBMANAGER="jm:1"),
                         ["cdcflow", "status", "job-1"])
        self.assertEqual(self.command("cancel", "--jobmanager", "jm:2", "job-2"),
                         ["cdcflow", "cancel", "--jobmanager", "jm:2", "job-2"])
        self.assertEqual(self.command("list"), ["cdcflow", "list"])
        self.assertEqual(self.command("--version"), ["cdcflow", "--version"])

    def test_other_commands_run_as_given(self):
        proc, stdout, _ = self.run_entrypoint("echo", "hello", "world")
        self.assertEqual((proc.returncode, stdout), (0, "hello world\n"))
        self.assertFalse(os.path.exists(self.out))


# The flags the entry point passes to each verb in the image and in the compose and Helm
# deployments (the image sets CDCFLOW_BIND and CDCFLOW_REST_BIND; the deployments set the task
# managers' advertised host): the CLI must have them. OPTIONAL_FLAGS are passed only when a
# deployment sets them; a verb without one is reported, not failed.
ENTRYPOINT_FLAGS = {"jobmanager": ["--port", "--bind", "--rest-bind"],
                    "taskmanager": ["--jobmanager", "--slots", "--port", "--bind",
                                    "--advertised-address"],
                    "run": ["--jobmanager", "--parallelism"]}
OPTIONAL_FLAGS = {"jobmanager": ["--rest-port", "--connect-url"],
                  "taskmanager": ["--metrics-port"], "run": []}


class CliContractTest(unittest.TestCase):
    """The real `cdcflow` binary has every verb the entry point calls and accepts the flags
    it passes."""

    def help_text(self, *args):
        binary = os.environ.get("CDCFLOW_BINARY", "")
        self.assertTrue(os.path.isfile(binary), f"CDCFLOW_BINARY={binary!r}")
        proc = subprocess.run([binary, *args, "--help"], capture_output=True, text=True,
                              timeout=20)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("Usage:", proc.stdout)
        return proc.stdout

    def test_verbs_accept_the_entrypoint_flags(self):
        top = self.help_text()
        m = re.search(r"^Subcommands:\n((?:[ \t]+\S.*\n?)*)", top, re.M)
        verbs = set(re.findall(r"^[ \t]+(\S+)", m.group(1), re.M)) if m else set()
        missing_verbs = sorted(set(ENTRYPOINT_FLAGS) - verbs)
        self.assertEqual(missing_verbs, [], "deploy/docker/entrypoint.sh calls these verbs, "
                         "which `cdcflow --help` does not list")
        for verb in sorted(set(ENTRYPOINT_FLAGS) & verbs):
            text = self.help_text(verb)
            def has(flag):
                return re.search(rf"(^|[\s,]){re.escape(flag)}(?![\w-])", text) is not None
            for flag in ENTRYPOINT_FLAGS[verb]:
                with self.subTest(verb=verb, flag=flag):
                    self.assertTrue(has(flag), f"`cdcflow {verb}` has no {flag}, which "
                                    "deploy/docker/entrypoint.sh passes: add the flag, or change "
                                    "the entry point and the deployments to its new name")
            missing = [f for f in OPTIONAL_FLAGS[verb] if not has(f)]
            if missing:
                print(f"note: `cdcflow {verb}` has no {missing} (optional)", file=sys.stderr)

    def test_real_cli_runs_a_built_job_through_the_entrypoint(self):
        # Name lookup in CDCFLOW_JOBS_DIR, CDCFLOW_PARALLELISM and `--` job arguments, as the
        # real CLI sees them (--print-plan: builds the job graph and exits).
        # keyed_sum: the example job, built with the CLI (ctest runs after the build).
        jobs_dir = os.environ.get("CDCFLOW_JOBS_BUILD_DIR", "/nonexistent")
        self.assertTrue(os.path.isfile(os.path.join(jobs_dir, "keyed_sum.so")),
                        f"keyed_sum.so is not built in {jobs_dir}")
        env = dict(os.environ, CDCFLOW_BIN=os.environ["CDCFLOW_BINARY"], CDCFLOW_JOBS_DIR=jobs_dir,
                   CDCFLOW_PARALLELISM="3")
        env.pop("CDCFLOW_JOBMANAGER", None)
        proc = subprocess.run(["bash", ENTRYPOINT, "run", "keyed_sum", "--print-plan", "--",
                               "records=10"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertRegex(proc.stdout, r"parallelism=3\b")


if __name__ == "__main__":
    unittest.main(verbosity=1)
