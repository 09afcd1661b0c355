#!/usr/bin/env python3
"""A coach's and a mother's day through the Python client generated from the OpenAPI document:
sign-in, the caseload's pages, a plan, today's session, a report and its retry, the timeline,
the engine's trace, the change feed's pages, and a 422 and a 429 read as problems.

    examples/python/generate
    RUNBACK_URL=http://127.0.0.1:8080 RUNBACK_COACH_EMAIL=maya@riverside.example \
    RUNBACK_EMAIL=ana.lima@example.org RUNBACK_PASSWORD=... \
        examples/python/.venv/bin/python examples/python/tour.py

The 429 comes from asking for one client's export until the service throttles it, so run it
last: for a minute afterwards expensive requests from this address are refused too.
"""
import os
import sys
import uuid

from runback_client import AuthenticatedClient, Client
from runback_client.api.auth import login
from runback_client.api.clients import export_client, list_clients
from runback_client.api.plans import get_plan, get_recommendation, get_today
from runback_client.api.symptom_reports import get_timeline, submit_symptom_report
from runback_client.api.sync import get_changes
from runback_client.models import (
    LoginRequest,
    PageClientSummary,
    Pain,
    PainLocation,
    PlanView,
    Prescription,
    Problem,
    RecommendationTrace,
    RuleCheckR4,
    SubmittedReport,
    SymptomReportInput,
    SyncPage,
    Timeline,
    TimelineEntryReport,
    Timing,
    TokenPair,
)

BASE = os.environ.get("RUNBACK_URL", "http://127.0.0.1:8080")
PASSWORD = os.environ["RUNBACK_PASSWORD"]


def expect(value, kind, what):
    """The parsed answer, or the problem that came instead, printed."""
    if isinstance(value, kind):
        return value
    if isinstance(value, Problem):
        sys.exit(f"{what}: {value.status} {value.title}: {value.detail}")
    sys.exit(f"{what}: unexpected answer {value!r}")


def sign_in(email: str) -> AuthenticatedClient:
    with Client(base_url=BASE) as anonymous:
        tokens = login.sync(client=anonymous, body=LoginRequest(email=email, password=PASSWORD))
    tokens = expect(tokens, TokenPair, f"sign-in as {email}")
    return AuthenticatedClient(base_url=BASE, token=tokens.access_token)


def caseload(coach: AuthenticatedClient) -> list:
    """Every client of hers, two to a page, following next_cursor until it is null."""
    clients, cursor, pages = [], None, 0
    while True:
        page = list_clients.sync(client=coach, limit=2, **({"cursor": cursor} if cursor else {}))
        page = expect(page, PageClientSummary, "the caseload")
        clients += page.items
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            print(f"caseload: {len(clients)} clients in {pages} pages")
            return clients


def report_twice(mother: AuthenticatedClient) -> SubmittedReport:
    """A report after her run, sent again as a phone would after a lost answer."""
    body = SymptomReportInput(
        timing=Timing.IMMEDIATELY_AFTER, pain=[Pain(location=PainLocation.KNEE, nrs=2)]
    )
    key = str(uuid.uuid4())
    first = submit_symptom_report.sync_detailed("me", client=mother, body=body, idempotency_key=key)
    again = submit_symptom_report.sync_detailed("me", client=mother, body=body, idempotency_key=key)
    report = expect(first.parsed, SubmittedReport, "the report")
    retried = expect(again.parsed, SubmittedReport, "the report's retry")
    assert retried.id == report.id, "a retry answers the first report"
    assert again.headers.get("idempotent-replayed") == "true", "and says it is a replay"
    print(f"report {report.id}: triage {report.triage.level.value}; its retry answered the same report")
    return report


def feed(coach: AuthenticatedClient) -> None:
    """The change feed from the start, three changes a page, until has_more is false."""
    changes, cursor, pages = {}, None, 0
    while True:
        page = get_changes.sync(client=coach, limit=3, **({"cursor": cursor} if cursor else {}))
        page = expect(page, SyncPage, "the change feed")
        for change in page.changes:
            # Each variant names its entity and carries that record's own model in `data`.
            name = type(change).__name__.removeprefix("SyncChange")
            changes[name] = changes.get(name, 0) + 1
        pages += 1
        cursor = page.next_cursor
        if not page.has_more:
            break
    print(f"feed: {sum(changes.values())} changes in {pages} pages: {dict(sorted(changes.items()))}")


def problems(coach: AuthenticatedClient, mother: AuthenticatedClient, client_id) -> None:
    """A 422 names the field; a 429 says how long to wait."""
    bad = SymptomReportInput(timing=Timing.DURING, pain=[Pain(location=PainLocation.HIP, nrs=42)])
    answer = submit_symptom_report.sync_detailed("me", client=mother, body=bad)
    problem = expect(answer.parsed, Problem, "a report with pain 42")
    assert answer.status_code == 422, answer.status_code
    fields = [e.field for e in problem.errors]
    print(f"422 {problem.title}: {fields}")
    for _ in range(200):
        answer = export_client.sync_detailed(str(client_id), client=coach)
        if answer.status_code == 429:
            problem = expect(answer.parsed, Problem, "the throttled export")
            wait = answer.headers["retry-after"]
            print(f"429 {problem.title}: Retry-After {wait} s")
            return
    sys.exit("the export was never throttled")


def main() -> int:
    coach = sign_in(os.environ["RUNBACK_COACH_EMAIL"])
    mother = sign_in(os.environ["RUNBACK_EMAIL"])
    print("signed in: the coach and the mother")
    ana = next(c for c in caseload(coach) if c.name == "Ana Lima")
    plan = expect(get_plan.sync(str(ana.id), client=coach), PlanView, "her plan")
    print(f"plan: {plan.stage.value} level {plan.level}, {plan.status.value}")
    today = expect(get_today.sync("me", client=mother), Prescription, "today")
    print(f"today ({today.date}): {today.kind.value}, {today.stage_title}")
    report = report_twice(mother)
    timeline = expect(get_timeline.sync(str(ana.id), client=coach), Timeline, "timeline")
    reports = [e for e in timeline.items if isinstance(e, TimelineEntryReport)]
    assert any(e.id == report.id for e in reports), "her report is on the timeline"
    kinds = sorted({e.kind.value for e in timeline.items})
    print(f"timeline: {len(timeline.items)} entries ({', '.join(kinds)})")
    trace = expect(get_recommendation.sync(str(ana.id), client=coach),
                   RecommendationTrace, "the trace")
    decided = [c.rule.value for c in trace.rules if c.decided]
    print(f"trace: {trace.decision.value} after {trace.cause.kind.value}; "
          f"{len(trace.rules)} rules weighed, decided by {decided or 'none'}")
    # Each rule's check is its own model, its inputs typed by the rule.
    r4 = next(c for c in trace.rules if isinstance(c, RuleCheckR4))
    print(f"  R4: {r4.inputs.this_week_minutes} min this week, "
          f"{r4.inputs.last_week_minutes} last, cap {r4.inputs.cap_minutes or 'none'}")
    feed(coach)
    problems(coach, mother, ana.id)
    coach.get_httpx_client().close()
    mother.get_httpx_client().close()
    print("tour: done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
