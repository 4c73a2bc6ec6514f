""" DNS look-ups, read-only, with dnspython: the one place every script asks DNS

txt_records() answers the TXT records at a name, each record one string: a record of several
character-strings (a value longer than 255 bytes is published so) has its strings joined, as the
CAs join them. dnspython does what a hand-made parser misses: it asks again over TCP when a UDP
answer is truncated, takes only the answer to its own question (ID, name and type) from the server
it asked, and follows CNAMEs.

DNSResolver in acme.ini says whom to ask:
    DNSResolver =                          the system's resolvers (/etc/resolv.conf)
    DNSResolver = 223.5.5.5                an IP address: port 53 (223.5.5.5 is Alibaba Cloud's public DNS)
    DNSResolver = 127.0.0.1:8053           IPv4 address:port
    DNSResolver = [2400:3200::1]:53        [IPv6 address]:port (a bare IPv6 address: port 53)
    DNSResolver = 223.5.5.5 223.6.6.6      several, separated by spaces or commas: asked in turn
Host names are not accepted: a resolver is needed to find a resolver.
"""

import ipaddress
import re
import sys

from lib import missing_package
from lib.frame import AcmeError

MAX_RECORDS = 100                             # TXT records read at one name; more is no honest zone


def dnspython():
    """ The dns package with the modules the look-ups use, imported at the first look-up: most scripts
    look nothing up. A missing package is one line that says how to install it """
    try:
        import dns.exception
        import dns.name
        import dns.nameserver
        import dns.rdatatype
        import dns.resolver  # noqa: F401
    except ModuleNotFoundError:
        sys.exit(missing_package("dnspython"))
    return dns


class LookupFailed(AcmeError):
    """ No answer could be had (time-out, SERVFAIL, refused, no resolver): says nothing about the record """


def nameservers(setting):
    """ DNSResolver's addresses as [(IP address, port)]; [] for the system's resolvers

    >>> nameservers("127.0.0.1:8053, [::1]:53 223.5.5.5")
    [('127.0.0.1', 8053), ('::1', 53), ('223.5.5.5', 53)]
    """
    found = []
    for item in re.split(r"[\s,]+", setting.strip()):
        if not item:
            continue
        bracketed = re.fullmatch(r"\[([^\]]+)\](?::(\d{1,5}))?", item)
        if bracketed:
            host, port = bracketed.group(1), bracketed.group(2)
        elif item.count(":") == 1:
            host, port = item.split(":")
        else:
            host, port = item, None
        try:
            address = str(ipaddress.ip_address(host))
            number = int(port) if port is not None else 53
        except ValueError:
            address, number = None, 0
        if address is None or not 1 <= number <= 65535:
            raise AcmeError("Error: DNSResolver in acme.ini must be IP addresses, each optionally with a port "
                            "(127.0.0.1:8053, [2400:3200::1]:53), not {0!r}. Leave it empty to use the system's "
                            "resolvers.".format(item))
        found.append((address, number))
    return found


def describe(setting):
    """ Whom a look-up asks, for messages: "127.0.0.1:8053" or "the system's resolvers" """
    servers = nameservers(setting)
    if not servers:
        return "the system's resolvers"
    return ", ".join("[{0}]:{1}".format(h, p) if ":" in h else "{0}:{1}".format(h, p) for h, p in servers)


def resolver_for(setting, timeout):
    """ A dnspython Resolver that asks DNSResolver's servers (or the system's), within timeout seconds """
    servers, dns = nameservers(setting), dnspython()
    try:
        resolver = dns.resolver.Resolver(configure=not servers)
    except dns.exception.DNSException as error:          # no /etc/resolv.conf, or one without servers
        raise LookupFailed("Error: No DNS resolver is configured on this system ({0}). Set DNSResolver in acme.ini, "
                           "e.g. DNSResolver = 223.5.5.5".format(type(error).__name__))
    if servers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in servers]
    resolver.lifetime = max(0.1, float(timeout))          # the whole look-up, every server and retry included
    resolver.timeout = min(resolver.timeout, resolver.lifetime)
    resolver.cache = None                                 # each look-up asks: a record may just have changed
    return resolver


def txt_records(name, setting="", timeout=5.0):
    """ The TXT records at name, each one string (its character-strings joined); [] when the name does
    not exist or has no TXT record. LookupFailed when no answer could be had """
    dns = dnspython()
    try:
        qname = dns.name.from_text(name.rstrip(".") + ".")
    except (dns.exception.DNSException, UnicodeError):
        raise AcmeError("Error: {0!r} is not a DNS name that can be looked up.".format(name))
    resolver = resolver_for(setting, timeout)
    try:
        answer = resolver.resolve(qname, dns.rdatatype.TXT, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.resolver.LifetimeTimeout:
        raise LookupFailed("Error: No answer from {0} within {1:g} seconds for TXT {2}.".format(
            describe(setting), resolver.lifetime, name))
    except dns.resolver.NoNameservers as error:
        reasons = "; ".join(sorted({str(err[3]) if isinstance(err, tuple) and len(err) > 3 else str(err)
                                    for err in (error.kwargs.get("errors") or [])}))
        raise LookupFailed("Error: {0} could not answer TXT {1} ({2}).".format(
            describe(setting), name, reasons[:300] or "SERVFAIL or REFUSED"))
    except dns.exception.DNSException as error:
        raise LookupFailed("Error: Looking up TXT {0} at {1} failed: {2}".format(
            name, describe(setting), str(error)[:300] or type(error).__name__))
    records = []
    for rdata in list(answer)[:MAX_RECORDS]:
        records.append(b"".join(rdata.strings).decode("utf8", "replace"))
    return records
