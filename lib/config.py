""" acme.ini's values, checked before anything is sent

settings() turns [acme-neoprime] (as myhelper.load_acme_config reads it) into a dict with every key
of SETTINGS: file names relative to the ini file's folder, numbers as numbers within their range,
Contacts a checked list. A key a script needs must not be empty; an unknown key is a warning that
names the closest known one. A file that holds a secret (acme.ini with EABHMACKey, the key files it
names) and that group or others may open is a warning line with the chmod that fixes it.
"""

import difflib
import os
import re
import shlex
import stat
import sys

from lib import dnslookup
from lib.frame import AcmeError

STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"

SETTINGS = {  # every key of [acme-neoprime], and its default
    "ACMEDirectory": "", "AccountKeyFile": "", "Contacts": "", "UserAgent": "neoprime.io-acme-client/1.0",
    "Language": "en", "CABundle": "", "Timeout": "30", "PollTimeout": "120", "EABKeyID": "", "EABHMACKey": "",
    "CertificateKeyFile": "", "CSRFile": "", "OrderFile": "order.json", "ChainFile": "", "Profile": "",
    "Challenge": "http-01", "HTTPPort": "80", "HTTPBind": "", "Webroot": "", "DNSHook": "", "DNSResolver": "",
    "TLSPort": "443", "TLSBind": "",
    "DNSWait": "30", "AlibabaRegion": "cn-hangzhou", "AlibabaDNSEndpoint": "", "AlibabaCDNEndpoint": "",
    "AlibabaAPIGatewayEndpoint": "", "AlibabaCABundle": ""}
FILES = ("AccountKeyFile", "CertificateKeyFile", "CSRFile", "OrderFile", "ChainFile", "CABundle", "Webroot",
         "AlibabaCABundle")
NUMBERS = {"Timeout": (0.1, 3600), "PollTimeout": (1, 86400), "DNSWait": (0, 3600), "HTTPPort": (1, 65535),
           "TLSPort": (1, 65535)}
CHALLENGES = ("http-01", "dns-01", "tls-alpn-01", "dns-persist-01")
SECRET_FILES = {"AccountKeyFile": "the account key", "CertificateKeyFile": "the certificate key"}
_warned = set()             # the files already warned about in this process: one line each, not one per call


def settings(config, filename="acme.ini", required=()):
    """ The values of [acme-neoprime] (myhelper.load_acme_config), checked: a dict with every key of
    SETTINGS; a key in required must not be empty """
    section, known = config["acme-neoprime"], {key.lower(): key for key in SETTINGS}
    for key in section:
        if key not in known:
            guess = difflib.get_close_matches(key, known, 1, 0.7)
            print("Warning: {0} has an unknown key {1!r}; it is ignored.{2}".format(
                filename, key, " Did you mean {0}?".format(known[guess[0]]) if guess else ""), file=sys.stderr)
    ini = {key: section.get(key, "").strip() or default for key, default in SETTINGS.items()}
    for key in required:
        if not ini[key]:
            raise AcmeError("Error: {0} has no {1} in [acme-neoprime]. Add it, as in the acme.ini of these "
                            "examples.".format(filename, key))
    folder = os.path.dirname(os.path.abspath(filename))
    for key in FILES:
        if ini[key] and folder != os.getcwd():
            ini[key] = os.path.join(folder, os.path.expanduser(ini[key]))
    if not re.match(r"https://[^/?#\s]+", ini["ACMEDirectory"]) and "ACMEDirectory" in required:
        raise AcmeError("Error: ACMEDirectory in {0} is not an https:// URL: {1!r}. ACME runs over HTTPS only "
                        "(RFC 8555 §6.1); for Let's Encrypt staging use {2}".format(
                            filename, ini["ACMEDirectory"], STAGING))
    for key, (low, high) in NUMBERS.items():
        try:
            ini[key] = int(ini[key]) if key in ("HTTPPort", "TLSPort") else float(ini[key])
        except ValueError:
            ini[key] = None
        if ini[key] is None or not low <= ini[key] <= high:
            raise AcmeError("Error: {0} in {1} must be a number from {2:g} to {3:g}, not {4!r}.".format(
                key, filename, low, high, section.get(key)))
    if ini["CABundle"] and not os.path.isfile(ini["CABundle"]):
        raise AcmeError("Error: CABundle in {0} names {1}, which does not exist. Point it at the PEM file of the "
                        "CA that signed the server's TLS certificate, or leave it empty to use the system's "
                        "trust store.".format(filename, ini["CABundle"]))
    if ini["AlibabaCABundle"] and not os.path.isfile(ini["AlibabaCABundle"]):
        raise AcmeError("Error: AlibabaCABundle in {0} names {1}, which does not exist. Leave it empty for Alibaba "
                        "Cloud itself (the system's trust store); it is for a test endpoint's CA only.".format(
                            filename, ini["AlibabaCABundle"]))
    if ini["Challenge"] not in CHALLENGES:
        raise AcmeError("Error: Challenge in {0} must be {1} or {2}, not {3!r}.".format(
            filename, ", ".join(CHALLENGES[:-1]), CHALLENGES[-1], ini["Challenge"]))
    dnslookup.nameservers(ini["DNSResolver"])       # a wrong DNSResolver is said before anything is sent
    ini["Contacts"] = check_contacts(ini["Contacts"].split(";"), "Contacts in " + filename)
    if ini["EABHMACKey"]:
        warn_if_readable(filename, "holds EABHMACKey")
    for key, what in SECRET_FILES.items():
        if ini[key]:
            warn_if_readable(ini[key], what)
    return ini


def warn_if_readable(path, why):
    """ One warning line on stderr when path, a file that holds a secret (why: "the account key", "holds
    EABHMACKey"), may be opened by group or others; it names the chmod that fixes it. Not an error:
    the file still works. Nothing on Windows, whose modes mean something else, nor for a missing file """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return
    if os.name == "nt" or not mode & 0o077 or os.path.realpath(path) in _warned:
        return
    _warned.add(os.path.realpath(path))
    who = " and ".join(name for name, bits in (("group", 0o070), ("others", 0o007)) if mode & bits)
    print("Warning: {0} ({1}) is open to {2} (mode {3:04o}); fix it with: chmod 600 {4}".format(
        path, why, who, mode, shlex.quote(path)), file=sys.stderr)


def check_contacts(contacts, where="contact"):
    """ Contact URLs as RFC 8555 §7.3 wants them: "mailto:" and one plain address each; empty ones dropped

    >>> check_contacts(["mailto:admin@example.org", ""])
    ['mailto:admin@example.org']
    """
    email = re.compile(r"[A-Za-z0-9.!#$%&'*+/=^_`{|}~-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+\Z")
    result = [c.strip() for c in contacts if c.strip()]
    for contact in result:
        if not contact.lower().startswith("mailto:") or not email.match(contact[7:]):
            raise AcmeError("Error: {0}: {1!r} is not a valid contact. Write each as mailto:name@domain, one "
                            "address each, separated by ';'.".format(where, contact))
    return result
