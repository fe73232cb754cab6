"""`make run`: the whole system on this machine, with embedded AWS.

moto (serialised) with the resources of infra/resources.json, the Chalice app on
http://127.0.0.1:8000, one poller per SQS handler calling it with Lambda-shaped
events, the outbox sweeper on a short schedule, a websocket gateway, and the
registered stations (Kitchen, Delivery, Payments and any other) finishing their work by
themselves (``--stations manual`` leaves that to the staff routes). Ctrl-C stops
everything.

Sign-in goes through a development OpenID Connect issuer on 127.0.0.1 (local/oidc.py,
``--oidc-port``), verified as on AWS (RS256, keys from its JWKS), unless OIDC_ISSUER names
another issuer or AUTH_MODE=hs256 asks for tokens signed with JWT_SECRET.

With ``--aws external`` nothing is embedded: the same code runs against whatever
AWS_ENDPOINT_URL / credentials the environment gives (real AWS or another
AWS-compatible endpoint); ``--provision`` creates the resources there first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "local-development-secret"
REGION = "us-east-1"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    parser.add_argument("--ws-port", type=int, default=int(os.environ.get("WS_PORT", 8001)))
    parser.add_argument("--manage-port", type=int, default=int(os.environ.get("MANAGE_PORT", 8002)))
    parser.add_argument("--sign-in-port", type=int, default=int(os.environ.get("SIGN_IN_PORT", 0)))
    parser.add_argument("--oidc-port", type=int, default=int(os.environ.get("OIDC_PORT", 8003)))
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MOTO_PORT", 8004)))
    parser.add_argument(
        "--stations", choices=("auto", "manual"), default=os.environ.get("STATIONS", "auto")
    )
    parser.add_argument(
        "--bake-seconds", type=float, default=float(os.environ.get("BAKE_SECONDS", 3))
    )
    parser.add_argument(
        "--deliver-seconds", type=float, default=float(os.environ.get("DELIVER_SECONDS", 3))
    )
    parser.add_argument(
        "--station-seconds",
        type=float,
        default=float(os.environ.get("STATION_SECONDS", 2)),
        help="how long any other registered station holds its work in auto mode",
    )
    parser.add_argument("--aws", choices=("embedded", "external"), default="embedded")
    parser.add_argument("--provision", action="store_true", help="create resources (external)")
    return parser.parse_args(argv)


class LiveLog(logging.Handler):
    """One readable line per committed transition: time, order, event, from -> to.

    Reads the journal's JSON lines (Powertools' formatter) and the domain's notes (a JSON
    message of their own)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            entry = json.loads(self.format(record))
            if "kind" not in entry:
                entry = json.loads(entry["message"])
        except (ValueError, TypeError, KeyError):
            return
        stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
        kind = entry.get("kind")
        if kind == "transition":
            line = (
                f"{stamp}  {entry['instance'][:8]}  {entry['event']:<38} "
                f"{entry.get('from') or '(new)'} -> {entry['to']}  v{entry['version']}"
            )
        elif kind == "escalation":
            line = (
                f"{stamp}  ! escalation: the {entry['station']} is late with {entry['order'][:8]}"
            )
        elif kind == "problem":
            line = (
                f"{stamp}  ! {entry.get('message')} {entry.get('why') or entry.get('error') or ''}"
            )
        else:
            return  # business notes: the transition line already says it
        print(line, flush=True)


class Loop(threading.Thread):
    """Run ``step`` every ``interval`` seconds until stopped; errors are printed, not fatal."""

    def __init__(self, name: str, step: Any, interval: float, stop: threading.Event) -> None:
        super().__init__(name=name, daemon=True)
        self.step, self.interval, self.stop = step, interval, stop

    def run(self) -> None:
        while not self.stop.is_set():
            busy = False
            try:
                busy = bool(self.step())
            except Exception as error:  # noqa: BLE001 - keep the stack up, say what failed
                print(f"  ! {self.name}: {error!r}", flush=True)
            if not busy:
                self.stop.wait(self.interval)


def _lambda_context(name: str) -> Any:
    from chalice.local import LambdaContext

    return LambdaContext(name, memory_size=512, max_runtime_ms=60_000)


def _sqs_pollers(app: Any, session: Any, endpoint: str | None, stop: threading.Event) -> list[Loop]:
    """One poller per SQS handler of the app: Lambda-shaped batches, as the event source
    mapping delivers them (batch size from the decorator, partial failures honoured)."""
    from chalice.app import SQSEventConfig

    from local.sqs_lambda import deliver_once

    sqs = session.client("sqs", endpoint_url=endpoint)
    pollers = []
    for source in app.event_sources:
        if not isinstance(source, SQSEventConfig):
            continue
        url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        handler = app.handler_map[source.name]

        def step(url=url, arn=arn, handler=handler, source=source) -> bool:
            handled, failed = deliver_once(
                sqs, url, arn, lambda event: handler(event, _lambda_context(source.name)),
                REGION, batch_size=source.batch_size,
            )  # fmt: skip
            return handled + failed > 0

        pollers.append(Loop(f"poller:{source.queue}", step, 0.2, stop))
    return pollers


def finish_due(
    stations: Iterable[Any], seconds: Mapping[str, float], default: float, now: datetime
) -> list[str]:
    """Finish every piece of work each station has held for its seconds (``seconds[name]``,
    else ``default``); returns what was finished. A station that fails is reported and
    skipped: the others still finish their work."""
    from chalicelib.runtime import NotFound, clock

    finished = []
    for station in stations:
        wait = seconds.get(station.name, default)
        try:
            for work in station.orders():  # the index lags a finished order a moment
                if (now - clock.parse(work["receivedAt"])).total_seconds() >= wait:
                    with suppress(NotFound):  # finished or cancelled since it was listed
                        station.finish(work[station.key_field], by=f"auto-{station.name}")
                        finished.append(f"{station.name}:{work[station.key_field]}")
        except Exception as error:  # noqa: BLE001 - one station's failure stops no other
            print(f"  ! station {station.name}: {error!r}", flush=True)
    return finished


def _stations(seconds: Mapping[str, float], default: float, stop: threading.Event) -> Loop:
    """Every registered station's work finished automatically (``--stations auto``)."""
    from chalicelib.registry import SERVICES
    from chalicelib.stations import Station

    stations = [s for s in SERVICES.values() if isinstance(s, Station)]

    def step() -> bool:
        finish_due(stations, seconds, default, datetime.now(UTC))
        return False

    return Loop("stations", step, 0.25, stop)


def _development_sign_in(args: argparse.Namespace) -> Any:
    """The web console's development sign-in, told to the pages through their config."""
    from local.signin import DevelopmentSignIn

    origins = tuple(f"http://{host}:{args.port}" for host in ("127.0.0.1", "localhost"))
    signin = DevelopmentSignIn(args.sign_in_port, origins)
    os.environ["WEB_DEV_SIGN_IN_URL"] = signin.url
    os.environ["WEB_WEBSOCKET_URL"] = f"ws://127.0.0.1:{args.ws_port}"
    return signin


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    started = time.perf_counter()
    issuer = _sign_in(args.oidc_port)
    os.environ.setdefault("OUTBOX_GRACE_SECONDS", "5")
    # shards spread DynamoDB partitions on AWS; moto answers each index query with a scan
    # of the whole table, so locally fewer shards keep a long session fast
    os.environ.setdefault("OUTBOX_SHARDS", "4")
    os.environ.setdefault("STATION_SHARDS", "1")
    # metrics are EMF lines on stdout: on the console they would drown the readable lines
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    import boto3

    moto = None
    if args.aws == "embedded":
        from local.moto_server import MotoServer

        moto = MotoServer(args.moto_port).start()
        os.environ.update(
            AWS_ENDPOINT_URL=moto.url, AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION,
        )  # fmt: skip
        os.environ.pop("AWS_PROFILE", None)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    session = boto3.session.Session(region_name=os.environ.get("AWS_REGION", REGION))
    if moto is not None or args.provision:
        from local.provision import provision

        made = provision(session, endpoint)
        os.environ["TABLE_NAME"] = made.refs["OrdersTable"]
        os.environ["TOPIC_ARN"] = made.refs["EventsTopic"]
    os.environ["WEBSOCKET_ENDPOINT"] = f"http://127.0.0.1:{args.manage_port}"
    signin = _development_sign_in(args)
    if issuer is not None:  # the console signs in through it, as deployed through Cognito's
        os.environ.update(
            WEB_SIGN_IN_URL=f"{issuer.url}/authorize", WEB_TOKEN_URL=f"{issuer.url}/token",
            WEB_SIGN_OUT_URL=f"{issuer.url}/logout", WEB_CLIENT_ID=issuer.audience,
        )  # fmt: skip

    sys.path.insert(0, str(ROOT))
    from chalice.config import Config
    from chalice.local import create_local_server

    from chalicelib.runtime import clients, journal
    from local.serving import serve_in_thread, widen_backlog

    clients.reset()
    import app as app_module

    app = app_module.app
    journal.show_with(LiveLog())
    config = Config.create(
        chalice_stage="dev", project_dir=str(ROOT), app_name="tropical-pizzas",
        config_from_disk=json.loads((ROOT / ".chalice" / "config.json").read_text()),
    )  # fmt: skip
    server = create_local_server(app, config, "127.0.0.1", args.port)
    widen_backlog(server.server)  # chalice's server keeps socketserver's backlog of 5
    http = serve_in_thread(server.server, "http")

    from local.gateway import WebsocketGateway

    ws_handlers = {
        route: (lambda event, name=name: app.handler_map[name](event, _lambda_context(name)))
        for route, name in (("$connect", "ws_connect"), ("$default", "ws_message"),
                            ("$disconnect", "ws_disconnect"))
    }  # fmt: skip
    gateway = WebsocketGateway(ws_handlers, args.ws_port, args.manage_port)

    stop = threading.Event()
    workers = _sqs_pollers(app, session, endpoint, stop)
    sweeper = app.handler_map["outbox_sweeper"]

    def sweep() -> bool:
        event = {
            "version": "0", "id": uuid.uuid4().hex, "detail-type": "Scheduled Event",
            "source": "aws.events", "account": "123456789012", "region": REGION,
            "time": datetime.now(UTC).isoformat(timespec="seconds"), "resources": [], "detail": {},
        }  # fmt: skip
        sweeper(event, _lambda_context("outbox_sweeper"))
        return False

    workers.append(Loop("sweeper", sweep, 5, stop))
    if args.stations == "auto":
        workers.append(
            _stations(
                {
                    "kitchen": args.bake_seconds,
                    "oven": args.bake_seconds,
                    "delivery": args.deliver_seconds,
                    "payments": float(os.environ.get("REFUND_SECONDS", 2)),
                },
                args.station_seconds,
                stop,
            )
        )
    http.start()
    gateway.start()
    signin.start()
    for worker in workers:
        worker.start()
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # before READY: a stop may follow at once
        signal.signal(sig, lambda *_: done.set())
    _banner(args, gateway, time.perf_counter() - started)
    # wake now and then: a signal the kernel hands to another thread only sets Python's
    # pending flag, and a main thread blocked without a timeout would never run its handler
    while not done.wait(0.5):
        pass
    print("\nstopping...", flush=True)
    stop.set()
    for worker in workers:
        worker.join(timeout=3)
    gateway.stop()
    signin.stop()
    server.server.shutdown()
    if moto is not None:
        moto.stop()
    if issuer is not None:
        issuer.stop()
    print("stopped.", flush=True)
    return 0


def _sign_in(port: int) -> Any:
    """Start the development issuer and point the app at it, unless the environment
    names an issuer or asks for HS256; the issuer started, if any."""
    if os.environ.get("AUTH_MODE") == "hs256":
        os.environ.setdefault("JWT_SECRET", DEV_SECRET)
        return None
    if os.environ.get("OIDC_ISSUER"):
        return None
    from local import oidc

    issuer = oidc.serve(port)
    os.environ.update(AUTH_MODE="oidc", OIDC_ISSUER=issuer.url, OIDC_AUDIENCE=issuer.audience)
    return issuer


def _tokens() -> tuple[str, str]:
    """A customer's and a staff member's token for the banner (12 hours)."""
    from local.signin import mint

    try:
        return mint("customer-1"), mint("staff-1", ["staff"])
    except RuntimeError:
        issuer = os.environ["OIDC_ISSUER"]
        return (f"(a token of {issuer})",) * 2


def _banner(args: argparse.Namespace, gateway: Any, seconds: float) -> None:
    customer, staff = _tokens()
    api = f"http://127.0.0.1:{args.port}"
    pizza = (
        '{"pizza": {"name": "Hawaii deluxe", "size": "large", "toppings": ["pineapple", "mango"]}}'
    )
    print(
        f"""
Tropical Pizzas is running (ready in {seconds:.1f}s; stations: {args.stations}).

  web console {api}/app  (staff board {api}/app/staff)
  HTTP API    {api}
  websocket   {gateway.url}/?orderId=<orderId>&token=<token>
  sign-in     {os.environ.get("OIDC_ISSUER") or "HS256 with JWT_SECRET"}
  customer    {customer}
  staff       {staff}

Place and follow an order:

  export TOKEN={customer}
  ORDER=$(curl -s -X POST {api}/orders -H "Authorization: Bearer $TOKEN" \\
      -H 'Content-Type: application/json' -d '{pizza}' \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["orderId"])')
  curl -s -X POST {api}/orders/$ORDER/confirm -H "Authorization: Bearer $TOKEN"
  curl -s {api}/orders/$ORDER/history -H "Authorization: Bearer $TOKEN"

or, in another terminal: make demo.  Ctrl-C stops everything.
READY
""",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
