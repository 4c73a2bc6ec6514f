""" Let's Encrypt ACME Version 2 Examples - transport: the safety net under the scripts

Not the lesson: the scripts show every ACME exchange themselves; this module only carries them
safely, so a reader may skip it. Primitives, as in uacme: get, head, post (a JWS the script built),
poll. No ACME step lives here.

- One HTTPS session to the CA, User-Agent and Accept-Language on every request (RFC 8555 §6.1);
  TLS always verified, against CABundle when acme.ini names one (verify= on every request).
- https:// only, for every URL requested, also those the server hands out; redirects are never
  followed (a 3xx is an error that names its Location).
- Timeout (acme.ini) bounds each request as a whole: connecting, every read, the whole body. An
  answer may hold MAX_BODY bytes at most, counted after decompression.
- Answers are read without surprises: JSON objects only, nested MAX_DEPTH levels at most, each field
  checked for its type where a script reads it (field, url_field); headers and PEM chains parsed in
  linear time.
- The Replay-Nonce of every answer is kept for the next POST; badNonce is retried with the error's
  own nonce (§6.5); 429 and 503 are retried after a short Retry-After. Both are bounded in count and
  in time.
- poll(): a resource is asked again until its status is a final one, first after FIRST_POLL (or
  the Retry-After the server gave), then at least 1 s apart, within PollTimeout.
"""

import contextlib
import email.utils
import json
import re
import signal
import threading
import time
from time import monotonic, sleep
from urllib.parse import urlparse

import requests

import helper
import myhelper

MAX_BODY = 1024 * 1024            # 1 MiB: a directory or a chain of a few certificates, many times over
MAX_DEPTH = 32                    # honest ACME answers nest 4 levels deep
MAX_NONCE_RETRIES = 20            # Pebble rejects up to half the good nonces on purpose (NONCEREJECT)
MAX_WAIT_RETRY = 10               # a 429 or 503 asking for at most this many seconds is waited out...
MAX_BUSY_RETRIES = 3              # ...this many times at most
FIRST_POLL = 0.02                 # seconds before the first look after answering a challenge or finalizing
MIN_POLL_INTERVAL = 1.0           # later looks at the same resource: at least this far apart
MAX_POLL_INTERVAL = 10.0
NONCE = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")
ERROR_NS = "urn:ietf:params:acme:error:"

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


class AcmeProblem(helper.AcmeError):
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
        if self.type == "rateLimited":
            when = re.search(r"retry after ([0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} UTC)", self.detail)
            if when:
                return "You hit a rate limit; you can try again after {0}.".format(when.group(1))
        return HINTS.get(self.type)


class _Expired(BaseException):
    """ Raised inside a request whose Timeout ran out (BaseException: no library may swallow it) """


@contextlib.contextmanager
def _deadline(seconds):
    """ Interrupt whatever runs inside after seconds: a server that sends one byte a second cannot hang us """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield                                   # elsewhere only the per-read timeout applies
        return

    def expired(_signum, _frame):
        raise _Expired()
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Transport:
    """ One HTTPS session to one ACME server, with the state a client keeps between requests """

    def __init__(self, ini, debug=False):
        self.timeout = ini["Timeout"]
        self.poll_timeout = ini["PollTimeout"]
        self.verify = ini["CABundle"] or True
        self.debug = debug
        self.home = urlparse(ini["ACMEDirectory"]).hostname
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": ini["UserAgent"], "Accept-Language": ini["Language"],
                                     "Accept-Encoding": "identity"})
        self.nonce = None
        self.nonce_url = None
        self.requests_sent = 0

    # -- one request ----------------------------------------------------------------------------

    def send(self, method, url, what, body=None, headers=None, plain_http=False):
        """ One request and its whole answer, within Timeout and MAX_BODY; keeps its Replay-Nonce """
        check_url(url, what, plain_http)
        if not plain_http:                      # the http-01 self-check says what it checked itself
            print("Calling endpoint:", url)
        if self.debug:
            self._debug_request(url, body)
        self.requests_sent += not plain_http
        try:
            with _deadline(self.timeout):
                response = self.session.request(method, url, data=body and json.dumps(body), headers=headers,
                                                timeout=self.timeout, verify=self.verify, allow_redirects=False,
                                                stream=True)
                response._content = read_body(response, url)
        except _Expired:
            raise helper.AcmeError("Error: No complete answer from {0} within {1:g} seconds ({2}). The server may be "
                                   "down or slow; try again later, or raise Timeout in acme.ini."
                                   .format(url, self.timeout, what))
        except requests.exceptions.RequestException as error:
            raise network_error(error, url, what, self.timeout)
        nonce = response.headers.get("Replay-Nonce", "")
        if NONCE.match(nonce):
            self.nonce = nonce
        if self.debug:
            self._debug_response(response)
        if response.is_redirect:
            raise helper.AcmeError("Error: {0} answered {1} {2}, a redirect to {3!r} ({4}). ACME requests do not "
                                   "follow redirects: check ACMEDirectory in acme.ini.".format(
                                       url, response.status_code, helper.cut(response.reason, 100),
                                       helper.cut(response.headers.get("Location", ""), 300), what))
        return response

    def _busy(self, response, attempt, started):
        """ Wait out a 429 or 503 that asks for a short Retry-After (§6.6); True when waited """
        wait = retry_after(response)
        if (response.status_code not in (429, 503) or wait is None or wait > MAX_WAIT_RETRY
                or attempt >= MAX_BUSY_RETRIES or monotonic() - started + wait > 3 * MAX_WAIT_RETRY):
            return False
        print("The server is busy ({0}); waiting {1:g} s as it asks (Retry-After).".format(response.status_code, wait))
        sleep(wait)
        return True

    def get(self, url, what, method="GET", headers=None):
        """ GET (or HEAD) url; an error answer becomes an AcmeProblem """
        started = monotonic()
        for attempt in range(1, MAX_BUSY_RETRIES + 1):
            response = self.send(method, url, what, headers=headers)
            if response.ok:
                return response
            if not self._busy(response, attempt, started):
                break
        raise AcmeProblem(response, what)

    def head(self, url, what):
        return self.get(url, what, method="HEAD")

    def get_json(self, url, what):
        """ GET a JSON object: the directory, renewal information """
        return json_object(self.get(url, "getting " + what), what)

    def new_nonce(self, url):
        """ HEAD newNonce (§7.2): the nonce for the first POST; later ones come with every answer """
        self.nonce_url = url
        response = self.head(url, "getting a nonce")
        nonce = response.headers.get("Replay-Nonce", "")
        if not NONCE.match(nonce):
            raise helper.AcmeError("Error: Response headers did not contain the header \"Replay-Nonce\" (from {0}), "
                                   "or it is not base64url. The server is not answering as an ACME server."
                                   .format(url))
        return nonce

    def post(self, url, sign, what, headers=None, hints=None):
        """ POST the JWS that sign(nonce) builds; a badNonce answer is retried with the nonce it brought

        The nonce is the last Replay-Nonce seen (or a fresh one from newNonce). hints: advice by
        problem type, in place of the usual HINTS.
        """
        headers = dict(headers or {}, **{"Content-Type": "application/jose+json"})
        started = monotonic()
        for attempt in range(1, MAX_NONCE_RETRIES + 1):
            if self.nonce is None:
                if self.nonce_url is None:
                    raise helper.AcmeError("Error: No nonce to sign with: get one from newNonce first.")
                self.new_nonce(self.nonce_url)
            nonce, self.nonce = self.nonce, None
            response = self.send("POST", url, what, body=sign(nonce), headers=headers)
            if response.ok:
                return response
            problem = AcmeProblem(response, what, hints)
            if problem.type == "badNonce" and monotonic() - started < 2 * self.timeout:
                print("The server rejected the nonce (badNonce); retrying with the nonce it sent.")
            elif not self._busy(response, attempt, started):
                raise problem
        raise helper.AcmeError("Error: The server rejected {0} requests in a row while {1} ({2}): bad nonces or "
                               "busy answers. Try again later.".format(MAX_NONCE_RETRIES, what, url))

    def poll(self, url, sign, done, what, first_wait=FIRST_POLL):
        """ POST (sign builds each JWS) to url until its "status" is one of done; returns the object

        The first look comes after first_wait seconds; later ones at least MIN_POLL_INTERVAL apart,
        after the server's Retry-After (clamped) or a backoff of 1, 2, 4... seconds. PollTimeout ends it.
        """
        deadline = monotonic() + self.poll_timeout
        wait, backoff = max(0.0, first_wait), MIN_POLL_INTERVAL
        while True:
            sleep(min(wait, max(0.0, deadline - monotonic())))
            response = self.post(url, sign, "polling " + what)
            obj = json_object(response, what)
            status = field(obj, "status", str, what)
            if status in done:
                return obj
            asked = retry_after(response)
            wait = max(MIN_POLL_INTERVAL, backoff if asked is None else asked)
            backoff = min(backoff * 2, MAX_POLL_INTERVAL)
            if wait > deadline - monotonic():
                raise helper.AcmeError("Error: {0} is still {1!r}, and PollTimeout ({2:g} seconds) ends before the "
                                       "next look ({3}). Run the step again later, or raise PollTimeout in acme.ini."
                                       .format(what, helper.cut(status, 100), self.poll_timeout, url))
            print("Status of {0}: {1}; checking again in {2:.3g} s".format(what, helper.cut(status, 100), wait))

    # -- --debug: the wire --------------------------------------------------------------------

    def _debug_request(self, url, body):
        host = urlparse(url).hostname
        if host != self.home:
            print("  (this URL is on {0}, not on the directory's host {1})".format(host, self.home))
        if body:
            header = json.loads(myhelper.b64decode(body["protected"]))
            payload = json.loads(myhelper.b64decode(body["payload"])) if body["payload"] else '"" (POST-as-GET)'
            print("  -> protected header:", json.dumps(header, indent=4).replace("\n", "\n     "))
            print("     payload:", payload if isinstance(payload, str) else
                  json.dumps(payload, indent=4).replace("\n", "\n     "))
            print("     signature: {0} bytes".format(len(myhelper.b64decode(body["signature"]))))

    def _debug_response(self, response):
        print("  <- {0} {1}".format(response.status_code, helper.cut(response.reason, 200)))
        for name in ("Replay-Nonce", "Location", "Link", "Retry-After", "Content-Type"):
            if name in response.headers:
                print("     {0}: {1}".format(name, helper.cut(response.headers[name], 500)))
        if response.content:
            text = response.content[:10000].decode("utf8", "replace")
            print("     " + text.replace("\n", "\n     ") + ("..." if len(response.content) > 10000 else ""))


# -- reading answers ----------------------------------------------------------------------------

def check_url(url, what, plain_http=False):
    """ Only https:// URLs are requested (http:// only for the http-01 self-check) """
    schemes = ("https", "http") if plain_http else ("https",)
    try:
        parsed = urlparse(url)
        ok = parsed.scheme in schemes and bool(parsed.hostname) and not any(c.isspace() for c in url)
    except ValueError:
        ok = False
    if not ok:
        raise helper.AcmeError("Error: Refused to request {0!r} ({1}): only https:// URLs are used. Check "
                               "ACMEDirectory in acme.ini; a server that hands out other URLs is not a safe "
                               "ACME server.".format(helper.cut(url, 300), what))


def read_body(response, url):
    """ The whole body, at most MAX_BODY bytes after decompression """
    length = response.headers.get("Content-Length", "")
    if length.isascii() and length.isdigit() and int(length) > MAX_BODY:
        response.close()
        raise helper.AcmeError("Error: The answer from {0} is {1} bytes; more than {2} is refused.".format(
            url, length, MAX_BODY))
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            response.close()
            raise helper.AcmeError("Error: The answer from {0} is larger than {1} bytes; it was refused."
                                   .format(url, MAX_BODY))
        chunks.append(chunk)
    return b"".join(chunks)


def network_error(error, url, what, timeout):
    """ One clear message for a failed request """
    reason = helper.cut(getattr(error.args[0], "reason", error) if error.args else error, 300)
    if isinstance(error, requests.exceptions.SSLError):
        return helper.AcmeError("Error: TLS verification failed for {0}: {1}\nThe server's certificate is not "
                                "trusted. For a test server (Pebble) set CABundle in acme.ini to its CA certificate; "
                                "for Let's Encrypt leave CABundle empty and check the system's CA certificates."
                                .format(url, reason))
    if isinstance(error, requests.exceptions.Timeout):
        return helper.AcmeError("Error: No answer from {0} within {1:g} seconds ({2}). The server may be down or slow; "
                                "try again later, or raise Timeout in acme.ini.".format(url, timeout, what))
    if isinstance(error, requests.exceptions.ConnectionError):
        return helper.AcmeError("Error: Cannot connect to {0}: {1}\nCheck ACMEDirectory in acme.ini, your network, "
                                "and that the server is running.".format(url, reason))
    return helper.AcmeError("Error: The request to {0} failed ({1}): {2}".format(url, what, reason))


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
        raise helper.AcmeError("Error: Cannot load returned data: {0}\nThe answer from {1} ({2}) is not JSON: {3}"
                               .format(helper.cut(error, 200), response.url, what, snippet(response.content)))
    if not isinstance(obj, dict):
        raise helper.AcmeError("Error: Cannot load returned data: the server sent {0} where a JSON object was "
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
        raise helper.AcmeError("Error: The server sent {0} where {1} was expected: {2!r} in {3}.".format(
            "nothing" if name not in obj else kind_of(value), KINDS[kind], name, what))
    return value


def url_field(obj, name, what):
    """ obj[name] as an https:// URL """
    url = field(obj, name, str, what)
    check_url(url, "{0!r} in {1}".format(name, what))
    return url


def header(response, name, what):
    """ A header the protocol promises; one clear error when it is missing """
    value = response.headers.get(name)
    if not value:
        raise helper.AcmeError('Error: Response headers did not contain the header "{0}" (from {1}, {2}).'
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


TOKEN = re.compile(r"[A-Za-z0-9_-]{16,256}\Z")


def token(challenge, what):
    """ A challenge's token: base64url (§8.1), so it can never leave a web root as a file name """
    value = field(challenge, "token", str, what)
    if not TOKEN.match(value):
        raise helper.AcmeError("Error: The server sent a challenge token that is not base64url ({0}): {1!r}. It "
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
        raise helper.AcmeError("Error: The server sent an authorization for {0!r}, which the order did not ask for "
                               "({1}). Nothing was done for it.".format(helper.cut(name, 300), ", ".join(order_names)))
    return name


def time_field(obj, name, what):
    """ obj[name], an RFC 3339 time ("2026-11-26T10:00:00Z"), as seconds since 1970 """
    import datetime
    text = field(obj, name, str, what)
    found = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)", text.strip(), re.I)
    try:
        zone = "+00:00" if found.group(3).upper() == "Z" else found.group(3)
        when = datetime.datetime.fromisoformat(found.group(1) + zone).timestamp()
    except (AttributeError, ValueError, OverflowError):
        raise helper.AcmeError("Error: The server sent {0!r} where an RFC 3339 time was expected: {1!r} in {2}."
                               .format(helper.cut(text, 100), name, what))
    return when + float(found.group(2) or 0)


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


def pem_chain(response, what):
    """ The certificates of a PEM chain answer (ASCII only, linear parse, certificates only) """
    try:
        return helper.load_pem_chain(response.content.decode("ascii"))
    except UnicodeDecodeError:
        raise helper.AcmeError("Error: The certificate chain from {0} is not ASCII text; it was refused ({1})."
                               .format(response.url, what))
    except ValueError as error:
        raise helper.AcmeError("Error: The certificate chain from {0} was refused: {1}.".format(response.url, error))
