""" Let's Encrypt ACME Version 2 Examples - dns-01 through Alibaba Cloud DNS (Part 1's promise)

A DNSHook for dns01_challenge.py, issue_certificate.py and renew_certificate.py; in acme.ini:
    DNSHook = /path/to/.venv/bin/python /path/to/alidns_hook.py
They run it as "alidns_hook.py check NAME" before anything is made or sent, then "alidns_hook.py set
NAME VALUE" and "alidns_hook.py clear NAME VALUE", with NAME the record (_acme-challenge.www.example.com)
and VALUE its TXT value (base64url: it may begin with "-"). NAME must begin with "_acme-challenge.":
this hook touches no other record.
- check: the credentials work (a read-only call) and one of the account's zones holds NAME;
- set: finds the zone among the account's domains by walking up NAME, adds the TXT record, then
  waits for it to spread: it asks DNSResolver until the record answers, or waits DNSWait seconds;
- clear: removes only the records this hook made: NAME's TXT records whose value is VALUE, on
  whichever page of the zone's records they are.
Credentials come from the Alibaba Cloud SDK's default chain, never from acme.ini (lib/alibaba.py).
Reference: RFC 8555 §8.4 (DNS Challenge); Alibaba Cloud DNS API, version 2015-01-09

Alibaba Cloud API calls (signed with V3, ACS3-HMAC-SHA256; the lists are read page by page):
    check: DescribeDomains           PageNumber, PageSize        (the account's zones)
    set:   DescribeDomains           PageNumber, PageSize
           AddDomainRecord           DomainName, RR, Type=TXT, Value, TTL=600
    clear: DescribeDomains           PageNumber, PageSize
           DescribeSubDomainRecords  DomainName, SubDomain=NAME, Type=TXT, PageNumber, PageSize
           DeleteDomainRecord        RecordId                    (each record of ours)

acme.ini keys read: AlibabaRegion, AlibabaDNSEndpoint, AlibabaCABundle, DNSResolver, DNSWait, Timeout
(acme.ini is the --config FILE, else the file dns01_challenge.py was given, else ./acme.ini).
Example:
    python alidns_hook.py check _acme-challenge.www.example.com
    python alidns_hook.py set _acme-challenge.www.example.com fO86Vd...
    python alidns_hook.py clear _acme-challenge.www.example.com fO86Vd...
"""

import os
import sys
import time

# lib first: a missing package is one line that says what to install, not a traceback
from lib import alibaba, config, dnslookup, frame
import helper
import myhelper

ACTIONS = ("check", "set", "clear")
PREFIX = "_acme-challenge."


def parse_args(argv):
    parser = frame.options(__doc__)
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("name", metavar="NAME", help="the TXT record, e.g. _acme-challenge.www.example.com")
    parser.add_argument("value", metavar="VALUE", nargs="?", help="its value (set and clear)")
    argv = list(sys.argv[1:] if argv is None else argv)
    where = next((i for i, arg in enumerate(argv) if arg in ACTIONS), len(argv))
    args = parser.parse_args(argv[:where] + ["--"] + argv[where:])      # VALUE may begin with "-"
    if args.action != "check" and args.value is None:
        parser.error("{0} needs NAME and VALUE".format(args.action))
    if "--config" not in argv[:where] and os.environ.get("ACME_INI"):
        args.config = os.environ["ACME_INI"]                              # the file the calling script read
    return args


def wait_until_published(ini, name, value):
    """ Until DNSResolver answers the record (at most max(DNSWait, 60) seconds), or DNSWait seconds """
    if not ini["DNSResolver"]:
        if ini["DNSWait"]:
            print("Waiting {0:g} seconds for the record to spread (DNSWait).".format(ini["DNSWait"]))
            time.sleep(ini["DNSWait"])
        return
    deadline = time.monotonic() + max(ini["DNSWait"], 60)
    while True:
        try:
            if value in dnslookup.txt_records(name, ini["DNSResolver"], min(5, ini["Timeout"])):
                print("{0} answers the record.".format(ini["DNSResolver"]))
                return
        except dnslookup.LookupFailed as error:
            print("Asking {0}: {1}".format(ini["DNSResolver"], str(error)[len("Error: "):]))
        if time.monotonic() > deadline:
            sys.exit("Error: {0} still does not answer the TXT record {1} after {2:g} seconds.".format(
                ini["DNSResolver"], name, max(ini["DNSWait"], 60)))
        time.sleep(2)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config)
    name = args.name.lower().rstrip(".")
    if not name.startswith(PREFIX):
        sys.exit("Error: alidns_hook.py acts only on {0} records (RFC 8555 §8.4), not on {1!r}; nothing was "
                 "changed.".format(PREFIX, helper.cut(args.name, 300)))
    host = myhelper.make_identifier(name[len(PREFIX):])                   # a real host name, nothing else
    if host["type"] != "dns" or host["value"].startswith("*."):
        sys.exit("Error: {0!r} is not the TXT record of a host name; nothing was changed.".format(args.name))
    name = PREFIX + host["value"]
    api = alibaba.client(ini, "dns")
    _client, models = alibaba.sdk("dns")
    # the zone that holds NAME, among the account's domains: a read-only call that checks the credentials
    zone = alibaba.find_zones(api, [name], "use another DNSHook", args.debug)[name]

    if args.action == "check":
        print("Alibaba Cloud DNS: the credentials work, and zone {0} holds {1}.".format(zone, name))
        return 0

    if args.action == "set":
        rr = name[:-len(zone) - 1]
        body = alibaba.call(api, api.add_domain_record, models.AddDomainRecordRequest(
            domain_name=zone, rr=rr, type="TXT", value=args.value, ttl=600), args.debug)
        print("Added TXT record {0} (zone {1}, RecordId {2}).".format(name, zone, body.get("RecordId")))
        wait_until_published(ini, name, args.value)
        return 0

    # clear: only the records with this value, the ones this hook made, on whichever page they are
    records = alibaba.call_pages(api, api.describe_sub_domain_records, models.DescribeSubDomainRecordsRequest(
        domain_name=zone, sub_domain=name, type="TXT"), ("DomainRecords", "Record"), args.debug)
    ours = [r for r in records if r.get("Value") == args.value and r.get("RecordId")]
    for record in ours:
        alibaba.call(api, api.delete_domain_record, models.DeleteDomainRecordRequest(record_id=str(record["RecordId"])),
                     args.debug)
    print("Removed {0} TXT record(s) {1}; {2} other(s) left alone.".format(len(ours), name, len(records) - len(ours)))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
