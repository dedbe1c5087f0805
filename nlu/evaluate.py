"""Cross-validate the embedded engine and the crisis detector on the training data."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from nlu.crisis import CRISIS_INTENT, CrisisDetector, CrisisLexicon, crisis_probability
from nlu.engine import DEFAULT_THRESHOLD, EmbeddedNLU
from nlu.normalise import Normaliser
from nlu.training_data import Example, TrainingData, load_training_data
from nlu.types import FALLBACK_INTENT


def _dedupe(data: TrainingData) -> list[Example]:
    """Drop examples that normalise to the same text, so no copy sits in both train and test folds."""
    normalise = Normaliser(data.synonyms)
    seen: set[str] = set()
    out = []
    for ex in data.examples:
        key = normalise(ex.text)
        if key not in seen:
            seen.add(key)
            out.append(ex)
    return out


def cross_validate(data: TrainingData | None = None, folds: int = 5, *, threshold: float = DEFAULT_THRESHOLD,
                   seed: int = 42, lexicon: CrisisLexicon | None = None, crisis_intent: str = CRISIS_INTENT,
                   **engine_options: Any) -> dict[str, Any]:
    """Run stratified k-fold CV (everything fitted inside each fold); return metrics as a dict."""
    data = data if data is not None else load_training_data()
    lexicon = lexicon if lexicon is not None else CrisisLexicon.from_file()
    examples = _dedupe(data)
    labels = [ex.intent for ex in examples]
    intents = [name for name in data.intents if name in set(labels)]
    predicted: list[str] = [""] * len(examples)
    confidence = np.zeros(len(examples))
    crisis_caught = {"detector": 0, "lexicon": 0, "classifier": 0, "false_alarms": 0}
    crisis_missed: list[str] = []
    started = time.perf_counter()
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(labels)), labels):
        engine = EmbeddedNLU(data.with_examples(examples[i] for i in train_idx), threshold=threshold,
                             seed=seed, **engine_options)
        detector = CrisisDetector(lexicon, engine=engine, intent=crisis_intent)
        for i in test_idx:
            result = engine.parse(examples[i].text)
            predicted[i] = result.intent
            confidence[i] = result.confidence
            hit = detector.check(examples[i].text, result)
            if labels[i] != crisis_intent:
                crisis_caught["false_alarms"] += hit is not None
                continue
            if hit is None:
                crisis_missed.append(examples[i].text)
                continue
            crisis_caught["detector"] += 1
            words, _ = detector.lexicon.words(examples[i].text)
            crisis_caught["lexicon"] += detector.lexicon.match(words) is not None
            crisis_caught["classifier"] += crisis_probability(result, crisis_intent) >= detector.threshold
    return _report(intents, labels, predicted, confidence, folds, crisis_intent, crisis_caught, crisis_missed,
                   time.perf_counter() - started)


def _report(intents: list[str], labels: list[str], predicted: list[str], confidence: np.ndarray, folds: int,
            crisis_intent: str, crisis_caught: dict[str, int], crisis_missed: list[str],
            seconds: float) -> dict[str, Any]:
    y_true = np.asarray(labels)
    y_pred = np.asarray(predicted)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=intents, zero_division=0)
    per_intent = {name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
                  for name, p, r, f, s in zip(intents, precision, recall, f1, support, strict=True)}
    confused = Counter((t, p) for t, p in zip(labels, predicted, strict=True) if t != p)
    n_crisis = int(sum(1 for label in labels if label == crisis_intent))
    correct = y_true == y_pred
    return {
        "folds": folds,
        "examples": len(labels),
        "accuracy": float(correct.mean()),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
        "macro_f1": float(np.mean(f1)),
        "weighted_precision": float(np.average(precision, weights=support)) if support.sum() else 0.0,
        "weighted_recall": float(np.average(recall, weights=support)) if support.sum() else 0.0,
        "weighted_f1": float(np.average(f1, weights=support)) if support.sum() else 0.0,
        "fallback_rate": float(np.mean(y_pred == FALLBACK_INTENT)),
        "mean_confidence_correct": float(confidence[correct].mean()) if correct.any() else 0.0,
        "mean_confidence_wrong": float(confidence[~correct].mean()) if (~correct).any() else 0.0,
        "per_intent": per_intent,
        "confused": [{"intent": t, "predicted": p, "count": c} for (t, p), c in confused.most_common(10)],
        "crisis_examples": n_crisis,
        "crisis_recall": crisis_caught["detector"] / n_crisis if n_crisis else 1.0,
        "crisis_recall_lexicon": crisis_caught["lexicon"] / n_crisis if n_crisis else 1.0,
        "crisis_recall_classifier": crisis_caught["classifier"] / n_crisis if n_crisis else 1.0,
        "crisis_missed": crisis_missed,
        "crisis_false_alarm_rate": crisis_caught["false_alarms"] / max(1, len(labels) - n_crisis),
        "seconds": round(seconds, 2),
    }


def format_report(report: dict[str, Any]) -> str:
    """Render a cross-validation report as a text table in the style of `rasa test nlu`."""
    width = max([len(name) for name in report["per_intent"]] + [12]) + 2
    title = f"Intent classification, {report['folds']}-fold cross-validation on {report['examples']} examples"
    lines = [title,
             "", f"{'':<{width}}{'precision':>10}{'recall':>10}{'f1-score':>10}{'support':>10}", ""]
    for name, m in sorted(report["per_intent"].items()):
        lines.append(f"{name:<{width}}{m['precision']:>10.3f}{m['recall']:>10.3f}{m['f1']:>10.3f}{m['support']:>10d}")
    total = sum(m["support"] for m in report["per_intent"].values())
    lines += ["",
              f"{'accuracy':<{width}}{'':>10}{'':>10}{report['accuracy']:>10.3f}{total:>10d}",
              f"{'macro avg':<{width}}{report['macro_precision']:>10.3f}{report['macro_recall']:>10.3f}"
              f"{report['macro_f1']:>10.3f}{total:>10d}",
              f"{'weighted avg':<{width}}{report['weighted_precision']:>10.3f}{report['weighted_recall']:>10.3f}"
              f"{report['weighted_f1']:>10.3f}{total:>10d}",
              "", f"fallback rate: {report['fallback_rate']:.3f}   mean confidence correct/wrong: "
              f"{report['mean_confidence_correct']:.3f}/{report['mean_confidence_wrong']:.3f}"]
    if report["confused"]:
        lines += ["", "Most confused intents (intent -> predicted: count)"]
        lines += [f"  {c['intent']} -> {c['predicted']}: {c['count']}" for c in report["confused"]]
    lines += ["", f"Crisis recall (lexicon + classifier): {report['crisis_recall']:.3f} "
              f"of {report['crisis_examples']}  (lexicon alone {report['crisis_recall_lexicon']:.3f}, "
              f"classifier alone {report['crisis_recall_classifier']:.3f}); "
              f"false alarms on other intents: {report['crisis_false_alarm_rate']:.3f}"]
    lines += [f"  missed: {text}" for text in report["crisis_missed"]]
    lines.append(f"({report['seconds']} s)")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_report(cross_validate()))
