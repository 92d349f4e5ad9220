"""``python -m eldercare.evaluation.nab`` on a tiny NAB-format corpus."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from eldercare.evaluation.nab import main


def _write_series(path: Path, values: list[float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "value"])
        for i, v in enumerate(values):
            writer.writerow([f"2014-04-{1 + i // 288:02d} {(i % 288) // 12:02d}:{(i % 12) * 5:02d}:00", v])


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, Path]:
    calm = [10.0 + 3.0 * math.sin(i / 8.0) for i in range(1200)]
    spiky = list(calm)
    spiky[900] = 80.0
    _write_series(tmp_path / "data" / "artificial" / "spike.csv", spiky)
    _write_series(tmp_path / "data" / "artificial" / "calm.csv", calm)
    labels = {
        "artificial/spike.csv": [["2014-04-04 00:00:00.000000", "2014-04-04 06:00:00.000000"]],
        "artificial/calm.csv": [],
    }
    (tmp_path / "labels.json").write_text(json.dumps(labels))
    return tmp_path / "data", tmp_path / "labels.json"


def test_scores_finds_the_spike_and_writes_nab_results(
    corpus: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, labels = corpus
    out = tmp_path / "results"
    argv = ["--data", str(data), "--labels", str(labels), "--results-dir", str(out), "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the spike at row 900 sits at the centre of its 73-row window: y = -37/73
    assert report["score"] > 80.0
    assert report["files"]["artificial/spike.csv"]["tp"] == 1
    assert report["files"]["artificial/calm.csv"]["fp"] == 0
    with (out / "eldercare" / "artificial" / "eldercare_spike.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "label"]
    assert len(rows) == 1200
    assert float(rows[900]["anomaly_score"]) == max(float(r["anomaly_score"]) for r in rows)
    assert sum(int(r["label"]) for r in rows) == 73


def test_missing_data_directory_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = tmp_path / "labels.json"
    labels.write_text("{}")
    assert main(["--data", str(tmp_path / "nope"), "--labels", str(labels)]) == 2
    err = capsys.readouterr().err
    assert "not a directory" in err
    assert "Traceback" not in err


def test_file_without_labels_exits_2(
    corpus: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = corpus
    labels = tmp_path / "partial.json"
    labels.write_text(json.dumps({"artificial/calm.csv": []}))
    assert main(["--data", str(data), "--labels", str(labels)]) == 2
    assert "no entry for artificial/spike.csv" in capsys.readouterr().err


def test_unreadable_value_exits_2(
    corpus: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data, labels = corpus
    with (data / "artificial" / "calm.csv").open("a") as handle:
        handle.write("2014-04-06 00:00:00,not-a-number\n")
    assert main(["--data", str(data), "--labels", str(labels)]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_labels_not_json_exits_2(
    corpus: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _ = corpus
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    assert main(["--data", str(data), "--labels", str(bad)]) == 2
    assert "--labels" in capsys.readouterr().err


def test_parallel_scores_equal_serial_ones_and_report_progress(
    corpus: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, labels = corpus
    outputs = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"results-{jobs}"
        argv = ["--data", str(data), "--labels", str(labels), "--results-dir", str(out),
                "--json", "--jobs", jobs]
        assert main(argv) == 0
        captured = capsys.readouterr()
        # one progress line per file on stderr, stdout left for the report
        assert sorted(line.split()[2] for line in captured.err.splitlines()) == [
            "artificial/calm.csv", "artificial/spike.csv"]
        outputs[jobs] = (json.loads(captured.out.strip().splitlines()[-1]),
                         (out / "eldercare" / "artificial" / "eldercare_spike.csv").read_text())
    assert outputs["1"] == outputs["2"]


@pytest.mark.parametrize("jobs", ["0", "-1", "two"])
def test_bad_jobs_is_refused(
    corpus: tuple[Path, Path], jobs: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data, labels = corpus
    with pytest.raises(SystemExit) as stop:
        main(["--data", str(data), "--labels", str(labels), "--jobs", jobs])
    assert stop.value.code == 2
    assert "processes >= 1" in capsys.readouterr().err
