""" A fake Alibaba Cloud API on 127.0.0.1: Alidns, CDN and API Gateway, for the tests and the walkthrough

No test reaches Alibaba Cloud. This server stands in for it, as its API reference describes it:
- every request must carry a V3 signature (ACS3-HMAC-SHA256) that this server checks by Alibaba's
  documented algorithm, from the canonical request up; a wrong secret gets SignatureDoesNotMatch and
  an unknown AccessKey ID InvalidAccessKeyId.NotFound, as the real API answers them;
- the action (x-acs-action), the version (x-acs-version) and each action's parameters are checked;
- answers and errors have the API reference's shapes: RequestId, Code, Message, Recommend; lists
  come in pages (PageNumber, PageSize: 20 by default, 100 at most; TotalCount);
- Alidns records of type TXT are passed on to pebble-challtestsrv (when given), so that Pebble
  really validates dns-01 "through Alibaba Cloud DNS".
It serves HTTPS with a throwaway CA (its file: ca_file). Credentials: ACCESS_KEY_ID / ACCESS_KEY_SECRET.

    python tools/fake_alibaba.py --challtestsrv http://127.0.0.1:8055   # in the foreground
"""

import argparse
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl, quote, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from pebble import make_tls_files  # noqa: E402

ACCESS_KEY_ID = "LTAI5tFakeAccessKeyForTests"
ACCESS_KEY_SECRET = "FakeSecretForTheTestsOnly0123456"
PAGE_SIZE_LIMIT = 100          # the largest PageSize of DescribeDomains and DescribeSubDomainRecords
VERSIONS = {"dns": "2015-01-09", "cdn": "2018-05-10", "apigateway": "2016-07-14"}
ACTIONS = {  # action: (product, required parameters)
    "DescribeDomains": ("dns", ()), "DescribeDomainInfo": ("dns", ("DomainName",)),
    "AddDomainRecord": ("dns", ("DomainName", "RR", "Type", "Value")),
    "DescribeSubDomainRecords": ("dns", ("SubDomain",)), "DeleteDomainRecord": ("dns", ("RecordId",)),
    "DescribeDomainCertificateInfo": ("cdn", ("DomainName",)),
    "SetCdnDomainSSLCertificate": ("cdn", ("DomainName", "SSLProtocol")),
    "DescribeDomain": ("apigateway", ("GroupId", "DomainName")),
    "SetDomainCertificate": ("apigateway", ("GroupId", "DomainName", "CertificateName")),
}


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def percent(text):
    """ The V3 signature's percent-encoding: RFC 3986, only A-Z a-z 0-9 - _ . ~ left as they are """
    return quote(text, safe="-_.~")


def string_to_sign(method, path, query, headers, signed_headers, payload_hash):
    """ Alibaba's V3 signature, as documented: CanonicalRequest, then StringToSign """
    canonical_query = "&".join("{0}={1}".format(percent(k), percent(v)) for k, v in sorted(query))
    canonical_headers = "".join("{0}:{1}\n".format(name, headers.get(name, "").strip()) for name in signed_headers)
    canonical_request = "\n".join([method, path or "/", canonical_query, canonical_headers,
                                   ";".join(signed_headers), payload_hash])
    return "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical_request.encode("utf8")).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_POST(self):
        fake, request_id = self.server.fake, str(uuid.uuid4()).upper()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            action, parameters = self.verify(body)
            answer = fake.handle(action, parameters)
            status, answer = 200, dict(answer, RequestId=request_id)
        except ApiError as error:
            status = error.status
            answer = {"RequestId": request_id, "HostId": self.headers.get("host", ""), "Code": error.code,
                      "Message": error.message,
                      "Recommend": "https://api.aliyun.com/troubleshoot?q={0}".format(error.code)}
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-acs-request-id", request_id)
        self.end_headers()
        self.wfile.write(data)

    def verify(self, body):
        """ The request's V3 signature, action, version and parameters """
        headers = {name.lower(): value for name, value in self.headers.items()}
        auth = headers.get("authorization", "")
        if not auth.startswith("ACS3-HMAC-SHA256 "):
            raise ApiError(400, "MissingAuthorization", "Authorization is mandatory for this action.")
        fields = dict(part.split("=", 1) for part in auth[len("ACS3-HMAC-SHA256 "):].split(",") if "=" in part)
        if fields.get("Credential") != self.server.fake.access_key_id:
            raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        signed = fields.get("SignedHeaders", "").split(";")
        needed = {"host"} | {name for name in headers if name.startswith("x-acs-")}
        if not needed <= set(signed) or signed != sorted(signed):
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        if hashlib.sha256(body).hexdigest() != headers.get("x-acs-content-sha256"):
            raise ApiError(400, "InvalidParameter.ContentSha256", "x-acs-content-sha256 is not the body's hash.")
        url = urlsplit(self.path)
        query = parse_qsl(url.query, keep_blank_values=True)
        expected = hmac.new(self.server.fake.secret.encode(), string_to_sign(
            "POST", url.path, query, headers, signed, headers["x-acs-content-sha256"]).encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), fields.get("Signature", "")):
            raise ApiError(400, "SignatureDoesNotMatch", "Specified signature does not match our calculation.")
        action = headers.get("x-acs-action", "")
        if action not in ACTIONS:
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and "
                                                          "method.")
        product, required = ACTIONS[action]
        if headers.get("x-acs-version") != VERSIONS[product]:
            raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        parameters = dict(query)
        parameters.update(parse_qsl(body.decode("utf8"), keep_blank_values=True))
        for name in required:
            if not parameters.get(name):
                raise ApiError(400, "MissingParameter", "The input parameter \"{0}\" that is mandatory for processing "
                                                        "this request is not supplied.".format(name))
        return action, parameters

    def log_message(self, format, *args):
        pass


class FakeAlibaba:
    """ The fake's state: DNS zones and records, CDN domains, API Gateway domains and their certificates """

    def __init__(self, folder, zones=("example.test",), cdn_domains=("cdn.example.test",),
                 api_domains=(("apigroup1", "api.example.test"),), challtest_url=None):
        self.folder = os.path.abspath(folder)
        self.access_key_id, self.secret = ACCESS_KEY_ID, ACCESS_KEY_SECRET
        self.zones = {zone: str(10000 + n) for n, zone in enumerate(zones)}
        self.records = {}
        self.cdn = {domain: {"cert": "", "status": "off", "name": ""} for domain in cdn_domains}
        self.api = {key: {"cert": "", "key": "", "name": "", "id": ""} for key in api_domains}
        self.challtest_url = challtest_url
        self.calls = []
        self.lock = threading.Lock()
        self.server = None

    @property
    def endpoint(self):
        return "localhost:{0}".format(self.server.server_address[1])

    @property
    def ca_file(self):
        return os.path.join(self.folder, "pebble-ca.pem")

    def start(self):
        os.makedirs(self.folder, exist_ok=True)
        tls = make_tls_files(self.folder)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads, self.server.fake = True, self
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls["pebble-cert.pem"], tls["pebble-key.pem"])
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def ini_values(self):
        """ What acme.ini needs to use this fake instead of Alibaba Cloud """
        return {"AlibabaDNSEndpoint": self.endpoint, "AlibabaCDNEndpoint": self.endpoint,
                "AlibabaAPIGatewayEndpoint": self.endpoint, "AlibabaCABundle": self.ca_file}

    def environment(self):
        return {"ALIBABA_CLOUD_ACCESS_KEY_ID": self.access_key_id, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.secret}

    # -- the actions ------------------------------------------------------------------------------------

    def handle(self, action, p):
        with self.lock:
            self.calls.append((action, dict(p)))
            return getattr(self, action)(p)

    @staticmethod
    def page(p, items):
        """ One page of a list, as the API pages it: PageNumber from 1, PageSize 20 by default, 100 at most """
        try:
            page, size = int(p.get("PageNumber") or 1), int(p.get("PageSize") or 20)
        except ValueError:
            raise ApiError(400, "InvalidParameter", "PageNumber and PageSize must be numbers.")
        if page < 1:
            raise ApiError(400, "InvalidPageNumber", "The specified PageNumber is invalid.")
        if not 1 <= size <= PAGE_SIZE_LIMIT:
            raise ApiError(400, "InvalidPageSize", "The specified PageSize is invalid.")
        return {"TotalCount": len(items), "PageNumber": page, "PageSize": size}, items[(page - 1) * size:page * size]

    def DescribeDomains(self, p):
        names = [z for z in sorted(self.zones) if p.get("KeyWord", "") in z]
        answer, chosen = self.page(p, names)
        return dict(answer, Domains={"Domain": [{"DomainName": z, "DomainId": self.zones[z], "RecordCount": sum(
            1 for r in self.records.values() if r["DomainName"] == z)} for z in chosen]})

    def DescribeDomainInfo(self, p):
        zone = p["DomainName"].lower()
        if zone not in self.zones:
            raise ApiError(400, "InvalidDomainName.NoExist", "The specified domain name does not exist. Refresh the "
                                                             "page and try again.")
        return {"DomainName": zone, "DomainId": self.zones[zone]}

    def AddDomainRecord(self, p):
        zone = p["DomainName"].lower()
        self.DescribeDomainInfo({"DomainName": zone})
        if any(r["DomainName"] == zone and r["RR"] == p["RR"] and r["Type"] == p["Type"] and r["Value"] == p["Value"]
               for r in self.records.values()):
            raise ApiError(400, "DomainRecordDuplicate", "The DNS record already exists.")
        record_id = str(len(self.calls) + 900000000000)
        self.records[record_id] = {"RecordId": record_id, "DomainName": zone, "RR": p["RR"], "Type": p["Type"],
                                   "Value": p["Value"], "TTL": int(p.get("TTL") or 600), "Status": "ENABLE",
                                   "Locked": False, "Line": "default"}
        self.publish(zone, p["RR"])
        return {"RecordId": record_id}

    def DescribeSubDomainRecords(self, p):
        # Without DomainName the API takes the last two labels of SubDomain as the zone (a.www.example.com:
        # host a.www of example.com), as its reference says: wrong for example.co.jp or a delegated sub-zone
        sub = p["SubDomain"].lower().rstrip(".")
        zone = (p.get("DomainName") or ".".join(sub.split(".")[-2:])).lower()
        found = [r for r in self.records.values() if r["DomainName"] == zone and r["RR"] + "." + zone == sub
                 and p.get("Type") in (None, "", r["Type"])]
        answer, chosen = self.page(p, found)
        return dict(answer, DomainRecords={"Record": chosen})

    def DeleteDomainRecord(self, p):
        record = self.records.pop(p["RecordId"], None)
        if record is None:
            raise ApiError(400, "DomainRecordNotBelongToUser", "The DNS record does not exist or you do not have "
                                                               "access to the DNS record.")
        self.publish(record["DomainName"], record["RR"])
        return {"RecordId": p["RecordId"]}

    def publish(self, zone, rr):
        """ Hand the TXT records of one name to pebble-challtestsrv, Pebble's DNS server """
        if not self.challtest_url:
            return
        import requests
        host = "{0}.{1}.".format(rr, zone) if rr != "@" else zone + "."
        requests.post(self.challtest_url + "/clear-txt", json={"host": host}, timeout=10).raise_for_status()
        for record in self.records.values():
            if record["Type"] == "TXT" and record["DomainName"] == zone and record["RR"] == rr:
                txt = {"host": host, "value": record["Value"]}
                requests.post(self.challtest_url + "/set-txt", json=txt, timeout=10).raise_for_status()

    def cdn_domain(self, name):
        if name.lower() not in self.cdn:
            raise ApiError(400, "InvalidDomain.NotFound", "The domain provided does not belong to you.")
        return self.cdn[name.lower()]

    def DescribeDomainCertificateInfo(self, p):
        domain = self.cdn_domain(p["DomainName"])
        info = {"DomainName": p["DomainName"].lower(), "CertName": domain["name"], "CertType": "upload",
                "ServerCertificateStatus": domain["status"], "ServerCertificate": domain["cert"],
                "Status": "success" if domain["cert"] else "", "CertUpdateTime": domain.get("updated", "")}
        if domain["cert"]:
            from cryptography import x509
            cert = x509.load_pem_x509_certificate(domain["cert"].encode())
            info.update(CertStartTime=cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        CertExpireTime=cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        CertDomainName=",".join(str(n.value) for n in cert.extensions.get_extension_for_class(
                            x509.SubjectAlternativeName).value))
        return {"CertInfos": {"CertInfo": [info]}}

    def SetCdnDomainSSLCertificate(self, p):
        domain = self.cdn_domain(p["DomainName"])
        if p["SSLProtocol"] == "off":
            domain["status"] = "off"
            return {}
        if p.get("CertType") != "upload" or not p.get("SSLPub") or not p.get("SSLPri"):
            raise ApiError(400, "InvalidParameter", "SSLPub and SSLPri are required with CertType upload.")
        domain.update(cert=self.check_pair(p["SSLPub"], p["SSLPri"]), status="on", name=p.get("CertName", ""),
                      updated=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        return {}

    def check_pair(self, chain_pem, key_pem):
        """ The chain's first certificate, when the key is its key (as the consoles and APIs check) """
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        try:
            cert = x509.load_pem_x509_certificates(chain_pem.encode())[0]
            key = serialization.load_pem_private_key(key_pem.encode(), None)
        except ValueError:
            raise ApiError(400, "InvalidCertificate.Format", "The certificate or private key format is invalid.")
        spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
            raise ApiError(400, "InvalidCertificate.NotMatch", "The certificate does not match the private key.")
        return cert.public_bytes(serialization.Encoding.PEM).decode()

    def api_domain(self, p):
        key = (p["GroupId"], p["DomainName"].lower())
        if key not in self.api:
            raise ApiError(404, "NotFoundDomain", "Cannot find the domain.")
        return self.api[key]

    def DescribeDomain(self, p):
        domain = self.api_domain(p)
        return {"GroupId": p["GroupId"], "DomainName": p["DomainName"].lower(), "SubDomain": p["GroupId"] +
                "-cn-hangzhou.alicloudapi.com", "CertificateId": domain["id"], "CertificateName": domain["name"],
                "CertificateBody": domain["cert"], "CertificatePrivateKey": domain["key"],
                "DomainBindingStatus": "BINDING", "DomainCNAMEStatus": "RESOLVED", "DomainLegalStatus": "NORMAL"}

    def SetDomainCertificate(self, p):
        domain = self.api_domain(p)
        if not p.get("CertificateBody") or not p.get("CertificatePrivateKey"):
            raise ApiError(400, "MissingParameter", "CertificateBody and CertificatePrivateKey are required.")
        domain.update(cert=self.check_pair(p["CertificateBody"], p["CertificatePrivateKey"]),
                      key=p["CertificatePrivateKey"], name=p["CertificateName"], id=uuid.uuid4().hex)
        return {}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Run a fake Alibaba Cloud API on 127.0.0.1 until Ctrl-C.")
    parser.add_argument("--dir", default="fake-alibaba-run", help="folder for its TLS files")
    parser.add_argument("--challtestsrv", metavar="URL", help="pass TXT records on to this pebble-challtestsrv")
    args = parser.parse_args(argv)
    with FakeAlibaba(args.dir, challtest_url=args.challtestsrv) as fake:
        print("Fake Alibaba Cloud API: endpoint", fake.endpoint, "- CA", fake.ca_file)
        for name, value in dict(fake.ini_values()).items():
            print("{0} = {1}".format(name, value))
        print("export ALIBABA_CLOUD_ACCESS_KEY_ID={0} ALIBABA_CLOUD_ACCESS_KEY_SECRET=(the fake's, in this file)"
              .format(fake.access_key_id))
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
