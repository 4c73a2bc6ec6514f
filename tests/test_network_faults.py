""" Server and network faults, mocked: each ends in one clear message or is ridden out """

import json

import requests

import get_account_info
import get_directory
import new_account
import request_certificate
from fake_ca import ACCOUNT_URL, problem


def test_short_rate_limit_is_waited_out(fake, workdir, run, no_sleep):
    fake.on("POST", "/acme/new-acct", problem("rateLimited", "too many requests", status=429) |
            {"headers": {"Content-Type": "application/problem+json", "Retry-After": "2"}},
            dict(status=200, json={"status": "valid"}, headers={"Location": ACCOUNT_URL}))
    fake.on("POST", "/acme/acct/123", json={"status": "valid"})
    code, out, err = run(get_account_info)
    assert code == 0, err
    assert no_sleep == [2.0] and "waiting 2 s" in out
    first, second = fake.posts("/acme/new-acct")
    assert first["header"]["nonce"] != second["header"]["nonce"]     # a new JWS, a fresh nonce


def test_long_rate_limit_names_the_time_to_retry(fake, workdir, run, no_sleep):
    fake.on("POST", "/acme/new-acct", problem("rateLimited", "too many new accounts", status=429) |
            {"headers": {"Content-Type": "application/problem+json", "Retry-After": "7200"}})
    code, out, err = run(new_account, "--agree-tos")
    assert code == 1 and no_sleep == []
    assert "retry after 7200 seconds (at " in err and "rate limit" in err
    assert len(fake.posts()) == 1


def test_overloaded_directory_503_is_retried(fake, workdir, run, no_sleep):
    fake.on("GET", "/directory", dict(status=503, body="", headers={"Retry-After": "1"}),
            dict(json={"newNonce": "https://acme.test/acme/new-nonce"}))
    code, out, err = run(get_directory)
    assert code == 0 and no_sleep == [1.0]


def test_html_500_on_a_post(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", status=500, body="<html><body>Internal error</body></html>",
            headers={"Content-Type": "text/html"})
    code, out, err = run(get_account_info)
    assert code == 1 and "Status Code: 500" in err and "Internal error" in err and "Traceback" not in err


def test_truncated_json(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", status=200, body='{"status": "val', headers={"Location": ACCOUNT_URL})
    fake.on("POST", "/acme/acct/123", body='{"status": "val')
    code, out, err = run(get_account_info)
    assert code == 1 and "Cannot load returned data" in err and "Traceback" not in err


def test_json_that_is_not_an_object(fake, workdir, run):
    fake.existing_account()
    fake.on("POST", "/acme/acct/123", body=json.dumps(["status", "valid"]))
    code, out, err = run(get_account_info)
    assert code == 1 and "the server sent a list where a JSON object was expected" in err


def test_connection_dropped_midway(fake, workdir, run):
    fake.on("POST", "/acme/new-acct", requests.exceptions.ConnectionError("Connection reset by peer"))
    code, out, err = run(get_account_info)
    assert code == 1 and "Cannot connect to https://acme.test/acme/new-acct" in err


def test_order_for_other_identifiers(fake, workdir, run, cert_rsa_pem):
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    import make_csr
    assert run(make_csr, "example.com")[0] == 0
    fake.existing_account()
    fake.on("POST", "/acme/new-order", status=201, headers={"Location": "https://acme.test/o/1"},
            json={"status": "pending", "identifiers": [{"type": "dns", "value": "example.com"},
                                                       {"type": "dns", "value": "extra.example.com"}]})
    code, out, err = run(request_certificate)
    assert code == 1 and "not for the names asked for" in err
