""" tools/local_dns.py, the DNS server the validating acme2certifier asks, and what
tools/acme2certifier.py writes for it; no CA is started here. The DNS questions are built and read
by hand (the project's .venv has no DNS library), as a resolver sends them.
"""

import configparser
import json
import os
import socket
import struct
import subprocess
import sys

import pytest

from acme2certifier import ISSUER_DOMAIN, Acme2Certifier
from local_dns import LocalDNS

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools")


def question(name, qtype, ident=0x1234):
    labels = b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\x00" + struct.pack("!HH", qtype, 1)


def parse(reply):
    """ (rcode, truncated, [(type, rdata)]) of a reply whose answers point at the question's name """
    ident, flags, qdcount, ancount = struct.unpack("!HHHH", reply[:8])
    assert ident == 0x1234 and flags & 0x8000 and qdcount == 1
    pos = 12
    while reply[pos]:
        pos += 1 + reply[pos]
    pos += 5
    answers = []
    for _ in range(ancount):
        assert reply[pos:pos + 2] == b"\xc0\x0c"
        rtype, _class, ttl, size = struct.unpack("!HHIH", reply[pos + 2:pos + 12])
        assert ttl == 0
        answers.append((rtype, reply[pos + 12:pos + 12 + size]))
        pos += 12 + size
    return flags & 0xF, bool(flags & 0x0200), answers


def txt_strings(rdata):
    strings, pos = [], 0
    while pos < len(rdata):
        strings.append(rdata[pos + 1:pos + 1 + rdata[pos]].decode())
        pos += 1 + rdata[pos]
    return strings


def ask_udp(dns, name, qtype):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(question(name, qtype), ("127.0.0.1", dns.port))
        return parse(s.recv(4096))


def ask_tcp(dns, name, qtype):
    with socket.create_connection(("127.0.0.1", dns.port), timeout=5) as s:
        query = question(name, qtype)
        s.sendall(struct.pack("!H", len(query)) + query)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            chunk = s.recv(4096)
            assert chunk
            data += chunk
        return parse(data[2:])


@pytest.fixture
def dns():
    with LocalDNS(management=True) as server:
        yield server


def test_txt_records_long_values_in_several_strings_and_a_for_every_name(dns):
    long_value = "{0}; accounturi=https://localhost:1/acme/acct/{1}".format(ISSUER_DOMAIN, "a" * 300)
    dns.set_txt("_validation-persist.Example.TEST.", long_value, "other.ca; accounturi=x")
    rcode, truncated, answers = ask_udp(dns, "_validation-persist.example.test", 16)
    assert (rcode, truncated) == (0, False)
    records = [txt_strings(rdata) for _, rdata in answers]
    assert records == [[long_value[:255], long_value[255:]], ["other.ca; accounturi=x"]]
    dns.add_txt("_validation-persist.example.test", ["given", "strings"])
    assert dns.txt("_validation-persist.example.test")[-1] == ["given", "strings"]
    assert ask_udp(dns, "anything.example.test", 1) == (0, False, [(1, socket.inet_aton("127.0.0.1"))])
    assert ask_udp(dns, "anything.example.test", 28) == (0, False, [])
    dns.clear_txt("_validation-persist.example.test")
    assert ask_udp(dns, "_validation-persist.example.test", 16) == (0, False, [])
    assert dns.asked("_validation-persist.example.test") == 2
    assert dns.queries[-2:] == [("anything.example.test", "AAAA"), ("_validation-persist.example.test", "TXT")]


def test_an_answer_over_512_bytes_is_truncated_over_udp_and_whole_over_tcp(dns):
    for i in range(4):
        dns.add_txt("big.example.test", "record {0} ".format(i) + "x" * 200)
    assert ask_udp(dns, "big.example.test", 16) == (0, True, [])
    rcode, truncated, answers = ask_tcp(dns, "big.example.test", 16)
    assert (rcode, truncated, len(answers)) == (0, False, 4)


def test_without_a_default_address_an_unknown_name_does_not_exist():
    with LocalDNS(default_ipv4=None) as dns:
        dns.set_a("known.example.test", "127.0.0.2")
        assert ask_udp(dns, "unknown.example.test", 16)[0] == 3                # NXDOMAIN
        assert ask_udp(dns, "known.example.test", 1)[2] == [(1, socket.inet_aton("127.0.0.2"))]


def test_challtestsrv_hook_publishes_in_it(dns):
    hook = [sys.executable, os.path.join(TOOLS, "challtestsrv_hook.py"), "--url", dns.management_url]
    subprocess.run(hook + ["set", "_acme-challenge.hook.example.test", "-value"], check=True, timeout=30)
    assert dns.txt("_acme-challenge.hook.example.test") == [["-value"]]
    subprocess.run(hook + ["clear", "_acme-challenge.hook.example.test", "-value"], check=True, timeout=30)
    assert dns.txt("_acme-challenge.hook.example.test") == []


def test_acme2certifier_config_and_acme_ini_for_dns_persist(tmp_path):
    stand_in = type("DNS", (), {"address": "127.0.0.1:5353", "management_url": "http://127.0.0.1:1"})()
    ca = Acme2Certifier(str(tmp_path), jit_validation=True, dns=stand_in)
    config = configparser.ConfigParser()
    config.read(ca.write_config())
    assert config["Challenge"]["challenge_validation_disable"] == "False"
    assert config["Challenge"]["dns_persist_01_support"] == "True"
    assert config["Challenge"]["dns_persist_jit_validation"] == "True"
    assert config["Challenge"]["dns_persist_allow_policy_wildcard"] == "False"
    assert json.loads(config["Directory"]["caaidentities"]) == [ISSUER_DOMAIN]
    assert json.loads(config["DEFAULT"]["dns_server_list"]) == ["127.0.0.1"]
    assert ca.http_port not in (80, 443) and ca.tls_alpn_port not in (80, 443)
    ca.write_acme_ini(str(tmp_path / "acme.ini"))
    ini = (tmp_path / "acme.ini").read_text()
    assert "HTTPPort = {0}\n".format(ca.http_port) in ini and "DNSResolver = 127.0.0.1:5353\n" in ini
    assert "challtestsrv_hook.py --url http://127.0.0.1:1\n" in ini


def test_acme2certifier_by_default_validates_nothing_and_offers_no_dns_persist(tmp_path):
    ca = Acme2Certifier(str(tmp_path))
    config = configparser.ConfigParser()
    config.read(ca.write_config())
    assert config["Challenge"]["challenge_validation_disable"] == "True"
    assert "dns_persist_01_support" not in config["Challenge"] and "caaidentities" not in config["Directory"]
    assert "dns_server_list" not in config["DEFAULT"] and ca.dns is None and ca.http_port is None
