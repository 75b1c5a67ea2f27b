#!/usr/bin/env python3
"""Judges one interop client run (standard library only; used by scripts/interop.sh).

Usage: check.py EXPECTED_JSON CLIENT_OUTPUT_JSON REPORT_URL

- The client's received events must equal the expected list exactly; a mismatch
  prints a unified diff, one event per line.
- The client must have stopped by itself (on the final 204).
- The server's report for the client (REPORT_URL, from examples/interop_server.rs)
  must be ok, and, checked here again independently of the server's own checks:
  exactly the expected connections, each with the expected Last-Event-ID and
  status, each reconnection within the expected delay bounds (retry: honoured).

Prints a PASS line with the measurements, or FAIL and every reason; exits 0 or 1.
"""

import difflib
import json
import sys
import urllib.request


def event_lines(events):
    # ensure_ascii: line breaks and CRs in data show as \n and \r, one event a line.
    return [json.dumps(e, sort_keys=True, ensure_ascii=True) for e in events]


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    expected_path, actual_path, report_url = sys.argv[1:]
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)
    name = actual_path
    failures = []

    try:
        with open(actual_path, encoding="utf-8") as f:
            text = f.read()
        actual = json.loads(text.strip().splitlines()[-1])
        name = actual.get("client", name)
    except (OSError, ValueError, IndexError) as error:
        actual = None
        failures.append("the client printed no JSON result (%s)" % error)

    if actual is not None:
        want, got = event_lines(expected["events"]), event_lines(actual.get("events") or [])
        if want != got:
            diff = "\n".join(
                "      " + line
                for line in difflib.unified_diff(
                    want, got, "expected (tests/interop/expected.json)", "received", lineterm=""
                )
            )
            failures.append("received events differ from the expected ones:\n" + diff)
        if not actual.get("stopped"):
            failures.append(
                "the client did not stop by itself (no final 204 handled before its timeout)"
            )

    try:
        with urllib.request.urlopen(report_url, timeout=5) as response:
            report = json.load(response)
    except (OSError, ValueError) as error:
        report = None
        failures.append("no server report from %s: %s" % (report_url, error))

    delays, ids = [], []
    if report is not None:
        if not report.get("ok"):
            failures.append(
                "the server's checks failed:\n"
                + "\n".join("      - " + p for p in report.get("problems", []))
            )
        connections = report.get("connections", [])
        bounds = expected["reconnect_delay_ms"]
        wanted = expected["connections"]
        if len(connections) != len(wanted):
            failures.append(
                "%d connection(s) reached the server, expected %d"
                % (len(connections), len(wanted))
            )
        for i, (c, w) in enumerate(zip(connections, wanted), start=1):
            ids.append(c["last_event_id"])
            if c["last_event_id"] != w["last_event_id"] or c["status"] != w["status"]:
                failures.append(
                    "connection #%d: Last-Event-ID %r -> %s, expected %r -> %s"
                    % (i, c["last_event_id"], c["status"], w["last_event_id"], w["status"])
                )
            if i > 1:
                delay = c["delay_ms"]
                delays.append(delay)
                if delay is None or not bounds["min"] <= delay < bounds["max"]:
                    failures.append(
                        "connection #%d came %s ms after the previous response ended; "
                        "retry: %s asks for %s..%s ms"
                        % (i, delay, report.get("retry_ms"), bounds["min"], bounds["max"])
                    )

    measured = "Last-Event-IDs %s; reconnect delays %s ms" % (
        ", ".join("none" if i is None else repr(i) for i in ids) or "-",
        ", ".join(str(d) for d in delays) or "-",
    )
    library = (actual or {}).get("library", "?")
    notes = (actual or {}).get("notes") or []
    if failures:
        print("FAIL %s (%s): %s" % (name, library, measured))
        for failure in failures:
            print("  - " + failure)
    else:
        print(
            "PASS %s (%s): %d events as expected; %s; stopped on 204"
            % (name, library, len(expected["events"]), measured)
        )
    for note in notes:
        print("  note: " + note)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
