"""The `tichwatch` command: run the service, simulate gateways, replay recordings, check a config, evaluate
detectors."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tichwatch.app import cli_accounts
from tichwatch.config.loader import ConfigError, load_settings, secret
from tichwatch.config.schema import HttpSettings, Settings
from tichwatch.residents.impact_areas import AreasError, load_areas
from tichwatch.tools.broker import MosquittoProcess, is_listening

log = logging.getLogger("tichwatch")

GRACEFUL_STOP_S = 5
"""How long a stop waits for open HTTP connections (live streams) before closing them."""


def _load(path: Path | None) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"config error: {issue}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate deployment files; print each error with its path in the file. Several files: the communes one
    process would run together, checked for what they may not share too."""
    from tichwatch.config.communes import sharing_problems
    from tichwatch.store.database import URL_ENV

    communes: list[Settings] = []
    errors = 0
    for file in args.file:
        try:
            settings = load_settings(file)
        except ConfigError as exc:
            for issue in exc.issues:
                print(issue)
            errors += len(exc.issues)
            continue
        try:
            load_areas(settings.impact)
        except AreasError as exc:
            print(f"{file}: impact.areas_geojson: {exc}")
            errors += 1
            continue
        communes.append(settings)
        print(f"{file}: ok ({len(settings.stations)} stations, {len(settings.cameras)} cameras)")
    if len(args.file) > 1 and not errors:
        for problem in sharing_problems(communes, secret(URL_ENV)):
            print(f"several communes: {problem}")
            errors += 1
    if errors:
        print(f"{errors} error(s)")
        return 1
    return 0


def _ensure_broker(settings: Settings) -> MosquittoProcess | None:
    """Start a local Mosquitto for the demo when the configured local broker is not running."""
    host, port = settings.mqtt.host, settings.mqtt.port
    if is_listening(host, port) or host not in ("127.0.0.1", "localhost"):
        return None
    log.info("no MQTT broker on %s:%s: starting a local Mosquitto", host, port)
    return MosquittoProcess(Path(settings.store.data_dir) / "mosquitto", port=port).start()


def _start_simulator(settings: Settings, speed: float, stop: threading.Event) -> threading.Thread:
    from tichwatch.tools.camera_sim import SyntheticCameras
    from tichwatch.tools.publisher import GatewayPublisher
    from tichwatch.tools.simulator import Simulator

    publisher = GatewayPublisher(settings.mqtt, "tichwatch-simulator").connect()
    cameras = SyntheticCameras(start_s=time.time(), order=[c.id for c in settings.cameras])
    sim = Simulator(settings, publisher, speed=speed, frame_source=cameras)
    thread = threading.Thread(target=sim.run, args=(stop,), name="simulator", daemon=True)
    thread.start()
    return thread


def cmd_run(args: argparse.Namespace) -> int:
    """Run the service (and, with --simulate, simulated gateways and cameras) until SIGTERM/SIGINT."""
    from tichwatch.api.app import create_app
    from tichwatch.app.service import Service

    configs: list[Path | None] = args.config or [None]
    if len(configs) > 1:
        if args.simulate:
            log.error("--simulate runs one commune: give one --config")
            return 2
        return _run_communes(configs)
    settings = _load(configs[0])
    if args.simulate and "learning" not in settings.model_fields_set:  # the demo's cameras alert from the start
        settings = settings.model_copy(update={"learning": settings.learning.model_copy(update={"period_frames": 0})})
    service = Service(settings)
    cli_accounts.bootstrap_admin(service.accounts, service.clock())
    if args.simulate:
        broker = _ensure_broker(settings)
        stop = threading.Event()
        # Stopped from the service's own shutdown: uvicorn re-raises SIGTERM once the app has stopped, so code after
        # server.run() would never run and the demo's broker would be left behind.
        service.stop_hooks.append(stop.set)
        if broker is not None:
            service.stop_hooks.insert(0, broker.stop)  # hooks run in reverse: the simulator stops before the broker
        threading.Timer(1.0, lambda: _start_simulator(settings, args.speed, stop)).start()
    log.info("HTTP on http://%s:%s (dashboard /, API /api/v1, docs /docs)", settings.http.host, settings.http.port)
    _serve(create_app(service), settings.http, service.stop_hooks)
    return 0


def _serve(app: Any, http: HttpSettings, stop_hooks: list[Callable[[], None]], hosts: list[str] | None = None) -> None:
    """Serve the app until SIGTERM/SIGINT: on a Unix socket behind the public edge process (`http.edge_process`),
    else on the configured address itself; `hosts`: the communes' host names when it serves several."""
    import uvicorn

    # Streams never end by themselves: after this long, a stop closes the connections still open.
    # access_log off: setup_logging drops uvicorn's access lines anyway, after uvicorn formatted them.
    common: dict[str, Any] = {"log_config": None, "lifespan": "on", "timeout_graceful_shutdown": GRACEFUL_STOP_S,
                              "access_log": False}
    if not http.edge_process:
        uvicorn.Server(uvicorn.Config(app, host=http.host, port=http.port, **common)).run()
        return
    from tichwatch.app.edge_process import EdgeProcess

    edge = EdgeProcess(http, hosts)
    stop_hooks.append(edge.stop)  # the edge stops with the service (uvicorn re-raises SIGTERM after the app stops)

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            # First the edge (not waited for here, on the event loop's thread): its live-stream connections to the
            # service end with it within its own 3 s, so the stop below does not wait on them.
            edge.terminate()
            super().handle_exit(sig, frame)

    server = Server(uvicorn.Config(app, uds=edge.socket, backlog=4096, **common))
    edge.start_when(lambda: server.started)
    try:
        server.run()  # uvicorn handles SIGTERM/SIGINT: the lifespan shutdown drains and acknowledges the pipeline
    finally:
        edge.stop()


def _run_communes(configs: list[Path | None]) -> int:
    """Several communes in one process: one service each (its own store or schema, broker session, officers),
    one listener handing each request to the commune of its host."""
    from tichwatch.api.communes import communes_app
    from tichwatch.app.service import Service
    from tichwatch.config.communes import sharing_problems
    from tichwatch.store.database import URL_ENV

    communes = [_load(c) for c in configs]
    problems = sharing_problems(communes, secret(URL_ENV))
    if problems:
        for problem in problems:
            log.error("several communes: %s", problem)
        return 2
    services = [Service(settings) for settings in communes]
    for service in services:
        cli_accounts.bootstrap_admin(service.accounts, service.clock())
    app = communes_app(services)
    http = communes[0].http
    log.info("HTTP on http://%s:%s for %d communes: %s", http.host, http.port, len(app.apps),
             ", ".join(sorted(app.apps)))
    _serve(app, http, services[0].stop_hooks, hosts=sorted(app.apps))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    """Publish simulated readings and frames to the configured broker until interrupted."""
    settings = _load(args.config)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    _start_simulator(settings, args.speed, stop)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        stop.set()
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    """Publish a recorded levels CSV for one station."""
    from tichwatch.ingest.contract import Topics
    from tichwatch.tools.publisher import GatewayPublisher
    from tichwatch.tools.replay import replay

    settings = _load(args.config)
    if settings.station(args.station) is None:
        print(f"unknown station {args.station!r}; configured: {[s.id for s in settings.stations]}", file=sys.stderr)
        return 2
    # As a gateway, never as the service: on a broker that binds client ids to user names (docs/mosquitto), the
    # service's own user would take the service's connection and session over.
    publisher = GatewayPublisher(settings.mqtt, f"tichwatch-replay-{args.station}", args.username,
                                 secret("TICHWATCH_GATEWAY_PASSWORD") if args.username else None).connect()
    try:
        n = replay(args.file, args.station, publisher, Topics(settings.mqtt.topic_prefix), args.speed,
                   shift_to_now=not args.keep_time)
    finally:
        publisher.close()
    print(f"published {n} readings for {args.station}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Replay a recorded data folder through the same detectors and report how they did."""
    if args.what == "flood":
        from tichwatch.tools.flood_evaluation import main_eval

        if args.model is not None or args.loco:
            print("--model and --loco apply to `eval dust` only", file=sys.stderr)
            return 2
        return main_eval(args.dir, json_out=args.json, learnt=args.learnt)
    from tichwatch.tools.dust_evaluation import main_eval as main_eval_dust

    return main_eval_dust(args.dir, json_out=args.json, model_path=args.model, loco=args.loco)


REFERENCE_START = "<!-- config-reference:start -->"
REFERENCE_END = "<!-- config-reference:end -->"


def cmd_config_reference(args: argparse.Namespace) -> int:
    """Print the config reference (Markdown), or rewrite it between the markers of a README."""
    from tichwatch.config.reference import config_reference

    table = config_reference()
    if args.update is None:
        print(table, end="")
        return 0
    text = args.update.read_text(encoding="utf-8")
    head, _, rest = text.partition(REFERENCE_START)
    _, _, tail = rest.partition(REFERENCE_END)
    if not rest:
        print(f"{args.update}: no {REFERENCE_START} marker", file=sys.stderr)
        return 1
    args.update.write_text(f"{head}{REFERENCE_START}\n{table}{REFERENCE_END}{tail}", encoding="utf-8")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(prog="tichwatch", description=__doc__)
    p.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the service")
    run.add_argument("--config", type=Path, action="append", help="deployment file (default: the embedded Kiều Phú "
                     "file); given several times, one process serves several communes, each at the host of its "
                     "http.public_url (README: Several communes)")
    run.add_argument("--simulate", action="store_true", help="also run simulated gateways and cameras; start a "
                     "local Mosquitto if none is listening")
    run.add_argument("--speed", type=float, default=600.0, help="simulation speed while the gauges catch up on the "
                     "last 26 h, in which the simulated flood crested 6 h ago (default 600: about 2.5 min)")
    run.set_defaults(func=cmd_run)

    sim = sub.add_parser("simulate", help="publish simulated readings and frames")
    sim.add_argument("--config", type=Path)
    sim.add_argument("--speed", type=float, default=600.0)
    sim.set_defaults(func=cmd_simulate)

    rep = sub.add_parser("replay", help="publish a recorded time_utc,level_m CSV through MQTT")
    rep.add_argument("file", type=Path)
    rep.add_argument("--station", required=True, help="station id to publish as")
    rep.add_argument("--speed", type=float, default=3600.0, help="times faster than recorded (default 3600)")
    rep.add_argument("--keep-time", action="store_true", help="keep the recorded timestamps (default: shift the "
                     "series so it ends now)")
    rep.add_argument("--username", help="the broker user of a gateway allowed to publish for the station "
                     "(password from TICHWATCH_GATEWAY_PASSWORD); anonymous when omitted")
    rep.add_argument("--config", type=Path)
    rep.set_defaults(func=cmd_replay)

    chk = sub.add_parser("check-config", help="validate deployment files (several: communes run together, checked "
                         "for what they may not share)")
    chk.add_argument("file", type=Path, nargs="+")
    chk.set_defaults(func=cmd_check_config)

    cli_accounts.add_parsers(sub)

    ev = sub.add_parser("eval", help="evaluate the flood or dust detectors on a recorded data folder")
    ev.add_argument("what", choices=["flood", "dust"])
    ev.add_argument("dir", type=Path, help="data folder (the format of ../shared/data/)")
    ev.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ev.add_argument("--model", type=Path, default=None, help="dust only: model file to evaluate, e.g. one written by "
                    "`python -m tichwatch.tools.dust_train --out PATH` "
                    "(default: the packaged detectors/dust/model.joblib)")
    ev.add_argument("--loco", action="store_true", help="dust only: DIR is the shared data folder; evaluate the "
                    "backbone head leave-one-camera-out over its fixed-camera sequences and k-fold over its web photos")
    ev.add_argument("--learnt", action="store_true", help="flood only: evaluate the forecast learnt across rivers "
                    "leave-one-basin-out (as recorded, thinned to 3-hourly and irregular; skill and reliability) "
                    "instead of the default forecast")
    ev.set_defaults(func=cmd_eval)

    ref = sub.add_parser("config-reference", help="print the config reference generated from the schema")
    ref.add_argument("--update", type=Path, help="rewrite the reference between the markers of this Markdown file")
    ref.set_defaults(func=cmd_config_reference)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    from tichwatch.api.logs import setup_logging

    args = build_parser().parse_args(argv)
    setup_logging(args.log_level)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
