""" The authorization loop (RFC 8555 §7.5): each name of an order proven with one challenge type

pending() fetches each authorization (POST-as-GET) and returns those still to prove, with the
challenge of the chosen type; a valid one needs nothing (§7.1.3). After the script has published
every answer (a file, a web server, a TXT record), answer_and_poll() tells the CA to validate each
(POST {} to the challenge URL, §7.5.1), then polls each authorization until it is final. Every
challenge is answered before any is polled, so the CA validates them all at once.
"""

import sys

import helper
from lib import answers, send

FINAL = ("valid", "invalid", "deactivated", "expired", "revoked")


def pending(net, signed, authz_urls, names, kind, again):
    """ [(authorization URL, name, challenge)] for each name still to prove with a `kind` challenge.
    again: what to run when an authorization can no longer be completed """
    todo = []
    for authz_url in authz_urls:
        resp = net.post(authz_url, "", signed, "fetching an authorization")
        authz = answers.json_object(resp, "the authorization")
        name = answers.authz_name(authz, names)
        status = answers.field(authz, "status", str, "the authorization of " + name)
        if status == "valid":
            print("Authorization for {0}: already valid, nothing to do".format(name))
            continue
        if status != "pending":
            sys.exit("Error: The authorization for {0} is {1!r}: this order cannot be completed. Create a new "
                     "order: {2}".format(name, helper.cut(status, 100), again))
        identifier_type = answers.field(authz["identifier"], "type", str, "the identifier of " + name)
        if kind == "dns-01" and identifier_type == "ip":
            sys.exit("Error: {0} is an IP address: dns-01 cannot prove it (RFC 8738); use http-01 or tls-alpn-01."
                     .format(name))
        challenges = answers.field(authz, "challenges", list, "the authorization of " + name)
        chosen = [c for c in challenges if isinstance(c, dict) and c.get("type") == kind]
        if not chosen and kind == "dns-persist-01":
            sys.exit("Error: The CA offers no dns-persist-01 challenge for {0}: this CA, or this environment of it "
                     "(staging, production), does not support it (yet). Prove the name with dns-01 or http-01."
                     .format(name))
        if not chosen:
            sys.exit("Error: The CA offers no {0} challenge for {1}.{2}".format(
                kind, name, " A wildcard needs dns-01 or dns-persist-01." if name.startswith("*.") else ""))
        todo.append((authz_url, name, chosen[0]))
    return todo


def answer_and_poll(net, signed, todo, kind, done_line="Authorization for {0}: valid", responder=None):
    """ POST {} to each challenge ("please validate now"), then poll each authorization until final.
    A responder of ours that sees the CA come (the built-in web or TLS server: its .fetched event) is
    waited for, at most MIN_POLL_INTERVAL, before the first look: no fixed sleep, no look too early """
    if not todo:
        return
    fetched = getattr(responder, "fetched", None)
    if fetched is not None:
        fetched.clear()                               # our own self-check fetched it already
    for _authz_url, name, challenge in todo:
        url = answers.url_field(challenge, "url", "the {0} challenge for {1}".format(kind, name))
        resp = net.post(url, {}, signed, "answering the {0} challenge for {1}".format(kind, name))
    first_wait = send.first_look(resp)
    if fetched is not None:
        fetched.wait(send.MIN_POLL_INTERVAL)
        first_wait = 0
    for number, (authz_url, name, _challenge) in enumerate(todo):
        authz = net.poll(authz_url, signed, FINAL, "the authorization for " + name,
                         first_wait=first_wait if number == 0 else 0)
        if authz["status"] != "valid":
            sys.exit("Error: The authorization for {0} is {1}: the CA could not validate the challenge.{2}".format(
                name, authz["status"], helper.challenge_errors(authz)))
        print(done_line.format(name))


def responder(kind, ini, config_file, port=None, bind=None, webroot=None):
    """ What publishes the answers of one challenge type, a context manager that cleans up after itself:
    TXT records through DNSHook (dns-01), the built-in TLS server (tls-alpn-01), files under a webroot
    or the built-in web server (http-01). port, bind and webroot (options) override acme.ini. Only the
    module of the type this run answers with is imported """
    if kind == "dns-01":
        from lib import dns01
        return dns01.DnsRecords(ini["DNSHook"], config_file)
    if kind == "tls-alpn-01":
        from lib import tlsalpn01
        return tlsalpn01.ChallengeServer(ini["TLSBind"] if bind is None else bind, port or ini["TLSPort"],
                                         ini["PollTimeout"] + tlsalpn01.DEADLINE_MARGIN)
    from lib import http01
    return http01.responder(webroot or ini["Webroot"], ini["HTTPBind"] if bind is None else bind,
                            port or ini["HTTPPort"])
