"""Deployment output: docker-compose.yml checked by a strict Compose-spec parser and against the bundle
it mounts; Kubernetes manifests checked against the prometheus-operator CRD fields they must carry
(no kubectl or kubeconform here), rule groups identical to the rule files, no secret ever inline."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from compose_spec import PyCompose
from ruamel.yaml import YAML
from tests.conftest import free_ports, wait_for

from tocsin.compile import compile_spec, deploy
from tocsin.spec import Spec, load_spec

_YAML = YAML(typ="safe")
_RFC1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LISTEN = re.compile(r"listen-address=([^:]*):(\d+)$")


def _load(text: str) -> Any:
    return _YAML.load(text)


@pytest.fixture
def files(shop: Spec, env: dict[str, str]) -> dict[str, str]:
    return compile_spec(shop, env=env).files


def _compose(files: dict[str, str]) -> dict[str, Any]:
    return _load(files["deploy/docker-compose.yml"])


def _spec_files(node: Any, key: str = "") -> Iterator[str]:
    """Every path the spec names in a ``*_file`` field or a ``file_sd`` list, found by walking it."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _spec_files(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _spec_files(item, key)
    elif isinstance(node, str) and (key.endswith("_file") or key == "file_sd"):
        yield node


def _spec_paths(spec: Spec) -> set[str]:
    return set(_spec_files(spec.model_dump(by_alias=True, exclude={"logs"})))


# --- docker-compose ------------------------------------------------------------------------------


@pytest.mark.parametrize("ha", [False, True], ids=["single", "ha"])
def test_compose_passes_the_strict_compose_spec_parser(shop: Spec, env: dict[str, str], ha: bool) -> None:
    text = compile_spec(shop, ha=ha, env=env).files["deploy/docker-compose.yml"]
    compose = PyCompose.from_yaml(text)
    compose.validate()
    expected = ["prometheus-0", "prometheus-1"] if ha else ["prometheus"]
    expected += ["alertmanager-0", "alertmanager-1"] if ha else ["alertmanager"]
    assert compose.service_names() == [*expected, "pushgateway", "node-exporter", "grafana", "loki"]


def test_the_parser_rejects_what_docker_would(files: dict[str, str]) -> None:
    text = files["deploy/docker-compose.yml"].replace("read_only: true", "readonly: true", 1)
    with pytest.raises(ValueError, match="readonly"):
        PyCompose.from_yaml(text)


def test_images_are_pinned(files: dict[str, str]) -> None:
    images = {name: s["image"] for name, s in _compose(files)["services"].items()}
    assert images["prometheus"] == "prom/prometheus:v2.42.0"
    assert images["alertmanager"] == "prom/alertmanager:v0.25.0"
    assert images["pushgateway"] == "prom/pushgateway:v1.5.1"
    assert images["node-exporter"] == "prom/node-exporter:v1.5.0"
    for image in images.values():
        assert re.fullmatch(r"[a-z/-]+:v?\d+\.\d+\.\d+", image), image


def test_every_relative_mount_is_in_the_bundle(files: dict[str, str]) -> None:
    services = _compose(files)["services"]
    mounted: dict[str, str] = {}
    for service in services.values():
        for volume in service.get("volumes", []):
            if volume["type"] == "bind" and volume["source"].startswith("../"):
                directory = volume["source"].removeprefix("../")
                assert any(path.startswith(f"{directory}/") for path in files), directory
                assert volume["read_only"] is True
                mounted[volume["target"]] = directory
    for name in ("prometheus", "alertmanager"):
        config = next(arg for arg in services[name]["command"] if arg.startswith("--config.file="))
        target, _, relative = config.removeprefix("--config.file=").rpartition("/")
        assert f"{mounted[target]}/{relative}" in files
    assert mounted["/etc/grafana/dashboards/tocsin"] == "grafana/dashboards"
    assert any(p.startswith("grafana/dashboards/") and p.endswith(".json") for p in files)


def test_every_secret_file_is_mounted_where_the_configs_look(shop: Spec, files: dict[str, str]) -> None:
    services = _compose(files)["services"]
    absolute = {
        name: {
            v["source"]: v for v in s.get("volumes", []) if v["source"].startswith("/") and v["source"] != "/"
        }
        for name, s in services.items()
    }
    assert set(absolute["prometheus"]) | set(absolute["alertmanager"]) == _spec_paths(shop)
    for mounts in absolute.values():
        for source, volume in mounts.items():
            assert volume["target"] == source and volume["read_only"] is True
            assert volume["bind"] == {"create_host_path": False}  # missing file: compose fails, no empty dir
    prometheus_yml = files["prometheus/prometheus.yml"]
    alertmanager_yml = files["alertmanager/alertmanager.yml"]
    for source in absolute["prometheus"]:
        assert source in prometheus_yml and source not in alertmanager_yml
    for source in absolute["alertmanager"]:
        assert source in alertmanager_yml


def _listeners(services: dict[str, Any]) -> list[tuple[str, str, int]]:
    found = []
    for name, service in services.items():
        for arg in service.get("command", []):
            match = _LISTEN.search(arg)
            if match:
                found.append((name, match[1], int(match[2])))
        port_flag = [a for a in service.get("command", []) if "listen-port=" in a]
        for arg in port_flag:
            found.append((name, "?", int(arg.rpartition("=")[2])))
        environment = service.get("environment", {})
        if "GF_SERVER_HTTP_ADDR" in environment:
            found.append((name, environment["GF_SERVER_HTTP_ADDR"], int(environment["GF_SERVER_HTTP_PORT"])))
    return found


@pytest.mark.parametrize("ha", [False, True], ids=["single", "ha"])
def test_everything_listens_on_loopback_only(shop: Spec, env: dict[str, str], ha: bool) -> None:
    services = _compose(compile_spec(shop, ha=ha, env=env).files)["services"]
    for name, service in services.items():
        assert service["network_mode"] == "host", name
        assert "ports" not in service, name
    listeners = _listeners(services)
    assert {name for name, _, _ in listeners} == set(services)
    for name, host, _ in listeners:
        assert host in ("127.0.0.1", "?"), name
    for name in services:
        hosts = [a for a in services[name].get("command", []) if "listen-address=" in a and a[-1] != "="]
        assert all(re.search(r"=127\.0\.0\.1(:\d+)?$", a) for a in hosts), name
    stack = shop.stack
    ports = [port for _, _, port in listeners]
    assert stack.prometheus.port in ports and stack.alertmanager.port in ports
    if ha:
        assert stack.ha.prometheus.port in ports and stack.ha.alertmanager.port in ports
    reserved = {
        stack.receiver.port,
        stack.receiver.smtp_port,
        stack.console.port,
        stack.alertmanager.cluster_port,
    }
    assert len(ports) == len(set(ports)), "two components on one port"
    assert not reserved & {p for n, _, p in listeners if n == "loki"}


def test_alertmanager_clusters_only_in_ha(shop: Spec, env: dict[str, str]) -> None:
    single = _compose(compile_spec(shop, env=env).files)["services"]["alertmanager"]["command"]
    assert "--cluster.listen-address=" in single
    pair = _compose(compile_spec(shop, ha=True, env=env).files)["services"]
    peers = [[a for a in pair[f"alertmanager-{i}"]["command"] if a.startswith("--cluster.")] for i in (0, 1)]
    assert peers == [
        ["--cluster.listen-address=127.0.0.1:9094", "--cluster.peer=127.0.0.1:9194"],
        ["--cluster.listen-address=127.0.0.1:9194", "--cluster.peer=127.0.0.1:9094"],
    ]


def test_grafana_has_no_default_password(files: dict[str, str]) -> None:
    environment = _compose(files)["services"]["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_named_volumes_are_declared(files: dict[str, str]) -> None:
    compose = _compose(files)
    used = {
        v["source"]
        for s in compose["services"].values()
        for v in s.get("volumes", [])
        if v["type"] == "volume"
    }
    assert (
        used
        == set(compose["volumes"])
        == {"prometheus-data", "alertmanager-data", "grafana-data", "loki-data"}
    )


# --- Kubernetes ----------------------------------------------------------------------------------


def _manifests(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        path.removeprefix("deploy/kubernetes/"): _load(text)
        for path, text in files.items()
        if path.startswith("deploy/kubernetes/") and path.endswith(".yaml")
    }


def test_manifests_have_the_right_kinds_and_metadata(files: dict[str, str]) -> None:
    manifests = _manifests(files)
    assert {name: (m["apiVersion"], m["kind"]) for name, m in manifests.items()} == {
        "prometheusrule.yaml": ("monitoring.coreos.com/v1", "PrometheusRule"),
        "servicemonitor-web.yaml": ("monitoring.coreos.com/v1", "ServiceMonitor"),
        "servicemonitor-worker.yaml": ("monitoring.coreos.com/v1", "ServiceMonitor"),
        "alertmanagerconfig.yaml": ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
        "dashboard-shop.yaml": ("v1", "ConfigMap"),
    }
    for manifest in manifests.values():
        assert _RFC1123.match(manifest["metadata"]["name"]), manifest["metadata"]
        assert manifest["metadata"]["labels"]["app.kubernetes.io/part-of"] == "shop"
        assert isinstance(manifest.get("spec", manifest.get("data")), dict)


def test_dashboards_ship_as_configmaps_for_the_grafana_sidecar(files: dict[str, str]) -> None:
    config_map = _manifests(files)["dashboard-shop.yaml"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert config_map["data"] == {"shop.json": files["grafana/dashboards/shop.json"]}
    assert "  shop.json: |\n    {\n" in files["deploy/kubernetes/dashboard-shop.yaml"]  # readable block


_OPERATOR_DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
_DURATION_KEYS = {"interval", "scrapeTimeout", "groupWait", "groupInterval", "repeatInterval", "for"}


def _durations(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _DURATION_KEYS:
                yield value
            else:
                yield from _durations(value)
    elif isinstance(node, list):
        for value in node:
            yield from _durations(value)


def test_durations_match_the_operator_pattern(files: dict[str, str]) -> None:
    durations = [d for m in _manifests(files).values() for d in _durations(m)]
    assert {"15s", "10s", "30s", "5m", "4h", "15m"} <= set(durations)
    assert [d for d in durations if not _OPERATOR_DURATION.match(d)] == []


def test_prometheus_rule_groups_are_the_rule_files(shop: Spec, files: dict[str, str]) -> None:
    rule_files = _load(files["prometheus/prometheus.yml"])["rule_files"]
    groups = [g for path in rule_files for g in _load(files[f"prometheus/{path}"])["groups"]]
    manifest = _manifests(files)["prometheusrule.yaml"]
    assert manifest["spec"]["groups"] == groups
    for group in groups:  # PrometheusRule CRD: group name required, each rule has expr and alert xor record
        assert group["name"] and group["rules"]
        for rule in group["rules"]:
            assert rule["expr"] and (("alert" in rule) != ("record" in rule))


def test_prometheus_rule_carries_included_files(write_spec: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    raw = "groups:\n  - name: kpi\n    rules:\n      - record: kpi:ratio\n        expr: sum(x) / sum(y)\n"
    (tmp_path / "rules" / "kpi.yml").write_text(raw, encoding="utf-8")
    spec = load_spec(write_spec("version: tocsin/v1\napp: kpi\nincludes: [rules/kpi.yml]\n"))
    files = compile_spec(spec).files
    assert _manifests(files)["prometheusrule.yaml"]["spec"]["groups"] == [_load(raw)["groups"][0]]


def test_service_monitors_follow_the_spec(write_spec: Callable[[str], Path], files: dict[str, str]) -> None:
    worker = _manifests(files)["servicemonitor-worker.yaml"]["spec"]
    assert worker["selector"] == {"matchLabels": {"app.kubernetes.io/name": "worker"}}
    assert worker["jobLabel"] == "app.kubernetes.io/name"  # job = service name, as TargetDown expects
    (endpoint,) = worker["endpoints"]
    assert (endpoint["port"], endpoint["path"], endpoint["interval"]) == ("metrics", "/metrics", "15s")
    assert endpoint["basicAuth"] == {
        "username": {"name": "shop-secrets", "key": "services-worker-basic-auth-username"},
        "password": {"name": "shop-secrets", "key": "services-worker-basic-auth-password"},
    }
    web = _manifests(files)["servicemonitor-web.yaml"]["spec"]["endpoints"][0]
    assert {(r["targetLabel"], r["replacement"]) for r in web["relabelings"]} == {
        ("service", "web"),
        ("team", "storefront"),
    }
    spec = load_spec(
        write_spec(
            "version: tocsin/v1\napp: api\nscrape: {interval: 30s, timeout: 20s}\nservices:\n"
            "  api: {targets: ['10.0.0.1:8080', '10.0.0.2:8080'], metrics_path: /internal/metrics,"
            " interval: 10s, timeout: 5s, honor_labels: true}\n"
        )
    )
    (api,) = deploy.service_monitor(spec, "api", spec.services["api"])["spec"]["endpoints"]
    assert (api["targetPort"], api["path"], api["interval"], api["scrapeTimeout"]) == (
        8080,
        "/internal/metrics",
        "10s",
        "5s",
    )
    assert api["honorLabels"] is True


def _am_route_pairs(route: dict[str, Any]) -> Iterator[tuple[str, list[str], bool]]:
    yield route["receiver"], list(route.get("matchers", [])), bool(route.get("continue"))
    for child in route.get("routes", []):
        yield from _am_route_pairs(child)


def _crd_route_pairs(route: dict[str, Any]) -> Iterator[tuple[str, list[str], bool]]:
    matchers = [f'{m["name"]}{m["matchType"]}"{m["value"]}"' for m in route.get("matchers", [])]
    yield route["receiver"], matchers, bool(route.get("continue"))
    for child in route.get("routes", []):
        yield from _crd_route_pairs(child)


def test_alertmanager_config_is_the_route_tree(files: dict[str, str]) -> None:
    alertmanager = _load(files["alertmanager/alertmanager.yml"])
    crd = _manifests(files)["alertmanagerconfig.yaml"]["spec"]
    assert list(_crd_route_pairs(crd["route"])) == list(_am_route_pairs(alertmanager["route"]))
    assert crd["route"]["groupBy"] == alertmanager["route"]["group_by"]
    p1 = crd["route"]["routes"][0]
    assert (p1["repeatInterval"], p1["matchers"]) == (
        "15m",
        [{"name": "priority", "value": "P1", "matchType": "="}],
    )
    assert [r["name"] for r in crd["receivers"]] == [r["name"] for r in alertmanager["receivers"]]
    assert len(crd["inhibitRules"]) == len(alertmanager["inhibit_rules"])
    assert crd["inhibitRules"][0]["equal"] == alertmanager["inhibit_rules"][0]["equal"]


def _walk_strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk_strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_strings(value)
    elif isinstance(node, str):
        yield node


def _secret_refs(node: Any) -> Iterator[dict[str, str]]:
    if isinstance(node, dict):
        if set(node) == {"name", "key"}:
            yield node
        for value in node.values():
            yield from _secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _secret_refs(value)


def test_no_secret_is_inline_and_every_ref_is_created(
    shop: Spec, files: dict[str, str], env: dict[str, str]
) -> None:
    manifests = _manifests(files)
    strings = [s for m in manifests.values() for s in _walk_strings(m)]
    assert env["SHOP_HOOK_URL"] in files["alertmanager/alertmanager.yml"]
    leaks = ("s3cret", env["SHOP_HOOK_URL"], *_spec_paths(shop))  # values, URLs from env, host paths
    assert not [s for s in strings if any(leak in s for leak in leaks)]
    receivers = {r["name"]: r for r in manifests["alertmanagerconfig.yaml"]["spec"]["receivers"]}
    assert receivers["hook"]["webhookConfigs"][0]["urlSecret"]["key"] == "receivers-hook-webhook-url"
    assert "url" not in receivers["hook"]["webhookConfigs"][0]
    assert receivers["chat"]["slackConfigs"][0]["apiURL"] == {
        "name": "shop-secrets",
        "key": "receivers-chat-slack-api-url",
    }
    refs = {ref["key"] for m in manifests.values() for ref in _secret_refs(m)}
    assert {ref["name"] for m in manifests.values() for ref in _secret_refs(m)} == {"shop-secrets"}
    script = files["deploy/kubernetes/create-secret.sh"]
    created = set(re.findall(r"--from-(?:file|literal)=([-._a-zA-Z0-9]+)=", script))
    assert refs == created
    assert "s3cret" not in script


def test_create_secret_script_is_valid_shell(files: dict[str, str], tmp_path: Path) -> None:
    script = tmp_path / "create-secret.sh"
    script.write_text(files["deploy/kubernetes/create-secret.sh"], encoding="utf-8")
    done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_no_secrets_no_script(write_spec: Callable[[str], Path]) -> None:
    spec = load_spec(write_spec("version: tocsin/v1\napp: bare\nservices: {a: {targets: ['127.0.0.1:1']}}\n"))
    files = deploy.emit(spec)
    assert "deploy/kubernetes/create-secret.sh" not in files
    assert sorted(files) == [
        "deploy/docker-compose.yml",
        "deploy/kubernetes/alertmanagerconfig.yaml",
        "deploy/kubernetes/prometheusrule.yaml",
        "deploy/kubernetes/servicemonitor-a.yaml",
    ]


def test_output_is_deterministic(shop: Spec) -> None:
    assert deploy.emit(shop) == deploy.emit(shop)
    assert deploy.emit(shop, ha=True) == deploy.emit(shop, ha=True)


# --- the compose command lines, run by the Debian binaries of the pinned versions -----------------

_BINARIES = {
    "prometheus": "prometheus",
    "alertmanager": "prometheus-alertmanager",
    "pushgateway": "prometheus-pushgateway",
    "node-exporter": "prometheus-node-exporter",
}


def _host_args(service: dict[str, Any], deploy_dir: Path, data: Path) -> list[str]:
    """The service's command with container paths replaced by what compose would mount there."""
    mounts: dict[str, str] = {}
    for volume in service.get("volumes", []):
        if volume["type"] == "volume":
            (data / volume["source"]).mkdir(parents=True, exist_ok=True)
            mounts[volume["target"]] = str(data / volume["source"])
        elif volume["target"] == "/host":
            mounts["/host"] = "/"
        else:
            mounts[volume["target"]] = str((deploy_dir / volume["source"]).resolve())
    args = []
    for arg in service.get("command", []):
        flag, equals, value = arg.partition("=")
        for target in sorted(mounts, key=len, reverse=True):
            if value == target or value.startswith(f"{target}/"):
                value = mounts[target] + value.removeprefix(target)
                break
        args.append(f"{flag}{equals}{value}")
    return args


def _answers(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=1).status_code == 200


def _peers(base: str, count: int) -> Callable[[], bool]:
    return lambda: len(httpx.get(f"{base}/api/v2/status", timeout=1).json()["cluster"]["peers"]) == count


def _stack_spec(write_spec: Callable[[str], Path], tmp_path: Path) -> Spec:
    (tmp_path / "secrets").mkdir(exist_ok=True)
    ports = free_ports(10)
    text = f"""\
version: tocsin/v1
app: deployed
stack:
  prometheus: {{port: {ports[0]}}}
  alertmanager: {{port: {ports[1]}, cluster_port: {ports[2]}}}
  pushgateway: {{port: {ports[3]}}}
  node_exporter: {{port: {ports[4]}}}
  receiver: {{port: {ports[5]}, smtp_port: {ports[6]}}}
  ha: {{prometheus: {{port: {ports[7]}}}, alertmanager: {{port: {ports[8]}, cluster_port: {ports[9]}}}}}
services:
  worker: {{targets: ["127.0.0.1:9"], basic_auth: {{username: prom, password_file: secrets/scrape_password}}}}
alerts:
  - {{name: QueueFull, expr: max(queue_size), warning: "> 10", critical: "> 20", for: 1m, service: worker}}
receivers:
  mail:
    email: {{to: a@example.org, from: b@example.org, smarthost: "127.0.0.1:{ports[6]}",
             auth_username: x, auth_password_file: secrets/smtp_password, require_tls: false}}
  chat: {{slack: {{api_url_file: secrets/slack_url}}}}
routes: {{P1: [chat], default: [mail]}}
"""
    return load_spec(write_spec(text))


@pytest.mark.integration
@pytest.mark.skipif(
    any(shutil.which(b) is None for b in _BINARIES.values()), reason="Debian binaries missing"
)
@pytest.mark.parametrize("ha", [False, True], ids=["single", "ha"])
def test_compose_commands_run_on_the_pinned_versions(
    write_spec: Callable[[str], Path], tmp_path: Path, ha: bool
) -> None:
    spec = _stack_spec(write_spec, tmp_path)
    out = tmp_path / "out"
    compile_spec(spec, ha=ha).write(out)
    services = _load((out / "deploy" / "docker-compose.yml").read_text(encoding="utf-8"))["services"]
    processes, started = [], set()
    try:
        for name, service in services.items():
            binary = _BINARIES.get(name.rsplit("-", 1)[0] if name[-1].isdigit() else name)
            if binary is None:
                continue  # Grafana and Loki: no binary on this machine (FACTS.md)
            args = _host_args(service, out / "deploy", tmp_path / "data" / name)
            started.add(name)
            with (tmp_path / f"{name}.log").open("wb") as log:  # the child keeps its own descriptor
                processes.append(subprocess.Popen([binary, *args], stdout=log, stderr=subprocess.STDOUT))
        assert len(processes) == (6 if ha else 4)
        for name in started:
            web = next(a for a in services[name]["command"] if a.startswith("--web.listen-address="))
            base = f"http://{web.partition('=')[2]}"
            if name.startswith("alertmanager-"):  # /-/ready waits ~10 s for gossip to settle
                wait_for(_peers(base, 2), timeout=30, what=f"{name} cluster")
            else:
                path = "/metrics" if name == "node-exporter" else "/-/ready"
                wait_for(_answers(f"{base}{path}"), what=f"{name} at {base}")
        rules = httpx.get(f"http://127.0.0.1:{spec.stack.prometheus.port}/api/v1/rules", timeout=5).json()
        loaded = [group["name"] for group in rules["data"]["groups"]]
        assert loaded == [g["name"] for g in deploy.prometheus_rule(spec)["spec"]["groups"]]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=3)
            except (
                subprocess.TimeoutExpired
            ):  # a clustered Alertmanager waits ~10 s to leave: not tested here
                process.kill()
                process.wait()
