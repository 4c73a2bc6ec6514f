""" Reading what the server said: every answer is untrusted input

- JSON: objects only, nested MAX_DEPTH levels at most (parse_json, json_object);
- each field checked for its type where a script reads it (field, url_field, time_field; list_field
  and url_list for every item of a list), and every URL the server hands out is https:// (check_url);
- problem documents (RFC 8555 §6.7) become AcmeProblem, with a hint by problem type;
- headers (Location, Link, Retry-After) and PEM chains parsed in linear time;
- names and tokens checked before any file, web server or hook acts on them (authz_name, token).
Errors are frame.AcmeError: one message that says what the server sent and where.
"""

import datetime
import email.utils
import json
import re
import time
from urllib.parse import urlparse

import requests

import helper
import myhelper
from lib import certs
from lib.frame import AcmeError

MAX_DEPTH = 32                    # honest ACME answers nest 4 levels deep
ERROR_NS = "urn:ietf:params:acme:error:"
SPACE = re.compile(r"\s")

HINTS = {
    "accountDoesNotExist": "No account uses this key yet: create it with python new_account.py",
    "unauthorized": "The server refused this account or key for this request.",
    "rateLimited": "You hit a rate limit; wait before trying again (Let's Encrypt staging has higher limits).",
    "userActionRequired": "Visit the URL the server gave (often new terms of service), then try again.",
    "externalAccountRequired": "This CA needs external account binding: set EABKeyID and EABHMACKey in acme.ini.",
    "invalidContact": "Fix Contacts in acme.ini: each must be mailto: with a real address.",
    "unsupportedContact": "Fix Contacts in acme.ini: this CA accepts only mailto: contacts.",
    "serverInternal": "The server failed; try again later.",
    "orderNotReady": "The order is not ready: answer its challenges first (http01_challenge.py or "
                     "dns01_challenge.py).",
    "badCSR": "Create the CSR again with python make_csr.py NAME...",
    "invalidProfile": "Choose a profile the CA offers (python get_directory.py lists them), or none.",
}


class AcmeProblem(AcmeError):
    """ The server answered with an error; .type is the short problem type ("badNonce"), .problem the document """

    def __init__(self, response, what, hints=None):
        self.response = response
        self.status = response.status_code
        self.problem = problem_document(response)
        kind = self.problem.get("type")
        self.type = kind[len(ERROR_NS):] if isinstance(kind, str) and kind.startswith(ERROR_NS) else str(kind or "")
        self.detail = str(self.problem.get("detail", ""))
        lines = ["Error calling ACME endpoint: {0} ({1})".format(helper.cut(response.reason, 200), what),
                 "URL: {0}".format(response.url), "Status Code: {0}".format(response.status_code)]
        if self.problem:
            lines += myhelper.format_problem(self.problem)
            hint = (hints or {}).get(self.type) or self.hint()
            lines += [hint] if hint else []
        else:
            lines.append("The answer is not an ACME problem document ({0}): {1}".format(
                helper.cut(response.headers.get("Content-Type", "no Content-Type"), 100), snippet(response.content)))
            lines.append("A proxy or the server failed; check ACMEDirectory in acme.ini and try again later.")
        wait = retry_after(response)
        if wait is not None and not (self.type == "rateLimited" and "unpause" in self.detail):
            lines.append("The server asks to retry after {0:.0f} seconds (at {1} UTC): run this step again then."
                         .format(wait, time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + wait))))
        super().__init__("\n".join(lines))

    def hint(self):
        detail = self.detail.lower()
        if self.type == "unauthorized" and "deactivated" in detail:
            return ("This account is deactivated and can never be used again. To go on, make a new key "
                    "(python make_account_key.py new.key), set AccountKeyFile to it and run python new_account.py")
        if self.type == "rateLimited" and "unpause" in detail:
            urls = re.findall(r"https://[^\s\"'<>]{1,500}", self.detail)
            return ("This account is paused for these names after too many failed validations: waiting will not "
                    "help. Visit {0} to unpause it, then try again.".format(urls[0] if urls else "the URL above"))
        if self.type == "badCSR" and ("forbidden" in detail or "blocked" in detail):
            return ("The CA refuses this certificate key: it is blocked (for example after a revocation for "
                    "keyCompromise, or one signed with the key itself), and a new CSR for the same key is refused "
                    "too. Make a new certificate key (python make_certificate_key.py NEW.key, then set "
                    "CertificateKeyFile to it), then a new CSR: python make_csr.py NAME...")
        if self.type == "rateLimited":
            when = re.search(r"retry after ([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC)", self.detail)
            if when:
                return "You hit a rate limit; you can try again after {0}.".format(when.group(1))
        return HINTS.get(self.type)


def check_url(url, what, plain_http=False):
    """ Only https:// URLs are requested (http:// only for the http-01 self-check) """
    schemes = ("https", "http") if plain_http else ("https",)
    try:
        parsed = urlparse(url)
        ok = parsed.scheme in schemes and bool(parsed.hostname) and not SPACE.search(url)
    except ValueError:
        ok = False
    if not ok:
        raise AcmeError("Error: Refused to request {0!r} ({1}): only https:// URLs are used. Check "
                        "ACMEDirectory in acme.ini; a server that hands out other URLs is not a safe "
                        "ACME server.".format(helper.cut(url, 300), what))


def snippet(body, limit=200):
    """ The start of a body that is not JSON, tags and white space folded (cut first: linear time) """
    text = body[:4 * limit].decode("utf8", "replace") if isinstance(body, bytes) else str(body)[:4 * limit]
    text = " ".join(re.sub(r"<[^<>]{0,100}>", " ", text).split())
    return (text[:limit] + "...") if len(text) > limit or len(body) > 4 * limit else (text or "(empty body)")


def parse_json(data):
    """ JSON text to Python, refusing nesting deeper than MAX_DEPTH; ValueError when it is not JSON """
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError("nested too deeply")
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError("nested more than {0} levels deep".format(MAX_DEPTH))
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return value


def problem_document(response):
    """ The problem document (§6.7) of an error answer, or {} when the body is not one """
    try:
        problem = parse_json(response.content)
    except ValueError:
        return {}
    return problem if isinstance(problem, dict) else {}


def json_object(response, what):
    """ The JSON object of an answer; one clear error for anything else """
    try:
        obj = parse_json(response.content)
    except ValueError as error:
        raise AcmeError("Error: Cannot load returned data: {0}\nThe answer from {1} ({2}) is not JSON: {3}"
                        .format(helper.cut(error, 200), response.url, what, snippet(response.content)))
    if not isinstance(obj, dict):
        raise AcmeError("Error: Cannot load returned data: the server sent {0} where a JSON object was "
                        "expected ({1}, from {2}).".format(kind_of(obj), what, response.url))
    return obj


KINDS = {str: "a string", dict: "a JSON object", list: "a list", bool: "true or false", int: "a whole number"}


def kind_of(value):
    if value is None:
        return "null"
    return next((name for kind, name in KINDS.items() if type(value) is kind), "a number")


def field(obj, name, kind, what, default=None):
    """ obj[name] when it is of kind (str, dict, list, bool, int); default when absent and one is given """
    if name not in obj and default is not None:
        return default
    value = obj.get(name)
    if type(value) is not kind:
        raise AcmeError("Error: The server sent {0} where {1} was expected: {2!r} in {3}.".format(
            "nothing" if name not in obj else kind_of(value), KINDS[kind], name, what))
    return value


def url_field(obj, name, what):
    """ obj[name] as an https:// URL """
    url = field(obj, name, str, what)
    check_url(url, "{0!r} in {1}".format(name, what))
    return url


def list_field(obj, name, kind, what):
    """ obj[name], a list whose every item is of kind (str, dict, ...) """
    items = field(obj, name, list, what)
    for number, item in enumerate(items, 1):
        if type(item) is not kind:
            raise AcmeError("Error: The server sent {0} where {1} was expected: item {2} of {3!r} in {4}.".format(
                kind_of(item), KINDS[kind], number, name, what))
    return items


def url_list(obj, name, what):
    """ obj[name], a list of https:// URLs (an order's authorizations) """
    urls = list_field(obj, name, str, what)
    for url in urls:
        check_url(url, "an item of {0!r} in {1}".format(name, what))
    return urls


def time_field(obj, name, what):
    """ obj[name], an RFC 3339 time ("2026-11-26T10:00:00Z"), as seconds since 1970 """
    text = field(obj, name, str, what)
    found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", text.strip(), re.I)
    try:
        zone = "+00:00" if found.group(3).upper() == "Z" else found.group(3)
        when = datetime.datetime.fromisoformat(found.group(1) + zone).timestamp()
    except (AttributeError, ValueError, OverflowError):
        raise AcmeError("Error: The server sent {0!r} where an RFC 3339 time was expected: {1!r} in {2}."
                        .format(helper.cut(text, 100), name, what))
    return when + float(found.group(2) or 0)


def header(response, name, what):
    """ A header the protocol promises; one clear error when it is missing """
    value = response.headers.get(name)
    if not value:
        raise AcmeError('Error: Response headers did not contain the header "{0}" (from {1}, {2}).'
                        .format(name, response.url, what))
    return value


def location(response, what):
    """ The Location header: the URL of what was just created or found, https:// """
    url = header(response, "Location", what)
    check_url(url, "the Location of " + what)
    return url


def links(response, rel):
    """ The https:// URLs of Link: <...>;rel="..." headers (RFC 8288), e.g. rel="alternate" chains """
    found = requests.utils.parse_header_links(response.headers.get("Link", ""))
    urls = [link.get("url", "") for link in found if link.get("rel") == rel]
    for url in urls:
        check_url(url, "a Link rel={0} header".format(rel))
    return urls


def retry_after(response, now=None):
    """ Retry-After in seconds, or None when absent or unreadable; a past date gives 0.0, a huge
    number stays huge (callers clamp it to what they can wait) """
    value = response.headers.get("Retry-After", "").strip()
    if re.fullmatch(r"[0-9]{1,9}", value):
        return float(value)
    if re.fullmatch(r"[0-9]+", value):
        return 1e9
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    return max(0.0, when - (now or time.time()))


TOKEN = re.compile(r"[A-Za-z0-9_-]{16,256}\Z")


def token(challenge, what):
    """ A challenge's token: base64url (§8.1), so it can never leave a web root as a file name """
    value = field(challenge, "token", str, what)
    if not TOKEN.match(value):
        raise AcmeError("Error: The server sent a challenge token that is not base64url ({0}): {1!r}. It "
                        "was refused.".format(what, helper.cut(value, 100)))
    return value


def authz_name(authz, order_names, what="an authorization"):
    """ The name an authorization is for ("*.example.com" for a wildcard), which must be one the order
    asked for (case-insensitive): checked before any file, web server or hook acts on it """
    identifier = field(authz, "identifier", dict, what)
    name = field(identifier, "value", str, "the identifier of " + what).lower()
    if field(authz, "wildcard", bool, what, default=False):
        name = "*." + name
    if name not in [n.lower() for n in order_names]:
        raise AcmeError("Error: The server sent an authorization for {0!r}, which the order did not ask for "
                        "({1}). Nothing was done for it.".format(helper.cut(name, 300), ", ".join(order_names)))
    return name


def pem_chain(response, what):
    """ The certificates of a PEM chain answer (ASCII only, linear parse, certificates only) """
    try:
        return certs.load_pem_chain(response.content.decode("ascii"))
    except UnicodeDecodeError:
        raise AcmeError("Error: The certificate chain from {0} is not ASCII text; it was refused ({1})."
                        .format(response.url, what))
    except ValueError as error:
        raise AcmeError("Error: The certificate chain from {0} was refused: {1}.".format(response.url, error))
