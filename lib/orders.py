""" Orders: the order saved between the step scripts, the profile to ask for, and what an order must be

save_order() and load_order() keep the order URL and object in OrderFile (working state, simply
replaced) for the next step; choose_profile() picks a profile the CA offers; check_order() refuses
an order that is not for exactly the names asked for.
"""

import json
import sys

import helper
import myhelper
from lib import answers
from lib.files import write_file
from lib.frame import AcmeError


def save_order(ini, url, order):
    """ Keep the order URL and object for the next step (OrderFile: working state, simply replaced) """
    write_file(ini["OrderFile"], (json.dumps({"url": url, "order": order}, indent=4) + "\n").encode("utf8"))
    return ini["OrderFile"]


def load_order(ini):
    """ The order URL and object that request_certificate.py saved """
    try:
        with open(ini["OrderFile"], encoding="utf8") as f:
            saved = json.load(f)
    except FileNotFoundError:
        raise AcmeError("Error: File does not exist: {0} (the saved order). Create an order first: python "
                        "request_certificate.py".format(ini["OrderFile"]))
    except (OSError, ValueError, RecursionError) as error:
        raise AcmeError("Error: Cannot read the saved order from {0}: {1}. Create the order again: python "
                        "request_certificate.py".format(ini["OrderFile"], helper.cut(error, 200)))
    order = saved.get("order") if isinstance(saved, dict) else None
    if (not isinstance(order, dict) or not isinstance(saved.get("url"), str)
            or not all(isinstance(i, dict) and isinstance(i.get("value"), str) for i in order.get("identifiers", [0]))
            or not all(isinstance(a, str) for a in order.get("authorizations", [0]))):
        raise AcmeError("Error: {0} is not an order saved by request_certificate.py; run it again."
                        .format(ini["OrderFile"]))
    return saved["url"], order


def order_names(order):
    """ The names a saved order is for, as its identifiers say ("*.example.com" for a wildcard) """
    return [identifier["value"].lower() for identifier in order["identifiers"]]


def choose_profile(directory, wanted, identifiers, yes):
    """ The profile for a new order, and the profiles the CA offers: wanted (--profile, else Profile
    in acme.ini) only when the CA lists it; Let's Encrypt issues for an IP address only under
    "shortlived", so that one is offered (after asking, or with --yes) when none was chosen """
    meta = answers.field(directory, "meta", dict, "the directory", default={})
    profiles = answers.field(meta, "profiles", dict, "the directory's meta", default={})
    if wanted and profiles and wanted not in profiles:
        sys.exit("Error: The CA offers no profile {0!r}; it offers: {1}.".format(wanted, ", ".join(profiles)))
    if not wanted and "shortlived" in profiles and any(i["type"] == "ip" for i in identifiers):
        print("Let's Encrypt issues certificates for IP addresses only under the shortlived profile (6 days).")
        if myhelper.Confirm("Use the shortlived profile (y/n): ", yes, "Pass --profile shortlived, or --yes."):
            wanted = "shortlived"
    return wanted, profiles


def check_order(order, identifiers):
    """ The order is for exactly the identifiers asked for, and carries what the next steps need:
    its authorization URLs (returned) and its finalize URL, all https:// """
    asked = sorted((i["type"], i["value"]) for i in identifiers)
    got = sorted((answers.field(i, "type", str, "an identifier of the order"),
                  answers.field(i, "value", str, "an identifier of the order").lower())
                 for i in answers.list_field(order, "identifiers", dict, "the order"))
    if got != asked:
        sys.exit("Error: The server's order is for {0}, not for the names asked for: not for {1}. Do not use this "
                 "order; check the names and try again.".format(helper.cut([v for _t, v in got], 500),
                                                                ", ".join(v for _t, v in asked)))
    urls = answers.url_list(order, "authorizations", "the order")
    answers.url_field(order, "finalize", "the order")
    return urls
