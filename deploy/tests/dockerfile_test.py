"""Offline checks of the container images (no Docker engine runs here, so nothing is built).

- The build stage of deploy/docker/Dockerfile installs every build package that
  deploy/install-deps.sh lists (so a library added there is not forgotten in the image).
- deploy/docker/runtime-packages.sh, which picks the runtime stage's packages, maps the real
  `cdcflow` binary to Debian runtime packages only, and fails on a library that is missing.
- The runtime stage runs as the non-root user, through the entry point, and every COPY source
  exists in the repository.
Environment: CDCFLOW_BINARY, the built cdcflow binary (set by CMake).
"""

import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DOCKERFILE = os.path.join(ROOT, "deploy", "docker", "Dockerfile")
PRODUCERS_DOCKERFILE = os.path.join(ROOT, "deploy", "docker", "producers.Dockerfile")
RUNTIME_PACKAGES = os.path.join(ROOT, "deploy", "docker", "runtime-packages.sh")
BUILD_TOOLS = {"build-essential", "cmake", "ninja-build", "pkg-config", "protobuf-compiler",
               "protobuf-compiler-grpc"}


def read(path):
    with open(path) as f:
        return f.read()


def logical_lines(text):
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and line.lstrip().startswith("#"):
            continue
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
        else:
            out.append((cur + line).strip())
            cur = ""
    return [l for l in out if l]


def stages(text):
    """{stage name: [instructions]} in order."""
    result, name = {}, None
    for line in logical_lines(text):
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I)
        if m:
            name = m.group(2) or m.group(1)
            result[name] = [line]
        elif name:
            result[name].append(line)
    return result


def install_deps_packages():
    text = read(os.path.join(ROOT, "deploy", "install-deps.sh"))
    m = re.search(r"^packages=\((.*?)^\)", text, re.S | re.M)
    assert m, "packages=( ... ) not found in deploy/install-deps.sh"
    body = "\n".join(l.split("#", 1)[0] for l in m.group(1).splitlines())
    return set(body.split())


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = read(DOCKERFILE)
        cls.stages = stages(cls.text)

    def build_packages(self):
        m = re.search(r'ARG BUILD_PACKAGES="([^"]*)"', " ".join(logical_lines(self.text)))
        self.assertIsNotNone(m, "ARG BUILD_PACKAGES not found")
        return set(m.group(1).split())

    def test_two_stages_on_debian_12(self):
        self.assertEqual(list(self.stages), ["build", "runtime"])
        m = re.search(r"^ARG DEBIAN_IMAGE=(\S+)", self.text, re.M)
        self.assertRegex(m.group(1), r"^debian:12(-slim)?$")
        for name, lines in self.stages.items():
            self.assertTrue(lines[0].startswith("FROM ${DEBIAN_IMAGE}"), name)

    def test_build_stage_has_every_build_package_of_install_deps(self):
        wanted = {p for p in install_deps_packages() if p.endswith("-dev") or p in BUILD_TOOLS}
        self.assertTrue(wanted, "no build packages found in install-deps.sh")
        missing = wanted - self.build_packages()
        self.assertFalse(missing, f"add to ARG BUILD_PACKAGES in {DOCKERFILE}: {sorted(missing)}")

    def test_runtime_stage(self):
        runtime = self.stages["runtime"]
        joined = "\n".join(runtime)
        self.assertNotRegex(joined, r"\S+-dev\b", "the runtime stage must not install -dev packages")
        self.assertIn("runtime-packages.txt", joined)
        users = [l.split()[1] for l in runtime if l.startswith("USER ")]
        self.assertEqual(users, ["cdcflow:cdcflow"])
        self.assertRegex(joined, r"useradd .*--uid 10001 .*cdcflow")
        (entry,) = [l for l in runtime if l.startswith("ENTRYPOINT")]
        self.assertIn("/opt/cdcflow/entrypoint.sh", entry)
        self.assertIn("CDCFLOW_JOBS_DIR=/opt/cdcflow/jobs", joined)
        # Processes bind loopback by default: a container must listen on its own address.
        self.assertIn("CDCFLOW_BIND=0.0.0.0", joined)
        self.assertIn("CDCFLOW_REST_BIND=0.0.0.0", joined)
        for port in ("6123", "6124", "8086", "9249"):
            self.assertRegex(joined, rf"EXPOSE .*\b{port}\b")

    def test_copy_sources_exist(self):
        for path in (DOCKERFILE, PRODUCERS_DOCKERFILE):
            for line in logical_lines(read(path)):
                if not line.startswith("COPY ") or "--from=" in line:
                    continue
                srcs = shlex.split(line)[1:-1]
                for src in srcs:
                    if src == ".":
                        continue
                    with self.subTest(dockerfile=os.path.basename(path), src=src):
                        self.assertTrue(os.path.exists(os.path.join(ROOT, src)),
                                        f"{path}: COPY source {src} does not exist")

    def test_producers_image_installs_its_clients_from_pypi(self):
        req = read(os.path.join(ROOT, "deploy", "docker", "producers-requirements.txt"))
        pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", req, re.M))
        self.assertIn("pymssql", pins)
        self.assertTrue({"psycopg2", "psycopg2-binary"} & set(pins))
        self.assertRegex(read(PRODUCERS_DOCKERFILE), r"FROM python:3\.\d+-slim-bookworm")


class RuntimePackagesTest(unittest.TestCase):
    def run_script(self, *files):
        return subprocess.run(["bash", RUNTIME_PACKAGES, *files], capture_output=True, text=True)

    def test_cdcflow_binary_maps_to_runtime_packages(self):
        binary = os.environ.get("CDCFLOW_BINARY")
        self.assertTrue(binary and os.path.isfile(binary), f"CDCFLOW_BINARY={binary!r}")
        proc = self.run_script(binary)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        packages = proc.stdout.split()
        self.assertEqual(packages, sorted(set(packages)))
        self.assertIn("libc6", packages)
        self.assertIn("libstdc++6", packages)
        self.assertFalse([p for p in packages if p.endswith("-dev")], packages)
        # Every package named is a real, installed Debian package.
        for p in packages:
            q = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                               text=True)
            self.assertIn("install ok installed", q.stdout, p)

    def test_built_jobs_map_to_runtime_packages(self):
        # The image copies every jobs/*.so of the build; each must resolve as the binary does.
        jobs = sorted(glob.glob(os.path.join(os.environ.get("CDCFLOW_JOBS_BUILD_DIR", "/nonexistent"),
                                             "*.so")))
        if not jobs:
            print("note: no job .so built yet", file=sys.stderr)
            return
        proc = self.run_script(*jobs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse([p for p in proc.stdout.split() if p.endswith("-dev")], proc.stdout)

    def test_missing_library_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            lib_src, main_src = os.path.join(d, "gone.c"), os.path.join(d, "main.c")
            with open(lib_src, "w") as f:
                f.write("int gone(void) { return 1; }\n")
            with open(main_src, "w") as f:
                f.write("int gone(void);\nint main(void) { return gone(); }\n")
            lib = os.path.join(d, "libgone.so")
            exe = os.path.join(d, "needs_gone")
            subprocess.run(["cc", "-shared", "-fPIC", "-o", lib, lib_src], check=True)
            subprocess.run(["cc", "-o", exe, main_src, "-L", d, "-lgone"], check=True)
            os.remove(lib)
            proc = self.run_script(exe)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("libgone.so", proc.stderr)

    def test_library_outside_any_package_is_an_error(self):
        with tempfile.TemporaryDirectory() as d:
            lib_src, main_src = os.path.join(d, "own.c"), os.path.join(d, "main.c")
            with open(lib_src, "w") as f:
                f.write("int own(void) { return 0; }\n")
            with open(main_src, "w") as f:
                f.write("int own(void);\nint main(void) { return own(); }\n")
            exe = os.path.join(d, "needs_own")
            subprocess.run(["cc", "-shared", "-fPIC", "-o", os.path.join(d, "libown.so"),
                            lib_src], check=True)
            subprocess.run(["cc", "-o", exe, main_src, "-L", d, "-lown", f"-Wl,-rpath,{d}"],
                           check=True)
            proc = self.run_script(exe)
            self.assertNotEqual(proc.returncode, 0)
            self.assertIn("no Debian package owns", proc.stderr)
            self.assertIn("libown.so", proc.stderr)

    def test_no_such_file(self):
        proc = self.run_script("/nonexistent/cdcflow")
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("/nonexistent/cdcflow", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=1)
