""" The frame every script runs in, so that the scripts themselves can tell their story

- options(): --config FILE and --debug for every script, --help shows the script's docstring, and a
  usage error exits 1 like every other failure;
- run(main): one message on stderr and exit 1 on failure, 130 on Ctrl-C, never a traceback for
  what a user or a server can cause;
- text reaches the terminal with its control characters escaped (an ESC sequence from a server
  could set the window title or clear the screen); output piped into `head` stops quietly while
  the work goes on.
"""

import argparse
import os
import sys
import threading

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides
CONTROL = {c: "\\x{0:02x}".format(c) for c in list(range(0x20)) + list(range(0x7f, 0xa0)) if c not in (9, 10)}
CONTROL.update({c: "\\u{0:04x}".format(c) for c in list(range(0x202a, 0x202f)) + list(range(0x2066, 0x206a))})


class AcmeError(Exception):
    """ A failure the user can do something about; str() is the whole message """


class SafeStream:
    """ A text stream that escapes control characters, writes whole lines only (a line another thread
    prints, such as the challenge web server's log, never lands inside one of ours), and goes quiet
    once its reader has gone. A line not yet ended goes out at flush() (print(..., flush=True), a
    prompt, the end of the script) """

    def __init__(self, stream):
        self.stream = stream
        self.gone = False
        self.lock = threading.Lock()
        self.partial = threading.local()          # each thread's line so far

    def write(self, text):
        if not self.gone:
            lines, newline, self.partial.text = (getattr(self.partial, "text", "") + text).rpartition("\n")
            if newline:
                self._write(lines + newline)
        return len(text)

    def flush(self):
        pending, self.partial.text = getattr(self.partial, "text", ""), ""
        if pending and not self.gone:
            self._write(pending)
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._reader_gone()

    def _write(self, text):
        with self.lock:
            try:
                self.stream.write(text.translate(CONTROL))
            except BrokenPipeError:
                self._reader_gone()
            except UnicodeEncodeError:
                self.stream.write(text.translate(CONTROL).encode("ascii", "backslashreplace").decode("ascii"))

    def _reader_gone(self):
        # `python script.py | head`: the reader stopped reading. The work goes on, quietly; the
        # descriptor points at /dev/null so that Python's last flush at exit finds no broken pipe.
        self.gone = True
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
        except (OSError, ValueError, AttributeError):
            pass

    def __getattr__(self, name):
        return getattr(self.stream, name)


class _Parser(argparse.ArgumentParser):
    """ argparse, but a usage error exits with 1 like every other failure """

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(1, "{0}: error: {1}\n".format(self.prog, message))


def options(doc):
    """ The options every script has: --config FILE and --debug; --help shows the script's docstring """
    parser = _Parser(description=doc.strip(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="acme.ini", metavar="FILE",
                        help="configuration file (default: %(default)s)")
    parser.add_argument("--debug", action="store_true",
                        help="show the wire: each request's protected header and payload, each answer")
    return parser


def command(args, script, *more):
    """ A command line to show the reader: python SCRIPT [--config FILE] ARGS, runnable as shown """
    config = ["--config", args.config] if args.config != "acme.ini" else []
    return " ".join(["python", script] + config + list(more))


def fail(message):
    """ Print a failure on stderr (after what stdout has so far); returns exit status 1 """
    sys.stdout.flush()
    if isinstance(message, OSError) and message.filename:
        name = os.fspath(message.filename)
        if os.path.basename(name).startswith(".tmp-"):        # a temporary file: its folder is the problem
            message = "Cannot write in {0}: {1}".format(os.path.dirname(name), message.strerror)
        else:
            message = "Cannot use {0}: {1}".format(name, message.strerror)
    message = str(message)
    print(message if message.startswith("Error") else "Error: " + message, file=sys.stderr)
    return 1


def run(main, argv=None):
    """ Run main(argv) as a script: its exit status, one message for a failure, 130 for Ctrl-C """
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeStream(sys.stdout), SafeStream(sys.stderr)
    try:
        return main(argv) or 0
    except (AcmeError, ValueError, OSError) as error:
        return fail(error)
    except SystemExit as done:
        if isinstance(done.code, str):
            return fail(done.code)
        return 0 if done.code is None else done.code
    except KeyboardInterrupt:
        print("", file=sys.stderr)
        print("Interrupted.", file=sys.stderr)
        return 130
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = streams


def port(text):
    """ --port: a TCP port from 1 to 65535 (0, "any free port", is a port no CA could find) """
    try:
        number = int(text)
    except ValueError:
        number = 0
    if not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError("{0!r} is not a port from 1 to 65535".format(text))
    return number
