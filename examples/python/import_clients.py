#!/usr/bin/env python3
"""Import clients from a CSV file into runback with a service token.

    RUNBACK_URL=http://127.0.0.1:8080 RUNBACK_TOKEN=rbs_... python3 import_clients.py clients.csv

Uses only the standard library. The Idempotency-Key makes a retry after a lost answer safe:
the service answers it with the first result and writes nothing twice.
"""
import hashlib
import json
import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "clients.csv"
    base = os.environ.get("RUNBACK_URL", "http://127.0.0.1:8080")
    token = os.environ["RUNBACK_TOKEN"]
    dry_run = os.environ.get("DRY_RUN") == "1"
    body = open(path, "rb").read()
    request = urllib.request.Request(
        f"{base}/v1/imports/clients" + ("?dry_run=true" if dry_run else ""),
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "text/csv",
            # One key per file and mode: a dry run and the real import are different requests.
            "Idempotency-Key": ("preview-" if dry_run else "import-") + hashlib.sha256(body).hexdigest()[:32],
        },
    )
    try:
        with urllib.request.urlopen(request) as response:
            report = json.load(response)
    except urllib.error.HTTPError as error:
        problem = json.load(error)
        print(f"{problem['status']} {problem['title']}: {problem['detail']}", file=sys.stderr)
        for e in problem.get("errors", []):
            print(f"  row {e.get('row', '-')}: {e['field']}: {e['message']}", file=sys.stderr)
        return 1
    print(
        f"{'would import' if report['dry_run'] else 'imported'} {report['rows']} rows: "
        f"{report['created']} created, {report['updated']} updated, {report['unchanged']} unchanged, "
        f"{report['failed']} failed, {report['plans_started']} plans started"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
