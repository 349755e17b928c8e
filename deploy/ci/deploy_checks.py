#!/usr/bin/env python3
"""Checks of docker-compose.yml, .env.example and the Helm values that need more than a schema.

  deploy_checks.py compose OUT.json
      docker-compose.yml with every ${VAR} interpolated from .env.example (empty required values
      get a placeholder) is written to OUT.json, for validation against the compose-spec schema;
      fails when the file uses a variable .env.example does not list, when an image is not pinned
      to an exact version, or when a scheduler service lacks its health check on /readyz, restart
      policy or resource limits
  deploy_checks.py services
      every service of the workspace (services/*/package.json with a start script) is in
      docker-compose.yml, in the Prometheus scrape config and in the Helm values, on the port of
      its HTTP_PORT; prints the entries to add when one is missing
  deploy_checks.py manifests RENDERED.yaml KUBERNETES_VERSION MONITORING.json
      every manifest `helm template` rendered, against the Kubernetes schemas of that version
      (kubernetes-validate, strict: unknown fields fail); prometheus-operator resources are written
      to MONITORING.json for deploy/ci/validate-monitoring-resources.js; any other kind fails
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
PROMETHEUS = ROOT / "deploy/monitoring/prometheus/prometheus.yml"
HELM_VALUES = ROOT / "deploy/helm/openpenpal-scheduler/values.yaml"

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^}])*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
# An exact version tag: major.minor.patch (v3.5.0, 7.4.5-alpine); PostgreSQL numbers its releases
# major.minor (16.9 is a patch release of 16).
_PINNED = re.compile(r":v?\d+\.\d+\.\d+([-.][A-Za-z0-9.]+)?$")
_PINNED_TWO_PART = re.compile(r"^(docker\.io/)?(library/)?postgres:\d+\.\d+([-.][A-Za-z0-9.]+)?$")


def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition("=")
        values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str], errors: list[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        op, arg = match.group(2), match.group(3) or ""
        if name not in env:
            errors.append(f"docker-compose.yml uses ${{{name}}}, which .env.example does not list")
            return arg if op in (":-", "-") else "placeholder"
        value = env[name]
        if op in (":-",) and value == "":
            return arg
        if op in (":?", "?") and value == "":
            # A required secret left empty in the template: any value will do for the schema.
            return "example-secret-0123456789abcdef0123456789abcdef"
        return value

    return _VAR.sub(replace, text)


def scheduler_services(compose: dict) -> dict[str, dict]:
    return {
        name: svc
        for name, svc in compose.get("services", {}).items()
        if any("services/" in part and part.endswith("/src/main.ts") for part in svc.get("command", []))
    }


def cmd_compose(out: str) -> int:
    errors: list[str] = []
    env = env_example()
    text = interpolate(COMPOSE.read_text(encoding="utf-8"), env, errors)
    compose = yaml.safe_load(text)
    Path(out).write_text(json.dumps(compose), encoding="utf-8")
    for name, svc in compose.get("services", {}).items():
        image = svc.get("image", "")
        if not (_PINNED.search(image) or _PINNED_TWO_PART.search(image)):
            errors.append(f"service {name}: image {image!r} is not pinned to an exact version tag")
    services = scheduler_services(compose)
    if not services:
        errors.append("docker-compose.yml runs no scheduler service")
    for name, svc in services.items():
        test = " ".join(svc.get("healthcheck", {}).get("test", []))
        if "/readyz" not in test:
            errors.append(f"service {name}: no health check on /readyz")
        if svc.get("restart") not in ("unless-stopped", "always", "on-failure"):
            errors.append(f"service {name}: restart policy {svc.get('restart')!r}")
        limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
        if not limits.get("cpus") or not limits.get("memory"):
            errors.append(f"service {name}: no cpu and memory limits")
        if "HTTP_PORT" not in svc.get("environment", {}):
            errors.append(f"service {name}: no HTTP_PORT")
        if "topics" not in svc.get("depends_on", {}):
            errors.append(f"service {name}: does not wait for the topics job")
    profiles = {name: svc.get("profiles", []) for name, svc in compose["services"].items()}
    for name in ("prometheus", "grafana"):
        if "monitoring" not in profiles.get(name, []):
            errors.append(f"service {name}: missing, or not in the monitoring profile")
    unused = sorted(set(env) - set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE.read_text(encoding="utf-8"))))
    if unused:
        errors.append(f".env.example lists variables docker-compose.yml does not use: {', '.join(unused)}")
    for error in errors:
        print(f"compose: {error}", file=sys.stderr)
    print(f"compose: {len(compose['services'])} services, {len(services)} scheduler services, {len(env)} variables in .env.example")
    return 1 if errors else 0


def workspace_services() -> list[str]:
    names = []
    for package in sorted(ROOT.glob("services/*/package.json")):
        scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts", {})
        if "start" in scripts:
            names.append(package.parent.name)
    return names


def cmd_services() -> int:
    errors: list[str] = []
    compose = yaml.safe_load(interpolate(COMPOSE.read_text(encoding="utf-8"), env_example(), []))
    in_compose = {
        name: int(svc["environment"]["HTTP_PORT"]) for name, svc in scheduler_services(compose).items()
    }
    scrape = yaml.safe_load(PROMETHEUS.read_text(encoding="utf-8"))
    in_prometheus: dict[str, int] = {}
    for job in scrape["scrape_configs"]:
        if job["job_name"] != "scheduler":
            continue
        for sd in job.get("dns_sd_configs", []):
            for dns_name in sd["names"]:
                in_prometheus[dns_name] = int(sd["port"])
    in_helm: dict[str, int] | None = None
    if HELM_VALUES.exists():
        values = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))
        in_helm = {name: int(svc["port"]) for name, svc in values.get("services", {}).items()}
    for name in workspace_services():
        port = in_compose.get(name)
        if port is None:
            errors.append(
                f"{name}: not in docker-compose.yml; add\n"
                f"  {name}:\n    <<: *scheduler-service\n    command: ['node', 'services/{name}/src/main.ts']\n"
                f"    environment:\n      <<: [*common-env, ...]\n      HTTP_PORT: '<port>'"
            )
            continue
        if in_prometheus.get(name) != port:
            errors.append(
                f"{name}: deploy/monitoring/prometheus/prometheus.yml needs under dns_sd_configs\n"
                f"      - {{ names: [{name}], type: A, port: {port} }}"
            )
        if in_helm is not None and in_helm.get(name) != port:
            errors.append(f"{name}: deploy/helm/openpenpal-scheduler/values.yaml needs services.{name} with port: {port}")
    for name in sorted(set(in_compose) - set(workspace_services())):
        errors.append(f"{name}: in docker-compose.yml but services/{name}/package.json has no start script")
    for error in errors:
        print(f"services: {error}", file=sys.stderr)
    print(f"services: {', '.join(workspace_services())} in compose, Prometheus" + (" and Helm" if in_helm is not None else ""))
    return 1 if errors else 0


def cmd_manifests(rendered: str, version: str, monitoring_out: str) -> int:
    import kubernetes_validate

    failures = 0
    monitoring: list[dict] = []
    count = 0
    for doc in yaml.safe_load_all(Path(rendered).read_text(encoding="utf-8")):
        if not doc:
            continue
        count += 1
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        if str(doc.get("apiVersion", "")).startswith("monitoring.coreos.com/"):
            monitoring.append(doc)
            continue
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            print(f"{rendered}: {name}: {error.message} at {'.'.join(str(p) for p in error.path)}", file=sys.stderr)
            failures += 1
        except kubernetes_validate.SchemaNotFoundError:
            print(f"{rendered}: {name}: no Kubernetes {version} schema for {doc.get('apiVersion')} {doc.get('kind')}", file=sys.stderr)
            failures += 1
    Path(monitoring_out).write_text(json.dumps(monitoring), encoding="utf-8")
    print(f"{rendered}: {count - len(monitoring)} manifests valid against Kubernetes {version}" if not failures else f"{rendered}: {failures} invalid")
    return 1 if failures else 0


def main(argv: list[str]) -> int:
    if len(argv) == 5 and argv[1] == "manifests":
        return cmd_manifests(argv[2], argv[3], argv[4])
    if len(argv) == 3 and argv[1] == "compose":
        return cmd_compose(argv[2])
    if len(argv) == 2 and argv[1] == "services":
        return cmd_services()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
