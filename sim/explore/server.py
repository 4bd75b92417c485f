"""Serving the explorer page: Solara's own Starlette app under uvicorn, in this process.

``solara run`` does the same from its command line; running it here lets ``hukou-sim explore``
bind the port itself (a clear one-line error when it is taken, ``--port 0`` for a free one),
print the address once the server is ready, and stop cleanly on Ctrl-C. Solara's usage
telemetry is switched off (a planner's page should call no one), and its scripts come from the
``solara-assets`` package, so the page works without internet access.

This module imports Solara only inside `serve`: Solara reads its settings from the
environment when first imported.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from dataclasses import asdict, dataclass

CONFIG_ENV = "HUKOU_SIM_EXPLORE"   # the page's settings, JSON, for the app module
APP = "sim.explore.app:Page"


@dataclass(frozen=True)
class ExploreConfig:
    """What the page starts with: the scenario, language, scale, seed, where saved scenario
    files go, and the folders whose scenario files the picker lists."""

    scenario: str
    lang: str = "en"
    scale: float = 0.01
    seed: int | None = None          # None: the scenario's
    save_dir: str = "results/explore"

    def to_env(self) -> str:
        """The settings as the JSON text of `CONFIG_ENV`."""
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> ExploreConfig:
        """The settings `serve` left in the environment (defaults when run otherwise, e.g.
        by ``solara run sim.explore.app``)."""
        text = os.environ.get(CONFIG_ENV)
        return cls(**json.loads(text)) if text else cls(scenario="scenarios/reform_2015.toml")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; ``OSError`` when the address is taken or not this machine's."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, reuse_port=False)


def url_of(sock: socket.socket) -> str:
    """The page's address for a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def serve(config: ExploreConfig, sock: socket.socket, announce: str) -> None:
    """Serve the page on a bound socket until Ctrl-C (``KeyboardInterrupt``), printing
    ``announce`` once the server accepts connections."""
    os.environ[CONFIG_ENV] = config.to_env()
    os.environ["SOLARA_APP"] = APP
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")
    import solara.server.settings as settings  # noqa: I001  (after the environment is set)
    import uvicorn

    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    settings.theme.show_banner = False
    settings.assets.extra_locations = [*settings.assets.extra_locations, "pylopdf_fonts_zh_cn"]
    host, port = sock.getsockname()[:2]
    os.environ["SERVER_NAME"], os.environ["SERVER_PORT"] = str(host), str(port)

    class _Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            print(announce, flush=True)

    from solara.server.starlette import app

    # uvicorn shuts down gracefully on Ctrl-C, then raises it again: KeyboardInterrupt
    _Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])
