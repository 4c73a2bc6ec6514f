""" Let's Encrypt ACME Version 2 Examples - Install the certificate into Alibaba Cloud API Gateway (Part 1's promise)

Puts the chain and the key on a custom domain of an API Gateway group. Before anything is sent it
checks that the key is the certificate's and that the certificate covers the domain. It shows the
domain's certificate before and after. When the live certificate is already this one (the same
serial), it says so and changes nothing: "renew, then install" can run every day. It asks before
replacing a live certificate (--yes for cron).
Credentials come from the Alibaba Cloud SDK's default chain, never from acme.ini (alibaba.py).
Reference: Alibaba Cloud API Gateway API (CloudAPI), version 2016-07-14

Alibaba Cloud API calls (signed with V3, ACS3-HMAC-SHA256):
    DescribeDomain        GroupId, DomainName                           (before, and after)
    SetDomainCertificate  GroupId, DomainName, CertificateName, CertificateBody=<the chain>,
                          CertificatePrivateKey=<the key: never printed>

acme.ini keys read: ChainFile, CertificateKeyFile, AccountKeyFile (to refuse it), AlibabaRegion,
AlibabaAPIGatewayEndpoint, AlibabaCABundle, Timeout.
Example:
    python install_api_gateway.py --group 0123456789abcdef --domain api.example.com
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import alibaba, config, frame
import myhelper


def parse_args(argv):
    parser = alibaba.install_options(__doc__, "the group's custom domain")
    parser.add_argument("--group", required=True, metavar="GROUP_ID", help="the API group's ID")
    return parser.parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config)
    chain, cert, key_pem = alibaba.certificate_for(ini, args, args.domain)
    serial = format(cert.serial_number, "x")
    api = alibaba.client(ini, "apigateway")
    _client, models = alibaba.sdk("apigateway")

    # 1. The domain's certificate now (the answer carries its private key too: never printed)
    def live():
        body = alibaba.call(api, api.describe_domain, models.DescribeDomainRequest(
            group_id=args.group, domain_name=args.domain), args.debug)
        return alibaba.describe(body.get("CertificateBody") or "")
    live_serial, before = live()
    print("{0} now: {1}.".format(args.domain, before))
    if live_serial == serial:
        print("The live certificate is already this one (serial {0}): nothing was changed.".format(serial))
        return 0
    if live_serial and not myhelper.Confirm("Replace it with serial {0} (y/n): ".format(serial), args.yes):
        sys.exit("Cancelled: nothing was changed.")

    # 2. Upload the chain and the key
    alibaba.call(api, api.set_domain_certificate, models.SetDomainCertificateRequest(
        group_id=args.group, domain_name=args.domain, certificate_name="acme-" + serial,
        certificate_body=chain, certificate_private_key=key_pem), args.debug)

    # 3. And as API Gateway has it now
    live_serial, after = live()
    print("{0} now: {1}.".format(args.domain, after))
    if live_serial != serial:
        sys.exit("Error: API Gateway still shows {0}; check the domain in the console.".format(after))
    print("Changed: {0} -> serial {1}.".format(before, serial))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
