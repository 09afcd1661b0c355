#!/usr/bin/env python3
"""Import clients from a CSV file into runback with a service token, through the Python client
generated from the OpenAPI document (`./generate` makes it).

    examples/python/generate
    RUNBACK_URL=http://127.0.0.1:8080 RUNBACK_TOKEN=rbs_... \
        examples/python/.venv/bin/python examples/python/import_clients.py examples/clients.csv

DRY_RUN=1 shows what would happen and writes nothing. The Idempotency-Key makes a retry after a
lost answer safe (the service answers it with the first result and writes nothing twice); a 429
or 503 is retried after the seconds its Retry-After asks for.
"""
import csv
import hashlib
import json
import os
import sys
import time

from runback_client import AuthenticatedClient
from runback_client.api.imports import import_clients
from runback_client.models import ImportReport, ImportRow, Problem

BOOLEANS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
TRIES = 5


def row_from_csv(line: dict) -> ImportRow:
    """A CSV line as the JSON row the API takes: blank cells left out, yes/no as booleans."""
    row = {}
    for column, cell in line.items():
        cell = (cell or "").strip()
        if not cell:
            continue
        if column in ("breastfeeding", "cleared_for_exercise"):
            row[column] = BOOLEANS.get(cell.lower(), cell)
        elif column == "perineal_tear_grade" and cell.isdigit():
            row[column] = int(cell)
        else:
            row[column] = cell
    return ImportRow.from_dict(row)


def send(client: AuthenticatedClient, rows: list, dry_run: bool, key: str):
    """The import, retried with the same key while the service asks to wait."""
    for attempt in range(1, TRIES + 1):
        response = import_clients.sync_detailed(
            client=client, body=rows, dry_run=dry_run, idempotency_key=key
        )
        if response.status_code not in (429, 503) or attempt == TRIES:
            return response
        wait = int(response.headers.get("retry-after", "1"))
        print(f"{response.status_code}: the service asks to wait {wait} s; trying again", file=sys.stderr)
        time.sleep(wait)


def main() -> int:
    path = sys.argv[1] if len(sys.argv) > 1 else "clients.csv"
    base = os.environ.get("RUNBACK_URL", "http://127.0.0.1:8080")
    dry_run = os.environ.get("DRY_RUN") == "1"
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row_from_csv(line) for line in csv.DictReader(f)]
    # One key per content and mode: a dry run and the real import are different requests.
    digest = hashlib.sha256(json.dumps([r.to_dict() for r in rows], sort_keys=True).encode())
    key = ("preview-" if dry_run else "import-") + digest.hexdigest()[:32]
    with AuthenticatedClient(base_url=base, token=os.environ["RUNBACK_TOKEN"]) as client:
        response = send(client, rows, dry_run, key)
    report = response.parsed
    if isinstance(report, Problem):
        print(f"{report.status} {report.title}: {report.detail}", file=sys.stderr)
        for e in report.errors or []:
            row = e.row + 1 if e.row else "-"  # JSON rows count from 1; the file has a header
            print(f"  line {row}: {e.field}: {e.message}", file=sys.stderr)
        return 1
    if not isinstance(report, ImportReport):
        print(f"unexpected answer {response.status_code}", file=sys.stderr)
        return 1
    replayed = " (the first answer, replayed)" if response.headers.get("idempotent-replayed") else ""
    print(
        f"{'would import' if report.dry_run else 'imported'} {report.rows} rows: "
        f"{report.created} created, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.failed} failed, {report.plans_started} plans started{replayed}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
