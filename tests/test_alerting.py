"""The run-failure alert: the webhook URL is checked at start-up and an alert that cannot be
posted is logged, never raised inside the sensor."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from orchestration.cli import main
from orchestration.definitions import build_definitions
from orchestration.defs.automation import run_failure_alert
from orchestration.settings import SettingsError, alert_webhook_url

BAD_URLS = ["file:///etc/hostname", "not a url", "ftp://example.com/x", "https://", "http:///x"]


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_webhook_url_that_is_not_http_stops_the_start_up(
    url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SettingsError, match="INSIGHTS_ALERT_WEBHOOK_URL must be an http"):
        alert_webhook_url({"INSIGHTS_ALERT_WEBHOOK_URL": url})
    monkeypatch.setenv("INSIGHTS_ALERT_WEBHOOK_URL", url)
    with pytest.raises(SettingsError, match="INSIGHTS_ALERT_WEBHOOK_URL"):
        build_definitions()
    assert main(["run"]) == 2
    assert "INSIGHTS_ALERT_WEBHOOK_URL must be an http" in capsys.readouterr().err


def test_http_and_https_urls_are_accepted() -> None:
    for url in ("http://127.0.0.1:9/hook", "https://hooks.example.com/services/T/B/x"):
        assert alert_webhook_url({"INSIGHTS_ALERT_WEBHOOK_URL": url}) == url
    assert alert_webhook_url({}) is None


@dg.op
def _breaks() -> None:
    raise dg.Failure(description="orders.csv: required column 'amount' is missing")


@dg.job
def _failing_job() -> None:
    _breaks()


def _failure_context(instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    result = _failing_job.execute_in_process(instance=instance, raise_on_error=False)
    return dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()


class _Hook(BaseHTTPRequestHandler):
    status = 200
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_every_alert_error_is_caught_and_a_good_webhook_gets_the_summary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    instance = dg.DagsterInstance.ephemeral()
    context = _failure_context(instance)
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/hook"
    try:
        monkeypatch.setenv("INSIGHTS_ALERT_WEBHOOK_URL", url)
        run_failure_alert(context)
        assert len(_Hook.received) == 1
        payload = _Hook.received[0]
        assert "required column 'amount' is missing" in payload["text"]
        assert payload["run_id"] == context.dagster_run.run_id

        _Hook.status = 500  # the webhook answers with an error: logged, not raised
        run_failure_alert(context)
        # A URL changed after start-up to something unusable: logged, not raised.
        for bad in ("not a url", "file:///etc/hostname", "http://127.0.0.1:1/closed"):
            monkeypatch.setenv("INSIGHTS_ALERT_WEBHOOK_URL", bad)
            run_failure_alert(context)
    finally:
        server.shutdown()
        _Hook.status = 200
