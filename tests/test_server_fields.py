""" Every field the scripts read from a server, fed every wrong JSON type (issue 17)

Each row names where a field sits in the server's answers, what it must be, and the scripts that read it:
every script whose own code reads it; for a field that lib/ reads on behalf of several scripts (the
authorization loop, orders.check_order, the nonces in lib/send.py), one of them. Each script runs
against the `fake` server once for each JSON value of another type (null, true, 1, 1.5, "s", [], {}), for a
URL also "s" and a plain http:// one, and, when the protocol requires the field, without it. It must end
with exit 1 and one clean message that begins with "Error" and names the field (or says what the value
made impossible), never a traceback. A field the script only prints ("shown") must not stop it: exit 0.
Headers are strings: Location, Link, Retry-After and Replay-Nonce get malformed strings instead.
"""

import copy
import json

import pytest

import account_deactivate
import account_key_change
import account_update
import dns01_challenge
import finalize_order
import get_account_info
import get_account_url
import get_certificate
import get_challenges
import get_nonce
import get_renewal_info
import get_terms_of_service
import http01_challenge
import issue_certificate
import myhelper
import new_account
import request_certificate
import revoke_certificate
from lib import certs
from fake_ca import ACCOUNT_URL, BASE, LE_ACCOUNT, LE_DIRECTORY, make_chain, new_ec_key, write_ini

NAME = "example.com"
ORDER_URL = BASE + "/acme/order/1"
CERT_URL = BASE + "/acme/cert/1"
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
ABSENT = object()
WRONG = {"null": None, "true": True, "1": 1, "1.5": 1.5, '"s"': "s", "[]": [], "{}": {}}
RIGHT = {str: '"s"', bool: "true", list: "[]", dict: "{}"}
BASE_KIND = {"url": str, "time": str, "token": str}           # strings whose content is checked too

SCRIPTS = {   # the arguments each script runs with here
    get_nonce: [], get_terms_of_service: [], new_account: ["--agree-tos"], get_account_url: [],
    get_account_info: [], account_update: [], account_deactivate: ["--yes"], account_key_change: ["new.key"],
    request_certificate: [], get_challenges: [], http01_challenge: ["--webroot", "www", "--skip-check"],
    dns01_challenge: [], finalize_order: [], get_certificate: [], revoke_certificate: ["--yes"],
    get_renewal_info: [], issue_certificate: ["--agree-tos", "--webroot", "www", NAME],
}
SIGNING = [s for s in SCRIPTS if s not in (get_nonce, get_terms_of_service, get_renewal_info)]
ACCOUNT_LOOKUP = [s for s in SIGNING if s is not new_account]
ORDERING = [request_certificate, issue_certificate]
AUTHZ_READERS = [get_challenges, http01_challenge, dns01_challenge, issue_certificate]


class Row:
    """ A field: in which answer (resource), where (path: keys, "*" for each item of a list), of what kind;
    items: the field is a list, and each wrong value goes in as its only item """

    def __init__(self, resource, path, kind, required=True, items=False, shown=(), words=None, variant=None):
        self.resource, self.path, self.kind, self.required, self.items = resource, path, kind, required, items
        self.shown, self.words, self.variant = shown, words, variant

    def values(self):
        kind = BASE_KIND.get(self.kind, self.kind)
        wrong = {label: value for label, value in WRONG.items() if label != RIGHT[kind] or self.kind != kind}
        if self.kind == "url":
            wrong['"http://"'] = "http://acme.test/plain-http"
        if self.required and not self.items:
            wrong["absent"] = ABSENT
        return wrong

    def name(self):
        return ".".join(str(p) for p in self.path) + ("[]" if self.items else "")


ROWS = [   # (the scripts whose own code reads the field; a field that lib/ reads for several scripts: one of them)
    # the directory (§7.1.1)
    ([get_nonce] + SIGNING, Row("directory", ["newNonce"], "url")),
    (SIGNING, Row("directory", ["newAccount"], "url")),
    (ORDERING, Row("directory", ["newOrder"], "url")),
    ([revoke_certificate], Row("directory", ["revokeCert"], "url")),
    ([account_key_change], Row("directory", ["keyChange"], "url")),
    ([get_renewal_info], Row("directory", ["renewalInfo"], "url", required=False)),
    ([get_terms_of_service, new_account] + ORDERING, Row("directory", ["meta"], dict, required=False)),
    ([get_terms_of_service, new_account], Row("directory", ["meta", "termsOfService"], str, required=False)),
    ([request_certificate], Row("directory", ["meta", "profiles"], dict, required=False)),   # orders.choose_profile
    ([new_account], Row("directory", ["meta", "externalAccountRequired"], bool, required=False)),
    # the account (§7.1.2): only printed, so any value is shown as it came
    ([get_account_info], Row("account", ["status"], str, shown=True)),
    ([get_account_info], Row("account", ["createdAt"], str, shown=True)),
    ([get_account_info, account_update], Row("account", ["contact"], list, required=False, shown=True)),
    ([get_account_info], Row("account", ["id"], str, required=False, shown=True)),
    ([get_account_info], Row("account", ["initialIp"], str, required=False, shown=True)),
    ([account_deactivate], Row("account", ["status"], str, shown=True)),
    # the order (§7.1.3), from newOrder, the order URL and finalize; request_certificate: orders.check_order
    ([finalize_order, get_certificate, issue_certificate], Row("order", ["status"], str)),
    ([request_certificate, finalize_order], Row("order", ["identifiers"], list)),
    ([request_certificate, finalize_order], Row("order", ["identifiers"], dict, items=True)),
    ([request_certificate], Row("order", ["identifiers", "*", "type"], str)),
    ([request_certificate, finalize_order], Row("order", ["identifiers", "*", "value"], str)),
    ([request_certificate], Row("order", ["authorizations"], list)),
    ([request_certificate], Row("order", ["authorizations"], "url", items=True)),
    ([request_certificate, finalize_order, issue_certificate], Row("order", ["finalize"], "url")),
    ([finalize_order, get_certificate, issue_certificate], Row("order", ["certificate"], "url", words=(
        "'certificate'", "has no certificate yet"))),
    ([finalize_order, issue_certificate], Row("order", ["error"], dict, required=False, variant="invalid order",
                                              words=("'invalid'",))),
    # the authorization (§7.1.4); http01_challenge: lib/authz.py, as for dns01_challenge and issue_certificate
    ([get_challenges, http01_challenge], Row("authz", ["status"], str)),
    ([get_challenges, http01_challenge], Row("authz", ["identifier"], dict)),
    ([get_challenges, http01_challenge], Row("authz", ["identifier", "value"], str)),
    ([http01_challenge], Row("authz", ["identifier", "type"], str)),
    ([get_challenges, http01_challenge], Row("authz", ["wildcard"], bool, required=False)),
    ([get_challenges, http01_challenge], Row("authz", ["challenges"], list)),
    ([get_challenges, http01_challenge], Row("authz", ["challenges"], dict, items=True, shown=[get_challenges],
                                             words=("offers no",))),
    # each challenge (§8)
    ([get_challenges, http01_challenge], Row("challenge", ["type"], str, shown=[get_challenges],
                                             words=("offers no",))),
    ([get_challenges, http01_challenge], Row("challenge", ["url"], "url")),
    (AUTHZ_READERS, Row("challenge", ["token"], "token", words=("'token'", "not base64url"))),
    ([get_challenges], Row("challenge", ["status"], str, required=False, shown=True)),
    ([http01_challenge], Row("challenge", ["error"], dict, required=False, variant="invalid authz",
                             words=("could not validate",))),
    # renewal information (RFC 9773 §4.2)
    ([get_renewal_info], Row("renewal", ["suggestedWindow"], dict)),
    ([get_renewal_info], Row("renewal", ["suggestedWindow", "start"], "time")),
    ([get_renewal_info], Row("renewal", ["suggestedWindow", "end"], "time")),
    ([get_renewal_info], Row("renewal", ["explanationURL"], str, required=False)),
]

CASES = [pytest.param(script, row, id="{0}-{1}".format(script.__name__, row.name()))
         for scripts, row in ROWS for script in scripts]


def put(obj, path, value, items):
    """ Set (or remove, for ABSENT) the field at path; "*" walks each item of a list """
    head, rest = path[0], path[1:]
    if head == "*":
        for item in obj:
            put(item, rest, value, items)
    elif rest:
        put(obj[head], rest, value, items)
    elif value is ABSENT:
        obj.pop(head, None)
    else:
        obj[head] = [value] if items else value


@pytest.fixture(scope="module")
def reader_files(cert_rsa_pem, tmp_path_factory):
    """ A reader's files after every earlier step, made once: an EC account key (fast to sign with), a new
    account key, the certificate key, its CSR, the saved order and the chain """
    folder = tmp_path_factory.mktemp("keys")
    account, new = new_ec_key(folder / "account.key"), new_ec_key(folder / "new.key")
    chain = make_chain([NAME], key_pem=cert_rsa_pem, with_aki=True)
    files = {"account.key": account.export_key(format="PEM").encode(), "new.key": new.export_key(format="PEM").encode(),
             "example.com.key": cert_rsa_pem, "example.com.chain.pem": chain.encode(),
             "example.com.csr": myhelper.create_csr(myhelper.load_private_key(cert_rsa_pem), [NAME]),
             "order.json": json.dumps({"url": ORDER_URL, "order": order("pending")}).encode()}
    return files, chain


@pytest.fixture
def reader(workdir, reader_files):
    write_ini(workdir / "acme.ini", DNSHook="true", PollTimeout="5")
    (workdir / "www").mkdir()
    return reader_files


def order(status, **extra):
    return dict({"status": status, "identifiers": [{"type": "dns", "value": NAME}],
                 "authorizations": [BASE + "/acme/authz/1"], "finalize": ORDER_URL + "/finalize"}, **extra)


def authz(status):
    return {"status": status, "identifier": {"type": "dns", "value": NAME},
            "challenges": [{"type": "http-01", "url": BASE + "/acme/chall/1", "token": TOKEN, "status": "pending"},
                           {"type": "dns-01", "url": BASE + "/acme/chall/2", "token": TOKEN, "status": "pending"}]}


def serve(fake, script, chain, row, value, headers=None):
    """ An ACME server that takes the script through its step, row's field set to value in every answer
    that carries it; headers: {(method, path): extra headers} """
    fake.reset()
    fake.check_signatures = False            # the signatures are tested elsewhere; here, what is read
    headers = headers or {}

    def answer(resource, body, status=200, **extra):
        body = copy.deepcopy(body)
        if row and row.resource == resource:
            put(body, row.path, value, row.items)
        if row and row.resource == "challenge" and resource == "authz":
            for challenge in body["challenges"]:
                put(challenge, row.path, value, row.items)
        return dict(status=status, json=body, **extra)

    def route(method, path, *answers):
        fake.on(method, path, *[dict(a, headers=dict(a.get("headers", {}), **headers.get((method, path), {})))
                                for a in answers])

    variant = row.variant if row else None
    route("GET", "/directory", answer("directory", LE_DIRECTORY))
    route("HEAD", "/acme/new-nonce", dict(status=200))
    route("POST", "/acme/new-acct", answer("account", LE_ACCOUNT, headers={"Location": ACCOUNT_URL}))
    route("POST", "/acme/acct/123", answer("account", LE_ACCOUNT))
    route("POST", "/acme/key-change", dict(status=200, json={}))
    route("POST", "/acme/revoke-cert", dict(status=200, body=""))
    route("POST", "/acme/new-order", answer("order", order("pending"), 201, headers={"Location": ORDER_URL}))
    valid = answer("order", order("valid", certificate=CERT_URL))
    route("POST", "/acme/order/1", *([answer("order", order("ready")), valid] if script is finalize_order else [valid]))
    invalid = dict(error={"type": "urn:ietf:params:acme:error:badCSR", "detail": "no"})
    route("POST", "/acme/order/1/finalize", answer("order", order("invalid", **invalid) if variant == "invalid order"
                                                   else order("processing")))
    last = authz("invalid") if variant == "invalid authz" else authz("valid")
    if variant == "invalid authz":
        last["challenges"][0]["error"] = last["challenges"][1]["error"] = invalid["error"]
    route("POST", "/acme/authz/1", answer("authz", authz("pending")), answer("authz", last))
    route("POST", "/acme/chall/1", dict(json={"status": "pending"}))
    route("POST", "/acme/chall/2", dict(json={"status": "pending"}))
    route("POST", "/acme/cert/1", dict(body=chain, headers={"Content-Type": "application/pem-certificate-chain"}))
    leaf = certs.load_pem_chain(chain)[0]
    route("GET", "/acme/renewal-info/" + certs.cert_id(leaf), answer("renewal", {
        "suggestedWindow": {"start": "2027-01-20T00:00:00Z", "end": "2027-01-22T00:00:00Z"},
        "explanationURL": "https://community.letsencrypt.org/t/123"}))


def run_with(run, reader, workdir, script):
    files, _chain = reader
    for name, data in files.items():
        (workdir / name).write_bytes(data)
        if name.endswith(".key"):
            (workdir / name).chmod(0o600)                   # as make_*_key.py writes them: no warning
    return run(script, *SCRIPTS[script])


@pytest.mark.parametrize("script", list(SCRIPTS), ids=[s.__name__ for s in SCRIPTS])
def test_each_script_completes_against_the_fake_server(fake, reader, workdir, run, no_sleep, script):
    """ The baseline: with every field as it should be, each script of the table ends with exit 0 """
    serve(fake, script, reader[1], None, None)
    code, out, err = run_with(run, reader, workdir, script)
    assert code == 0 and not err, (out, err)


@pytest.mark.parametrize("script, row", CASES)
def test_each_wrong_json_type_gives_one_clear_error(fake, reader, workdir, run, no_sleep, script, row):
    failures = []
    for label, value in row.values().items():
        serve(fake, script, reader[1], row, value)
        code, out, err = run_with(run, reader, workdir, script)
        shown = row.shown is True or script in row.shown
        words = row.words or ("{0!r}".format(row.path[-1]),)
        errors = [line for line in err.splitlines() if line.startswith("Error")]
        if "Traceback" in out + err:
            failures.append("{0}: a traceback\n{1}".format(label, err))
        elif shown and code != 0:
            failures.append("{0}: exit {1}, but the field is only shown\n{2}".format(label, code, err))
        elif not shown and not (code == 1 and err.startswith("Error") and len(errors) == 1
                                and any(word in err for word in words)):
            failures.append("{0}: exit {1}, not one clear error naming {2}\n{3}".format(label, code, words, err))
    assert not failures, "\n".join(failures)


HEADERS = [   # (scripts, (method, path) of the answer, header, values, shown: ridden out with exit 0)
    (ACCOUNT_LOOKUP + [new_account], ("POST", "/acme/new-acct"), "Location",
     {"empty": "", "not a URL": "s", "http": "http://acme.test/acme/acct/123", "a space": "https://acme.test/a b"},
     False),
    (ORDERING, ("POST", "/acme/new-order"), "Location", {"empty": "", "not a URL": "s",
                                                         "http": "http://acme.test/acme/order/1"}, False),
    ([get_certificate], ("POST", "/acme/cert/1"), "Link", {"not a URL": '<s>;rel="alternate"',
                                                          "http": '<http://acme.test/alt>;rel="alternate"'}, False),
    ([get_certificate], ("POST", "/acme/cert/1"), "Link", {"junk": "junk", "open": "<", "no rel": "<s>"}, True),
    ([http01_challenge], ("POST", "/acme/authz/1"), "Retry-After", {"word": "soon", "negative": "-1", "float": "1e99",
                                                         "huge": "9" * 40, "bad date": "Mon, 99 Foo 2026"}, True),
    ([finalize_order, issue_certificate], ("POST", "/acme/order/1/finalize"), "Retry-After",
     {"word": "soon", "negative": "-1", "huge": "9" * 40}, True),
    ([new_account, get_account_info, issue_certificate], ("POST", "/acme/new-acct"), "Replay-Nonce",
     {"not base64url": "bad nonce!", "padded": "abc=", "too long": "a" * 300, "escape": "a\x1b[2J"}, True),
]


@pytest.mark.parametrize("script, where, header, values, shown", [
    pytest.param(script, where, header, values, shown, id="{0}-{1}-{2}".format(script.__name__, header, where[1]))
    for scripts, where, header, values, shown in HEADERS for script in scripts])
def test_each_malformed_header_gives_one_clear_error_or_is_ignored(fake, reader, workdir, run, no_sleep, script,
                                                                   where, header, values, shown):
    failures = []
    for label, value in values.items():
        serve(fake, script, reader[1], None, None, headers={where: {header: value}})
        code, out, err = run_with(run, reader, workdir, script)
        if "Traceback" in out + err or code != (0 if shown else 1) or (not shown and not err.startswith("Error")):
            failures.append("{0}: exit {1}\n{2}".format(label, code, err))
    assert not failures, "\n".join(failures)
