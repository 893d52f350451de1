"""The operators' published CRD schemas as JSON Schema files, for ``test_manifests.py``.

The files under ``deploy/k8s/schemas/`` are made by this module from the operators' own
CRD manifests (their repositories and releases are listed in ``deploy/k8s/schemas/SOURCES.md``,
their licences beside them), so they can be made again for a new operator release::

    python -m tests.deploy.crd_schemas path/to/rabbitmq.com_rabbitmqclusters.yaml ...

Two changes, neither loosening anything: the ``description`` texts are dropped (most of
the size; they validate nothing) and every object that lists its properties, and does not
say it keeps unknown fields, refuses any other field (``additionalProperties: false``), as
``kubectl apply --validate=strict`` does: a misspelt field fails here instead of being
silently pruned by the API server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "k8s" / "schemas"


def strict(node):
    if isinstance(node, dict):
        out = {key: strict(value) for key, value in node.items() if key != "description"}
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [strict(item) for item in node]
    return node


def schemas_of(crd: dict) -> dict[str, dict]:
    """``{"<group>/<version>/<Kind>": JSON schema}`` for every served version of a CRD."""
    spec = crd["spec"]
    return {
        f"{spec['group']}/{version['name']}/{spec['names']['kind']}": strict(
            version["schema"]["openAPIV3Schema"]
        )
        for version in spec["versions"]
        if version.get("served", True)
    }


def file_name(key: str) -> str:
    group, version, kind = key.split("/")
    return f"{kind.lower()}-{group}-{version}.json"


def main(paths: list[str]) -> int:
    SCHEMAS_DIR.mkdir(parents=True, exist_ok=True)
    for path in paths:
        for document in yaml.safe_load_all(Path(path).read_text(encoding="utf-8")):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            for key, schema in schemas_of(document).items():
                target = SCHEMAS_DIR / file_name(key)
                target.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True) + "\n")
                print(f"{key} -> {target.relative_to(SCHEMAS_DIR.parents[2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
