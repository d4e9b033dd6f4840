"""What a person sees while a run goes: one line as each pipeline step starts and one as
it finishes (with its time), the few facts our components report (progress of training
and bulk inference included), errors, and the final summary.

Everything else the stack logs (TensorFlow's C++ log, absl and Beam warnings, TFX's
INFO lines) is hidden for a normal run and comes back with --verbose.
"""
import atexit
import logging
import os
import subprocess
import sys
import time

OUR_LOGGERS = ('catalog', 'components', 'evaluation', 'model', 'pipelines', 'serving', 'training')
STEP_STARTED, STEP_FINISHED, STEP_CACHED = (
    'Component %s is running.', 'Component %s is finished.', 'A cached execution %d is used.')


# Lines TensorFlow's C++ runtime (absl logging) writes straight to file descriptor 2 in
# every process that imports it, Beam's workers included: 'I0000 00:00:… port.cc:153] …'
# notices, CUDA probing on machines without a GPU, CPU-feature hints. TF 2.21 writes most
# of them before its log level (TF_CPP_MIN_LOG_LEVEL) is read, so they are filtered out.
# Fatal ('F…') lines, Python tracebacks and everything else pass.
NATIVE_NOISE = (r'^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [^ ]+:\d+\]'
                r'|WARNING: All log messages before absl::InitializeLog'
                r'|To enable the following instructions:)')
_FILTER = ('import re, sys\n'
           'noise = re.compile(sys.argv[1].encode())\n'
           'for line in sys.stdin.buffer:\n'
           '    if not noise.match(line):\n'
           '        sys.stdout.buffer.write(line); sys.stdout.buffer.flush()\n')


def quiet_native_logs(verbose: bool):
  """From here on, this process's and its children's file descriptor 2 goes through a
  filter process that drops NATIVE_NOISE. The filter is a separate process so that
  whatever a crash writes last still reaches the terminal."""
  if verbose:
    return
  os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')   # what TF does read, it reads here
  os.environ.setdefault('GRPC_VERBOSITY', 'ERROR')
  sys.stderr.flush()
  real_stderr = os.dup(2)
  noise_filter = subprocess.Popen([sys.executable, '-c', _FILTER, NATIVE_NOISE],
                                  stdin=subprocess.PIPE, stdout=real_stderr)
  os.dup2(noise_filter.stdin.fileno(), 2)
  noise_filter.stdin.close()   # fd 2 now holds the pipe; the filter ends when every holder has

  def restore():
    sys.stderr.flush()
    os.dup2(real_stderr, 2)    # closes our end of the pipe: the filter drains and exits
    try:
      noise_filter.wait(timeout=10)
    except subprocess.TimeoutExpired:   # a child still holds the pipe: leave the filter to it
      pass
  atexit.register(restore)


def _ours(name: str) -> bool:
  return name.split('.', 1)[0] in OUR_LOGGERS


class StepConsole(logging.Handler):
  """Turns TFX's 'Component X is running/finished' log lines into step lines, shows our
  components' INFO lines under their step, and anything at ERROR from anywhere."""

  def __init__(self, steps: int, stream=None):
    super().__init__(logging.DEBUG)
    self.steps, self.stream = steps, stream   # None: sys.stdout as it is when printing
    self.done, self.started, self.cached = 0, None, False

  def _print(self, text, stream=None):
    print(text, file=stream or self.stream or sys.stdout, flush=True)

  def emit(self, record):
    if record.msg == STEP_STARTED:
      self.started, self.cached = time.time(), False
      self._print(f'[{self.done + 1:>2}/{self.steps}] {record.args[0]} ...')
    elif record.msg == STEP_FINISHED:
      self.done += 1
      how = 'cached' if self.cached else f'done in {time.time() - self.started:.0f} s'
      self._print(f'[{self.done:>2}/{self.steps}] {record.args[0]} {how}')
    elif record.msg == STEP_CACHED:
      self.cached = True
    elif record.levelno >= logging.ERROR:
      self._print(f'{record.levelname}: {self.format(record)}', sys.stderr)
    elif _ours(record.name) and record.levelno >= logging.INFO:
      self._print(f'        {record.getMessage()}')


def setup_logging(verbose: bool, steps: int = 0):
  """Routes every Python log record (absl's and Beam's included) to one handler."""
  from absl import logging as absl_logging
  root = logging.getLogger()
  for handler in list(root.handlers):
    root.removeHandler(handler)
  logging.captureWarnings(True)   # Python warnings become log records too
  if verbose:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter('%(levelname)s %(name)s: %(message)s'))
    root.setLevel(logging.INFO)
    for name in OUR_LOGGERS:
      logging.getLogger(name).setLevel(logging.DEBUG)
  else:
    handler = StepConsole(steps)
    root.setLevel(logging.WARNING)
    for name in OUR_LOGGERS:
      logging.getLogger(name).setLevel(logging.INFO)
  root.addHandler(handler)
  absl_logging.set_verbosity(absl_logging.INFO)   # TFX's step lines are absl INFO records
  tf_logger = logging.getLogger('tensorflow')   # TF gives its logger a handler of its own
  tf_logger.handlers, tf_logger.propagate = [], True
  return handler


def _questions_and_cost_line(summary, questions):
  """How many questions the model was asked, and what the catalog step cost; '' when every
  question was asked and no cost was recorded."""
  distinct, reused = summary.get('questions_distinct'), summary.get('questions_reused') or 0
  asked = summary.get('questions_asked')
  parts = []
  if asked is not None and asked < questions:
    parts.append(f'Questions asked of the model: {asked}'
                 + (f'; {questions - distinct} repeat a text and attribute' if distinct < questions else '')
                 + (f'; {reused} answered by the previous run (--incremental)' if reused else ''))
  spent = (summary.get('cost') or {}).get('cpu_seconds', {}).get('total')
  if spent:
    per_fill = summary['cost']['per_million_filled']
    served = summary.get('served_with')
    parts.append(f'CPU {spent:.0f} s' + (f' serving {served["runtime"]} {served["precision"]}' if served else '')
                 + (f' ({per_fill / 3600:,.1f} CPU-hours per million values filled)' if per_fill else ''))
  return '. '.join(parts)


def _fill_lines(summary):
  """Totals of the catalog's spelling and of the precision targets (per attribute: the report)."""
  spelling = summary.get('spelling') or {}
  if any(spelling.values()):
    yield 'Spelling:       ' + '; '.join(f'{how} {n}' for how, n in spelling.items()) + ' (values found)'
  claimed = sum((summary.get('values_claimed') or {}).values())
  if claimed:
    yield (f'One value, one attribute: {claimed} values not filled, another attribute of their row '
           f'holds them ({len(summary.get("shared_values") or [])} attribute pairs share values in the catalog)')
  targets = summary.get('precision_targets') or {}
  if targets:
    missed = sorted(a for a, t in targets.items() if t['threshold'] is None)
    withheld = sum((summary.get('values_withheld') or {}).values())
    yield (f'Precision targets: {len(targets) - len(missed)} of {len(targets)} attributes reach theirs on '
           f'the eval split; {withheld} values withheld for review'
           + (f"; fill nothing: {', '.join(missed[:8])}{' …' if len(missed) > 8 else ''}" if missed else ''))


def print_outcome(outputs, wall_seconds: float) -> int:
  """The run's last lines; the exit code: 0 filled by the run's model, 3 the gate refused it
  and the served model filled the catalog, 2 not blessed and nothing filled, 1 nothing
  written."""
  print(f'\nPipeline finished in {wall_seconds:.0f} s.')
  for split, problems in outputs.anomalies.items():
    if problems:
      print(f'Data anomalies in the {split} split:', '; '.join(problems))
  summary = outputs.summary
  if summary is None:
    print('No enriched catalog was written.')
    return 1
  if not summary.get('filled'):
    print('Catalog NOT filled:', summary.get('reason'))
    code = 2
  else:
    print(f"Rows in {summary['rows_in']} = rows out {summary['rows_out']} + quarantined "
          f"{summary['quarantined']}")
    filled = {a: n for a, n in summary['values_filled'].items() if n}
    questions = sum(summary['questions'].values())
    print(f"Values filled: {sum(filled.values())} of {questions} questions "
          f"({len(filled)} of {len(summary['values_filled'])} attributes; per attribute: the run report)")
    questions_and_cost = _questions_and_cost_line(summary, questions)
    if questions_and_cost:
      print(questions_and_cost)
    for line in _fill_lines(summary):
      print(line)
    categories = summary.get('categories') or {}
    if categories.get('column'):
      saved = sum(e['questions_saved'] for e in categories['per_category'].values())
      print(f"Categories ({categories['column']}): {len(categories['per_category'])}; {saved} questions "
            "about other categories' attributes not asked")
    print('Filled catalog:', summary['catalog_files'])
    print('Quarantine:    ', summary['quarantine_files'])
    if summary.get('review_queue'):
      print('Review queue:  ', summary['review_queue']['csv'], '(and .parquet; back with --reviewed)')
    code = 0
    if summary.get('refused'):
      print(f"The new model was NOT blessed ({summary['refused']}); the model being served, "
            f"{summary['model_version']}, filled the catalog.")
      code = 3
  if outputs.report:
    print('Run report:    ', outputs.report)
  return code
