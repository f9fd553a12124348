"""Running the compiled spec on this machine: Prometheus, Alertmanager, Pushgateway, node-exporter and
tocsin's receiver as supervised child processes, state under ``.tocsin/``.

The CLI (``tocsin up | status | reload | down | alerts``) is the one obvious way in; these are its parts::

    settings = StackSettings(state_dir=Path(".tocsin").resolve())
    layout = StackLayout(settings.state_dir)
    install_bundle(layout, compiled.files, check)          # checked generation, then the symlink swap
    Supervisor(build_plan(settings, layout), layout).serve()  # until SIGINT/SIGTERM
"""

from tocsin.stack.components import Component, StackLayout, StackSettings, build_plan, find_binary
from tocsin.stack.config import install_bundle
from tocsin.stack.history import AlertHistory
from tocsin.stack.supervisor import Supervisor
from tocsin.stack.targets import explain_scrape_error

__all__ = [
    "AlertHistory",
    "Component",
    "StackLayout",
    "StackSettings",
    "Supervisor",
    "build_plan",
    "explain_scrape_error",
    "find_binary",
    "install_bundle",
]
