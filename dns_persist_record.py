""" Let's Encrypt ACME Version 2 Examples - The standing dns-persist-01 record: print it, publish it, check it

dns-persist-01 proves a name with one TXT record that stands for years instead of a fresh one at
every issuance: at _validation-persist.<name> it names the CA (an issuer domain name) and your ACME
account (accounturi). Once it stands, issue_certificate.py and renew_certificate.py with
Challenge = dns-persist-01 need no DNS change, no DNSHook and no DNS credentials on the server. The
account key is then what to guard: whoever holds it gets certificates for these names. To take the
authorization back, delete the record.

This step prints the record for this account and this CA, as a zone-file line and as the fields to
type into the Alibaba Cloud DNS console (the Hostname is the record name less your domain; with
--publish the API names the domain). --publish writes it once through the Alibaba Cloud DNS API
(alidns_hook.py never deletes it: its clear deletes only the _acme-challenge records it is given,
value for value). --check looks it up, read-only, through DNSResolver and says whether it
authorizes this account, for which names and until when.
Reference: draft-ietf-acme-dns-persist-01 §3-§6; RFC 8659 §4 (issue-value); RFC 8657 §3 (accounturi)

HTTP exchanges:
    1. GET  <ACMEDirectory>                 ->  200, the directory: meta.caaIdentities, the CA's issuer domain names
    2. HEAD <newNonce>                      ->  200, Replay-Nonce
    3. POST <newAccount>                    ->  200, Location: the account URL (onlyReturnExisting, "jwk")
    4. with --order: POST <authorization URL> (each name, "kid")  ->  200, its dns-persist-01 challenge:
       issuer-domain-names and accounturi, exactly as the CA wants them
--publish, Alibaba Cloud DNS API: DescribeDomains (every page: which of the account's domains holds the
       record), DescribeSubDomainRecords (DomainName, SubDomain, every page: is it there already?),
       AddDomainRecord (Type=TXT, only when it is not)
--check: one DNS query, TXT _validation-persist.<name>, to DNSResolver (empty: the system's resolvers)

acme.ini keys read: AccountKeyFile, CSRFile, OrderFile, DNSResolver, AlibabaRegion, AlibabaDNSEndpoint,
AlibabaCABundle, ACMEDirectory, UserAgent, Language, CABundle, Timeout.
Example:
    python dns_persist_record.py example.com '*.example.com'
    python dns_persist_record.py --persist-until 2028-12-31 --publish example.com
    python dns_persist_record.py --check example.com '*.example.com'
"""

import argparse
import calendar
import re
import sys
import time

# lib first: a missing package is one line that says what to install, not a traceback
from lib import alibaba, answers, config, dnslookup, dnspersist, files, frame, orders, send
import helper
import myhelper


def until(text):
    """ --persist-until: YYYY-MM-DD (00:00 UTC), YYYY-MM-DDTHH:MM:SSZ, or UNIX seconds """
    if re.fullmatch(r"[0-9]{1,12}", text):
        return int(text)
    for pattern in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            return calendar.timegm(time.strptime(text, pattern))
        except ValueError:
            pass
    raise argparse.ArgumentTypeError("{0!r} is not a date: write YYYY-MM-DD (UTC), YYYY-MM-DDTHH:MM:SSZ or UNIX "
                                     "seconds".format(text))


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help="the names to authorize (default: the CSR's)")
    parser.add_argument("--wildcard", action="store_true", help="add policy=wildcard: the record then covers *.NAME "
                        "too (added anyway for a *.NAME given)")
    parser.add_argument("--persist-until", metavar="DATE", type=until, help="the CA stops using the record then: "
                        "YYYY-MM-DD (00:00 UTC), YYYY-MM-DDTHH:MM:SSZ or UNIX seconds (default: no end)")
    parser.add_argument("--order", action="store_true", help="take the issuer domain names and accounturi from the "
                        "dns-persist-01 challenges of the saved order (OrderFile) instead of the directory")
    parser.add_argument("--publish", action="store_true", help="write the record through the Alibaba Cloud DNS API")
    parser.add_argument("--check", action="store_true", help="look the record up (read-only) through DNSResolver")
    return parser.parse_args(argv)


def the_names(args, ini):
    """ The names given, else the CSR's; host names only (dns-persist-01 proves no IP address) """
    names = args.names
    if not names and ini["CSRFile"]:
        names = myhelper.get_domains_from_csr(myhelper.load_csr(ini["CSRFile"]))
    if not names:
        sys.exit("Error: Name the names to authorize (NAME...), or set CSRFile in acme.ini.")
    identifiers = [myhelper.make_identifier(name) for name in names]
    if any(i["type"] == "ip" for i in identifiers):
        sys.exit("Error: dns-persist-01 proves host names only; prove an IP address with http-01.")
    return list(dict.fromkeys(i["value"] for i in identifiers))


def from_directory(directory, names, account_url):
    """ {name: (issuer domain names, accounturi)} from the directory's caaIdentities and the account URL """
    meta = answers.field(directory, "meta", dict, "the directory", default={})
    if "accountHashPrefix" in meta:
        print("Warning: this CA's directory has accountHashPrefix, from a later draft of dns-persist-01 (-02) whose "
              "records carry a hashed account URI. The record below is in the -01 form (Let's Encrypt staging, "
              "acme2certifier); check with --order what this CA offers.", file=sys.stderr)
    identities = answers.field(meta, "caaIdentities", list, "the directory's meta", default=[0])
    issuers = [i for i in identities if isinstance(i, str) and dnspersist.ISSUER_NAME.match(i)][:10]
    if not issuers:
        sys.exit("Error: The directory lists no issuer domain names (caaIdentities) to put in the record. Create an "
                 "order (python request_certificate.py NAME...), then run this again with --order to take them "
                 "from the CA's dns-persist-01 challenge.")
    return {name: (issuers, account_url) for name in names}


def from_order(net, signed, ini, names, account_url):
    """ {name: (issuer domain names, accounturi)} from the dns-persist-01 challenges of the saved order """
    _order_url, order = orders.load_order(ini)
    found = {}
    for authz_url in order["authorizations"]:
        resp = net.post(authz_url, "", signed, "fetching an authorization")
        authz = answers.json_object(resp, "the authorization")
        name = answers.authz_name(authz, orders.order_names(order))
        challenges = answers.field(authz, "challenges", list, "the authorization of " + name)
        chosen = [c for c in challenges if isinstance(c, dict) and c.get("type") == "dns-persist-01"]
        if chosen:
            _url, issuers, account = dnspersist.challenge_fields(chosen[0], name, account_url)
            found[name] = (issuers, account)
    missing = [name for name in names if name not in found]
    if missing:
        sys.exit("Error: The saved order ({0}) has no pending dns-persist-01 challenge for {1}. Run this without "
                 "--order, or create an order for these names first.".format(ini["OrderFile"], ", ".join(missing)))
    return found


def show(record, value, names, zone=None):
    """ The record as a zone-file line and as the fields of the Alibaba Cloud DNS console; the Hostname is
    the name less the domain (zone) that holds it, which only the API knows (--publish): a domain's
    name may have several labels (example.co.uk) or be a delegated sub-zone (shop.example.com) """
    print("")
    print("The dns-persist-01 record for {0}:".format(" and ".join(names)))
    print("  Zone file:")
    print("    " + dnspersist.zone_line(record, value))
    if zone:
        print("  Alibaba Cloud DNS console, domain {0}, Add DNS Record (Hostname is the name less the domain):"
              .format(zone))
        hostname = record[:-len(zone) - 1]
    else:
        print("  Alibaba Cloud DNS console, the domain that holds the name, Add DNS Record:")
        hostname = "{0} less your domain at its end (--publish finds the domain)".format(record)
    for label, text in (("Record Type", "TXT"), ("Hostname", hostname), ("DNS Request Source", "Default"),
                        ("Record Value", value), ("TTL", "10 minute(s)")):
        print("    {0:<20}{1}".format(label + ":", text))


def publish(api, record, zone, value, debug):
    """ Write the record once through the Alibaba Cloud DNS API; a record already there is left as it is """
    _client, models = alibaba.sdk("dns")
    there = alibaba.call_pages(api, api.describe_sub_domain_records, models.DescribeSubDomainRecordsRequest(
        domain_name=zone, sub_domain=record, type="TXT"), ("DomainRecords", "Record"), debug)
    same = [r for r in there if r.get("Value") == value]
    if same:
        print("Already published: {0} (zone {1}, RecordId {2}); nothing was changed.".format(
            record, zone, same[0].get("RecordId")))
    else:
        body = alibaba.call(api, api.add_domain_record, models.AddDomainRecordRequest(
            domain_name=zone, rr=record[:-len(zone) - 1], type="TXT", value=value, ttl=600), debug)
        print("Published TXT record {0} (zone {1}, RecordId {2}). It stands until you delete it.".format(
            record, zone, body.get("RecordId")))
    for other in (r for r in there if r.get("Value") != value):
        print('Also there: "{0}" (RecordId {1}). Delete it in the console if it is no longer wanted.'.format(
            helper.cut(other.get("Value"), 300), other.get("RecordId")))


def check(ini, names, wanted):
    """ Look each record up read-only; for each name: authorized or not, by which record, until when """
    print("")
    print("Rule applied: " + dnspersist.RULE + ".")
    looked_up, refused, unknown = {}, [], []
    for name in names:
        record = dnspersist.record_name(name)
        if record not in looked_up:
            print("Looking up TXT {0} at {1} (read-only)...".format(record, dnslookup.describe(ini["DNSResolver"])))
            looked_up[record] = dnspersist.look_up(name, ini["DNSResolver"], ini["Timeout"])
            for value in looked_up[record] or []:
                print('  "{0}"'.format(helper.cut(value, 500)))
            if looked_up[record] == []:
                print("  (no TXT record)")
        records = looked_up[record]
        if records is None:
            unknown.append(name)
            print("{0}: not known: the look-up failed (above).".format(name))
            continue
        issuers, account = wanted[name]
        judged = [dnspersist.judge(value, name, issuers, account) for value in records]
        good = sorted(((float("inf") if end is None else end), text) for verdict, text, end in judged
                      if verdict == "authorizes")
        if good:
            end, text = good[-1]
            print("{0}: yes, the record {1}".format(name, text))
            warning = dnspersist.soon_warning(name, end) if end != float("inf") else None
            if warning:
                print(warning, file=sys.stderr)
        else:
            refused.append(name)
            print("{0}: no. {1}".format(name, "; ".join(text for _v, text, _u in judged) or "There is no record."))
    if refused:
        sys.exit("Error: Not authorized for this account: {0}. Publish the record printed above (--publish writes it "
                 "through Alibaba Cloud DNS); DNS may take a while to serve a new one.".format(", ".join(refused)))
    if unknown:
        sys.exit("Error: Could not look up the record of {0}: check DNSResolver in acme.ini, or try again later."
                 .format(", ".join(unknown)))
    print("Every name is authorized for this account: issue with Challenge = dns-persist-01, no DNSHook needed.")


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config, ["ACMEDirectory", "AccountKeyFile"])
    names = the_names(args, ini)
    if args.persist_until is not None and args.persist_until <= time.time():
        sys.exit("Error: --persist-until {0} has passed: a CA would not use such a record.".format(
            dnspersist.utc(args.persist_until)))
    key = files.load_account_key(ini)
    net = send.Transport(ini, args.debug)

    # 1. The directory; 2. the first nonce
    directory = net.get_json(ini["ACMEDirectory"], "the directory")
    nonce = net.new_nonce(answers.url_field(directory, "newNonce", "the directory"))

    # 3. The account URL of this key: newAccount with onlyReturnExisting, the key itself in "jwk"
    def signed_with_jwk(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "jwk": myhelper.get_jwk(key), "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    url = answers.url_field(directory, "newAccount", "the directory")
    resp = net.post(url, {"onlyReturnExisting": True}, signed_with_jwk, "looking up the account of this key", nonce)
    account_url = answers.location(resp, "the account")
    print("Account URL:", account_url)

    # 4. Whom the record names: the CA's issuer domain names and the account, from the directory or
    #    (--order) from the dns-persist-01 challenges the CA offers for the saved order
    def signed(nonce, url, payload):
        body_top = {"alg": myhelper.get_alg(key), "kid": account_url, "nonce": nonce, "url": url}
        return myhelper.jws(body_top, payload, key)

    if args.order:
        wanted = from_order(net, signed, ini, names, account_url)
        source = "the CA's dns-persist-01 challenges"
    else:
        wanted = from_directory(directory, names, account_url)
        source = "the directory's caaIdentities"
    issuers = sorted({issuer for name in names for issuer in wanted[name][0][:1]})
    print("Issuer domain name: {0} (from {1})".format(", ".join(issuers), source))

    # The records: one per name, at _validation-persist.<name>; *.example.com and example.com share one
    records = {}
    for name in names:
        issuer_list, account = wanted[name]
        item = records.setdefault(dnspersist.record_name(name), {"issuer": issuer_list[0], "account": account,
                                                                  "wildcard": args.wildcard})
        item["wildcard"] = item["wildcard"] or name.startswith("*.")
    # --publish: which of the account's Alibaba Cloud DNS domains holds each record (the console's
    # Hostname is the name less it), before the record is printed: a wrong key or domain stops here
    zones, api = {}, None
    if args.publish:
        api = alibaba.client(ini, "dns")
        zones = alibaba.find_zones(api, list(records), "publish the record at your DNS provider (run this without "
                                   "--publish to print it)", args.debug)
    for record, item in records.items():
        item["value"] = dnspersist.make_value(item["issuer"], item["account"], item["wildcard"], args.persist_until)
        base = record[len(dnspersist.PREFIX):]
        show(record, item["value"], [base] + (["*." + base] if item["wildcard"] else []), zones.get(record))
    if args.persist_until is not None:
        print("persistUntil={0}: {1}; renew_certificate.py warns when it is less than 30 days away.".format(
            args.persist_until, dnspersist.utc(args.persist_until)))

    if args.publish:
        print("")
        for record, item in records.items():
            publish(api, record, zones[record], item["value"], args.debug)
    if args.check:
        check(ini, names, wanted)
    elif not args.publish:
        print("")
        print("Then, once it stands:", frame.command(args, "dns_persist_record.py", "--check", *(
            "'{0}'".format(n) if n.startswith("*") else n for n in names)))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
