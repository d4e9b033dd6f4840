import sys

import pytest

from benchmarks import bulk_inference


def _fake_python(tmp_path, body):
  script = tmp_path / 'python'
  script.write_text('#!/bin/sh\n' + body + '\n')
  script.chmod(0o755)
  return str(script)


def test_a_crashed_child_says_which_signal_and_what_it_printed(tmp_path, monkeypatch):
  monkeypatch.setattr(sys, 'executable', _fake_python(tmp_path, 'echo "oneDNN: bad tile" >&2\nkill -SEGV $$'))
  with pytest.raises(bulk_inference.ChildFailed) as failure:
    bulk_inference.in_child('--one-run', work=str(tmp_path))
  assert 'ended by SIGSEGV' in str(failure.value)
  assert 'oneDNN: bad tile' in str(failure.value)


def test_a_failed_child_gives_its_exit_status(tmp_path, monkeypatch):
  monkeypatch.setattr(sys, 'executable', _fake_python(tmp_path, 'echo "Traceback: boom" >&2\nexit 3'))
  with pytest.raises(bulk_inference.ChildFailed, match='exit status 3'):
    bulk_inference.in_child('--in-process', work=str(tmp_path))


def test_a_finished_child_returns_its_last_line_and_peak_memory(tmp_path, monkeypatch):
  monkeypatch.setattr(sys, 'executable', _fake_python(tmp_path, 'echo log line\necho \'{"questions": 7}\''))
  result = bulk_inference.in_child('--one-run', work=str(tmp_path))
  assert result['questions'] == 7 and result['peak_rss_mb'] >= 0


def test_spread_of_no_runs_is_a_dash():
  assert bulk_inference.spread([]) == '–'
  assert bulk_inference.spread([1.0, 3.0, 2.0]) == '2.0 [1.0-3.0]'


def test_two_catalog_sizes_split_the_steps_time_into_start_up_and_steady_state():
  # 30 s to start, then 200 questions/s: 2,000 questions take 40 s, 100,000 take 530 s.
  small = {'questions': 2000, 'seconds': {'total': 40.0}}
  large = {'questions': 100000, 'seconds': {'total': 530.0}}
  steady = bulk_inference.steady_state(small, large)
  assert steady['questions_per_second'] == pytest.approx(200.0)
  assert steady['startup_seconds'] == pytest.approx(30.0)


def test_a_child_reports_the_cpu_seconds_it_used(tmp_path, monkeypatch):
  busy = 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done\necho \'{"questions": 1}\''
  monkeypatch.setattr(sys, 'executable', _fake_python(tmp_path, busy))
  result = bulk_inference.in_child('--one-run', work=str(tmp_path))
  assert result['cpu_seconds'] > 0.05
