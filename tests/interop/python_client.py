#!/usr/bin/env python3
"""Interop client 3: Python's httpx-sse (PyPI, pinned in tests/interop/requirements.txt,
installed into the virtual environment .tools/venv by scripts/interop.sh).

Usage: .tools/venv/bin/python tests/interop/python_client.py BASE_URL CLIENT_KEY [--timeout-ms T]

httpx-sse parses one response; it has no EventSource object and never reconnects
by itself. So this script does what its documentation leaves to the caller, the
way an EventSource would: it reads /events?client=KEY, and when the server ends
the stream it waits the latest `retry:` (3000 ms until one arrives), reconnects
with the `Last-Event-ID` of the last event, and stops on 204 No Content (or on
any other non-200 answer, which the spec treats as fatal). Everything about the
wire format (line splitting, fields, the last event id, `retry:`) is the
library's.

Prints one JSON line when the stream is over or after T ms (default 15000):
  {"client":"python-httpx-sse","events":[{type,data,lastEventId}...],"stopped":bool,...}

Measured difference from the spec, reported in "notes": httpx-sse dispatches an
event for a block without data when the last event id is set, so every
heartbeat (`:` and an empty line) after an `id:` comes out as an event with
empty data; the spec dispatches nothing for it. The script drops such events
(this scenario sends no empty data) and counts them.
"""

import json
import sys
import time
from importlib.metadata import version
from urllib.parse import quote, urljoin

import httpx
from httpx_sse import connect_sse

DEFAULT_RETRY_MS = 3000


def main():
    args = sys.argv[1:]
    timeout_ms = 15000
    if "--timeout-ms" in args:
        i = args.index("--timeout-ms")
        timeout_ms = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 1
    base, key = args
    url = urljoin(base, "/events?client=" + quote(key))

    started = time.monotonic()
    deadline = started + timeout_ms / 1000
    received, errors, waits, spurious = [], [], [], 0
    last_event_id = None  # what the next request sends
    retry_ms = DEFAULT_RETRY_MS
    opens = 0
    stopped = False
    with httpx.Client(timeout=httpx.Timeout(5.0, read=5.0)) as client:
        while time.monotonic() < deadline:
            headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
            try:
                with connect_sse(client, "GET", url, headers=headers) as source:
                    status = source.response.status_code
                    if status != 200:
                        # 204 ends the stream; other statuses are fatal too.
                        errors.append({"status": status, "at": ms_since(started)})
                        stopped = status == 204
                        break
                    opens += 1
                    for sse in source.iter_sse():
                        if sse.retry is not None:
                            retry_ms = sse.retry
                        if sse.id:
                            last_event_id = sse.id
                        if sse.data == "":
                            spurious += 1
                            continue
                        received.append(
                            {"type": sse.event, "data": sse.data, "lastEventId": sse.id}
                        )
            except (httpx.HTTPError, OSError) as error:
                errors.append({"error": repr(error), "at": ms_since(started)})
            # The stream ended or failed: wait the reconnection time, then go on.
            waits.append(retry_ms)
            time.sleep(max(0.0, min(retry_ms / 1000, deadline - time.monotonic())))

    notes = [
        "httpx-sse never reconnects: this script reconnects, sending Last-Event-ID "
        "and waiting the retry: the library parsed"
    ]
    if spurious:
        notes.append(
            "httpx-sse dispatched %d event(s) with empty data for blocks without data "
            "(heartbeats after an id); the spec dispatches nothing; dropped" % spurious
        )
    print(
        json.dumps(
            {
                "client": "python-httpx-sse",
                "library": "httpx-sse %s, httpx %s, Python %s"
                % (version("httpx-sse"), version("httpx"), sys.version.split()[0]),
                "events": received,
                "stopped": stopped,
                "opens": opens,
                "errors": errors,
                "reconnect_waits_ms": waits,
                "elapsed_ms": ms_since(started),
                "notes": notes,
            }
        )
    )
    return 0


def ms_since(start):
    return round((time.monotonic() - start) * 1000)


if __name__ == "__main__":
    sys.exit(main())
