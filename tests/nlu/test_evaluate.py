"""Cross-validation: the embedded engine and the crisis detector meet their targets on held-out folds."""

from __future__ import annotations

from typing import Any

import pytest

from nlu.evaluate import cross_validate, format_report
from nlu.training_data import TrainingData


@pytest.fixture(scope="module")
def report(training_data: TrainingData) -> dict[str, Any]:
    return cross_validate(training_data, folds=5)


def test_accuracy_and_crisis_recall(report: dict[str, Any]) -> None:
    assert report["folds"] == 5
    assert report["accuracy"] >= 0.90
    assert report["macro_f1"] >= 0.90
    assert report["crisis_recall"] == 1.0, report["crisis_missed"]
    assert report["crisis_false_alarm_rate"] <= 0.05


def test_report_shape(report: dict[str, Any], training_data: TrainingData) -> None:
    assert set(report["per_intent"]) == set(training_data.intents)
    assert sum(m["support"] for m in report["per_intent"].values()) == report["examples"]
    for metrics in report["per_intent"].values():
        assert 0.0 <= metrics["precision"] <= 1.0 and 0.0 <= metrics["recall"] <= 1.0
    for pair in report["confused"]:
        assert pair["intent"] != pair["predicted"] and pair["count"] > 0


def test_format_report(report: dict[str, Any]) -> None:
    text = format_report(report)
    assert "precision" in text and "recall" in text and "f1-score" in text and "support" in text
    assert "vraag_schulden" in text
    assert "Crisis recall" in text
    assert f"{report['accuracy']:.3f}" in text
