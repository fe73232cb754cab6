"""The web console's routes (a Chalice Blueprint): five pages, their static files and
their configuration. None needs a token: the pages sign in in the browser and call the
HTTP API with it; they hold no data of their own."""

from __future__ import annotations

from urllib.parse import urlsplit

from chalice import Blueprint, Response

from .assets import SAFE_BASE, Asset, page, static
from .config import PageConfig

web = Blueprint(__name__)


def _origin(url: str | None) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _policy(config: PageConfig) -> str:
    """Content-Security-Policy: scripts only from the app; connections to the app, its
    websocket and the sign-in service. Mermaid styles its SVG inline."""
    origins = dict.fromkeys(_origin(url) for url in config.connects_to())
    connect = " ".join(("'self'", *origins))
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:; connect-src {connect}; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )


def _send(asset: Asset, extra: dict[str, str] | None = None) -> Response:
    headers = {
        "Content-Type": asset.content_type,
        "ETag": asset.etag,
        "Cache-Control": asset.cache_control,
        "X-Content-Type-Options": "nosniff",
        **(extra or {}),
    }
    request_headers = web.current_request.headers or {}
    if request_headers.get("if-none-match") == asset.etag:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=asset.body, status_code=200, headers=headers)


def stage_prefix(full_path: str, resource_path: str) -> str:
    """The part of the address before the route's own segments: API Gateway's stage on
    an execute-api address (``/api``), "" locally or behind a custom domain, and "" for
    anything that is not a plain path."""
    full = full_path.rstrip("/").split("/")
    own = resource_path.rstrip("/").split("/")
    prefix = "/".join(full[: max(1, len(full) - len(own) + 1)])
    return prefix if SAFE_BASE.fullmatch(prefix) else ""


def _page(name: str) -> Response:
    request = web.current_request
    base = stage_prefix(request.context.get("path") or request.path, request.path)
    policy = {"Content-Security-Policy": _policy(PageConfig.from_environment())}
    return _send(page(name, base), policy)


@web.route("/app", methods=["GET"])
def customer_page() -> Response:
    return _page("customer")


@web.route("/app/orders", methods=["GET"])
def orders_page() -> Response:
    return _page("orders")


@web.route("/app/orders/{order_id}", methods=["GET"])
def tracker_page(order_id: str) -> Response:
    return _page("tracker")


@web.route("/app/staff", methods=["GET"])
def staff_page() -> Response:
    return _page("staff")


@web.route("/app/inspect/{workflow}/{instance_id}", methods=["GET"])
def inspector_page(workflow: str, instance_id: str) -> Response:
    return _page("inspect")


@web.route("/app/static/{name}", methods=["GET"])
def static_file(name: str) -> Response:
    asset = static(name)
    if asset is None:
        body = {"error": "NotFound", "message": f"no file {name!r}"}
        return Response(body=body, status_code=404, headers={"Content-Type": "application/json"})
    return _send(asset)


@web.route("/app/config.json", methods=["GET"])
def page_config() -> Response:
    body = PageConfig.from_environment().to_json()
    return Response(body=body, status_code=200, headers={"Cache-Control": "no-store"})
