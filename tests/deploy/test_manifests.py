"""The Kubernetes manifests of deploy/k8s/: valid for the API server and the operators, and
complete for the system (every service deployed, probed, autoscaled once, fenced off).

Core kinds are checked with ``kubernetes-validate`` (strict: an unknown field fails), the
operators' kinds against their published CRD schemas (deploy/k8s/schemas/, SOURCES.md
there), the YAML with yamllint (.yamllint). No cluster and no binary is needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from deploy.container import SERVICES
from shared.config import REPO_ROOT
from shared.messaging import SUBSCRIPTIONS, consumer_queue, dead_letter_queue

K8S = REPO_ROOT / "deploy" / "k8s"
SCHEMAS = K8S / "schemas"
# the oldest Kubernetes release the manifests are meant for (autoscaling/v2, policy/v1,
# ttlSecondsAfterFinished, kubernetes.io/metadata.name namespace labels are all older)
KUBERNETES_VERSION = "1.30"
# Secrets the operators generate: the broker's (RabbitMQ Cluster Operator) and each
# database's application user (CloudNativePG, <cluster>-app)
OPERATOR_SECRETS = {"combid-rabbitmq-default-user"} | {
    f"combid-{service}-db-app" for service in SERVICES if service != "gateway"
}
EVENT_CONSUMERS = tuple(SUBSCRIPTIONS)


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if SCHEMAS not in p.parents)


def documents(path: Path) -> list[dict]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def custom_schemas() -> dict[tuple[str, str], dict]:
    """(apiVersion, kind) -> JSON schema, from the file names made by crd_schemas.py."""
    schemas = {}
    for path in SCHEMAS.glob("*.json"):
        kind, rest = path.stem.split("-", 1)
        group, version = rest.rsplit("-", 1)
        schemas[(f"{group}/{version}", kind)] = json.loads(path.read_text())
    return schemas


CUSTOM = custom_schemas()


def custom_schema(doc: dict) -> dict | None:
    return CUSTOM.get((doc["apiVersion"], doc["kind"].lower()))


def validate(doc: dict) -> None:
    """Raise if ``doc`` is not a valid object of its kind."""
    schema = custom_schema(doc)
    if schema is not None:
        jsonschema.Draft202012Validator(schema).validate(doc)
    else:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def is_kustomization(path: Path) -> bool:
    return path.name == "kustomization.yaml"


# ---- every document valid ---------------------------------------------------------------


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_is_valid_for_its_kind(path):
    docs = documents(path)
    assert docs, f"{path} holds no document"
    if is_kustomization(path):
        return  # kustomize's own file, not sent to the API server
    for doc in docs:
        try:
            validate(doc)
        except (jsonschema.ValidationError, kubernetes_validate.ValidationError) as exc:
            pytest.fail(f"{path.name}: {doc['kind']} {doc['metadata'].get('name')}: {exc}")


def test_custom_kinds_in_use_are_checked_against_an_operator_schema():
    used = {
        (doc["apiVersion"], doc["kind"])
        for path in manifest_files()
        if not is_kustomization(path)
        for doc in documents(path)
        if not re.match(r"^(v1|[a-z]+/v\w+|[a-z.]+\.k8s\.io/v\w+)$", doc["apiVersion"])
    }
    assert {kind for _, kind in used} >= {
        "RabbitmqCluster",
        "Cluster",
        "ScaledObject",
        "TriggerAuthentication",
        "ScheduledBackup",
        "ObjectStore",
    }
    missing = [f"{api}/{kind}" for api, kind in used if (api, kind.lower()) not in CUSTOM]
    assert not missing, f"no operator schema for {missing}: add it (tests/deploy/crd_schemas.py)"


def test_the_validators_refuse_a_misspelt_field():
    """The checks above can fail: a typo in a core kind and in a custom kind is refused."""
    deployment = next(d for d in documents(K8S / "base" / "routing.yaml") if d["kind"] == "Deployment")
    deployment["spec"]["replica"] = deployment["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(deployment)
    broker = documents(K8S / "base" / "rabbitmq.yaml")[0]
    broker["spec"]["replica"] = broker["spec"].pop("replicas")
    with pytest.raises(jsonschema.ValidationError):
        validate(broker)
    scaled = next(d for d in documents(K8S / "autoscaling-keda" / "scaledobjects.yaml"))
    scaled["spec"]["minReplicaCount"] = "two"
    with pytest.raises(jsonschema.ValidationError):
        validate(scaled)


def test_yamllint_is_clean():
    config = YamlLintConfig(file=str(REPO_ROOT / ".yamllint"))
    problems = [
        f"{path.relative_to(REPO_ROOT)}:{problem.line}:{problem.column} {problem.message} ({problem.rule})"
        for path in manifest_files()
        for problem in linter.run(path.read_text(encoding="utf-8"), config, str(path))
    ]
    assert not problems, "\n".join(problems)


# ---- the kustomizations ---------------------------------------------------------------------


def build(directory: Path) -> list[dict]:
    """What ``kubectl apply -k directory`` sends, for what these manifests use of kustomize
    (``resources``: files and directories; ``images``)."""
    kustomization = documents(directory / "kustomization.yaml")[0]
    objects = []
    for entry in kustomization.get("resources", []):
        target = directory / entry
        assert target.exists(), f"{directory / 'kustomization.yaml'}: {entry} does not exist"
        objects += build(target) if target.is_dir() else documents(target)
    for image in kustomization.get("images", []):
        for obj in objects:
            for container in pod_containers(obj):
                if container["image"] == image["name"]:
                    container["image"] = f"{image['newName']}:{image['newTag']}"
    return objects


def pod_containers(obj: dict) -> list[dict]:
    spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


def test_every_file_is_in_its_kustomization():
    for kustomization in K8S.rglob("kustomization.yaml"):
        listed = set(documents(kustomization)[0].get("resources", []))
        here = {p.name for p in kustomization.parent.glob("*.yaml")} - {"kustomization.yaml"}
        assert here <= listed, f"{kustomization.parent.name}: not listed {sorted(here - listed)}"


def by_kind(objects: list[dict], kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


@pytest.fixture(scope="module")
def default_build() -> list[dict]:
    return build(K8S)


def test_one_deployment_per_service_from_the_one_image(default_build):
    deployments = by_kind(default_build, "Deployment")
    assert set(deployments) == {f"combid-{service}" for service in SERVICES}
    images = set()
    for name, deployment in deployments.items():
        (container,) = pod_containers(deployment)
        assert container["args"] == [name.removeprefix("combid-")]  # deploy/container.py's role
        images.add(container["image"])
    assert images == {"registry.example.it/combid/combid:0.1.0"}
    assert {obj["metadata"]["name"] for obj in by_kind(default_build, "Job").values()} == {
        "combid-migrate",
        "combid-load-reference",
    }


def test_every_pod_has_resources_probes_and_no_privileges(default_build):
    for obj in default_build:
        for container in pod_containers(obj):
            where = f"{obj['kind']} {obj['metadata']['name']}"
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"], where
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, where
            assert obj["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True, where
            if obj["kind"] == "Deployment":
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    assert probe in container, f"{where}: no {probe}"
                assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
                assert {"name": "metrics", "containerPort": 9100} in container["ports"], where


def test_every_secret_referenced_exists_or_is_made_by_an_operator(default_build):
    defined = set(by_kind(default_build, "Secret")) | OPERATOR_SECRETS
    referenced = set()
    for obj in default_build:
        for container in pod_containers(obj):
            referenced |= {s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s}
            referenced |= {
                e["valueFrom"]["secretKeyRef"]["name"] for e in container.get("env", []) if "valueFrom" in e
            }
    for auth in by_kind(default_build, "TriggerAuthentication").values():
        referenced |= {ref["name"] for ref in auth["spec"]["secretTargetRef"]}
    assert referenced and referenced <= defined, sorted(referenced - defined)
    clusters = by_kind(default_build, "Cluster")
    assert set(clusters) == {f"combid-{s}-db" for s in SUBSCRIPTIONS}  # one database cluster per service


@pytest.mark.parametrize("autoscaling", ["autoscaling-keda", "autoscaling-hpa"])
def test_each_deployment_has_exactly_one_autoscaler(autoscaling):
    objects = build(K8S / "base") + build(K8S / autoscaling)
    autoscalers = [
        *by_kind(objects, "HorizontalPodAutoscaler").values(),
        *by_kind(objects, "ScaledObject").values(),
    ]
    targets = [autoscaler["spec"]["scaleTargetRef"]["name"] for autoscaler in autoscalers]
    assert sorted(targets) == sorted(by_kind(objects, "Deployment"))


def test_the_event_consumers_scale_on_their_own_main_queues(default_build):
    scaled = by_kind(default_build, "ScaledObject")
    assert set(scaled) == {f"combid-{service}" for service in EVENT_CONSUMERS}
    for service in EVENT_CONSUMERS:
        (trigger,) = [t for t in scaled[f"combid-{service}"]["spec"]["triggers"] if t["type"] == "rabbitmq"]
        pattern = re.compile(trigger["metadata"]["queueName"])
        for other in EVENT_CONSUMERS:
            for event_type in SUBSCRIPTIONS[other]:
                main = bool(pattern.search(consumer_queue(other, event_type).name))
                assert main == (other == service), (service, other, event_type)
                assert not pattern.search(dead_letter_queue(other, event_type).name)


def test_only_the_gateway_is_open_to_the_outside(default_build):
    policies = by_kind(default_build, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    open_to_all = [
        policy["spec"]["podSelector"]
        for policy in policies.values()
        for rule in policy["spec"].get("ingress", [])
        if "from" not in rule
    ]
    assert open_to_all == [{"matchLabels": {"app.kubernetes.io/name": "combid-gateway"}}]
    services = by_kind(default_build, "Service")
    assert [s["spec"].get("type", "ClusterIP") for s in services.values()] == ["ClusterIP"]
    assert list(by_kind(default_build, "Ingress")) == ["combid-gateway"]


def test_the_broker_has_three_nodes_and_the_queues_are_quorum(default_build):
    from shared.messaging import QUORUM

    (broker,) = by_kind(default_build, "RabbitmqCluster").values()
    assert broker["spec"]["replicas"] == 3
    assert consumer_queue("routing", "request_submitted").queue_arguments == QUORUM
