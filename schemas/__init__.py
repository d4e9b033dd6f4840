"""Data read by every layer: the TFMD schemas and the list of target attributes."""
import os

SCHEMAS_DIR = os.path.dirname(os.path.abspath(__file__))
TRAINING_TRIPLES_SCHEMA = os.path.join(SCHEMAS_DIR, 'training_triples.pbtxt')
TARGET_ATTRIBUTES_FILE = os.path.join(SCHEMAS_DIR, 'target_attributes.txt')


def read_target_attributes(path: str = TARGET_ATTRIBUTES_FILE):
  """The attribute names of a target-attributes file, one per line (# starts a comment)."""
  with open(path, encoding='utf-8') as f:
    return [line.strip() for line in f if line.strip() and not line.startswith('#')]
