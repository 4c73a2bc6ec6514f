""" dns-persist-01 (draft-ietf-acme-dns-persist-01): one standing TXT record authorizes an account

The domain owner publishes, once, at _validation-persist.<name> (for *.example.com: at example.com)
an RFC 8659 issue-value that names the CA and the ACME account:
    <issuer domain name>; accounturi=<account URL>[; policy=wildcard][; persistUntil=<UNIX seconds>]
The CA names itself in the challenge's issuer-domain-names (before an order: the directory's
caaIdentities); the account is the challenge's accounturi, else the account URL (the "kid"). The
client only answers {} to the challenge. Here: the record's name and value (record_name,
make_value, zone_line), the challenge's fields checked (challenge_fields), a record read (parse)
and judged (judge), and the read-only look-ups the scripts make (look_up): before answering
(check_challenge), before ordering a wildcard (check_wildcards), when renewing (renewal_warnings).

Which names a record covers: Let's Encrypt's rule, the narrowest: its own name, and with
policy=wildcard also *.name; never a subdomain (the draft lets policy=wildcard cover subdomains too,
Let's Encrypt does not). A record for another issuer is ignored. A record's issuer domain name is
compared as the draft recommends (§9.2) and Let's Encrypt does: in lower case, a trailing dot dropped.
"""

import re
import sys
import time

import helper
from lib import answers, dnslookup
from lib.frame import AcmeError

PREFIX = "_validation-persist."
SOON = 30 * 86400                 # warn when persistUntil is less than 30 days away
RULE = ("a record covers its own name, and *.name only with policy=wildcard; never a subdomain "
        "(Let's Encrypt's rule; the draft would let policy=wildcard cover subdomains too)")
LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
ISSUER_NAME = re.compile(r"{0}(\.{0})*\Z".format(LABEL))                    # lowercase A-labels, no trailing dot
# in a record: any case, and a trailing dot, which the comparison drops (the draft's §9.2, Let's Encrypt)
ISSUER_IN_RECORD = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?\Z")
TAG = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?\Z")               # RFC 8659 §4.2 tag
VALUE = re.compile(r"[\x21-\x3a\x3c-\x7e]*\Z")                               # RFC 8659 §4.2 value
HINT = "Publish it with python dns_persist_record.py {0} (it prints the record; --publish writes it)."


def record_name(name):
    """ Where the record for name stands: a wildcard's "*." dropped """
    return PREFIX + name.replace("*.", "", 1)


def utc(seconds):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))


def make_value(issuer, account_uri, wildcard=False, persist_until=None):
    """ The record's value: the issuer domain name, then accounturi, policy and persistUntil

    >>> make_value("letsencrypt.org", "https://acme-v02.api.letsencrypt.org/acme/acct/1", True)
    'letsencrypt.org; accounturi=https://acme-v02.api.letsencrypt.org/acme/acct/1; policy=wildcard'
    """
    value = "{0}; accounturi={1}".format(issuer, account_uri)
    if wildcard:
        value += "; policy=wildcard"
    if persist_until is not None:
        value += "; persistUntil={0}".format(int(persist_until))
    return value


def zone_line(name, value):
    """ The record as a zone-file line; a value over 255 bytes as several strings of one record """
    data = value.encode("utf8")
    strings = [data[i:i + 255].decode("utf8", "replace") for i in range(0, len(data), 255)] or [""]
    quoted = " ".join('"{0}"'.format(s.replace("\\", "\\\\").replace('"', '\\"')) for s in strings)
    return "{0}. IN TXT {1}".format(name, quoted)


def parse(value):
    """ An issue-value (RFC 8659 §4.2) as (issuer domain name in lower case without a trailing dot, {tag in
    lower case: value}); ValueError, saying what is wrong, for a malformed one. Linear time. """
    parts = value.split(";")
    issuer = parts[0].strip(" \t")
    if not issuer:
        raise ValueError("it names no issuer domain name")
    if not ISSUER_IN_RECORD.match(issuer):
        raise ValueError("{0!r} is not an issuer domain name".format(helper.cut(issuer, 100)))
    tags = {}
    for part in parts[1:]:
        part = part.strip(" \t")
        if not part:
            continue
        tag, equals, text = part.partition("=")
        tag, text = tag.strip(" \t"), text.strip(" \t")
        if not equals or not TAG.match(tag) or not VALUE.match(text):
            raise ValueError("{0!r} is not a tag=value parameter".format(helper.cut(part, 100)))
        if tag.lower() in tags:
            raise ValueError("it has {0} twice".format(tag.lower()))
        tags[tag.lower()] = text
    return issuer.lower().rstrip("."), tags


def judge(value, name, issuers, account_uri, now=None):
    """ What one record's value says for name, this account and these issuers (None: any account, any issuer):
    (verdict, explanation, persistUntil or None); verdict is one of authorizes, other-ca,
    other-account, expired, no-wildcard, malformed """
    now = time.time() if now is None else now
    try:
        issuer, tags = parse(value)
    except ValueError as error:
        return "malformed", "malformed: {0}".format(error), None
    if issuers is not None and issuer not in issuers:
        return "other-ca", "for another CA ({0}): ignored".format(helper.cut(issuer, 100)), None
    account = tags.get("accounturi")
    if not account:
        return "malformed", "malformed: it has no accounturi", None
    if account_uri is not None and account != account_uri:
        return "other-account", "names another account: {0}".format(helper.cut(account, 200)), None
    until = tags.get("persistUntil".lower())
    if until is not None and not re.fullmatch(r"[0-9]{1,12}", until):
        return "malformed", "malformed: persistUntil={0!r} is not UNIX seconds".format(helper.cut(until, 50)), None
    until = int(until) if until is not None else None
    if until is not None and until < now:
        return "expired", "persistUntil passed on {0}: no longer used for validation".format(utc(until)), until
    wildcard = tags.get("policy", "").lower() == "wildcard"
    if name.startswith("*.") and not wildcard:
        return "no-wildcard", "lacks policy=wildcard, which {0} needs".format(name), until
    covers = name.replace("*.", "", 1)
    covers += " and *." + covers if wildcard else " only"
    text = "authorizes this account for {0}, {1}".format(covers, "until {0}".format(utc(until)) if until else
                                                         "with no end date")
    if value.split(";")[0].strip(" \t").endswith("."):
        text += (" (its issuer name ends in a dot: Let's Encrypt drops it, as the draft recommends, but a CA that "
                 "compares names exactly ignores the record: write {0})".format(issuer))
    return "authorizes", text, until


def look_up(name, setting, timeout):
    """ The TXT records at name's _validation-persist name, read-only; None when the look-up failed """
    try:
        return dnslookup.txt_records(record_name(name), setting, timeout)
    except dnslookup.LookupFailed as error:
        print("Warning: could not look up {0}: {1}".format(record_name(name), str(error)[len("Error: "):]),
              file=sys.stderr)
        return None


def soon_warning(name, until, now=None):
    """ The warning for a record that stops authorizing within 30 days, or None """
    left = until - (time.time() if now is None else now)
    if left >= SOON:
        return None
    return ("Warning: the dns-persist-01 record for {0} stops authorizing on {1} (persistUntil, in {2:.0f} days). "
            "Publish one with a later persistUntil, or none, before then: python dns_persist_record.py "
            "--persist-until YYYY-MM-DD {0}".format(name, utc(until), max(left, 0) / 86400))


def issuer_names(names, what):
    """ A CA's issuer domain names as the draft wants them: 1 to 10 lowercase A-labels, no trailing dot """
    if not isinstance(names, list) or not names or len(names) > 10:
        raise AcmeError("Error: The server sent {0} as issuer-domain-names in {1}: the draft allows 1 to 10 "
                        "names, so this challenge is malformed and cannot be used. Prove the name with dns-01, "
                        "or tell the CA.".format("an empty list" if names == [] else "{0} names".format(len(names))
                                                 if isinstance(names, list) else answers.kind_of(names), what))
    for issuer in names:
        if not isinstance(issuer, str) or len(issuer) > 253 or not ISSUER_NAME.match(issuer):
            raise AcmeError("Error: The server sent {0} among the issuer-domain-names of {1}: not a domain name in "
                            "lowercase A-labels without a trailing dot, as the draft requires. This challenge "
                            "cannot be used; prove the name with dns-01, or tell the CA.".format(
                                helper.cut(repr(issuer), 100), what))
    return names


def account_uri_field(challenge, account_url, what):
    """ The challenge's accounturi (it must be a URL a record can carry), else the account URL """
    account = answers.field(challenge, "accounturi", str, what, default=account_url)
    if not VALUE.match(account) or not account or len(account) > 1000:
        raise AcmeError("Error: The server sent an accounturi that no DNS record can carry in {0}: {1!r}. This "
                        "challenge cannot be used; prove the name with dns-01.".format(what, helper.cut(account, 200)))
    answers.check_url(account, "the accounturi of " + what)
    return account


def challenge_fields(challenge, name, account_url):
    """ A dns-persist-01 challenge's url, issuer-domain-names and accounturi, checked """
    what = "the dns-persist-01 challenge for " + name
    url = answers.url_field(challenge, "url", what)
    if "issuer-domain-names" not in challenge:
        raise AcmeError("Error: The server sent no issuer-domain-names in {0}: a record could not say which CA it "
                        "authorizes, so this challenge cannot be used. Prove the name with dns-01, or tell the "
                        "CA.".format(what))
    return url, issuer_names(challenge["issuer-domain-names"], what), account_uri_field(challenge, account_url, what)


def check_challenge(challenge, name, account_url, setting, timeout, now=None):
    """ Before answering: the standing record must authorize this account for name at one of the
    challenge's issuers. Prints what it found; an error (nothing answered) when no record does; a
    look-up that fails is only a warning (the CA looks it up itself) """
    _url, issuers, account = challenge_fields(challenge, name, account_url)
    records = look_up(name, setting, timeout)
    if records is None:
        print("Answering anyway: the CA makes its own look-up.")
        return
    found = [(value,) + judge(value, name, issuers, account, now) for value in records]
    for value, _verdict, text, _until in found:
        print('  {0}: "{1}" {2}'.format(record_name(name), helper.cut(value, 500), text))
    good = [until for _value, verdict, _text, until in found if verdict == "authorizes"]
    if good:
        if all(until is not None for until in good):
            warning = soon_warning(name, max(good), now)
            if warning:
                print(warning, file=sys.stderr)
        return
    wanted = make_value(issuers[0], account, name.startswith("*."))
    problem = ("No TXT record at {0} authorizes this account for {1}" if found else "There is no TXT record at {0}")
    raise AcmeError("Error: " + problem.format(record_name(name), name) + " (asked: {0}). Nothing was answered, so "
                    "no validation failed. The CA expects a record like:\n  {1}\n{2} If you have just published it, "
                    "wait until DNS serves it, then run this again.".format(
                        dnslookup.describe(setting), zone_line(record_name(name), wanted), HINT.format(name)))


def check_wildcards(names, directory, account_url, setting, timeout, now=None):
    """ Before ordering: a wildcard name whose record (for this account, at the directory's
    caaIdentities) lacks policy=wildcard is said at once, before any order exists """
    meta = directory.get("meta") if isinstance(directory.get("meta"), dict) else {}
    identities = meta.get("caaIdentities")
    issuers = [i.lower() for i in identities if isinstance(i, str)] if isinstance(identities, list) else None
    for name in (n for n in names if n.startswith("*.")):
        records = look_up(name, setting, timeout) or []
        verdicts = [judge(value, name, issuers, account_url, now)[0] for value in records]
        if "no-wildcard" in verdicts and "authorizes" not in verdicts:
            raise AcmeError("Error: {0} needs policy=wildcard in its dns-persist-01 record, and the record at {1} for "
                            "this account lacks it. Nothing was ordered. Publish one with it: python "
                            "dns_persist_record.py {0} (it adds policy=wildcard for a wildcard name).".format(
                                name, record_name(name)))


def renewal_warnings(names, setting, timeout, account_url=None, issuers=None, now=None):
    """ For renew_certificate.py, on every run: a warning line for each name whose record stops
    authorizing within 30 days, has stopped (persistUntil passed), lacks policy=wildcard or is missing.
    Without account_url and issuers, every record at the name counts (it cannot tell whose it is). """
    lines = []
    for name in names:
        records = look_up(name, setting, timeout)
        if records is None:
            continue
        judged = [judge(value, name, issuers, account_url, now) for value in records]
        good = [until for verdict, _text, until in judged if verdict == "authorizes"]
        expired = [until for verdict, _text, until in judged if verdict == "expired"]
        if good and None in good:
            continue
        if good:
            warning = soon_warning(name, max(good), now)
            lines += [warning] if warning else []
        elif expired:
            lines.append("Warning: the dns-persist-01 record for {0} stopped authorizing on {1} (persistUntil): the "
                         "renewal will fail until a new one stands. {2} Then delete the old one.".format(
                             name, utc(max(expired)), HINT.format(name)))
        elif any(verdict == "no-wildcard" for verdict, _text, _until in judged):
            lines.append("Warning: the dns-persist-01 record for {0} lacks policy=wildcard: the renewal will fail. "
                         "{1}".format(name, HINT.format(name)))
        else:
            lines.append("Warning: no dns-persist-01 record at {0} authorizes {1}: the renewal will fail. {2}".format(
                record_name(name), name, HINT.format(name)))
    return lines

