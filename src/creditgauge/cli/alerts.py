"""`creditgauge alerts check/test/list`: evaluate the rules and notify (for cron), test a channel, list states."""

from __future__ import annotations

import asyncio

import typer

from creditgauge import clock
from creditgauge.analysis.alerts.engine import check_alerts
from creditgauge.analysis.alerts.rules import active_rules
from creditgauge.cli.context import console, emit_json, err_console, get_config, get_engine, get_session
from creditgauge.cli.status import in_zone, when
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.service.alerts import alerts_overview, scope, send_test

alerts_app = typer.Typer(help="Alert rules and channels: check (for cron), test a channel, list states.",
                         no_args_is_help=True)
MESSAGE_WIDTH = 48  # a message wraps at word boundaries within this many columns


@alerts_app.command("check")
def check(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Evaluate every rule; notify what fired, reminds or resolved. Exit 1 when a channel failed."""
    config = get_config()
    report = asyncio.run(check_alerts(config, get_engine(), now=clock.now()))
    if as_json:
        emit_json(report.to_dict())
    else:
        for transition in report.transitions:
            sent = ", ".join(d.channel for d in transition.deliveries if d.ok) or "no channel"
            console.print(f"{transition.event}: {transition.rule}: {transition.message} (sent to {sent})",
                          markup=False, soft_wrap=True)
        firing = sum(1 for f in report.findings if f.firing)
        console.print(f"{len(active_rules(config))} rule(s) checked, {firing} firing, "
                      f"{len(report.transitions)} notice(s) sent", markup=False)
    for _, delivery in report.failures:
        err_console.print(f"channel failed: {delivery.error}", markup=False, soft_wrap=True)
    if report.failures:
        raise typer.Exit(1)


@alerts_app.command("test")
def test(channel: str = typer.Argument(..., help="A channel name from [alerts.channels], or log.")) -> None:
    """Send a test message through one channel."""
    delivery = asyncio.run(send_test(get_config(), channel, now=clock.now()))
    if not delivery.ok:
        err_console.print(f"error: {delivery.error}", markup=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"sent a test message through {channel!r}", markup=False)


@alerts_app.command("list")
def list_command(
    history: int = typer.Option(20, "--history", help="How many recent events to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    wide: bool = typer.Option(False, "--wide", help=WIDE_HELP),
) -> None:
    """Configured rules, the state of each subject, and recent events."""
    session = get_session()
    overview = alerts_overview(session, history=history)
    zone = session.config.display.time_zone
    if as_json:
        emit_json(overview.to_dict())
        return
    rules, events = overview.rules, overview.history
    print_fitted(console, FittedTable("Alert rules", [
        Column("rule", [r.name for r in rules], keep=True),
        Column("kind", [r.kind for r in rules], keep=True),
        Column("scope", [scope(r) for r in rules], priority=1),
        Column("channels", [", ".join(r.channels) for r in rules], wrap=MESSAGE_WIDTH),
    ], shows_all="--wide or --json", wide=wide))
    if checks := overview.checks:
        print_fitted(console, FittedTable("Now (evaluated, nothing sent)", [
            Column("rule", [c.rule for c in checks], keep=True),
            Column("subject", [c.subject_named for c in checks], keep=True),
            Column("value", [c.value for c in checks], "right", keep=True),
            Column("state", [_check_state(c.firing) for c in checks], keep=True),
            Column("threshold", [c.threshold for c in checks], priority=1),
        ], shows_all="--wide or --json", wide=wide))
    if rows := overview.states:
        print_fitted(console, FittedTable(f"States {in_zone(zone)}", [
            Column("rule", [s.rule for s in rows], keep=True),
            Column("subject", [s.subject for s in rows], keep=True),
            Column("state", [s.state for s in rows], keep=True),
            Column("since", [when(s.since, zone) for s in rows]),
            Column("message", [s.message or "" for s in rows], wrap=MESSAGE_WIDTH),
        ], shows_all="--wide or --json", wide=wide))
    if events:
        print_fitted(console, FittedTable(f"Recent events {in_zone(zone)}", [
            Column("at", [when(e.at, zone) for e in events], keep=True),
            Column("rule", [e.rule for e in events], keep=True),
            Column("subject", [e.subject for e in events], priority=1),
            Column("event", [e.event for e in events], keep=True),
            Column("message", [e.message for e in events], wrap=MESSAGE_WIDTH),
        ], shows_all="--wide or --json", wide=wide))


def _check_state(firing: bool | None) -> str:
    return "no data" if firing is None else "firing" if firing else "ok"


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
