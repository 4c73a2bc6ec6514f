""" Let's Encrypt ACME Version 2 Examples - Install the certificate into Alibaba Cloud CDN (Part 1's promise)

Puts the chain and the key on a CDN domain (HTTPS), the "upload" way: both are sent directly. Before
anything is sent it checks that the key is the certificate's and that the certificate covers the
domain. It shows the domain's certificate before and after. When the live certificate is already
this one (the same serial), it says so and changes nothing: "renew, then install" can run every
day. It asks before replacing a live certificate (--yes for cron).
Credentials come from the Alibaba Cloud SDK's default chain, never from acme.ini (alibaba.py).
Reference: Alibaba Cloud CDN API, version 2018-05-10

Alibaba Cloud API calls (signed with V3, ACS3-HMAC-SHA256):
    DescribeDomainCertificateInfo  DomainName                           (before, and after)
    SetCdnDomainSSLCertificate     DomainName, CertName, CertType=upload, SSLProtocol=on,
                                   SSLPub=<the chain>, SSLPri=<the key: never printed>

acme.ini keys read: ChainFile, CertificateKeyFile, AccountKeyFile (to refuse it), AlibabaRegion,
AlibabaCDNEndpoint, AlibabaCABundle, Timeout.
Example:
    python install_cdn.py --domain cdn.example.com
    python renew_certificate.py --deploy-hook "python install_cdn.py --domain cdn.example.com --yes"
"""

import sys

# lib first: a missing package is one line that says what to install, not a traceback
from lib import alibaba, config, frame
import myhelper


def parse_args(argv):
    return alibaba.install_options(__doc__, "the CDN domain (accelerated domain name)").parse_args(argv)


def main(argv=None):
    """ Main Program Function """
    args = parse_args(argv)
    ini = config.settings(myhelper.load_acme_config(args.config), args.config)
    chain, cert, key_pem = alibaba.certificate_for(ini, args, args.domain)
    serial = format(cert.serial_number, "x")
    api = alibaba.client(ini, "cdn")
    _client, models = alibaba.sdk("cdn")

    # 1. The domain's certificate now
    def live():
        body = alibaba.call(api, api.describe_domain_certificate_info, models.DescribeDomainCertificateInfoRequest(
            domain_name=args.domain), args.debug)
        infos = ((body.get("CertInfos") or {}).get("CertInfo") or [{}])
        info = infos[0] if isinstance(infos[0], dict) else {}
        return alibaba.describe(info.get("ServerCertificate") or "") + (info.get("ServerCertificateStatus"),)
    live_serial, before, status = live()
    print("{0} now: {1} (HTTPS {2}).".format(args.domain, before, status or "off"))
    if live_serial == serial and status == "on":
        print("The live certificate is already this one (serial {0}): nothing was changed.".format(serial))
        return 0
    if live_serial and not myhelper.Confirm("Replace it with serial {0} (y/n): ".format(serial), args.yes):
        sys.exit("Cancelled: nothing was changed.")

    # 2. Upload the chain and the key
    alibaba.call(api, api.set_cdn_domain_sslcertificate, models.SetCdnDomainSSLCertificateRequest(
        domain_name=args.domain, cert_name="acme-" + serial, cert_type="upload", sslprotocol="on",
        sslpub=chain, sslpri=key_pem), args.debug)

    # 3. And as the CDN has it now
    live_serial, after, status = live()
    print("{0} now: {1} (HTTPS {2}).".format(args.domain, after, status or "off"))
    if live_serial != serial:
        sys.exit("Error: The CDN still shows {0}; check the domain in the CDN console.".format(after))
    print("Changed: {0} -> serial {1}.".format(before, serial))
    return 0


if __name__ == "__main__":
    sys.exit(frame.run(main))
