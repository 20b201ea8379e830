import logging
import time
import urllib.request

from pipeline.runtime.metrics import ProgressWatch, serve_metrics


def test_a_worker_with_work_waiting_and_no_progress_says_so(caplog):
    watch = ProgressWatch("enrich-test", stall_after=0.2)
    assert not watch.stalled(), "nothing waiting: idle is not stalled"
    watch.lag(5)
    time.sleep(0.3)
    with caplog.at_level(logging.WARNING):
        assert watch.stalled()
        assert watch.stalled(), "still stalled, but the warning is not repeated within the period"
    warnings = [r.getMessage() for r in caplog.records if "worker stalled" in r.getMessage()]
    assert len(warnings) == 1 and "role=enrich-test" in warnings[0] and "waiting_records=5" in warnings[0]
    watch.progressed(4, 4, 0, 0.1)
    assert not watch.stalled()


def test_a_batch_in_flight_too_long_is_a_stall_and_the_watchdog_reports_it(caplog):
    watch = ProgressWatch("sink-test", stall_after=0.5).start()
    try:
        with caplog.at_level(logging.WARNING):
            watch.batch_started()
            time.sleep(1.5)
    finally:
        watch.stop()
    assert any("role=sink-test" in r.getMessage() and "batch_in_flight=True" in r.getMessage() for r in caplog.records)


def test_metrics_are_served_for_prometheus(free_tcp_port):
    watch = ProgressWatch("metrics-test", stall_after=60)
    watch.progressed(3, 2, 1, 0.05)
    watch.lag(7)
    serve_metrics(free_tcp_port)
    text = urllib.request.urlopen(f"http://127.0.0.1:{free_tcp_port}/metrics", timeout=10).read().decode()
    assert 'newswire_records_in_total{role="metrics-test"} 3.0' in text
    assert 'newswire_records_out_total{role="metrics-test"} 2.0' in text
    assert 'newswire_records_failed_total{role="metrics-test"} 1.0' in text
    assert 'newswire_consumer_lag{role="metrics-test"} 7.0' in text
    assert 'newswire_batch_seconds_count{role="metrics-test"} 1.0' in text
