"""The pages as the server sends them: sessions, Leaflet from node_modules (and the page
without it), and static modules with types a browser will run. No browser needed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, Env, login, make_settings
from tests.conftest import need
from vigil.api import create_app
from vigil.api.pages import LEAFLET_ENV, SWAGGER_KEY, WEB, find_leaflet, find_swagger_ui
from vigil.config import ConfigError, parse_config
from vigil.domain import Role
from vigil.store.db import Store

ROOT = Path(__file__).resolve().parents[2]
STATIC_JS = WEB / "static" / "js"


def test_pages_need_a_session_and_load_their_modules(client: TestClient) -> None:
    for path in ("/", "/search"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    r = client.get("/search?camera=lobby&purpose=case+7", follow_redirects=False)
    assert r.headers["location"] == "/login?next=/search%3Fcamera%3Dlobby%26purpose%3Dcase%2B7"
    login(client)
    live = client.get("/")
    assert live.status_code == 200 and "/static/js/live.js" in live.text
    assert 'id="feed"' in live.text and 'id="map"' in live.text and 'id="tiles"' in live.text
    search = client.get("/search")
    assert search.status_code == 200 and "/static/js/search.js" in search.text
    assert 'name="purpose"' in search.text  # searches are audited with a stated purpose
    for page in (live, search):
        assert 'class="who-name">admin<' in page.text and "role-admin" in page.text
        # Everything the page loads comes from this server (the CSP allows nothing else).
        for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert url.startswith("/") and not url.startswith("//"), url


def test_leaflet_comes_from_node_modules_at_the_locked_version(client: TestClient) -> None:
    need(find_leaflet() is not None, "Leaflet is not installed; run `make setup` (npm ci)")
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["leaflet"]
    lock = json.loads((ROOT / "package-lock.json").read_text())
    installed = json.loads((ROOT / "node_modules" / "leaflet" / "package.json").read_text())
    assert lock["packages"]["node_modules/leaflet"]["version"] == pinned == installed["version"]
    login(client)
    page = client.get("/").text
    assert 'data-leaflet="yes"' in page
    assert '<script src="/static/vendor/leaflet/leaflet.js" defer>' in page
    assert 'href="/static/vendor/leaflet/leaflet.css"' in page
    js = client.get("/static/vendor/leaflet/leaflet.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert client.get("/static/vendor/leaflet/leaflet.css").status_code == 200
    assert client.get("/static/vendor/leaflet/images/layers.png").status_code == 200
    assert client.get("/static/vendor/leaflet/%2e%2e/%2e%2e/%2e%2e/package.json").status_code == 404


def test_without_leaflet_the_live_page_still_works(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEAFLET_ENV, str(tmp_path / "no-leaflet-here"))
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    try:
        with TestClient(create_app(make_settings(tmp_path), store=store)) as client:
            login(client)
            page = client.get("/")
            assert page.status_code == 200 and 'data-leaflet="no"' in page.text
            assert "vendor/leaflet" not in page.text
            assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 404
            assert client.get("/static/js/map.js").status_code == 200
    finally:
        store.close()


def test_static_modules_are_javascript_and_import_only_files_that_exist(
    client: TestClient,
) -> None:
    modules = sorted(STATIC_JS.glob("*.js"))
    assert {m.name for m in modules} >= {"live.js", "search.js", "map.js", "feed.js", "tiles.js"}
    for module in modules:
        r = client.get(f"/static/js/{module.name}")
        assert r.status_code == 200
        assert r.headers["content-type"].split(";")[0] in (
            "text/javascript",
            "application/javascript",
        )
        for target in re.findall(r'from "\./([\w.-]+)"', module.read_text()):
            # A file, or a module the server generates (vocabulary.js, from vigil.domain).
            served = client.get(f"/static/js/{target}")
            assert served.status_code == 200, f"{module.name} imports missing {target}"
            assert "javascript" in served.headers["content-type"], target
        assert not re.search(r"\.(inner|outer)HTML\s*=", module.read_text()), module.name


def test_by_default_the_map_asks_no_third_party(client: TestClient) -> None:
    """Without `map.tiles` the browser may load pictures from this server only (CSP), the map
    gets no tile URL, and the shipped scripts name no other server."""
    login(client)
    live = client.get("/")
    csp = live.headers["content-security-policy"]
    img_src = next(d for d in csp.split(";") if d.strip().startswith("img-src"))
    assert img_src.split()[1:] == ["'self'", "data:", "blob:"]
    assert 'data-tiles=""' in live.text
    for script in STATIC_JS.glob("*.js"):
        urls = re.findall(r"https?://[^\s\"'`]+", script.read_text(encoding="utf-8"))
        assert [u for u in urls if not u.startswith("http://www.w3.org/")] == [], script.name


def test_configured_tiles_are_allowed_and_handed_to_the_map(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    settings.config = settings.config.model_validate(
        {
            **settings.config.model_dump(),
            "map": {
                "tiles": "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png",
                "attribution": "&copy; OpenStreetMap contributors",
                "max_native_zoom": 18,
            },
        }
    )
    store = Store(f"sqlite:///{tmp_path / 'vigil.db'}")
    with TestClient(create_app(settings, store=store)) as client:
        login(client)
        live = client.get("/")
        assert (
            "img-src 'self' data: blob: https://tiles.example.org:8443;"
            in (live.headers["content-security-policy"])
        )
        assert 'data-tiles="https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"' in live.text
        assert 'data-attribution="&amp;copy; OpenStreetMap contributors"' in live.text
        assert 'data-max-native-zoom="18"' in live.text
    store.close()


@pytest.mark.parametrize(
    ("tiles", "says"),
    [
        ("ftp://tiles.example.org/{z}/{x}/{y}.png", "must be an http(s) URL"),
        ("https://tiles.example.org/{z}/{x}.png", "must contain {y}"),
    ],
)
def test_a_bad_tile_url_is_a_config_error(tiles: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f"map:\n  tiles: '{tiles}'\n")
    assert says in str(err.value) and "map.tiles" in str(err.value)


def test_api_docs_come_from_this_server_or_say_how_to_install_them(env: Env) -> None:
    client = TestClient(env.app)
    login(client)
    need(find_swagger_ui() is not None, "swagger-ui-dist is missing; run make setup (npm ci)")
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert '<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js">' in docs.text
    assert "cdn" not in docs.text and "https://" not in docs.text
    script_src = next(
        d for d in docs.headers["content-security-policy"].split(";") if "script-src" in d
    )
    assert "'sha256-" in script_src and "unsafe-inline" not in script_src
    bundle = client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    # Installed without npm (e.g. with pip): a clear page, and still no CDN.
    env.app.state.vigil.extra[SWAGGER_KEY] = None
    bare = client.get("/api/docs")
    assert (
        bare.status_code == 503 and "make setup" in bare.text and "/api/openapi.json" in bare.text
    )


def test_the_users_page_offers_what_the_manager_may_give(env: Env) -> None:
    admin = TestClient(env.app)
    login(admin)
    page = admin.get("/users")
    assert page.status_code == 200 and "/static/js/users.js" in page.text
    assert 'href="/users" aria-current="page"' in page.text
    assert re.findall(r'<option value="(\w+)"', page.text)[:5] == [
        "viewer",
        "operator",
        "supervisor",
        "admin",
        "auditor",
    ]
    env.add_user("sue", Role.SUPERVISOR, ["lobby"])
    sue = TestClient(env.app)
    login(sue, "sue", PASSWORD)
    page = sue.get("/users")
    assert set(re.findall(r'<option value="(\w+)"', page.text)) == {"operator", "viewer", "field"}
    assert re.findall(r'name="camera" value="([\w-]+)"', page.text) == ["lobby", "lobby"]
    assert 'name="all"' not in page.text  # sue sees some cameras: she cannot give all
    env.add_user("vic", Role.VIEWER)
    vic = TestClient(env.app)
    login(vic, "vic", PASSWORD)
    denied = vic.get("/users")
    assert (
        denied.status_code == 403 and "Managing users is for supervisors and admins" in denied.text
    )
    assert 'href="/users"' not in vic.get("/").text
