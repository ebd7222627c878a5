"""docker-compose.yml agrees with the runtime map, the entry points and .env.example.

No Docker engine exists on our machines, so the file is checked statically: what `docker
compose config` would reject (unknown dependency, missing variable) and what would start the
wrong process or port is caught here.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

from kernel import registry
from tests.deploy.conftest import PUBLIC, ROOT, RUNTIME_MAP

INFRA = {"postgres": ("postgres:16", 5432), "redis": ("redis:7", 6379), "kafka": ("apache/kafka:4.1.0", 9092)}
APP_IMAGE = "${CINEMAABYSS_IMAGE:-cinemaabyss:local}"


def _module_runnable(module: str) -> bool:
    """Whether `python -m module` would run (a package needs its __main__)."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        return False
    if spec.submodule_search_locations is not None:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    return True


def test_runtime_map_holds_every_registered_domain():
    """Each domain of the registry is a process on its declared port and health path."""
    for domain in registry.DOMAINS:
        assert RUNTIME_MAP[domain.name] == (domain.package, domain.port, domain.health_path)


def test_every_runtime_process_is_a_service(compose):
    assert set(RUNTIME_MAP) | set(INFRA) | {"migrate", "kafka-topics"} == set(compose["services"])


@pytest.mark.parametrize("name", sorted(INFRA))
def test_infrastructure_uses_the_official_image_and_a_healthcheck(compose, name):
    image, _port = INFRA[name]
    service = compose["services"][name]
    assert service["image"] == image
    assert service["healthcheck"]["test"]


def test_kafka_runs_kraft_combined_mode_without_zookeeper(compose):
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert not any("ZOOKEEPER" in key for key in env)
    assert "zookeeper" not in compose["services"]


def test_kafka_cluster_id_default_is_a_valid_kraft_uuid(compose):
    """`kafka-storage format` needs 16 bytes, base64url without padding (22 characters)."""
    import base64

    default = re.search(r":-([^}]+)}", compose["services"]["kafka"]["environment"]["CLUSTER_ID"]).group(1)
    assert len(base64.urlsafe_b64decode(default + "==")) == 16


def test_topics_service_creates_every_registered_topic(compose):
    script = "\n".join(compose["services"]["kafka-topics"]["command"])
    for topic in registry.TOPICS:
        assert topic in script
    assert compose["services"]["kafka-topics"]["depends_on"]["kafka"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", sorted(RUNTIME_MAP))
def test_app_service_runs_its_module_on_its_port(compose, name):
    module, port, health = RUNTIME_MAP[name]
    service = compose["services"][name]
    assert service["image"] == APP_IMAGE
    assert service["build"]["dockerfile"] == "deploy/Dockerfile"
    assert service["command"] == ["python", "-m", module]
    assert service["environment"]["HOST"] == "0.0.0.0"
    if port is None:
        assert service["healthcheck"] == {"disable": True}
    else:
        assert service["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}{health}"


@pytest.mark.parametrize("name", sorted(RUNTIME_MAP))
def test_only_the_gateway_and_the_console_are_published(compose, name):
    """Internal ports stay internal: clients reach the services only through the gateway."""
    service = compose["services"][name]
    if name in PUBLIC:
        port = RUNTIME_MAP[name][1]
        assert service["ports"] == [f"{port}:{port}"]
    else:
        assert "ports" not in service


@pytest.mark.parametrize("name", sorted(RUNTIME_MAP))
def test_app_service_module_exists_in_the_repo(name):
    assert _module_runnable(RUNTIME_MAP[name][0])


def _env_name(setting: str) -> str:
    from dataclasses import fields

    from kernel.settings import Settings

    return next(f.metadata["env"] for f in fields(Settings) if f.name == setting)


def test_upstream_urls_point_at_the_compose_services(compose):
    env = compose["services"]["proxy"]["environment"]
    assert env["MONOLITH_URL"] == f"http://monolith:{RUNTIME_MAP['monolith'][1]}"
    for domain in registry.DOMAINS:
        assert env[_env_name(domain.url_setting)] == f"http://{domain.name}:{domain.port}"
    assert env["KAFKA_BROKERS"] == "kafka:9092"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert "@postgres:5432/" in env["DATABASE_URL"]


def test_environment_names_are_settings(compose):
    """Every variable passed to an app container is one the settings module reads."""
    from kernel.settings import describe

    known = {env for env, _default, _doc in describe()}
    for name in RUNTIME_MAP:
        assert set(compose["services"][name]["environment"]) <= known, name


def test_migrate_is_one_shot_migrate_seed_ensure_admin(compose):
    migrate = compose["services"]["migrate"]
    assert migrate["command"][-1] == "cinemaabyss migrate && cinemaabyss seed && cinemaabyss ensure-admin"
    assert migrate["restart"] == "no"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_migrate_subcommands_are_registered():
    from cinemaabyss.cli import main

    assert {"migrate", "seed", "ensure-admin"} <= set(main.commands)


@pytest.mark.parametrize("name", sorted(RUNTIME_MAP))
def test_app_services_wait_for_migrate_topics_and_redis(compose, name):
    deps = compose["services"][name]["depends_on"]
    assert deps["migrate"] == {"condition": "service_completed_successfully"}
    assert deps["kafka-topics"] == {"condition": "service_completed_successfully"}
    assert deps["redis"] == {"condition": "service_healthy"}


def test_every_dependency_exists_with_a_matching_condition(compose):
    services = compose["services"]
    one_shot = {"migrate", "kafka-topics"}
    for name, service in services.items():
        for dep, spec in service.get("depends_on", {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            expected = "service_completed_successfully" if dep in one_shot else "service_healthy"
            assert spec["condition"] == expected, (name, dep)
            if expected == "service_healthy":
                assert services[dep].get("healthcheck", {}).get("test"), f"{dep} has no healthcheck"


def test_proxy_waits_for_every_upstream_and_console_for_the_proxy(compose):
    proxy = compose["services"]["proxy"]["depends_on"]
    assert {"monolith", *(d.name for d in registry.DOMAINS)} <= set(proxy)
    assert "proxy" in compose["services"]["console"]["depends_on"]


def test_jwt_keys_are_shared_and_read_only_for_the_proxy(compose):
    services = compose["services"]
    assert "jwt-keys:/var/lib/cinemaabyss/keys" in services["users"]["volumes"]
    assert "jwt-keys:/var/lib/cinemaabyss/keys:ro" in services["proxy"]["volumes"]
    assert services["users"]["environment"]["JWT_PUBLIC_KEY_PATH"].startswith("/var/lib/cinemaabyss/keys/")


def _referenced_variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def test_env_example_documents_every_variable_the_compose_file_uses():
    referenced = _referenced_variables((ROOT / "docker-compose.yml").read_text())
    assert referenced, "no ${VARIABLES} found: the regex or the file changed"
    assert referenced <= set(_env_example())


def test_secrets_are_required_and_placeholders_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    example = _env_example()
    for secret in ("POSTGRES_PASSWORD", "SECRET_KEY", "CONSOLE_ADMIN_PASSWORD"):
        assert "${" + secret + ":?" in text, f"{secret} must be required, not defaulted"
        assert example[secret].startswith("change-me"), secret


def test_env_example_is_not_ignored_but_env_is():
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored
    assert ".env.example" not in ignored
