"""The catalog step's cost: CPU-seconds per part, and per million questions and fills."""
import json

from catalog import cost


def test_the_cost_per_million_covers_the_parts_that_recorded_their_time():
  whole = cost.catalog_step({'questions': 1.0, 'inference': 6.0, 'writer': 1.0}, questions=4000, filled=1000)
  assert whole['cpu_seconds']['total'] == 8.0 and whole['complete']
  assert (whole['per_million_questions'], whole['per_million_filled']) == (2000.0, 8000.0)
  partial = cost.catalog_step({'inference': 6.0}, questions=4000, filled=0)
  assert not partial['complete'] and partial['cpu_seconds']['total'] == 6.0
  assert partial['per_million_filled'] is None               # nothing filled: no cost per fill
  nothing = cost.catalog_step({}, questions=4000, filled=10)  # a summary from before costs were kept
  assert nothing['cpu_seconds']['total'] is None and nothing['per_million_questions'] is None


def test_cpu_time_counts_this_process_work_and_lands_in_the_summary(tmp_path):
  (tmp_path / 'summary.json').write_text(json.dumps({'rows_in': 3}))
  with cost.CpuTime() as spent:
    sum(i * i for i in range(2_000_000))
  assert spent.seconds > 0.01
  cost.add_to(str(tmp_path), 'summary.json', spent.seconds)
  assert json.loads((tmp_path / 'summary.json').read_text()) == {'rows_in': 3, cost.CPU_SECONDS: round(spent.seconds, 2)}
