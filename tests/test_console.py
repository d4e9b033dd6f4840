import io
import logging
import subprocess
import sys
import textwrap

from pipelines import console
from pipelines.run_outputs import RunOutputs


def _record(name, level, msg, *args):
  return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_steps_get_one_line_as_they_start_and_finish_and_noise_is_dropped():
  out = io.StringIO()
  handler = console.StepConsole(steps=2, stream=out)
  for record in [
      _record('absl', logging.INFO, console.STEP_STARTED, 'Transform'),
      _record('absl', logging.INFO, 'Feature title has a shape dim'),          # TFX chatter
      _record('apache_beam.runners', logging.WARNING, 'Discarding unparseable args'),
      _record('components.trainer', logging.INFO, 'training step %d/%d', 50, 150),
      _record('components.trainer', logging.DEBUG, 'model summary'),
      _record('absl', logging.INFO, console.STEP_FINISHED, 'Transform'),
      _record('absl', logging.INFO, console.STEP_STARTED, 'Trainer'),
      _record('absl', logging.INFO, console.STEP_CACHED, 7),
      _record('absl', logging.INFO, console.STEP_FINISHED, 'Trainer')]:
    handler.emit(record)
  lines = out.getvalue().splitlines()
  assert lines[0] == '[ 1/2] Transform ...'
  assert lines[1] == '        training step 50/150'
  assert lines[2].startswith('[ 1/2] Transform done in ') and lines[2].endswith(' s')
  assert lines[3:] == ['[ 2/2] Trainer ...', '[ 2/2] Trainer cached']


def test_errors_always_show(capsys):
  handler = console.StepConsole(steps=1, stream=io.StringIO())
  handler.emit(_record('apache_beam.runners', logging.ERROR, 'worker died'))
  assert 'ERROR: worker died' in capsys.readouterr().err


def test_the_native_log_filter_drops_tensorflows_notices_and_keeps_the_rest(tmp_path):
  script = textwrap.dedent('''
      import os, subprocess, sys
      from pipelines import console
      console.quiet_native_logs(False)
      os.write(2, b"I0000 00:00:1795779325.294523   14452 port.cc:153] oneDNN custom operations are on.\\n")
      os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n")
      os.write(2, b"E0000 00:00:1795778858.759305    5460 cuda_platform.cc:52] failed call to cuInit\\n")
      os.write(2, b"F0000 00:00:1795778858.759305    5460 check.cc:1] Check failed: x\\n")
      subprocess.run([sys.executable, "-c", "import os; os.write(2, b'W0000 00:00:1.2 7 a.cc:3] child noise\\\\nchild error\\\\n')"])
      print("Traceback (most recent call last): kept", file=sys.stderr)
      ''')
  done = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, timeout=60)
  assert done.stderr.splitlines() == ['F0000 00:00:1795778858.759305    5460 check.cc:1] Check failed: x',
                                      'child error', 'Traceback (most recent call last): kept']


def test_the_last_lines_say_where_the_output_is_and_the_exit_code_says_what_happened(capsys):
  summary = {'filled': True, 'rows_in': 5, 'rows_out': 4, 'quarantined': 1,
             'values_filled': {'Color': 3, 'Size': 0}, 'questions': {'Color': 4, 'Size': 4},
             'categories': {'column': 'category', 'per_category': {'Shoes': {'questions_saved': 7}}},
             'catalog_files': '/out/catalog-*.parquet', 'quarantine_files': '/q/*.parquet'}
  assert console.print_outcome(RunOutputs(summary, {'train': []}, '/out/report.html'), 12) == 0
  out = capsys.readouterr().out
  assert 'Rows in 5 = rows out 4 + quarantined 1' in out
  # Totals, however many attributes: the per-attribute table is the report's.
  assert 'Values filled: 3 of 8 questions (1 of 2 attributes; per attribute: the run report)' in out
  assert "Categories (category): 1; 7 questions about other categories' attributes not asked" in out
  assert out.rstrip().splitlines()[-1] == 'Run report:     /out/report.html'
  assert console.print_outcome(RunOutputs({'filled': False, 'reason': 'model not blessed: F1 low'},
                                          {'eval': ['title: missing']}, None), 1) == 2
  out = capsys.readouterr().out
  assert 'Catalog NOT filled: model not blessed: F1 low' in out and 'title: missing' in out
  assert console.print_outcome(RunOutputs(None, {}, None), 1) == 1
  # The gate refused the new model and the served one filled the catalog: exit code 3.
  refused = dict(summary, refused='exact-match F1 0.4 is below the threshold 0.5', model_version='m-1')
  assert console.print_outcome(RunOutputs(refused, {}, None), 1) == 3
  assert 'The new model was NOT blessed (exact-match F1 0.4 is below the threshold 0.5); the model ' \
         'being served, m-1, filled the catalog.' in capsys.readouterr().out


def test_the_catalogs_spelling_and_the_precision_targets_are_totals_with_the_attributes_that_miss(capsys):
  summary = {'filled': True, 'rows_in': 5, 'rows_out': 5, 'quarantined': 0,
             'values_filled': {'Brand': 3, 'Color': 0, 'Size': 1}, 'questions': {'Brand': 4, 'Color': 4, 'Size': 4},
             'values_withheld': {'Brand': 1, 'Color': 2, 'Size': 0}, 'questions_distinct': 10,
             'values_claimed': {'Brand': 0, 'Color': 1, 'Size': 1}, 'shared_values': [['Brand', 'Size', 2]],
             'questions_reused': 4, 'questions_asked': 6, 'served_with': {'runtime': 'onnx', 'precision': 'int8'},
             'cost': {'cpu_seconds': {'total': 72.0}, 'per_million_filled': 18e6},
             'spelling': {'vocabulary': 2, 'user alias': 0, 'learned alias': 1, 'outside vocabulary': 4},
             'precision_targets': {'Brand': {'threshold': 0.7}, 'Color': {'threshold': None}},
             'catalog_files': '/out/catalog-*.parquet', 'quarantine_files': '/q/*.parquet'}
  console.print_outcome(RunOutputs(summary, {}, None), 1)
  out = capsys.readouterr().out
  assert 'Values filled: 4 of 12 questions (2 of 3 attributes; per attribute: the run report)\n' in out
  assert ('Questions asked of the model: 6; 2 repeat a text and attribute; 4 answered by the previous run '
          '(--incremental). CPU 72 s serving onnx int8 (5,000.0 CPU-hours per million values filled)' in out)
  assert ('Spelling:       vocabulary 2; user alias 0; learned alias 1; outside vocabulary 4 (values found)'
          in out)
  assert ('Precision targets: 1 of 2 attributes reach theirs on the eval split; 3 values withheld for '
          'review; fill nothing: Color' in out)
  assert ('One value, one attribute: 2 values not filled, another attribute of their row holds them '
          '(1 attribute pairs share values in the catalog)' in out)
