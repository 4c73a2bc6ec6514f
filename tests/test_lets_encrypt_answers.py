""" Let's Encrypt as it answers in 2026 (shared/reference/letsencrypt-2026.md, from Boulder's source):
profiles, IP certificates only under "shortlived", renewal information and "replaces", revocation
reasons, contacts it ignores, paused accounts and rate limits. The fake server here answers as
Boulder does, including the refusals.
"""

import json
import subprocess

import pytest

import get_renewal_info
from lib import certs, frame
import issue_certificate
import make_csr
import renew_certificate
import request_certificate
import revoke_certificate
from fake_ca import BASE, make_chain, problem

ORDER_URL = BASE + "/acme/order/1"


@pytest.fixture
def lets_encrypt(fake, workdir, cert_rsa_pem):
    """ newOrder as Boulder answers it: IP identifiers only under shortlived, an unknown profile refused,
    a second order that replaces the same certificate refused with alreadyReplaced """
    (workdir / "example.com.key").write_bytes(cert_rsa_pem)
    replaced = set()

    def new_order(record):
        payload = record["payload"]
        profile = payload.get("profile")
        if profile and profile not in ("classic", "tlsserver", "shortlived"):
            return problem("invalidProfile", "profile name {0!r} not recognised".format(profile))
        if any(i["type"] == "ip" for i in payload["identifiers"]) and profile != "shortlived":
            return problem("rejectedIdentifier", "Cannot issue for 192.0.2.7: IP address identifiers are "
                                                 "not allowed under the requested profile")
        if payload.get("replaces") in replaced:
            return problem("alreadyReplaced", "cannot indicate an order replaces certificate with serial ..., "
                                              "which already has a replacement order", status=409)
        if "replaces" in payload:
            replaced.add(payload["replaces"])
        body = {"status": "pending", "expires": "2026-12-03T00:00:00Z", "identifiers": payload["identifiers"],
                "authorizations": [BASE + "/acme/authz/1"], "finalize": ORDER_URL + "/finalize"}
        if profile:
            body["profile"] = profile
        return dict(status=201, json=body, headers={"Location": ORDER_URL})
    fake.existing_account()
    fake.on("POST", "/acme/new-order", new_order)
    return fake


def test_an_ip_address_needs_the_shortlived_profile(lets_encrypt, workdir, run, no_tty):
    assert run(make_csr, "192.0.2.7", "example.com")[0] == 0
    from cryptography import x509
    csr = x509.load_pem_x509_csr((workdir / "example.com.csr").read_bytes())
    assert csr.subject.rfc4514_string() == "CN=example.com"          # the IP address only in the SAN
    code, out, err = run(request_certificate)
    assert code == 1 and "only under the shortlived profile" in out and "--profile shortlived" in err
    assert not lets_encrypt.posts("/acme/new-order")
    code, out, err = run(request_certificate, "--yes")
    assert code == 0, err
    assert lets_encrypt.posts("/acme/new-order")[0]["payload"]["profile"] == "shortlived"


def test_an_ip_order_under_another_profile_is_refused_as_lets_encrypt_does(lets_encrypt, workdir, run):
    assert run(make_csr, "192.0.2.7")[0] == 0
    code, out, err = run(request_certificate, "--profile", "classic")
    assert code == 1 and "rejectedIdentifier" in err and "IP address identifiers are not allowed" in err


def test_profiles_unknown_refused_before_sending_and_invalid_profile_lists_them(lets_encrypt, workdir, run):
    assert run(make_csr, "example.com")[0] == 0
    code, out, err = run(request_certificate, "--profile", "medium")
    assert code == 1 and "it offers: classic, shortlived, tlsserver" in err
    assert not lets_encrypt.posts("/acme/new-order")
    directory = json.loads(json.dumps(lets_encrypt.routes[("GET", "/directory")][0]["json"]))
    del directory["meta"]["profiles"]                  # a CA that lists none still refuses a wrong one
    lets_encrypt.on("GET", "/directory", json=directory)
    code, out, err = run(request_certificate, "--profile", "medium")
    assert code == 1 and "invalidProfile" in err and "The CA offers these profiles: none." in err
    code, out, err = run(request_certificate, "--profile", "tlsserver")
    assert code == 0 and '"profile": "tlsserver"' in out


def authz_and_finalize(fake, names=("example.com",)):
    authz = {"status": "pending", "identifier": {"type": "dns", "value": names[0]},
             "challenges": [{"type": "dns-account-01", "url": BASE + "/acme/chall/9"},      # new and tokenless
                            {"type": "http-01", "url": BASE + "/acme/chall/1",
                             "token": "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"}]}
    fake.on("POST", "/acme/authz/1", dict(json=authz), dict(json=dict(authz, status="valid")))
    fake.on("POST", "/acme/chall/1", json={"type": "http-01", "status": "pending"})   # LE still says pending
    processing = {"status": "processing", "identifiers": [{"type": "dns", "value": n} for n in names],
                  "finalize": ORDER_URL + "/finalize"}
    fake.on("POST", "/acme/order/1/finalize", json=processing, headers={"Retry-After": "3"})
    fake.on("POST", "/acme/order/1", dict(json=processing, headers={"Retry-After": "3"}),
            dict(json=dict(processing, status="valid", certificate=BASE + "/acme/cert/1")))


def test_issuance_with_processing_and_retry_after_3(lets_encrypt, workdir, run, no_sleep):
    authz_and_finalize(lets_encrypt)
    lets_encrypt.on("POST", "/acme/cert/1", body=make_chain(["example.com"], key_pem=(workdir / "example.com.key")
                                                            .read_bytes()),
                    headers={"Content-Type": "application/pem-certificate-chain"})
    code, out, err = run(issue_certificate, "example.com")
    assert code == 0, err
    assert no_sleep[1:] == [3.0, 3.0]          # after finalize, and between the order polls: Retry-After 3


def test_already_replaced_orders_again_without_replaces(lets_encrypt, workdir, run, no_sleep):
    authz_and_finalize(lets_encrypt)
    chain = make_chain(["example.com"], key_pem=(workdir / "example.com.key").read_bytes())
    lets_encrypt.on("POST", "/acme/cert/1", body=chain)
    args = ["--replaces", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", "example.com"]
    assert run(issue_certificate, *args)[0] == 0
    authz_and_finalize(lets_encrypt)
    code, out, err = run(issue_certificate, *args)
    assert code == 0, err
    assert "another order already replaces that certificate" in out
    orders = [p["payload"] for p in lets_encrypt.posts("/acme/new-order")]
    assert [o.get("replaces") for o in orders] == [args[1], args[1], None]


def test_renewal_information_with_its_retry_after(lets_encrypt, workdir, run, monkeypatch):
    from cryptography import x509
    chain = make_chain(["example.com"], key_pem=(workdir / "example.com.key").read_bytes(), with_aki=True)
    (workdir / "example.com.chain.pem").write_text(chain)
    leaf = x509.load_pem_x509_certificate(chain.encode())
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    cert_id = certs.ari_cert_id(aki, leaf.serial_number)
    lets_encrypt.on("GET", "/acme/renewal-info/" + cert_id, json={
        "suggestedWindow": {"start": "2027-01-20T00:00:00Z", "end": "2027-01-22T00:00:00Z"},
        "explanationURL": "https://community.letsencrypt.org/t/123"}, headers={"Retry-After": "21600"})
    code, out, err = run(get_renewal_info)
    assert code == 0, err
    assert "Cert ID:     " + cert_id in out and "Window:      2027-01-20 00:00:00 UTC to 2027-01-22 00:00:00 UTC" in out
    assert "Explanation: https://community.letsencrypt.org/t/123" in out and "Ask again after 21600 seconds" in out
    assert lets_encrypt.requests[-1]["method"] == "GET"            # public: a plain GET, nothing signed


@pytest.mark.parametrize("aki", [True, b"\xf8" * 20], ids=["any", "a certificate ID starting with -"])
def test_renew_inside_a_passed_window_runs_issue_certificate_with_replaces(lets_encrypt, workdir, run, no_sleep,
                                                                           monkeypatch, aki):
    from cryptography import x509
    chain = make_chain(["example.com"], key_pem=(workdir / "example.com.key").read_bytes(), with_aki=aki)
    (workdir / "example.com.chain.pem").write_text(chain)
    leaf = x509.load_pem_x509_certificate(chain.encode())
    aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    cert_id = certs.ari_cert_id(aki, leaf.serial_number)
    lets_encrypt.on("GET", "/acme/renewal-info/" + cert_id, json={
        "suggestedWindow": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z"}})
    commands = []

    def issue_in_this_process(command, **kwargs):      # renew runs issue_certificate.py as a command
        commands.append(command)
        return subprocess.CompletedProcess(command, frame.run(issue_certificate.main, command[2:]))
    monkeypatch.setattr(renew_certificate.subprocess, "run", issue_in_this_process)
    authz_and_finalize(lets_encrypt)
    lets_encrypt.on("POST", "/acme/cert/1", body=make_chain(["example.com"], key_pem=(
        workdir / "example.com.key").read_bytes()))
    code, out, err = run(renew_certificate)
    assert code == 0, err
    assert "It is time: renewing now." in out and "--replaces=" + cert_id in commands[0]
    assert lets_encrypt.posts("/acme/new-order")[0]["payload"]["replaces"] == cert_id


@pytest.mark.parametrize("reason, code, sent", [("keyCompromise", 0, 1), ("4", 0, 4), ("superseded", 0, 4),
                                                ("cessationOfOperation", 0, 5), ("cACompromise", 1, None),
                                                ("6", 1, None)])
def test_revocation_reasons_lets_encrypt_accepts(lets_encrypt, workdir, run, reason, code, sent):
    (workdir / "example.com.chain.pem").write_text(make_chain(["example.com"]))
    lets_encrypt.on("POST", "/acme/revoke-cert", status=200, body="")
    try:
        got, out, err = run(revoke_certificate, "--yes", "--reason", reason)
    except SystemExit as done:                           # a refused reason is a usage error: exit 1
        got = done.code
    assert got == code
    assert [p["payload"]["reason"] for p in lets_encrypt.posts("/acme/revoke-cert")] == ([sent] if sent else [])


def test_any_reason_for_other_cas_and_lets_encrypts_refusal(lets_encrypt, workdir, run):
    (workdir / "example.com.chain.pem").write_text(make_chain(["example.com"]))
    lets_encrypt.on("POST", "/acme/revoke-cert", problem("badRevocationReason", "disallowed revocation reason: 2"))
    code, out, err = run(revoke_certificate, "--yes", "--reason", "cACompromise", "--any-reason")
    assert code == 1 and "Let's Encrypt accepts 0, 1, 4 and 5" in err
    assert "0-6, 8-10" not in err


def test_revoking_with_the_certificate_key_warns_and_asks(lets_encrypt, workdir, run, no_tty):
    (workdir / "example.com.chain.pem").write_text(make_chain(["example.com"], key_pem=(
        workdir / "example.com.key").read_bytes()))
    code, out, err = run(revoke_certificate, "--use-certificate-key")
    assert code == 1 and "records this as keyCompromise" in out and "never again issue" in out and "--yes" in err
    assert not lets_encrypt.posts()


def test_a_paused_account_is_told_to_visit_the_unpause_url(lets_encrypt, workdir, run):
    assert run(make_csr, "example.com")[0] == 0
    lets_encrypt.on("POST", "/acme/new-order", problem("rateLimited", "Your account is temporarily prevented from "
                    "requesting certificates for example.com and possibly others. Please visit: "
                    "https://portal.letsencrypt.org/sfe/v1/unpause?jwt=abc.def", status=429))
    code, out, err = run(request_certificate)
    assert code == 1 and "Visit https://portal.letsencrypt.org/sfe/v1/unpause?jwt=abc.def to unpause" in err
    assert "waiting will not help" in err


def test_a_rate_limit_says_when_to_try_again(lets_encrypt, workdir, run):
    assert run(make_csr, "example.com")[0] == 0
    lets_encrypt.on("POST", "/acme/new-order", problem("rateLimited", "too many certificates (5) already issued "
                    "for this exact set of identifiers in the last 168h0m0s, retry after 2026-11-28 10:00:00 UTC: "
                    "see https://letsencrypt.org/docs/rate-limits/", status=429) | {"headers": {
                        "Retry-After": "120000", "Content-Type": "application/problem+json",
                        "Link": '<https://letsencrypt.org/docs/rate-limits/>;rel="help"'}})
    code, out, err = run(request_certificate)
    assert code == 1 and "you can try again after 2026-11-28 10:00:00 UTC" in err
