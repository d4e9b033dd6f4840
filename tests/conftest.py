import os

os.environ.setdefault('KERAS_BACKEND', 'tensorflow')
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import pytest

from tests import tiny_bert

SAMPLE_TRIPLES = os.path.join(os.path.dirname(__file__), '..', 'data', 'sample', 'triples', 'triples.txt')


def sample_titles():
  with open(SAMPLE_TRIPLES, encoding='utf-8') as f:
    return [line.split('\u0001')[0] for line in f]


@pytest.fixture(scope='session')
def tiny_checkpoint_dir(tmp_path_factory):
  return tiny_bert.make_checkpoint(str(tmp_path_factory.mktemp('tiny_bert')),
                                   texts=sample_titles() + ['brand name material color gender item type'])


@pytest.fixture(scope='session')
def ckpt(tiny_checkpoint_dir):
  """The tiny checkpoint, read (model.checkpoint.Checkpoint)."""
  from model.checkpoint import read_checkpoint
  return read_checkpoint(tiny_checkpoint_dir)
