""" Let's Encrypt ACME Version 2 Examples - printing helpers (as in the original package)

print_dict prints a JSON object the way the article shows it: one "key: value" per line,
a nested object as "key:" followed by its items indented four spaces per level.
"""


def get_indent(indent):
    """ Return the indentation for a nesting level: four spaces a level, 0 to 10 levels """
    indent = max(0, min(indent, 10))
    return "    " * indent


def print_dict(arg, indent=0):
    """ Print a dict (a decoded JSON object) as indented "key: value" lines

    >>> print_dict({"meta": {"website": "https://example.com"}, "newNonce": "https://x/n"})
    meta:
        website: https://example.com
    newNonce: https://x/n
    """
    for key, value in arg.items():
        if isinstance(value, dict):
            print(get_indent(indent) + str(key) + ":")
            print_dict(value, indent + 1)
        else:
            print(get_indent(indent) + str(key) + ": " + str(value))


ACCOUNT_FIELDS = (("ID:        ", "id"), ("Contact:   ", "contact"), ("Initial IP:", "initialIp"),
                  ("Created At:", "createdAt"), ("Status:   ", "status"))


def print_account(info):
    """ Print the account block of the original scripts from whatever the server returned

    Let's Encrypt stopped returning id (2019), initialIp (2024) and contact (2025); the original
    crashed with KeyError on them. An absent field now says so.
    """
    print('')
    for label, field in ACCOUNT_FIELDS:
        print(label, info.get(field, "(not returned by the server)"))
