"""The test emulator's own guard: a stuck child fails a test in bounded time."""
import subprocess
import sys
import time

import pytest

from tests import gcs_emulator


def test_a_child_that_never_says_its_ports_is_given_up_on_in_bounded_time():
  child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], stdout=subprocess.PIPE)
  started = time.monotonic()
  with pytest.raises(RuntimeError, match='gave no port line in 1 s'):
    gcs_emulator._first_line(child, 1)
  assert time.monotonic() - started < 10 and child.wait(timeout=10) != 0   # killed, not left behind
  quiet = subprocess.Popen([sys.executable, '-c', 'pass'], stdout=subprocess.PIPE)
  with pytest.raises(RuntimeError, match='exited with 0'):
    gcs_emulator._first_line(quiet, 5)
