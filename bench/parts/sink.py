"""The bench's SMTP server (aiosmtpd), run as its own process by bench/load.py.

For each mail carrying an auth key or a login one-time password it prints one line,
`<recipient> <code>`, the moment the DATA arrives, before answering 250: a phone that fills
the code from the mail app is that fast. Other mails (completion notices) are accepted and
dropped.

    python bench/parts/sink.py --port 2525
"""

import argparse
import email
import email.policy
import re
import signal
import sys

from aiosmtpd.controller import Controller

CODE_RE = re.compile(r"(?:認証キー|ワンタイムパスワード)：(\d+)")


class Handler:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        found = CODE_RE.search(body.get_content()) if body is not None else None
        if found:
            for recipient in envelope.rcpt_tos:
                sys.stdout.write(f"{recipient.lower()} {found.group(1)}\n")
            sys.stdout.flush()
        return "250 OK"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)  # the server's thread inherits it
    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port)
    controller.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    signal.sigwait(stop_signals)
    controller.stop()


if __name__ == "__main__":
    main()
