""" Let's Encrypt ACME Version 2 Examples - Alibaba Cloud's official SDK, set up the safe way

What the Alibaba Cloud scripts (alidns_hook.py, dns_persist_record.py, install_cdn.py,
install_api_gateway.py) share, so that each can show its own API calls:
- the SDK's default credential chain: ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET,
  its credentials file, the aliyun CLI's profile, or an ECS RAM role. No secret is read from
  acme.ini, and none is printed, --debug included;
- the region and endpoints from acme.ini (AlibabaRegion, Alibaba*Endpoint; empty: the SDK's
  defaults), HTTPS with TLS verified, a timeout on every call; the SDK's default signature, V3
  (ACS3-HMAC-SHA256);
- call(): one API call, printed as "Calling Alibaba Cloud: Action (endpoint)" with its parameters,
  private keys masked; an error is at most two lines: the hint first (for a known code), then the
  API's code, message and request ID, each once;
- call_pages(): every page of a Describe* action's list;
- find_zones(): the account's DNS domain (zone) that holds a record name.
The SDK packages are optional: requirements-alibaba.txt. Without them, one line says how to install.
"""

import os
import sys

import helper
from lib import certs, files, frame
from lib.frame import AcmeError

PACKAGES = {"dns": ("alibabacloud_alidns20150109", "alibabacloud-alidns20150109"),
            "cdn": ("alibabacloud_cdn20180510", "alibabacloud-cdn20180510"),
            "apigateway": ("alibabacloud_cloudapi20160714", "alibabacloud-cloudapi20160714")}
SECRET_PARAMETERS = ("SSLPri", "CertificatePrivateKey", "AccessKeySecret", "SecurityToken")
HINTS = {
    "InvalidAccessKeyId.NotFound": "The AccessKey ID is unknown: check ALIBABA_CLOUD_ACCESS_KEY_ID (or your "
                                   "credentials file, aliyun CLI profile or RAM role).",
    "SignatureDoesNotMatch": "The AccessKey secret does not match the ID: check ALIBABA_CLOUD_ACCESS_KEY_SECRET.",
    "IncompleteSignature": "The AccessKey secret does not match the ID: check ALIBABA_CLOUD_ACCESS_KEY_SECRET.",
    "Forbidden.RAM": "The RAM user or role may not call this action: grant it (README: Alibaba Cloud, RAM policy).",
    "NoPermission": "The RAM user or role may not call this action: grant it (README: Alibaba Cloud, RAM policy).",
}


def sdk(product):
    """ The SDK modules of a product (dns, cdn, apigateway): (client module, models module) """
    module, package = PACKAGES[product]
    try:
        __import__("alibabacloud_credentials.client")
        __import__("alibabacloud_tea_openapi.utils_models")
        client = __import__(module + ".client", fromlist=["Client"])
        models = __import__(module + ".models", fromlist=["models"])
    except ModuleNotFoundError as error:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        raise AcmeError("Error: The Alibaba Cloud SDK is missing ({0}, for {1}); install it with: {2} -m pip "
                        "install -r {3}".format(error.name, package, os.path.basename(sys.executable),
                                                os.path.join(here, "requirements-alibaba.txt")))
    return client, models


def client(ini, product):
    """ A client of the product's API: credentials from the SDK's default chain, never from acme.ini """
    client_module, _models = sdk(product)
    from alibabacloud_credentials.client import Client as Credentials
    from alibabacloud_tea_openapi.utils_models import Config
    try:
        credential = Credentials()                    # environment, credentials file, CLI profile, ECS role
    except Exception as error:                         # the SDK raises plain exceptions here
        raise AcmeError("Error: No Alibaba Cloud credentials found ({0}). Set ALIBABA_CLOUD_ACCESS_KEY_ID "
                        "and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or configure the aliyun CLI.".format(
                                   helper.cut(str(error).splitlines()[0] if str(error) else type(error).__name__, 300)))
    endpoint = ini[{"dns": "AlibabaDNSEndpoint", "cdn": "AlibabaCDNEndpoint",
                    "apigateway": "AlibabaAPIGatewayEndpoint"}[product]]
    defaults = {"dns": "alidns.{0}.aliyuncs.com", "cdn": "cdn.aliyuncs.com",
                "apigateway": "apigateway.{0}.aliyuncs.com"}
    config = Config(credential=credential, region_id=ini["AlibabaRegion"], protocol="https",
                    endpoint=endpoint or defaults[product].format(ini["AlibabaRegion"]),
                    connect_timeout=int(ini["Timeout"] * 1000), read_timeout=int(ini["Timeout"] * 1000))
    if ini["AlibabaCABundle"]:
        config.ca = ini["AlibabaCABundle"]
    return client_module.Client(config)


def masked(parameters):
    """ The parameters as text to print: private keys and secrets masked, a PEM text summed up """
    def shown(name, value):
        if name in SECRET_PARAMETERS:
            return "(not shown)"
        if "-----BEGIN" in str(value):
            return "(PEM, {0} certificate(s))".format(str(value).count("-----BEGIN CERTIFICATE"))
        return helper.cut(value, 120)
    return " ".join("{0}={1}".format(name, shown(name, value)) for name, value in parameters.items()
                    if value is not None)


def call(api, method, request, debug=False):
    """ One API call, say api.add_domain_record(AddDomainRecordRequest(...)): printed, its errors made
    readable; returns the response body as a dict """
    action = type(request).__name__[:-len("Request")]
    print("Calling Alibaba Cloud: {0} ({1}) {2}".format(action, api._endpoint, masked(request.to_map())))
    try:
        body = method(request).body.to_map()
    except Exception as error:                         # the SDK's exception types differ from version to version
        raise AcmeError(failure(action, api._endpoint, error))
    if debug:
        print("  <- " + helper.cut({k: "(not shown)" if k in SECRET_PARAMETERS else v for k, v in body.items()}, 3000))
    return body


def call_pages(api, method, request, listing, debug=False, page_size=100, max_pages=50):
    """ Every item of a paged Describe* action, say DescribeSubDomainRecords: PageNumber 1, 2, ... with
    PageSize page_size (100, the API's largest) until TotalCount items have come, a page comes empty,
    or max_pages pages. listing is the answer's path to its list: ("DomainRecords", "Record") """
    items = []
    for page in range(1, max_pages + 1):
        request.page_number, request.page_size = page, page_size
        body = call(api, method, request, debug)
        outer = body.get(listing[0])
        batch = outer.get(listing[1]) if isinstance(outer, dict) else None
        batch = [item for item in batch if isinstance(item, dict)] if isinstance(batch, list) else []
        items += batch
        total = body.get("TotalCount")
        if not batch or (len(items) >= total if isinstance(total, int) else len(batch) < page_size):
            break
    return items


def find_zones(api, names, otherwise, debug=False):
    """ {name: the account's Alibaba Cloud DNS domain that holds it}: every page of DescribeDomains, then
    each name's labels walked up from the longest candidate, so that a delegated sub-zone
    (shop.example.com) wins over its parent and a suffix of several labels (example.co.uk) is never
    guessed. A name no domain holds is an error that ends with otherwise (what else to do) """
    _client, models = sdk("dns")
    found = call_pages(api, api.describe_domains, models.DescribeDomainsRequest(), ("Domains", "Domain"), debug)
    domains = {str(domain.get("DomainName", "")).lower().rstrip(".") for domain in found} - {""}
    zones = {}
    for name in names:
        labels = name.lower().rstrip(".").split(".")
        zones[name] = next((".".join(labels[start:]) for start in range(1, len(labels) - 1)
                            if ".".join(labels[start:]) in domains), None)
        if zones[name] is None:
            raise AcmeError("Error: None of this account's Alibaba Cloud DNS domains holds {0} (it has: {1}). Add the "
                            "domain to Alibaba Cloud DNS, or {2}.".format(
                                name, helper.cut(", ".join(sorted(domains)), 500) or "none", otherwise))
    return zones


def failure(action, endpoint, error):
    """ An API call's failure in at most two lines: what to do first (the hint for a known code, else
    what failed), then the API's code, message and request ID, each once """
    data = getattr(error, "data", None)
    data = data if isinstance(data, dict) else {}
    code = str(data.get("Code") or getattr(error, "code", None) or type(error).__name__)
    # the API's own words; the SDK's message repeats the status and the request ID around them
    message = data.get("Message") or getattr(error, "message", None) or str(error) or type(error).__name__
    message = helper.cut(" ".join(str(message).split()), 500)
    request_id = data.get("RequestId") or getattr(error, "request_id", None)
    if not data:                                       # no answer from the API: a connection, TLS or timeout error
        return "Error: Alibaba Cloud {0} failed ({1}): {2}".format(action, endpoint, message)
    said = "Alibaba Cloud {0}: {1}: {2} (RequestId {3})".format(action, helper.cut(code, 200), message,
                                                               helper.cut(request_id, 100))
    if code in HINTS:
        return "Error: {0}\n{1}".format(HINTS[code], said)
    return "Error: " + said


def install_options(doc, domain_help):
    """ The options of install_cdn.py and install_api_gateway.py: which domain, which files, --yes """
    parser = frame.options(doc)
    parser.add_argument("--domain", required=True, help=domain_help)
    parser.add_argument("--chain", help="the certificate chain (default: ChainFile)")
    parser.add_argument("--key", help="its private key (default: CertificateKeyFile)")
    parser.add_argument("--yes", action="store_true", help="replace a live certificate without asking")
    return parser


def certificate_for(ini, args, domain):
    """ The chain (PEM text), its first certificate and the private key (PEM text) to install on
    domain: the key must be the certificate's, and the certificate must cover domain """
    from cryptography import x509
    chain_file, key_file = args.chain or ini["ChainFile"], args.key or ini["CertificateKeyFile"]
    if not chain_file or not key_file:
        raise AcmeError("Error: Set ChainFile and CertificateKeyFile in acme.ini, or pass --chain and --key.")
    cert = certs.load_certificate(chain_file, "python issue_certificate.py NAME...")
    with open(chain_file, encoding="ascii") as f:
        chain = f.read()
    key = files.load_certificate_key(ini, key_file)
    names = [str(n.value) for n in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]
    if certs.certificate_problems(cert, key, []):
        raise AcmeError("Error: {0} is not the key of the certificate in {1}; nothing was sent.".format(
            key_file, chain_file))
    if not covers(names, domain):
        raise AcmeError("Error: The certificate in {0} is for {1}, not for {2}; nothing was sent.".format(
            chain_file, ", ".join(names), domain))
    with open(key_file, encoding="ascii") as f:
        return chain, cert, f.read()


def describe(pem):
    """ One line about a certificate (PEM text, maybe empty): its serial and validity """
    if not pem:
        return None, "no certificate"
    from cryptography import x509
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None, "a certificate that does not parse"
    return format(cert.serial_number, "x"), "serial {0}, valid until {1:%Y-%m-%d %H:%M} UTC".format(
        format(cert.serial_number, "x"), cert.not_valid_after_utc)


def covers(names, domain):
    """ Does a certificate for names serve domain? (a wildcard covers one label) """
    domain = domain.lower().rstrip(".")
    return any(name == domain or (name.startswith("*.") and domain.split(".", 1)[-1] == name[2:] and "." in domain)
               for name in (n.lower() for n in names))
