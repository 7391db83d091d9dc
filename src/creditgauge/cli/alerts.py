"""`creditgauge alerts check/test/list`: evaluate the rules and notify (for cron), test a channel, list states."""

from __future__ import annotations

import asyncio

import typer

from creditgauge import clock
from creditgauge.analysis.alerts.engine import check_alerts, send_test_notice
from creditgauge.analysis.alerts.rules import active_rules
from creditgauge.cli.app import app, console, emit_json, err_console, get_config, get_engine
from creditgauge.cli.status import when
from creditgauge.cli.tables import WIDE_HELP, Column, FittedTable, print_fitted
from creditgauge.store.alerts import alert_history, alert_states

alerts_app = typer.Typer(help="Alert rules and channels: check (for cron), test a channel, list states.",
                         no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")
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
    delivery = asyncio.run(send_test_notice(get_config(), channel, now=clock.now()))
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
    config, engine = get_config(), get_engine()
    states = alert_states(engine)
    events = alert_history(engine, limit=history)
    if as_json:
        emit_json({
            "rules": [rule.model_dump(mode="json") for rule in active_rules(config)],
            "states": [{"rule": s.rule, "subject": s.subject, "state": s.state, "since": s.since,
                        "last_notified_at": s.last_notified_at, "message": s.message} for s in states.values()],
            "history": [{"rule": e.rule, "subject": e.subject, "event": e.event, "at": e.at, "message": e.message,
                         "channels": e.channels} for e in events],
        })
        return
    rules = active_rules(config)
    print_fitted(console, FittedTable("Alert rules", [
        Column("rule", [r.name for r in rules], keep=True),
        Column("kind", [r.kind for r in rules], keep=True),
        Column("scope", [r.account or r.tag or r.project or "all accounts" for r in rules], priority=1),
        Column("channels", [", ".join(r.channels) for r in rules], wrap=MESSAGE_WIDTH),
    ], shows_all="--wide or --json", wide=wide))
    if states:
        rows = list(states.values())
        print_fitted(console, FittedTable("States", [
            Column("rule", [s.rule for s in rows], keep=True),
            Column("subject", [s.subject for s in rows], keep=True),
            Column("state", [s.state for s in rows], keep=True),
            Column("since", [when(s.since) for s in rows]),
            Column("message", [s.message or "" for s in rows], wrap=MESSAGE_WIDTH),
        ], shows_all="--wide or --json", wide=wide))
    if events:
        print_fitted(console, FittedTable("Recent events", [
            Column("at", [when(e.at) for e in events], keep=True),
            Column("rule", [e.rule for e in events], keep=True),
            Column("subject", [e.subject for e in events], priority=1),
            Column("event", [e.event for e in events], keep=True),
            Column("message", [e.message for e in events], wrap=MESSAGE_WIDTH),
        ], shows_all="--wide or --json", wide=wide))
