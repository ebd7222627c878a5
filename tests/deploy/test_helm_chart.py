"""The Helm chart renders and every object validates against the Kubernetes schemas.

No cluster exists on our machines: `helm template` renders the chart and `kubeconform -strict`
(schemas generated offline from the Kubernetes OpenAPI document, see
scripts/install-go-tools.sh) rejects unknown fields and wrong types; the tests below check what
a schema cannot (ports, probes, hooks, secrets, security context).
"""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import KUBERNETES_VERSION, RUNTIME_MAP, helm_template


def _by_kind(manifests: list[dict], kind: str) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def _component(obj: dict) -> str:
    return obj["metadata"]["labels"]["app.kubernetes.io/component"]


def test_kubeconform_strict_accepts_every_object(go_tools: Path, rendered: str):
    result = subprocess.run(
        [
            str(go_tools / "kubeconform"), "-strict", "-summary",
            "-kubernetes-version", KUBERNETES_VERSION, "-schema-location", str(go_tools / "schemas"),
        ],
        input=rendered,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Invalid: 0, Errors: 0, Skipped: 0" in result.stdout


def test_kubeconform_strict_rejects_an_unknown_field(go_tools: Path, rendered: str):
    """The offline schemas really are strict (a silent pass-everything setup would fail here)."""
    marker = "automountServiceAccountToken: false"
    broken = rendered.replace(marker, f"{marker}\n      bogus: 1", 1)
    result = subprocess.run(
        [
            str(go_tools / "kubeconform"), "-strict",
            "-kubernetes-version", KUBERNETES_VERSION, "-schema-location", str(go_tools / "schemas"),
        ],
        input=broken,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "bogus" in result.stdout


def test_a_deployment_per_process_and_a_service_per_http_process(manifests):
    deployments = {_component(d): d for d in _by_kind(manifests, "Deployment").values()}
    services = {_component(s): s for s in _by_kind(manifests, "Service").values()}
    assert set(deployments) == set(RUNTIME_MAP)
    assert set(services) == {name for name, (_m, port, _h) in RUNTIME_MAP.items() if port}
    for name, service in services.items():
        assert service["spec"]["ports"][0]["port"] == RUNTIME_MAP[name][1]


@pytest.mark.parametrize("name", sorted(RUNTIME_MAP))
def test_process_command_port_and_probes(manifests, name):
    module, port, health = RUNTIME_MAP[name]
    deployment = next(d for d in _by_kind(manifests, "Deployment").values() if _component(d) == name)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", module]
    assert container["resources"]["requests"] and container["resources"]["limits"]
    if port is None:
        assert "ports" not in container and "readinessProbe" not in container
        return
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": health, "port": "http"}
    assert {"name": "PORT", "value": str(port)} in container["env"]


def test_pods_run_non_root_with_a_read_only_root_filesystem(manifests):
    pods = [d["spec"]["template"]["spec"] for d in manifests if d["kind"] in {"Deployment", "Job"}]
    assert pods
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        for container in pod["containers"]:
            ctx = container["securityContext"]
            assert ctx["allowPrivilegeEscalation"] is False
            assert ctx["readOnlyRootFilesystem"] is True
            assert ctx["capabilities"]["drop"] == ["ALL"]


def test_beat_is_a_single_replica_and_worker_exists(manifests):
    beat = next(d for d in _by_kind(manifests, "Deployment").values() if _component(d) == "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"]["type"] == "Recreate"


def test_beat_stays_single_even_when_replicas_are_raised(go_tools):
    result = helm_template(go_tools, "--set", "processes.beat.replicas=3")
    assert result.returncode == 0, result.stderr
    assert "replicas: 3" not in result.stdout


def test_migration_job_is_a_pre_install_pre_upgrade_hook_after_config(manifests):
    job = next(j for j in _by_kind(manifests, "Job").values() if _component(j) == "migrate")
    annotations = job["metadata"]["annotations"]
    assert annotations["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][-1] == "cinemaabyss migrate && cinemaabyss seed && cinemaabyss ensure-admin"
    for kind in ("ConfigMap", "Secret"):
        obj = next(iter(_by_kind(manifests, kind).values()))
        assert obj["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
        assert int(obj["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(annotations["helm.sh/hook-weight"])


def test_topics_job_creates_the_domain_topics_with_the_chosen_partitions_after_the_migration(go_tools, manifests):
    jobs = {_component(j): j for j in _by_kind(manifests, "Job").values()}
    topics = jobs["topics"]
    assert topics["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    assert int(topics["metadata"]["annotations"]["helm.sh/hook-weight"]) > \
        int(jobs["migrate"]["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert topics["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "cinemaabyss", "topics", "ensure", "--partitions=3", "--replication-factor=-1"]
    wide = helm_template(go_tools, "--set", "kafka.topics.partitions=24", "--set", "kafka.topics.replicationFactor=3")
    assert wide.returncode == 0, wide.stderr
    assert "--partitions=24" in wide.stdout and "--replication-factor=3" in wide.stdout
    off = helm_template(go_tools, "--set", "kafka.topics.create=false")
    assert off.returncode == 0 and "-topics" not in off.stdout


def test_proxy_has_an_hpa_and_no_fixed_replicas(manifests):
    hpa = next(iter(_by_kind(manifests, "HorizontalPodAutoscaler").values()))
    proxy = next(d for d in _by_kind(manifests, "Deployment").values() if _component(d) == "proxy")
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": proxy["metadata"]["name"]}
    assert hpa["spec"]["scaleTargetRef"] == target
    assert "replicas" not in proxy["spec"]


def test_ingress_routes_to_proxy_and_console(manifests):
    ingress = next(iter(_by_kind(manifests, "Ingress").values()))
    backends = {r["http"]["paths"][0]["backend"]["service"]["name"] for r in ingress["spec"]["rules"]}
    assert backends == {"t-cinemaabyss-proxy", "t-cinemaabyss-console"}


def test_configmap_points_at_external_services_and_in_cluster_upstreams(manifests):
    data = next(iter(_by_kind(manifests, "ConfigMap").values()))["data"]
    assert data["KAFKA_BROKERS"] == "kafka-0.kafka.db.svc:9092,kafka-1.kafka.db.svc:9092"
    assert data["MOVIES_SERVICE_URL"] == "http://t-cinemaabyss-movies:8081"
    assert data["HOST"] == "0.0.0.0"
    from kernel.settings import describe

    assert set(data) <= {env for env, _default, _doc in describe()}


def test_secret_builds_the_database_url_with_an_escaped_password(manifests):
    secret = next(iter(_by_kind(manifests, "Secret").values()))
    url = base64.b64decode(secret["data"]["DATABASE_URL"]).decode()
    assert url == "postgresql+psycopg://cinemaabyss:test+p%40ss%2Fword@postgresql.db.svc:5432/cinemaabyss"
    assert len(base64.b64decode(secret["data"]["SECRET_KEY"])) == 48


def test_only_the_signing_processes_mount_the_private_key(manifests):
    for deployment in _by_kind(manifests, "Deployment").values():
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        items = {i["key"] for i in volumes["jwt"]["secret"]["items"]} if "jwt" in volumes else set()
        if _component(deployment) in {"users", "monolith"}:
            assert items == {"jwt_ed25519.pem", "jwt_ed25519.pub"}
        elif _component(deployment) == "proxy":
            assert items == {"jwt_ed25519.pub"}
        else:
            assert "jwt_ed25519.pem" not in items


@pytest.mark.parametrize(
    "missing", ["secrets.databasePassword", "secrets.jwtPrivateKey", "postgresql.host", "kafka.brokers", "redis.url"]
)
def test_required_values_fail_the_render(go_tools, missing):
    result = helm_template(go_tools, "--set", f"{missing}=")
    assert result.returncode != 0
    assert f"{missing} is required" in result.stderr


def test_existing_secret_replaces_the_generated_one(go_tools):
    result = helm_template(
        go_tools, "--set", "secrets.existingSecret=mine", "--set", "secrets.databasePassword=",
        "--set", "secrets.jwtPrivateKey=", "--set", "secrets.jwtPublicKey=",
    )
    assert result.returncode == 0, result.stderr
    assert "kind: Secret" not in result.stdout
    assert "name: mine" in result.stdout


def _values() -> dict:
    import yaml

    from tests.deploy.conftest import CHART

    return yaml.safe_load((CHART / "values.yaml").read_text())


def test_values_declare_every_registered_domain():
    """The chart's processes agree with the domain registry (module, port, health, URL variable)."""
    from dataclasses import fields

    from kernel import registry
    from kernel.settings import Settings

    env_of = {f.name: f.metadata["env"] for f in fields(Settings)}
    processes = _values()["processes"]
    assert set(processes) == set(RUNTIME_MAP)
    for domain in registry.DOMAINS:
        p = processes[domain.name]
        assert (p["module"], p["port"], p["healthPath"]) == (domain.package, domain.port, domain.health_path)
        assert p["urlEnv"] == env_of[domain.url_setting]


def test_configmap_gives_every_process_each_upstream_url(manifests):
    from kernel import registry
    data = next(iter(_by_kind(manifests, "ConfigMap").values()))["data"]
    assert data["MONOLITH_URL"] == "http://t-cinemaabyss-monolith:8080"
    for domain in registry.DOMAINS:
        env = _values()["processes"][domain.name]["urlEnv"]
        assert data[env] == f"http://t-cinemaabyss-{domain.name}:{domain.port}"


def test_network_policies_admit_only_gateway_console_and_worker_to_internal_processes(manifests):
    """Internal ports stay internal: a policy per internal HTTP process, none for the public ones."""
    from tests.deploy.conftest import PUBLIC

    policies = {_component(p): p for p in _by_kind(manifests, "NetworkPolicy").values()}
    internal = {name for name, (_m, port, _h) in RUNTIME_MAP.items() if port and name not in PUBLIC}
    assert set(policies) == internal
    for name, policy in policies.items():
        spec = policy["spec"]
        assert spec["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == name
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        (peer,) = rule["from"]
        (expression,) = peer["podSelector"]["matchExpressions"]
        # the payment sandbox stands in for an external provider: only the payments side calls it
        clients = ["payments", "monolith"] if name == "payment-sandbox" else ["proxy", "console", "worker"]
        assert expression == {"key": "app.kubernetes.io/component", "operator": "In", "values": clients}
        assert peer["podSelector"]["matchLabels"]["app.kubernetes.io/instance"] == "t"
        assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]


def test_network_policies_can_be_switched_off(go_tools):
    result = helm_template(go_tools, "--set", "networkPolicy.enabled=false")
    assert result.returncode == 0, result.stderr
    assert "kind: NetworkPolicy" not in result.stdout
