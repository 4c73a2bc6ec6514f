""" Sending and retrying: the safety net under the scripts, which a reader may skip

The scripts show every ACME exchange themselves; this module only carries them safely. Primitives,
as in uacme: get, head, post (a JWS the script signs), poll. No ACME step lives here.

- One HTTPS session to the CA, User-Agent and Accept-Language on every request (RFC 8555 §6.1);
  TLS always verified, against CABundle when acme.ini names one (verify= on every request).
- https:// only, for every URL requested, also those the server hands out; redirects are never
  followed (a 3xx is an error that names its Location).
- Timeout (acme.ini) bounds each request as a whole: connecting, every read, the whole body. An
  answer may hold MAX_BODY bytes at most, counted after decompression.
- The Replay-Nonce of every answer is kept for the next POST (one that is not base64url is
  ignored, §6.5.1); badNonce is retried with the error's own nonce (§6.5); 429 and 503 are retried
  after a short Retry-After. Both are bounded in count and in time.
- poll(): a resource is asked again until its status is a final one: first after first_look() (the
  Retry-After the server gave, else at once), a second look soon after when the first was too early,
  then at least 1 s apart, within PollTimeout; no fixed sleeps.
"""

import contextlib
import itertools
import json
import re
import signal
import threading
from time import monotonic, sleep
from urllib.parse import urlparse

import requests

import helper
import myhelper
from lib.answers import AcmeProblem, check_url, field, json_object, retry_after
from lib.frame import AcmeError

MAX_BODY = 1024 * 1024            # 1 MiB: a directory or a chain of a few certificates, many times over
MAX_NONCE_RETRIES = 20            # Pebble rejects up to half the good nonces on purpose (NONCEREJECT)
MAX_WAIT_RETRY = 10               # a 429 or 503 asking for at most this many seconds is waited out...
MAX_BUSY_RETRIES = 3              # ...in this many tries in all (the first included: 2 waits at most)
FIRST_POLL = 0.0                  # no fixed wait before a first look: see first_look()
QUICK_LOOK = 0.05                 # a second look this soon at least, when the first came too early
MIN_POLL_INTERVAL = 1.0           # later looks at the same resource: at least this far apart
MAX_POLL_INTERVAL = 10.0
NONCE = re.compile(r"[A-Za-z0-9_-]{1,256}\Z")


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


@contextlib.contextmanager
def within(seconds, url, what):
    """ What runs inside (one request, its whole answer) within seconds, or one clear error """
    try:
        with _deadline(seconds):
            yield
    except _Expired:
        raise AcmeError("Error: No complete answer from {0} within {1:g} seconds ({2}). The server may be down or "
                        "slow; try again later, or raise Timeout in acme.ini.".format(url, seconds, what))


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
            with within(self.timeout, url, what):
                response = self.session.request(method, url, data=body and json.dumps(body), headers=headers,
                                                timeout=self.timeout, verify=self.verify, allow_redirects=False,
                                                stream=True)
                response._content = read_body(response, url)
        except requests.exceptions.RequestException as error:
            raise network_error(error, url, what, self.timeout)
        nonce = response.headers.get("Replay-Nonce", "")
        if NONCE.match(nonce) and not plain_http:      # nonces come from the CA only, never from a web server
            self.nonce = nonce
        if self.debug:
            self._debug_response(response)
        if response.is_redirect:
            raise AcmeError("Error: {0} answered {1} {2}, a redirect to {3!r} ({4}). ACME requests do not "
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
            raise AcmeError("Error: Response headers did not contain the header \"Replay-Nonce\" (from {0}), "
                            "or it is not base64url. The server is not answering as an ACME server."
                            .format(url))
        return nonce

    def post(self, url, payload, signed, what, nonce=None, headers=None, hints=None):
        """ POST signed(nonce, url, payload), the JWS the script builds; returns the answer

        nonce: the one to sign with, as new_nonce() returned it; else the Replay-Nonce of the last
        answer (or a fresh one from newNonce). A badNonce answer is retried with the nonce it brought
        (§6.5), a short 429 or 503 after its Retry-After; both bounded in count and in time. hints:
        advice by problem type, in place of the usual HINTS.
        """
        headers = dict(headers or {}, **{"Content-Type": "application/jose+json"})
        nonce = nonce or self.nonce
        started = monotonic()
        for attempt in range(1, MAX_NONCE_RETRIES + 1):
            if nonce is None:
                if self.nonce_url is None:
                    raise AcmeError("Error: No nonce to sign with: get one from newNonce first.")
                nonce = self.new_nonce(self.nonce_url)
            self.nonce = None                       # a nonce is good for one request only
            response = self.send("POST", url, what, body=signed(nonce, url, payload), headers=headers)
            if response.ok:
                return response
            nonce = self.nonce                      # the error's own nonce, or None for a fresh one
            problem = AcmeProblem(response, what, hints)
            if problem.type == "badNonce" and monotonic() - started < 2 * self.timeout:
                print("The server rejected the nonce (badNonce); retrying with the nonce it sent.")
            elif not self._busy(response, attempt, started):
                raise problem
        raise AcmeError("Error: The server rejected {0} requests in a row while {1} ({2}): bad nonces or "
                        "busy answers. Try again later.".format(MAX_NONCE_RETRIES, what, url))

    def poll(self, url, signed, done, what, first_wait=FIRST_POLL):
        """ POST-as-GET url (signed builds each JWS) until its "status" is one of done; returns the object

        The first look comes after first_wait seconds (first_look()). When it was too early and the
        server asks for no Retry-After, a second look follows soon (QUICK_LOOK, or ten times a longer
        first wait): a CA at hand is usually done by then. Later looks are at least
        MIN_POLL_INTERVAL apart, after the server's Retry-After (clamped) or a backoff of 1, 2, 4...
        seconds. PollTimeout ends it.
        """
        deadline = monotonic() + self.poll_timeout
        wait, backoff = max(0.0, first_wait), MIN_POLL_INTERVAL
        quick = min(MIN_POLL_INTERVAL, max(QUICK_LOOK, 10 * wait))
        for look in itertools.count():
            sleep(min(wait, max(0.0, deadline - monotonic())))
            response = self.post(url, "", signed, "polling " + what)
            obj = json_object(response, what)
            status = field(obj, "status", str, what)
            if status in done:
                return obj
            asked = retry_after(response)
            if look == 0 and asked is None:
                wait = quick
            else:
                wait = max(MIN_POLL_INTERVAL, backoff if asked is None else asked)
                backoff = min(backoff * 2, MAX_POLL_INTERVAL)
            if wait > deadline - monotonic():
                raise AcmeError("Error: {0} is still {1!r}, and PollTimeout ({2:g} seconds) ends before the "
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


def first_look(response):
    """ When to look first at what a POST set going (a challenge answered, an order finalized): after the
    server's Retry-After, else at once (the look itself takes a round trip to reach the CA). No fixed sleep """
    asked = retry_after(response)
    return FIRST_POLL if asked is None else asked


def read_body(response, url):
    """ The whole body, at most MAX_BODY bytes after decompression """
    length = response.headers.get("Content-Length", "")
    if length.isascii() and length.isdigit() and int(length) > MAX_BODY:
        response.close()
        raise AcmeError("Error: The answer from {0} is {1} bytes; more than {2} is refused.".format(
            url, length, MAX_BODY))
    chunks, size = [], 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            response.close()
            raise AcmeError("Error: The answer from {0} is larger than {1} bytes; it was refused."
                            .format(url, MAX_BODY))
        chunks.append(chunk)
    return b"".join(chunks)


def network_error(error, url, what, timeout):
    """ One clear message for a failed request """
    reason = helper.cut(getattr(error.args[0], "reason", error) if error.args else error, 300)
    if isinstance(error, requests.exceptions.SSLError):
        return AcmeError("Error: TLS verification failed for {0}: {1}\nThe server's certificate is not "
                         "trusted. For a test server (Pebble) set CABundle in acme.ini to its CA certificate; "
                         "for Let's Encrypt leave CABundle empty and check the system's CA certificates."
                         .format(url, reason))
    if isinstance(error, requests.exceptions.Timeout):
        return AcmeError("Error: No answer from {0} within {1:g} seconds ({2}). The server may be down or slow; "
                         "try again later, or raise Timeout in acme.ini.".format(url, timeout, what))
    if isinstance(error, requests.exceptions.ConnectionError):
        return AcmeError("Error: Cannot connect to {0}: {1}\nCheck ACMEDirectory in acme.ini, your network, "
                         "and that the server is running.".format(url, reason))
    return AcmeError("Error: The request to {0} failed ({1}): {2}".format(url, what, reason))
