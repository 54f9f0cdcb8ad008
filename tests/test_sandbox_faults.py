"""Every switchable fault of the sandbox, on the whole server and on one path."""

from __future__ import annotations

import json
import time

import pytest
import requests

from gitbook_nb.sandbox import Sandbox

LEGACY_401 = {
    "error": "Authentication has failed (Invalid user, password or access token)",
    "code": 401,
}


def get(sb: Sandbox, path: str, **kw) -> requests.Response:
    headers = {"Authorization": f"Bearer {sb.personal_token}"}
    return requests.get(sb.url + path, headers=headers, timeout=30, allow_redirects=False, **kw)


def test_latency_on_one_path(sb):
    sb.add_fault("latency", path="/v1/user", seconds=0.3)
    start = time.perf_counter()
    assert get(sb, "/v1/user").status_code == 200
    assert time.perf_counter() - start >= 0.3
    start = time.perf_counter()
    assert get(sb, "/v1/orgs").status_code == 200
    assert time.perf_counter() - start < 0.3  # other paths are not delayed


def test_status_fault_uses_each_apis_shape_and_times(sb):
    sb.add_fault("status", times=2, code=503)
    v1 = get(sb, "/v1/user")
    legacy = get(sb, "/account")
    assert v1.status_code == legacy.status_code == 503
    assert v1.json()["error"]["code"] == 503 and legacy.json()["code"] == 503
    assert get(sb, "/v1/user").status_code == 200  # fired twice, then gone


def test_status_fault_defaults_to_500_and_can_be_removed(sb):
    fid = sb.add_fault("status", path="/v1/orgs")
    assert get(sb, "/v1/orgs").status_code == 500
    assert get(sb, "/v1/user").status_code == 200
    assert sb.remove_fault(fid) and not sb.remove_fault(fid)
    assert get(sb, "/v1/orgs").status_code == 200


def test_rate_limit_fault_sends_retry_after(sb):
    sb.add_fault("rate_limit", path="/v1/user", retry_after=7)
    resp = get(sb, "/v1/user")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert resp.json()["error"]["code"] == 429


def test_revoked_fault_answers_401_in_both_shapes(sb):
    sb.add_fault("revoked")
    v1 = get(sb, "/v1/user")
    assert v1.status_code == 401 and "revoked" in v1.json()["error"]["message"]
    legacy = get(sb, "/account")
    assert legacy.status_code == 401 and legacy.json() == LEGACY_401
    sb.clear_faults()
    assert get(sb, "/v1/user").status_code == 200


def test_redirect_fault_to_another_loopback_server(sb):
    with Sandbox() as other:
        sb.add_fault("redirect", path="/v1/user", location=other.url + "/v1/user")
        resp = get(sb, "/v1/user")
        assert resp.status_code == 307 and resp.headers["Location"] == other.url + "/v1/user"
        sb.add_fault("redirect", path="/oauth/access_token", location=other.url + "/x", code=308)
        post = requests.post(
            sb.url + "/oauth/access_token", data={"code": "c"}, allow_redirects=False, timeout=10
        )
        assert post.status_code == 308


def test_huge_body(sb):
    sb.add_fault("huge", path="/v1/orgs", size=3_000_000)
    resp = get(sb, "/v1/orgs")
    assert resp.status_code == 200 and len(resp.content) >= 3_000_000
    assert int(resp.headers["Content-Length"]) == len(resp.content)
    assert isinstance(resp.json(), dict)


def test_non_json_body(sb):
    sb.add_fault("non_json", path="/v1/user")
    resp = get(sb, "/v1/user")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html")
    with pytest.raises(json.JSONDecodeError):
        json.loads(resp.text)
    sb.add_fault("non_json", path="/account", status=502)
    assert get(sb, "/account").status_code == 502


def test_drip_sends_the_normal_body_slowly(sb):
    expected = get(sb, "/v1/user").json()
    sb.add_fault("drip", path="/v1/user", seconds=0.4, chunks=4)
    start = time.perf_counter()
    resp = requests.get(
        sb.url + "/v1/user",
        stream=True,
        timeout=10,
        headers={"Authorization": f"Bearer {sb.personal_token}"},
    )
    headers_at = time.perf_counter() - start
    chunks = list(resp.iter_content(chunk_size=None))
    total = time.perf_counter() - start
    assert json.loads(b"".join(chunks)) == expected
    assert headers_at < 0.4 <= total  # headers come at once, the body trickles


def test_fault_validation(sb):
    with pytest.raises(ValueError):
        sb.add_fault("explode")
    with pytest.raises(ValueError):
        sb.add_fault("latency", sconds=1)
    with pytest.raises(ValueError):
        sb.add_fault("redirect")
    with pytest.raises(ValueError):
        sb.add_fault("status", path="v1/user")


def test_faults_apply_to_oauth_endpoints_too(sb):
    sb.add_fault("status", path="/token", code=502, times=1)
    resp = requests.post(sb.url + "/token", data={}, timeout=10)
    assert resp.status_code == 502 and resp.json()["error"] == "server_error"
