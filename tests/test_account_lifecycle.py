""" Account lifecycle scripts (update, key rollover, deactivation) against a scripted ACME server """

import os
import stat

import account_deactivate
import account_key_change
import account_update
import myhelper
from fake_ca import decode_jws, ACCOUNT_URL, BASE, new_ec_key, problem, verify_jws


def test_account_update_sends_the_contacts_and_says_lets_encrypt_ignored_them(fake, workdir, run):
    fake.existing_account()                  # Let's Encrypt: 200, the account unchanged, no contact in it
    code, out, err = run(account_update, "--contact", "mailto:ops@example.org")
    assert code == 0, err
    update = fake.posts("/acme/acct/123")[0]
    assert update["payload"] == {"contact": ["mailto:ops@example.org"]} and update["header"]["kid"] == ACCOUNT_URL
    assert "Contact:    (not returned by the server)" in out
    assert "The CA did not store these contacts: its answer shows none." in out


def test_account_update_with_a_ca_that_keeps_contacts(fake, workdir, run):
    fake.existing_account()
    fake.on("POST", "/acme/acct/123", json={"status": "valid", "contact": ["mailto:ops@example.org"]})
    code, out, err = run(account_update, "--contact", "mailto:ops@example.org")
    assert code == 0 and "Contact:    ['mailto:ops@example.org']" in out and "did not store" not in out


def test_account_update_from_acme_ini(fake, workdir, run):
    fake.existing_account()
    code, out, err = run(account_update)
    assert code == 0
    assert fake.posts("/acme/acct/123")[0]["payload"] == {
        "contact": ["mailto:someone@example.com", "mailto:someone2@example.com"]}


def test_account_update_bad_contact_sends_nothing(fake, workdir, run):
    code, out, err = run(account_update, "--contact", "mailto:a@example.com,b@example.com")
    assert code == 1 and "not a valid contact" in err and not fake.requests


def test_account_deactivate_asks_first(fake, workdir, run, no_tty):
    fake.existing_account()
    code, out, err = run(account_deactivate)
    assert code == 1 and "--yes" in err
    assert all(p["payload"] != {"status": "deactivated"} for p in fake.posts())
    assert "Status:    valid" in out          # the account was shown before the question


def test_account_deactivate(fake, workdir, run):
    fake.existing_account()
    fake.on("POST", "/acme/acct/123", dict(json={"status": "valid"}), dict(json={"status": "deactivated"}))
    code, out, err = run(account_deactivate, "--yes")
    assert code == 0, err
    assert fake.posts("/acme/acct/123")[-1]["payload"] == {"status": "deactivated"}
    assert "Account deactivated." in out and "Status:    deactivated" in out


def new_key(workdir, name="new.key"):
    key = new_ec_key(str(workdir / name))
    return key, myhelper.get_jwk(key)


def test_key_change_builds_the_nested_jws_and_replaces_the_key_after_success(fake, workdir, run, rsa_pem):
    _key, new_jwk = new_key(workdir)
    old_jwk = myhelper.get_jwk(myhelper.load_private_key("account.key"))
    fake.existing_account()
    fake.on("POST", "/acme/key-change", status=200, json={"status": "valid"})
    code, out, err = run(account_key_change, "new.key")
    assert code == 0, err

    outer = fake.posts("/acme/key-change")[0]
    assert outer["header"]["kid"] == ACCOUNT_URL and outer["header"]["alg"] == "RS256"   # signed with the old key
    inner = outer["payload"]
    inner_header, inner_payload = decode_jws(inner)
    assert inner_header == {"alg": "ES256", "jwk": new_jwk, "url": BASE + "/acme/key-change"}  # no nonce
    assert inner_payload == {"account": ACCOUNT_URL, "oldKey": old_jwk}
    verify_jws(inner, new_jwk)

    assert myhelper.get_jwk(myhelper.load_private_key("account.key")) == new_jwk
    assert stat.S_IMODE(os.stat("account.key").st_mode) == 0o600
    backups = [f for f in os.listdir(workdir) if f.startswith("account.key.old-")]
    assert len(backups) == 1 and (workdir / backups[0]).read_bytes() == rsa_pem
    assert stat.S_IMODE(os.stat(workdir / backups[0]).st_mode) == 0o600


def test_key_change_conflict_keeps_the_old_key(fake, workdir, run, rsa_pem):
    new_key(workdir)
    fake.existing_account()
    # Let's Encrypt: 409, type "conflict" (not in RFC 8555), Location naming the account of that key
    fake.on("POST", "/acme/key-change", problem("conflict", "New key is already in use for a different account",
                                                status=409) | {"headers": {"Location": BASE + "/acme/acct/77",
                                                                           "Content-Type": "application/problem+json"}})
    code, out, err = run(account_key_change, "new.key")
    assert code == 1 and "another account already uses it" in err
    assert (workdir / "account.key").read_bytes() == rsa_pem
    assert not [f for f in os.listdir(workdir) if f.startswith("account.key.old-")]


def test_key_change_refuses_the_same_key_and_the_certificate_key(fake, workdir, run):
    code, out, err = run(account_key_change, "account.key")
    assert code == 1 and "same as the current account key" in err
    new_key(workdir, "example.com.key")
    code, out, err = run(account_key_change, "example.com.key")
    assert code == 1 and "is the certificate key" in err
    assert not fake.requests


def test_key_change_missing_new_key(fake, workdir, run):
    code, out, err = run(account_key_change, "nothing.key")
    assert code == 1 and "make_account_key.py nothing.key" in err and not fake.requests
