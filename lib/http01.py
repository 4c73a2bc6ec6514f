""" http-01 (RFC 8555 §8.3): the key authorization served at
http://<name>/.well-known/acme-challenge/<token>, from a small built-in web server or as files under
the document root of your own web server, and fetched once by us first, as the CA will

responder() gives one or the other; both are context managers with add(token, key_auth) that stop
the server or remove the files afterwards, also after an error or Ctrl-C.
"""

import http.server
import os
import socket
import sys
import threading

import helper
from lib.files import write_file
from lib.frame import AcmeError

WELL_KNOWN = "/.well-known/acme-challenge/"


class ChallengeServer(http.server.ThreadingHTTPServer):
    """ The built-in web server: GET /.well-known/acme-challenge/<token> answers the key authorization """

    def __init__(self, bind, port):
        self.answers = {}
        self.fetched = threading.Event()            # set when an answer was served (the CA has come)
        try:
            super().__init__((bind, port), ChallengeHandler)
        except PermissionError:
            sys.exit("Error: Cannot listen on port {0}: permission denied. Run as root (sudo), or use --webroot "
                     "with your own web server.".format(port))
        except OSError as error:
            sys.exit("Error: Cannot listen on port {0}: {1}. Stop what uses it, or use --webroot with the web "
                     "server that holds it.".format(port, error.strerror))

    def add(self, token, key_auth):
        self.answers[token] = key_auth

    def __enter__(self):
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        print("Serving http-01 challenges on port", self.server_address[1])
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()
        print("Stopped the challenge web server.")


class ChallengeHandler(http.server.BaseHTTPRequestHandler):
    disable_nagle_algorithm = True              # answer at once: headers and body are two writes

    def do_GET(self):
        body = self.server.answers.get(self.path[len(WELL_KNOWN):]) if self.path.startswith(WELL_KNOWN) else None
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write((body or "not found").encode("ascii"))
        if body:
            self.server.fetched.set()

    def log_message(self, format, *args):
        # one write per line: lines from this thread and the main one never run together
        sys.stdout.write("  web server: {0} {1}\n".format(self.client_address[0], format % args))


class WebrootFiles:
    """ The key authorizations as files under <webroot>/.well-known/acme-challenge/, removed afterwards """

    def __init__(self, webroot):
        check_webroot(webroot)
        self.folder = os.path.join(webroot, WELL_KNOWN.strip("/"))
        self.written = []

    def add(self, token, key_auth):
        os.makedirs(self.folder, exist_ok=True)
        filename = os.path.join(self.folder, token)          # the token is base64url: no "/" or ".."
        write_file(filename, key_auth.encode("ascii"))
        self.written.append(filename)
        print("Wrote", filename)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for filename in self.written:
            if os.path.exists(filename):
                os.unlink(filename)
                print("Removed", filename)


def check_webroot(webroot):
    """ A webroot must be a folder that exists: said before anything is sent """
    if webroot and not os.path.isdir(webroot):
        sys.exit("Error: --webroot {0} is not a folder.".format(webroot))


def responder(webroot, bind, port):
    """ Files under webroot when one is given, else the built-in server on bind:port """
    return WebrootFiles(webroot) if webroot else ChallengeServer(bind, port)


def resolves(name, port):
    """ Does NAME resolve from this machine? """
    try:
        return bool(socket.getaddrinfo(name, port))
    except (socket.gaierror, UnicodeError):
        return False


def check_own_url(net, name, token, key_auth, port):
    """ Fetch http://NAME[:PORT]/.well-known/acme-challenge/TOKEN as the CA will: NAME resolved, on the
    port the CA checks. A NAME that does not resolve here is checked on this machine """
    host = "[{0}]".format(name) if ":" in name else name
    url = "http://{0}{1}{2}{3}".format(host, "" if port == 80 else ":{0}".format(port), WELL_KNOWN, token)
    headers, note = {}, ""
    if not resolves(name, port):
        headers = {"Host": host}
        url = "http://127.0.0.1:{0}{1}{2}".format(port, WELL_KNOWN, token)
        note = " (Host: {0}; {0} does not resolve from here, so only this machine was checked)".format(name)
    try:
        served = net.send("GET", url, "checking our own challenge URL", headers=headers, plain_http=True)
        answer = served.content.decode("ascii", "replace").strip() if served.status_code == 200 else None
        reason = "it answered {0}".format(served.status_code)
    except AcmeError as error:
        answer, reason = None, str(error).splitlines()[0]
    if answer != key_auth:
        sys.exit("Error: {0}{1} does not serve the key authorization ({2}). The CA would fail too: check that {3} "
                 "points to this machine and that port {4} is open, or pass --skip-check.".format(
                     url, note, "it served something else" if answer else helper.cut(reason, 300), name, port))
    print("Checked:", url + note)
