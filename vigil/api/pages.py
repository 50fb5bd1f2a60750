"""Server-rendered pages. /login is public; every other page needs a session and sends the
browser to /login (with `next`) without one.

The pages are shells: plain ES modules under /static/js fetch the API and open the WebSocket.
The map library, Leaflet, comes from npm (`package.json`, installed by `make setup` into
`node_modules/`) and is served from /static/vendor/leaflet/. Where it is missing (e.g. Vigil
installed with pip) the live page draws its own plain coordinate grid and says why.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from vigil import __version__
from vigil.api.auth import safe_next
from vigil.api.deps import COOKIE, Principal, StateDep, session_from_cookie, state_of
from vigil.api.hotlists import MAX_CSV
from vigil.api.vocabulary import vocabulary
from vigil.api.watchlists import MAX_IMAGE_CHARS, MAX_IMAGES
from vigil.domain import Role
from vigil.incidents.incidents import FIELD_ACTIONS
from vigil.incidents.units import MAX_BATCH
from vigil.store.hotlists import COLUMNS, MAX_TOLERANCE, NAME_RULE
from vigil.store.users import MIN_PASSWORD
from vigil.vision.plates.match import PATTERN_HELP, TOLERANCE

WEB = Path(str(resources.files("vigil") / "web"))
templates = Jinja2Templates(directory=str(WEB / "templates"))
router = APIRouter(include_in_schema=False)

LEAFLET_ENV = "VIGIL_LEAFLET_DIR"  # a folder holding leaflet.js and leaflet.css (its dist/)
LEAFLET_URL = "/static/vendor/leaflet"
# A source checkout: <repo>/vigil/web -> <repo>/node_modules (where `npm ci` puts it).
_NODE_MODULES = WEB.parent.parent / "node_modules"
_CHECKOUT_LEAFLET = _NODE_MODULES / "leaflet" / "dist"
_LEAFLET_KEY = "leaflet_dir"
SWAGGER_URL = "/static/vendor/swagger-ui"  # Swagger UI for /api/docs, from swagger-ui-dist
SWAGGER_KEY = "swagger_dir"
PLAY_LEAD_S = 5  # a link to an event's moment plays from this many seconds before it


class LoginRequired(Exception):
    """Raised by page dependencies; answered with a redirect to the login page."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def find_leaflet() -> Path | None:
    """Leaflet's dist folder: $VIGIL_LEAFLET_DIR if set, else the checkout's node_modules."""
    configured = os.environ.get(LEAFLET_ENV)
    folder = Path(configured) if configured else _CHECKOUT_LEAFLET
    if (folder / "leaflet.js").is_file() and (folder / "leaflet.css").is_file():
        return folder
    return None


def find_swagger_ui() -> Path | None:
    """swagger-ui-dist in the checkout's node_modules (for /api/docs), or None."""
    folder = _NODE_MODULES / "swagger-ui-dist"
    if (folder / "swagger-ui-bundle.js").is_file() and (folder / "swagger-ui.css").is_file():
        return folder
    return None


def mount_vendor(app: FastAPI) -> Path | None:
    """Serve Leaflet under /static/vendor/leaflet/ and Swagger UI under
    /static/vendor/swagger-ui/ when they are installed (call before /static is mounted, so
    these more specific mounts match first). Returns Leaflet's folder, or None."""
    folder = find_leaflet()
    state_of(app).extra[_LEAFLET_KEY] = folder
    if folder is not None:
        app.mount(LEAFLET_URL, StaticFiles(directory=str(folder)), name="vendor-leaflet")
    swagger = find_swagger_ui()
    state_of(app).extra[SWAGGER_KEY] = swagger
    if swagger is not None:
        app.mount(SWAGGER_URL, StaticFiles(directory=str(swagger)), name="vendor-swagger-ui")
    return folder


def page_user(request: Request, state: StateDep) -> Principal:
    session = session_from_cookie(state, request.cookies.get(COOKIE))
    if session is None:  # back to the same page, filters and all, after logging in
        query = request.url.query
        raise LoginRequired(request.url.path + (f"?{query}" if query else ""))
    return Principal.from_session(session)


def login_redirect(_request: Request, exc: Exception) -> Response:
    path = exc.path if isinstance(exc, LoginRequired) else "/"
    return RedirectResponse(f"/login?next={quote(safe_next(path))}", status_code=303)


PageUser = Annotated[Principal, Depends(page_user)]


def _page(
    request: Request, template: str, user: Principal, status_code: int = 200, **context: Any
) -> Response:
    state = state_of(request.app)
    return templates.TemplateResponse(
        request,
        template,
        {
            "user": user,
            "version": __version__,
            "leaflet": state.extra.get(_LEAFLET_KEY) is not None,
            "leaflet_url": LEAFLET_URL,
            "base_map": state.config.map,
            "min_password": MIN_PASSWORD,
            "manages_lists": user.can(Role.SUPERVISOR),  # hotlists, watchlists
            **context,
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _elsewhere(user: Principal) -> Response:
    """An auditor sees no video: the operational pages send them to the audit log; a field
    officer to the field app."""
    return RedirectResponse("/field" if user.role is Role.FIELD else "/audit", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    next: str = "/",
    failed: bool = False,
    locked: bool = False,
    changed: bool = False,
) -> Response:
    return templates.TemplateResponse(
        request,
        "login.html",
        {
            "next": safe_next(next),
            "failed": failed,
            "locked": locked,
            "changed": changed,
            "version": __version__,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/", response_class=HTMLResponse)
def index(request: Request, user: PageUser) -> Response:
    """The command centre: map, camera tiles and the live feed of events and alerts."""
    if not user.can_see_operations:
        return _elsewhere(user)
    field = state_of(request.app).config.field  # how far back the map's unit trails reach
    return _page(request, "index.html", user, page="live", trail_minutes=field.trail_minutes)


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, user: PageUser) -> Response:
    """Event search: filters, a paged table and the snapshot of the chosen event."""
    if not user.can_see_operations:
        return _elsewhere(user)
    return _page(request, "search.html", user, page="search", **vocabulary())


@router.get("/playback", response_class=HTMLResponse)
def playback(request: Request, user: PageUser) -> Response:
    """Playback: a camera's timeline (recorded spans, gaps, events, alerts, locks) and the
    player; `?camera=ID&t=ISO` plays from a few seconds before that moment. Locking footage
    as evidence and exporting it are for operators and above (unblurred: supervisors)."""
    if not user.can_see_operations:
        return _elsewhere(user)
    return _page(
        request,
        "playback.html",
        user,
        page="playback",
        can_lock=user.can(Role.OPERATOR),
        can_export=user.can(Role.OPERATOR),  # POST /api/exports (vigil.api.exports)
        can_unblur=user.can(Role.SUPERVISOR),
        lead_s=PLAY_LEAD_S,
    )


@router.get("/plates", response_class=HTMLResponse)
def plates(request: Request, user: PageUser) -> Response:
    """Plate search: reads by exact or partial plate (`AB?12*`), each with its crop; and for
    supervisors and admins, the hotlists (the API decides who may change them)."""
    if not user.can_see_operations:
        return _elsewhere(user)
    return _page(
        request,
        "plates.html",
        user,
        page="plates",
        plate_help=PATTERN_HELP,
        hotlists=user.can(Role.SUPERVISOR),
        hotlist_name_rule=NAME_RULE,
        hotlist_columns=",".join(COLUMNS),
        tolerance=TOLERANCE,
        max_tolerance=MAX_TOLERANCE,
        max_csv=MAX_CSV,
    )


@router.get("/watchlists", response_class=HTMLResponse)
def watchlists(request: Request, user: PageUser) -> Response:
    """Face watchlists, for supervisors and admins: each list with its purpose, legal basis,
    who authorised it, when and where it applies; create one, enrol people from photos, see
    who is on a list (with a purpose), remove a person, delete a list. The API decides who
    may change them (a supervisor limited to some cameras may not)."""
    if not user.can_see_operations:
        return _elsewhere(user)
    if not user.can(Role.SUPERVISOR):
        what = "Watchlists are for supervisors and admins"
        return _page(request, "denied.html", user, status_code=403, page="denied", what=what)
    return _page(
        request,
        "watchlists.html",
        user,
        page="watchlists",
        name_rule=NAME_RULE,
        max_images=MAX_IMAGES,
        max_image_chars=MAX_IMAGE_CHARS,
    )


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, user: PageUser) -> Response:
    """The audit log (filters, paging), the chain's status and the transparency report:
    for admins and auditors."""
    if not user.can_read_audit:
        what = "The audit log and transparency reports are for admins and auditors"
        return _page(request, "denied.html", user, status_code=403, page="denied", what=what)
    return _page(request, "audit.html", user, page="audit")


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, user: PageUser) -> Response:
    """Users: list, add, change role and cameras, set a password, disable, unlock: for
    supervisors (operators and viewers within their cameras) and admins (everyone)."""
    if not user.can_manage_users:
        what = "Managing users is for supervisors and admins"
        return _page(request, "denied.html", user, status_code=403, page="denied", what=what)
    cameras = [
        c.id
        for c in state_of(request.app).config.cameras
        if user.cameras is None or c.id in user.cameras
    ]
    return _page(
        request,
        "users.html",
        user,
        page="users",
        grantable=[str(r) for r in user.role.grantable()],
        cameras=cameras,
        all_cameras=user.cameras is None,
    )


def _field_denied(request: Request, user: Principal) -> Response | None:
    """The denied page for a role with no field app (the auditor), else None."""
    if user.role.operational or user.role is Role.FIELD:
        return None
    what = "The field app is for officers in the field and the operational roles"
    return _page(request, "denied.html", user, status_code=403, page="denied", what=what)


@router.get("/field", response_class=HTMLResponse)
def field(request: Request, user: PageUser) -> Response:
    """The field app for an officer's phone (an installable PWA): the map around the officer,
    the incidents they are sent to with one-tap answers, position reports (queued offline).
    The shell holds no personal data (the service worker keeps it for opening offline); its
    data comes from /api/field."""
    denied = _field_denied(request, user)
    if denied is not None:
        return denied
    return _page(
        request,
        "field.html",
        user,
        page="field",
        field_actions=",".join(FIELD_ACTIONS),
        max_batch=MAX_BATCH,
        report_every_s=state_of(request.app).config.field.report_every_s,
    )


@router.get("/field/sw.js")
def field_worker(request: Request, user: PageUser) -> Response:
    """The field app's service worker: it keeps the app shell (never an API answer) so the
    app opens offline. Served here, not under /static, so that its scope covers /field."""
    denied = _field_denied(request, user)
    if denied is not None:
        return denied
    return FileResponse(
        WEB / "static" / "field-sw.js",
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/field", "Cache-Control": "no-cache"},
    )
