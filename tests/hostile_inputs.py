""" Hostile server text for every parser of server input (issue 10: none may be superlinear)

Each case: what a server sends (about n bytes) and the parser of ours that reads it. tests/test_hostile.py feeds
them 10 MB each; bench/bench.py times them at 1 MB and 10 MB for docs/BENCHMARKS.md.
Every call must end with a result or a ValueError / AcmeError: never a hang, never a traceback.
"""

import time

import requests
from requests.structures import CaseInsensitiveDict

from lib import answers, frame


def answer(body=b"", **headers):
    response = requests.Response()
    response.status_code, response.url, response._content = 200, "https://ca.test/x", body
    response.headers = CaseInsensitiveDict({k.replace("_", "-"): v for k, v in headers.items()})
    return response


def links(value):
    return answers.links(answer(Link=value), "alternate")


def retry_after(value):
    return answers.retry_after(answer(Retry_After=value))


def location(value):
    return answers.location(answer(Location=value), "the order")


def pem_chain(body):
    return answers.pem_chain(answer(body), "the certificate")


# name: (what the server sends, about n bytes of it; the parser that reads it)
CASES = {
    "error snippet: unclosed tags": (lambda n: b"<" * n, answers.snippet),
    "error snippet: tag starts": (lambda n: b"<a " * (n // 3), answers.snippet),
    "JSON: open brackets": (lambda n: b"[" * n, answers.parse_json),
    "JSON: open objects": (lambda n: b'{"a":' * (n // 5), answers.parse_json),
    "JSON: a flat list": (lambda n: b"[" + b"1," * (n // 2) + b"1]", answers.parse_json),
    "JSON: one long string": (lambda n: b'"' + b"\\u00e9" * (n // 6) + b'"', answers.parse_json),
    "PEM chain: BEGIN lines": (lambda n: b"-----BEGIN CERTIFICATE-----\n" * (n // 28), pem_chain),
    "PEM chain: one long line": (lambda n: b"-----BEGIN CERTIFICATE-----\n" + b"A" * n, pem_chain),
    "PEM chain: dashes": (lambda n: b"-" * n, pem_chain),
    "Link header: open angles": (lambda n: "<" * n, links),
    "Link header: many links": (lambda n: '<https://ca.test/c>;rel="alternate", ' * (n // 36), links),
    "Retry-After: digits": (lambda n: "9" * n, retry_after),
    "Retry-After: date words": (lambda n: "Mon, " * (n // 5), retry_after),
    "Location header: long": (lambda n: "https://" + "a" * n, location),
}


def call(case, size):
    """ Run one case: what it gave ("result", or "refused: " and its error), and the seconds the parser took """
    make, parse = CASES[case]
    data = make(size)
    started = time.perf_counter()
    try:
        parse(data)
        return "result", time.perf_counter() - started
    except (ValueError, frame.AcmeError) as error:
        return "refused: " + str(error)[:60], time.perf_counter() - started
