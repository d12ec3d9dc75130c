"""Tests of the Helm chart deploy/helm/cdcflow, offline.

`helm lint --strict` and `helm template` with the default values and the non-default value
files in the chart's ci/ folder; every rendered manifest is validated against the Kubernetes
JSON schemas that the kubernetes-validate package carries (strict: unknown fields fail); then
the rendered objects are checked for what the chart promises (ports, probes, volumes, args).
Run through run_in_venv.sh (needs CDCFLOW_HELM and the venv).
"""

import copy
import os
import shutil
import subprocess
import tempfile
import unittest

import kubernetes_validate
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
CHART = os.path.normpath(os.path.join(HERE, "..", "helm", "cdcflow"))
HELM = os.environ.get("CDCFLOW_HELM", "helm")
# The oldest Kubernetes the chart supports (Chart.yaml kubeVersion) and a recent one.
KUBE_VERSIONS = ["1.25.0", "1.33.0"]
RELEASE = "rel"


def helm(*args, check=True):
    proc = subprocess.run([HELM, *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def render(*value_args, kube_version=KUBE_VERSIONS[-1]):
    out = helm("template", RELEASE, CHART, "--namespace", "data",
               "--kube-version", kube_version, *value_args).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    return docs


def render_notes(*value_args):
    """NOTES.txt rendered with the given values. `helm template` skips NOTES.txt and
    `helm install --dry-run` needs a cluster, so a copy of the chart wraps it in a YAML block."""
    with tempfile.TemporaryDirectory() as d:
        chart = os.path.join(d, "cdcflow")
        shutil.copytree(CHART, chart)
        with open(os.path.join(chart, "templates", "NOTES.txt")) as f:
            lines = f.read().splitlines(True)
        with open(os.path.join(chart, "templates", "notes-check.yaml"), "w") as f:
            f.write("notes: |\n" + "".join("  " + l for l in lines))
        value_args = [a.replace(CHART, chart) for a in value_args]
        out = helm("template", RELEASE, chart, "--kube-version", KUBE_VERSIONS[-1],
                   "--show-only", "templates/notes-check.yaml", *value_args).stdout
        return yaml.safe_load(out)["notes"]


def by_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind, name=None):
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    if len(found) != 1:
        raise AssertionError(f"expected one {kind} {name or ''}, found {len(found)}")
    return found[0]


def container(pod_owner):
    containers = pod_owner["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1, containers
    return containers[0]


def validate_all(testcase, docs, kube_version):
    """Validates every document; returns the kinds that had no schema (CRDs)."""
    no_schema = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, kube_version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            no_schema.append(doc["kind"])
        except kubernetes_validate.ValidationError as e:
            testcase.fail(f"{doc['kind']}/{doc['metadata']['name']} is invalid for "
                          f"Kubernetes {kube_version}: {e.message} at {list(e.path)}")
    return no_schema


VALUE_SETS = {
    "default": [],
    "full": ["-f", os.path.join(CHART, "ci", "full-values.yaml")],
    "nfs": ["-f", os.path.join(CHART, "ci", "nfs-values.yaml")],
}


class LintAndSchemaTest(unittest.TestCase):
    def test_lint_strict(self):
        for name, args in VALUE_SETS.items():
            with self.subTest(values=name):
                helm("lint", "--strict", CHART, *args)

    def test_rendered_manifests_match_kubernetes_schemas(self):
        for name, args in VALUE_SETS.items():
            for kv in KUBE_VERSIONS:
                with self.subTest(values=name, kubernetes=kv):
                    docs = render(*args, kube_version=kv)
                    no_schema = validate_all(self, docs, kv)
                    # Only the Prometheus Operator's CRD lacks a built-in schema.
                    self.assertTrue(set(no_schema) <= {"ServiceMonitor"}, no_schema)

    def test_validator_rejects_a_broken_manifest(self):
        # Proves the schema check above is live: an unknown field and a wrong type must fail.
        docs = render()
        deployment = copy.deepcopy(one(docs, "Deployment"))
        deployment["spec"]["template"]["spec"]["containers"][0]["portz"] = []
        with self.assertRaises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(deployment, KUBE_VERSIONS[-1], strict=True)
        sts = copy.deepcopy(one(docs, "StatefulSet"))
        sts["spec"]["replicas"] = "two"
        with self.assertRaises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(sts, KUBE_VERSIONS[-1], strict=True)

    def test_values_schema_rejects_bad_values(self):
        for bad in ["taskManager.slots=0", "jobManager.httpPort=70000", "taskManager.metricsPort=0",
                    "checkpoints.persistence.accessModes={ReadWriteSometimes}",
                    "image.pullPolicy=Sometimes", "job.parallelism=0"]:
            with self.subTest(set=bad):
                proc = helm("template", RELEASE, CHART, "--set", bad, check=False)
                self.assertNotEqual(proc.returncode, 0, f"--set {bad} was accepted")
                self.assertIn("schema", proc.stderr)

    def test_kube_version_too_old_is_refused(self):
        proc = helm("template", RELEASE, CHART, "--kube-version", "1.22.0", check=False)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("kubeVersion", proc.stderr)


class NotesTest(unittest.TestCase):
    def test_notes(self):
        notes = render_notes()
        self.assertIn("Task managers: 2 x 2 slots = 4 slots", notes)
        self.assertIn("port-forward svc/rel-cdcflow-jobmanager 8086:8086", notes)
        self.assertIn("probed by a TCP check on port 6124", notes)
        self.assertIn("HTTP /healthz on port 9249", notes)
        self.assertNotIn("WARNING", notes)
        full = render_notes(*VALUE_SETS["full"])
        self.assertIn("Task managers: 3 x 4 slots = 12 slots", full)
        self.assertIn("logs job/flow-submit-order-enrichment", full)
        self.assertNotIn("TCP check", full)
        trial = render_notes("--set", "checkpoints.persistence.enabled=false")
        self.assertIn("WARNING: checkpoints are on an emptyDir", trial)
        self.assertNotIn("WARNING", render_notes(*VALUE_SETS["nfs"]))


class DefaultValuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render()

    def test_kinds(self):
        kinds = sorted(d["kind"] for d in self.docs)
        self.assertEqual(kinds, ["ConfigMap", "Deployment", "PersistentVolumeClaim", "Service",
                                 "Service", "ServiceAccount", "StatefulSet"])

    def test_jobmanager_service_and_probes(self):
        svc = one(self.docs, "Service", "rel-cdcflow-jobmanager")
        self.assertEqual({p["name"]: p["port"] for p in svc["spec"]["ports"]},
                         {"rpc": 6123, "http": 8086})
        dep = one(self.docs, "Deployment")
        c = container(dep)
        self.assertEqual(c["args"], ["jobmanager"])
        self.assertEqual(c["image"], "cdcflow:0.1.0")
        for probe in ("livenessProbe", "readinessProbe"):
            self.assertEqual(c[probe]["httpGet"], {"path": "/healthz", "port": "http"})
        self.assertEqual({p["name"]: p["containerPort"] for p in c["ports"]},
                         {"rpc": 6123, "http": 8086})
        self.assertLessEqual(svc["spec"]["selector"].items(),
                             dep["spec"]["template"]["metadata"]["labels"].items())
        self.assertEqual(dep["spec"]["selector"]["matchLabels"], svc["spec"]["selector"])

    def test_taskmanager_statefulset(self):
        sts = one(self.docs, "StatefulSet")
        self.assertEqual(sts["spec"]["replicas"], 2)
        self.assertEqual(sts["spec"]["serviceName"], "rel-cdcflow-taskmanager")
        headless = one(self.docs, "Service", "rel-cdcflow-taskmanager")
        self.assertEqual(headless["spec"]["clusterIP"], "None")
        c = container(sts)
        self.assertEqual(c["args"], ["taskmanager"])
        # TCP probes on the gRPC port by default; metrics on 9249.
        for probe in ("livenessProbe", "readinessProbe"):
            self.assertEqual(c[probe]["tcpSocket"], {"port": "rpc"})
            self.assertNotIn("httpGet", c[probe])
        self.assertEqual(c["resources"]["requests"]["memory"], "2Gi")
        self.assertIn({"name": "http", "containerPort": 9249}, c["ports"])
        env = {e["name"]: e for e in c["env"]}
        self.assertEqual(env["CDCFLOW_TM_ADVERTISED_HOST"]["value"],
                         "$(POD_NAME).rel-cdcflow-taskmanager")
        # $(POD_NAME) expands only when POD_NAME is defined earlier in the list.
        names = [e["name"] for e in c["env"]]
        self.assertLess(names.index("POD_NAME"), names.index("CDCFLOW_TM_ADVERTISED_HOST"))
        self.assertEqual({p["name"]: p["port"] for p in headless["spec"]["ports"]},
                         {"rpc": 6124, "http": 9249})
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        self.assertEqual(mounts["state"], "/var/lib/cdcflow/state")
        self.assertEqual(mounts["checkpoints"], "/var/lib/cdcflow/checkpoints")
        (vct,) = sts["spec"]["volumeClaimTemplates"]
        self.assertEqual(vct["metadata"]["name"], "state")
        self.assertEqual(vct["spec"]["resources"]["requests"]["storage"], "10Gi")

    def test_configuration_and_checkpoints(self):
        cm = one(self.docs, "ConfigMap")["data"]
        self.assertEqual(cm["CDCFLOW_JOBMANAGER"], "rel-cdcflow-jobmanager:6123")
        self.assertEqual(cm["CDCFLOW_TM_SLOTS"], "2")
        self.assertEqual(cm["CDCFLOW_CHECKPOINT_DIR"], "/var/lib/cdcflow/checkpoints")
        self.assertNotIn("CDCFLOW_TM_METRICS_PORT", cm)  # 9249 is the task manager's default
        self.assertNotIn("CDCFLOW_HTTP_PORT", cm)        # 8086 is the job manager's default
        self.assertEqual((cm["CDCFLOW_BIND"], cm["CDCFLOW_REST_BIND"]), ("0.0.0.0", "0.0.0.0"))
        pvc = one(self.docs, "PersistentVolumeClaim")
        self.assertEqual(pvc["spec"]["accessModes"], ["ReadWriteMany"])
        self.assertEqual(pvc["metadata"]["annotations"]["helm.sh/resource-policy"], "keep")
        for owner in (one(self.docs, "Deployment"), one(self.docs, "StatefulSet")):
            vols = {v["name"]: v for v in owner["spec"]["template"]["spec"]["volumes"]}
            self.assertEqual(vols["checkpoints"]["persistentVolumeClaim"]["claimName"],
                             pvc["metadata"]["name"])
            c = container(owner)
            self.assertEqual(c["envFrom"], [{"configMapRef": {"name": "rel-cdcflow"}}])
            self.assertFalse(c["securityContext"]["allowPrivilegeEscalation"])
            pod = owner["spec"]["template"]["spec"]
            self.assertTrue(pod["securityContext"]["runAsNonRoot"])
            self.assertEqual(pod["securityContext"]["runAsUser"], 10001)

    def test_config_checksum_changes_with_config(self):
        changed = render("--set", "taskManager.slots=3")
        for kind in ("Deployment", "StatefulSet"):
            a = one(self.docs, kind)["spec"]["template"]["metadata"]["annotations"]
            b = one(changed, kind)["spec"]["template"]["metadata"]["annotations"]
            self.assertNotEqual(a["checksum/config"], b["checksum/config"], kind)


class FullValuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render(*VALUE_SETS["full"])

    def test_submission_job_is_a_plain_job(self):
        job = one(self.docs, "Job")
        self.assertNotIn("annotations", job["metadata"])
        c = container(job)
        self.assertEqual(c["image"], "registry.example.com/data/cdcflow:0.1.0-test")
        self.assertEqual(c["args"][:6], ["run", "order_enrichment", "--jobmanager",
                                         "flow-jobmanager:7123", "--parallelism", "6"])
        self.assertEqual(c["args"][6], "--")
        job_args = dict(a.split("=", 1) for a in c["args"][7:])
        # The user's value overrides one default; the rest stay.
        self.assertEqual(job_args["sink"], "kafka")
        self.assertEqual(job_args["orders_topic"], "pg.public.orders")
        self.assertEqual(job["spec"]["template"]["spec"]["restartPolicy"], "OnFailure")
        self.assertEqual(job["spec"]["template"]["spec"]["imagePullSecrets"],
                         [{"name": "regcred"}])

    def test_http_probes_and_metrics_port(self):
        sts = one(self.docs, "StatefulSet")
        c = container(sts)
        self.assertEqual(c["args"], ["taskmanager", "--memory=3g"])
        self.assertEqual(sts["spec"]["replicas"], 3)
        self.assertIn({"name": "http", "containerPort": 9250}, c["ports"])
        for probe in ("livenessProbe", "readinessProbe"):
            self.assertEqual(c[probe]["httpGet"], {"path": "/healthz", "port": "http"})
        cm = one(self.docs, "ConfigMap")["data"]
        self.assertEqual(cm["CDCFLOW_TM_METRICS_PORT"], "9250")
        self.assertEqual(cm["CDCFLOW_HTTP_PORT"], "9086")
        self.assertEqual(cm["CDCFLOW_CONNECT_URL"], "http://connect.data:8083")
        self.assertEqual(cm["CDCFLOW_TM_SLOTS"], "4")
        self.assertEqual(cm["CDCFLOW_EXTRA_SETTING"], "on")
        self.assertEqual(cm["CDCFLOW_LOG_LEVEL"], "debug")
        (vct,) = sts["spec"]["volumeClaimTemplates"]
        self.assertEqual(vct["spec"]["storageClassName"], "fast-ssd")

    def test_service_monitors(self):
        monitors = {m["metadata"]["name"]: m for m in by_kind(self.docs, "ServiceMonitor")}
        self.assertEqual(sorted(monitors), ["flow-jobmanager", "flow-taskmanager"])
        for name, m in monitors.items():
            self.assertEqual(m["apiVersion"], "monitoring.coreos.com/v1")
            self.assertEqual(m["metadata"]["labels"]["release"], "prometheus")
            (ep,) = m["spec"]["endpoints"]
            self.assertEqual((ep["port"], ep["path"], ep["interval"]), ("http", "/metrics", "30s"))
            # The selector must pick exactly one of the chart's services, which has the port.
            sel = m["spec"]["selector"]["matchLabels"]
            svcs = [s for s in by_kind(self.docs, "Service")
                    if sel.items() <= s["metadata"]["labels"].items()]
            self.assertEqual(len(svcs), 1, name)
            self.assertIn("http", [p["name"] for p in svcs[0]["spec"]["ports"]])
        svc = one(self.docs, "Service", "flow-jobmanager")
        self.assertEqual(svc["spec"]["type"], "LoadBalancer")
        self.assertEqual({p["name"]: p["port"] for p in svc["spec"]["ports"]},
                         {"rpc": 7123, "http": 9086})


class NfsValuesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.docs = render(*VALUE_SETS["nfs"])

    def test_checkpoints_on_user_volume(self):
        self.assertEqual(by_kind(self.docs, "PersistentVolumeClaim"), [])
        for kind in ("Deployment", "StatefulSet"):
            owner = one(self.docs, kind)
            vols = {v["name"]: v for v in owner["spec"]["template"]["spec"]["volumes"]}
            self.assertEqual(vols["checkpoints"]["nfs"],
                             {"server": "nfs.example.internal", "path": "/exports/cdcflow"})
            mounts = {m["name"]: m["mountPath"] for m in container(owner)["volumeMounts"]}
            self.assertEqual(mounts["checkpoints"], "/mnt/checkpoints")
        self.assertEqual(one(self.docs, "ConfigMap")["data"]["CDCFLOW_CHECKPOINT_DIR"],
                         "/mnt/checkpoints")

    def test_job_is_a_post_install_hook(self):
        job = one(self.docs, "Job")
        self.assertEqual(job["metadata"]["annotations"]["helm.sh/hook"], "post-install")
        self.assertEqual(job["metadata"]["name"], "rel-cdcflow-submit-order-enrichment")

    def test_both_components_are_scraped(self):
        monitors = by_kind(self.docs, "ServiceMonitor")
        self.assertEqual(sorted(m["metadata"]["name"] for m in monitors),
                         ["rel-cdcflow-jobmanager", "rel-cdcflow-taskmanager"])

    def test_existing_claim(self):
        docs = render("--set", "checkpoints.persistence.existingClaim=shared-ckpt")
        self.assertEqual(by_kind(docs, "PersistentVolumeClaim"), [])
        vols = one(docs, "StatefulSet")["spec"]["template"]["spec"]["volumes"]
        self.assertIn({"name": "checkpoints",
                       "persistentVolumeClaim": {"claimName": "shared-ckpt"}}, vols)


if __name__ == "__main__":
    unittest.main(verbosity=1)
