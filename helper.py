""" Let's Encrypt ACME Version 2 Examples - printing, as the article's helper.py does it

print_dict prints a JSON object the way the article shows it: one "key: value" per line, a nested
object as "key:" followed by its items indented four spaces per level (as in the original package).
print_account prints the account block of the original scripts. Text from a server may be long: a
value is cut at 2,000 characters (cut). The frame around the scripts is in lib/ (lib/__init__.py).
"""

import time

import myhelper

LONGEST_VALUE = 2000


def get_indent(indent):
    """ Return the indentation for a nesting level: four spaces a level, 0 to 10 levels """
    indent = max(0, min(indent, 10))
    return "    " * indent


def cut(value, limit=LONGEST_VALUE):
    """ A value as text, cut with a note when it is longer than limit characters

    >>> cut("x" * 2005)[-36:]
    'xxx... (cut: 2005 characters in all)'
    """
    text = str(value)
    return text if len(text) <= limit else "{0}... (cut: {1} characters in all)".format(text[:limit], len(text))


def print_dict(arg, indent=0):
    """ Print a dict (a decoded JSON object) as indented "key: value" lines

    >>> print_dict({"meta": {"website": "https://example.com"}, "newNonce": "https://x/n"})
    meta:
        website: https://example.com
    newNonce: https://x/n
    """
    for key, value in arg.items():
        if isinstance(value, dict):
            print(get_indent(indent) + cut(key) + ":")
            print_dict(value, indent + 1)
        else:
            print(get_indent(indent) + cut(key) + ": " + cut(value))


ACCOUNT_FIELDS = (("ID:        ", "id"), ("Contact:   ", "contact"), ("Initial IP:", "initialIp"),
                  ("Created At:", "createdAt"), ("Status:   ", "status"))


def challenge_errors(authz):
    """ The problem documents of an authorization's failed challenges, as indented lines after a newline """
    lines = []
    for challenge in authz.get("challenges") if isinstance(authz.get("challenges"), list) else []:
        if isinstance(challenge, dict) and isinstance(challenge.get("error"), dict):
            lines.append("{0} challenge:".format(cut(challenge.get("type"), 50)))
            lines += ["  " + line for line in myhelper.format_problem(challenge["error"])]
    return ("\n" + "\n".join(lines[:100])) if lines else ""


def print_account(info):
    """ Print the account block of the original scripts from whatever the server returned

    Let's Encrypt stopped returning id (2019), initialIp (2024) and contact (2025); the original
    crashed with KeyError on them. An absent field now says so.
    """
    print('')
    for label, field in ACCOUNT_FIELDS:
        print(label, cut(info[field]) if field in info else "(not returned by the server)")


def utc(seconds):
    """ A moment (seconds since 1970) as the scripts print it

    >>> utc(0)
    '1970-01-01 00:00:00 UTC'
    """
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(seconds))
